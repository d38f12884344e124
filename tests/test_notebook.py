"""The quickstart notebook runs from top to bottom on the Dijon cohort, shows aggregates only, and is
committed with its outputs."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from conftest import REPO, SHARED_DATA, shared_path  # tests/ is on sys.path: pytest inserts the rootdir conftest's folder

NOTEBOOK = REPO / "notebooks" / "01_quickstart.ipynb"
DIJON = ("dijon", "fumet2020_cd8_pdl1.csv")
_PROBE = "import icipredict; print(icipredict.__file__)"


def _text(output) -> str:
    """Every textual part of an output (never image data, whose base64 could spell anything)."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])])
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


def _outputs_text(cells) -> str:
    return "\n".join(_text(o) for c in cells for o in c.get("outputs", []))


def _dijon_ids(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        ids = [row["ID"].strip() for row in csv.DictReader(fh)]
    assert len(ids) == 85 and all(ids), "the Dijon table changed: update this test"
    return ids


def _ids_shown(text: str, ids: list[str]) -> list[str]:
    """Raw ids ("P12") or canonical ones ("dijon:P12") standing as words in ``text``."""
    return [i for i in ids if re.search(rf"(?<![\w.\-]){re.escape(i)}(?!\w)", text)]


@pytest.mark.slow
def test_quickstart_notebook(tmp_path, monkeypatch):
    dijon = shared_path(*DIJON)
    nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to run the notebook")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is needed to run the notebook")
    pytest.importorskip("ipykernel", reason="ipykernel is needed to run the notebook")
    import icipredict

    committed = nbformat.read(NOTEBOOK, as_version=4)
    committed_code = [c for c in committed.cells if c.cell_type == "code"]
    empty = [i for i, c in enumerate(committed_code) if not c.get("outputs")]
    assert not empty, f"code cells {empty} have no outputs: execute the notebook and commit it with its outputs"
    ids = _dijon_ids(dijon)
    assert not _ids_shown(_outputs_text(committed_code), ids), "the committed outputs show Dijon patient ids"

    # the kernel inherits the environment: temporary folders in tmp_path, the data this test found,
    # and the icipredict this test imported (a worktree's src/, or the installed package)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("ICIPREDICT_SHARED_DATA", str(SHARED_DATA))
    package_root = str(Path(icipredict.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    probe = nb.cells.pop()
    assert _outputs_text([probe]).strip() == str(Path(icipredict.__file__).resolve()), "the kernel ran other code"

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    stderr = [o["text"] for c in code_cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not any("Traceback" in t for t in stderr), stderr

    predict_cells = [c for c in code_cells if "icipredict.predict(" in c.source]
    assert len(predict_cells) == 1, [c.source[:80] for c in predict_cells]
    text = _outputs_text(predict_cells)
    assert "p_durable_benefit" in text, text

    # the one-patient report, displayed as an image, closes the notebook
    assert any("image/png" in o.get("data", {}) for o in code_cells[-1].get("outputs", []))

    # the local update wrote a complete bundle into the notebook's temporary folder
    bundles = list(tmp_path.glob("icipredict-quickstart-*/*/model.json"))
    assert bundles, sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert (bundles[0].parent / "checksums.sha256").is_file()
    assert not (REPO / "notebooks" / "dijon-updated").exists()

    # aggregates only: no patient id, and no path of this machine
    shown = _outputs_text(code_cells)
    assert not _ids_shown(shown, ids), f"the outputs show Dijon patient ids: {_ids_shown(shown, ids)[:5]}"
    for path in (tmp_path, SHARED_DATA.resolve(), REPO):
        assert str(path) not in shown, f"the outputs show the path {path}"


def _readme_notebook_block() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- the second line is run verbatim by tests/test_notebook.py -->", 1)[1]
    return block.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()


def test_readme_installs_the_extra_the_notebook_command_needs():
    """Issue 21 item 7: the README's install line names an extra that brings what ``jupyter execute`` runs on."""
    import tomllib

    install, run = _readme_notebook_block()
    extra = re.fullmatch(r'pip install -e "\.\[(\w+)\]"', install).group(1)
    needs = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    names = {re.split(r"[<>=\[ ]", n)[0] for n in needs}
    assert {"nbclient", "ipykernel", "nbformat"} <= names, names
    assert run == "jupyter execute notebooks/01_quickstart.ipynb"


@pytest.mark.slow
def test_the_readme_notebook_command_runs_as_written(tmp_path):
    """Issue 21 item 7: the README's command, run as written from the repository root, executes the notebook
    without an error and leaves the committed file unchanged."""
    import hashlib
    import shutil
    import subprocess
    import sys

    shared_path(*DIJON)  # skipped, with the reason, where the shared data are absent
    pytest.importorskip("nbclient", reason="the notebook extra is needed to run the notebook")
    pytest.importorskip("ipykernel", reason="the notebook extra is needed to run the notebook")
    import icipredict

    _, run = _readme_notebook_block()
    bindir = str(Path(sys.executable).parent)
    if shutil.which("jupyter", path=bindir + os.pathsep + os.environ.get("PATH", "")) is None:
        pytest.skip("no jupyter command beside this Python")
    package_root = str(Path(icipredict.__file__).resolve().parents[1])
    env = {**os.environ, "TMPDIR": str(tmp_path), "ICIPREDICT_SHARED_DATA": str(SHARED_DATA),
           "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    before = hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    proc = subprocess.run(["bash", "-c", run], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Executing notebooks/01_quickstart.ipynb" in proc.stderr
    assert hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest() == before
