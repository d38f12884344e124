"""The layers of ``src/icipredict``: each imports only from the layers below it, with no cycle.

:data:`LAYERS` is the one statement of the order (docs/architecture.md draws it). Every import
counts: at module level, under ``TYPE_CHECKING`` and inside functions, since a type that two
layers share belongs in the lower one and an import moved into a function still runs. The walker
is this file's own (ast only), so the test does not depend on anything outside the repository.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "icipredict"

#: Bottom to top. A module belongs to the layer of its longest listed prefix.
LAYERS: list[tuple[str, ...]] = [
    ("icipredict.exceptions", "icipredict.progress"),  # the error types; terminal progress (no package imports)
    ("icipredict.table",),                             # the patient-table contract
    ("icipredict.clinical",),                          # clinical rules, no I/O
    ("icipredict.io",),                                # readers and writers of patient tables and outputs
    ("icipredict.model",),                             # features, families, metadata, the bundle format
    ("icipredict.config",),                            # typed configuration (it types the model's options)
    ("icipredict.serve",),                             # loading a model and predicting; the pyfunc
    ("icipredict.evaluation",),                        # metrics; a saved model on labelled data
    ("icipredict.plots",),                             # figures (used by fitting and report)
    ("icipredict.fitting",),                           # training, selection, updating, card, tracking
    ("icipredict.report",),                            # the patient report
    ("icipredict.web",),                               # the browser calculator
    ("icipredict", "icipredict.serving"),              # the public API (lazy re-exports) and the old serving name
    ("icipredict.cli",),                               # the command line: nothing imports it
]
#: The only name a lower layer may take from the package root: the root holds it and runs first anyway.
ROOT_NAMES_ALLOWED = {"__version__"}
MAX_TOP_LEVEL_FILES = 5
MAX_LINES = 600


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (the shipped models' models-from-code copies excluded)."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        rel = f.relative_to(package.parent).with_suffix("")
        if "shipped" in rel.parts:
            continue
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, tuple[str, ...], int]]:
    """(imported module, names taken from it, line) for every import statement anywhere in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:  # `from pkg import module` imports the module
                target = f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                out.append((target, (a.name,), node.lineno))
    result = []
    for target, names, line in out:
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in known:
            result.append((target, names, line))
    return result


def layer_of(name: str) -> int:
    best, level = -1, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, level = len(p), i
    if level is None:
        raise AssertionError(f"module {name} is in no layer of LAYERS: add it")
    return level


def upward_imports(package: Path) -> list[str]:
    known = modules(package)
    root = package.name
    found = []
    for name, path in known.items():
        for target, names, line in imports(name, path, known):
            if target == name or name.startswith(target + "."):
                continue  # a package's own children and its __init__
            if target == root and set(names) <= ROOT_NAMES_ALLOWED and names:
                continue
            if layer_of(target) > layer_of(name):
                found.append(f"{path.relative_to(package.parent)}:{line}: {name} (layer {layer_of(name)}) imports "
                             f"{target} (layer {layer_of(target)})")
    return found


def cycles(package: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), every import counted."""
    known = modules(package)
    edges = {m: set() for m in known}
    for name, path in known.items():
        for target, _, _ in imports(name, path, known):
            if target != name and not name.startswith(target + ".") and target != package.name:
                edges[name].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in known:
        if v not in index:
            visit(v)
    return out


def test_every_module_imports_only_from_its_own_layer_or_below():
    found = upward_imports(PACKAGE)
    assert not found, "imports from a higher layer (see LAYERS and docs/architecture.md):\n" + "\n".join(found)


def test_no_import_cycle_type_only_imports_included():
    assert cycles(PACKAGE) == []


def test_at_most_five_modules_at_the_top_of_the_package():
    top = sorted(f.name for f in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_FILES, top


def test_no_module_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in modules(PACKAGE).values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_subpackage_says_what_it_holds_and_what_it_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc, f"{init.relative_to(PACKAGE)}: the docstring names the layers it may import"


# -- the checker itself finds what it is meant to find ----------------------------------------------

def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "icipredict"
    for rel, text in files.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.mark.parametrize("how", ["top", "type_checking", "function"])
def test_the_checker_finds_an_upward_import_however_it_is_written(tmp_path, how):
    statement = {"top": "from icipredict.fitting.training import train\n",
                 "type_checking": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from icipredict.fitting.training import train\n",
                 "function": "def f():\n    from icipredict.fitting.training import train\n"}[how]
    root = _fake_package(tmp_path, {"__init__.py": "", "model/__init__.py": "", "model/glm.py": statement,
                                    "fitting/__init__.py": "", "fitting/training.py": "def train(): pass\n"})
    (found,) = upward_imports(root)
    assert "icipredict.model.glm (layer 4) imports icipredict.fitting.training (layer 9)" in found


def test_the_checker_finds_a_cycle_and_allows_the_version_from_the_root(tmp_path):
    root = _fake_package(tmp_path, {
        "__init__.py": "__version__ = '1'\n",
        "table/__init__.py": "", "table/a.py": "from icipredict import __version__\nimport icipredict.table.b\n",
        "table/b.py": "from icipredict.table import a\n"})
    assert cycles(root) == [["icipredict.table.a", "icipredict.table.b"]]
    assert upward_imports(root) == []
