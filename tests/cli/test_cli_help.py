"""The parser itself: every command described with examples that parse, every option with help,
one meaning per option name, hidden aliases for the old spellings, and a fast ``--help``."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

import pytest

from icipredict.cli import build_parser

COMMANDS = ("synth", "validate", "train", "evaluate", "update", "predict", "explain", "serve")
#: The old spellings, kept working but not shown.
ALIASES = {"--data": "input", "--out": "output"}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


SUB = _subparsers(build_parser())


def _options(p: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: a for a in p._actions for flag in a.option_strings}


def test_every_command_is_there():
    assert tuple(SUB) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_a_description_with_examples_that_parse(name):
    p = SUB[name]
    text = p.description or ""
    assert isinstance(p.formatter_class, type) and issubclass(p.formatter_class, argparse.RawDescriptionHelpFormatter)
    prose, _, examples = text.partition("\n\nexamples:\n")
    assert len(prose.split()) >= 10, text
    lines = [ln.strip() for ln in examples.splitlines() if ln.strip()]
    assert lines and all(ln.startswith(f"icipredict {name} ") for ln in lines), text
    for line in lines:
        argv = shlex.split(line.split(" > ")[0])[1:]  # a shell redirection is not an argument
        args = build_parser().parse_args(argv)  # an example that does not parse fails here
        assert args.command == name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help_text(name):
    for action in SUB[name]._actions:
        if action.help == argparse.SUPPRESS:
            assert set(action.option_strings) <= set(ALIASES), f"{name}: {action.option_strings} hidden"
            continue
        assert action.help and len(action.help.split()) >= 3, f"{name} {action.option_strings}: no help text"


@pytest.mark.parametrize("name", COMMANDS)
def test_quiet_and_verbose_everywhere(name):
    opts = _options(SUB[name])
    assert {"-q", "--quiet", "-v", "--verbose"} <= set(opts)
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "-q", "-v"])  # one or the other


def test_one_meaning_per_option_name():
    """--input, --output, --model, --format, ... have the same destination and default everywhere."""
    seen: dict[str, tuple] = {}
    for name, p in SUB.items():
        for flag, a in _options(p).items():
            if flag in ("-h", "--help") or a.help == argparse.SUPPRESS:
                continue
            key = (a.dest, a.default, tuple(a.choices or ()))
            if flag in ("--seed", "--n-boot"):  # the default differs by command (synth's seed 7, update's 500 resamples)
                key = (a.dest,)
            assert seen.setdefault(flag, key) == key, f"{name} {flag}: {key} vs {seen[flag]}"
    assert seen["--model"][:2] == ("model", "public")
    assert "--data" not in seen and "--out" not in seen  # only as hidden aliases


def test_no_command_shows_the_old_spellings():
    for name, p in SUB.items():
        shown = p.format_help()
        assert "--data" not in shown and "--out " not in shown and "--out," not in shown, name


@pytest.mark.parametrize(("argv", "dest", "value"), [
    pytest.param(["evaluate", "--data", "x.csv"], "input", "x.csv", id="evaluate-data"),
    pytest.param(["update", "--data", "x.csv", "--out", "d"], "output", "d", id="update-data-out"),
    pytest.param(["update", "--data", "x.csv", "--out", "d"], "input", "x.csv", id="update-data"),
    pytest.param(["synth", "--out", "c.csv"], "output", "c.csv", id="synth-out"),
    pytest.param(["train", "--out", "m"], "output", "m", id="train-out"),
    pytest.param(["explain", "--input", "x.csv", "--patient", "p", "--out", "r.html"], "output", "r.html",
                 id="explain-out"),
    pytest.param(["update", "--input", "x.csv", "--output", "d"], "output", "d", id="update-new-spelling"),
])
def test_old_spellings_are_aliases(argv, dest, value):
    assert getattr(build_parser().parse_args(argv), dest) == value


@pytest.mark.parametrize("argv", [
    pytest.param(["synth", "--out", "a.csv", "--output", "b.csv"], id="synth-both"),
    pytest.param(["evaluate", "--data", "a.csv", "--input", "b.csv"], id="evaluate-both"),
    pytest.param(["update", "--input", "a.csv"], id="update-no-output"),
    pytest.param(["explain", "--input", "a.csv", "--patient", "p"], id="explain-no-output"),
])
def test_conflicting_or_missing_spellings_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--output" in err or "--input" in err, err


def test_help_is_fast_and_loads_nothing_heavy():
    """``icipredict --help`` imports neither pandas, numpy, mlflow nor tqdm (``python -X importtime``)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "icipredict.cli", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "COMMAND" in proc.stdout
    rows = [ln.split("|") for ln in proc.stderr.splitlines() if ln.startswith("import time:")]
    modules = {r[2].strip() for r in rows}
    heavy = {m for m in modules if m.split(".")[0] in ("pandas", "numpy", "mlflow", "tqdm", "sklearn", "matplotlib")}
    assert not heavy, sorted(heavy)
    # top-level imports (two-space indent = nested): their cumulative microseconds add up without double counting
    ours = sum(int(r[1]) for r in rows if r[2].startswith(" icipredict"))
    print(f"icipredict modules imported for --help in {ours / 1000:.1f} ms")
    assert ours < 200_000


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_exits_cleanly(name, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([name, "--help"])
    assert exc.value.code == 0
    assert "examples:" in capsys.readouterr().out
