"""Every ``icipredict COMMAND --flag`` the package writes (source, templates, the README, docs and the
notebook) uses a flag that command's ``--help`` documents (issue 21, item 5).

Hidden aliases (``--data``, ``--out``) still parse, but a reader who looks them up in ``--help`` does
not find them: the package never prints them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from icipredict.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "icipredict"
COMMANDS = ("synth", "validate", "train", "evaluate", "update", "predict", "explain", "serve")
#: A command as written in text: "icipredict", the command, then everything up to the end of the line, a quote
#: or the next command of a shell line (&&, ;, |).
_WRITTEN = re.compile(r"icipredict (" + "|".join(COMMANDS) + r")\b([^\n\"'`&;|]*)")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _texts() -> list[Path]:
    files = [p for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".md", ".txt", ".css")]
    files += [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "notebooks").glob("*.ipynb"))]
    return [p for p in files if p.is_file()]


def _written_commands() -> list[tuple[str, str, str]]:
    """(where, command, flag) for every flag written after ``icipredict COMMAND``."""
    found = []
    for path in _texts():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _WRITTEN.finditer(line):
                for flag in _FLAG.findall(m.group(2)):
                    found.append((f"{path.relative_to(ROOT)}:{n}", m.group(1), flag))
    return found


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions if a.choices).choices[command]  # noqa: SLF001
    return sub.format_help()


def test_the_scan_finds_the_commands_the_package_prints():
    """The scan sees the report's updating advice and the CLI examples (else it would pass on nothing)."""
    where = {(w.split(":")[0], c) for w, c, _ in _written_commands()}
    assert ("src/icipredict/report/content.py", "update") in where
    assert ("src/icipredict/cli/parser.py", "predict") in where
    assert len(_written_commands()) > 30


@pytest.mark.parametrize("command", COMMANDS)
def test_every_printed_flag_is_in_that_commands_help(command):
    documented = set(_FLAG.findall(_help(command))) | {"--help"}
    undocumented = [(where, flag) for where, c, flag in _written_commands() if c == command and flag not in documented]
    assert not undocumented, f"icipredict {command}: flags not in --help: {undocumented}"
