"""The quickstart notebook runs from top to bottom (real data when present, synthetic otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_quickstart.ipynb"


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return str(data.get("text/plain", "")) + str(data.get("text/html", ""))


@pytest.mark.slow
def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's MLflow store and model land in tmp_path
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code_cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    predict_cells = [c for c in code_cells if "icipredict.predict(" in c.source]
    assert len(predict_cells) == 1
    text = "".join(_text(o) for o in predict_cells[0].outputs)
    assert "p_durable_benefit" in text, text
    # the one-patient report is displayed as an image
    assert any("image/png" in o.get("data", {}) for o in code_cells[-1].outputs)
    assert list(tmp_path.glob("icipredict-quickstart-*/model/model.json"))
