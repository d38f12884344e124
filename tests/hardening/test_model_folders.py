"""Hardening III, data loss and early refusals: a model folder is read-only to every command, and an
output that cannot be created is refused before any work.

Each case runs ``icipredict`` in-process (``cli.main``) with a copy of the session model named
``mymodel`` in a fresh folder; the whole folder is checksummed before and after: a refused command
writes nothing anywhere and the model still loads. The tests run as root on CI, where a folder's
mode bits do not stop a write, so "cannot be created" is a path under a regular *file*
(``out_file/model``), which refuses everyone, root included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from process_support import run_cli_in_process, tree_digest

import icipredict
from icipredict.exceptions import OutputRefused

PATIENTS = "patient_id,pdl1_tps,tmb,pfs_months,pfs_event\np1,80,20,9,1\np2,0,2,2,1\n"


def _run(argv: list[str]) -> tuple[int, str]:
    code, _, err = run_cli_in_process(argv)
    return code, err


@pytest.fixture()
def folder(small_model, tmp_path, monkeypatch) -> Path:
    shutil.copytree(small_model, tmp_path / "mymodel")
    (tmp_path / "in.csv").write_text(PATIENTS)
    (tmp_path / "link").symlink_to(tmp_path / "mymodel")
    (tmp_path / "out_file").write_text("a file, not a folder\n")
    monkeypatch.chdir(tmp_path)  # relative spellings start here
    return tmp_path


# (arguments, what the message says); relative paths, `..`, links, the folder itself, inside it, above it
REFUSED = {
    "predict-inside": (["predict", "--model", "mymodel", "--input", "in.csv", "--output", "mymodel/x.csv"],
                       "is inside the model folder"),
    "predict-dotdot": (["predict", "--model", "./mymodel", "--input", "in.csv", "--output",
                        "mymodel/plots/../x.csv"], "is inside the model folder"),
    "predict-through-link": (["predict", "--model", "mymodel", "--input", "in.csv", "--output", "link/x.csv"],
                             "is inside the model folder"),
    "predict-model-by-link": (["predict", "--model", "link", "--input", "in.csv", "--output", "mymodel/x.csv"],
                              "is inside the model folder"),
    "predict-stream": (["predict", "--model", "mymodel", "--input", "in.csv", "--output", "mymodel/x.csv",
                        "--chunk-size", "1"], "is inside the model folder"),
    "explain-inside": (["explain", "--model", "mymodel", "--input", "in.csv", "--patient", "p1", "--output",
                        "mymodel/r.html"], "is inside the model folder"),
    "evaluate-inside": (["evaluate", "--model", "mymodel", "--input", "in.csv", "--output", "mymodel/m.csv",
                         "--n-boot", "0"], "is inside the model folder"),
    "update-inside": (["update", "--model", "mymodel", "--input", "in.csv", "--output", "mymodel/local",
                       "--no-tracking"], "is inside the model folder"),
    "update-over-itself": (["update", "--model", "mymodel", "--input", "in.csv", "--output", "mymodel", "--force",
                            "--no-tracking"], "is the model folder"),
    "update-over-itself-by-link": (["update", "--model", "mymodel", "--input", "in.csv", "--output", "link",
                                    "--force", "--no-tracking"], "is the model folder"),
    "update-over-its-parent": (["update", "--model", "sub/../mymodel", "--input", "in.csv", "--output", ".",
                                "--force", "--no-tracking"], "holds the model folder"),
    "update-under-a-file": (["update", "--model", "mymodel", "--input", "in.csv", "--output", "out_file/local",
                             "--no-tracking"], "is a file, not a folder"),
    "train-into-a-bundle": (["train", "--output", "mymodel/plots/new", "--set", "tracking.enabled=false"],
                            "is inside the model folder"),
    "predict-into-another-bundle": (["predict", "--input", "in.csv", "--output", "link/x.csv"],
                                    "is inside the model folder"),
    "train-under-a-file": (["train", "--output", "out_file/model", "--set", "tracking.enabled=false"],
                           "is a file, not a folder"),
    "train-deep-under-a-file": (["train", "--output", "out_file/a/b/model", "--set", "tracking.enabled=false"],
                                "is a file, not a folder"),
    # an MLflow store inside a model folder: the database and the mlruns/ beside it would break the bundle
    "train-store-in-a-bundle": (["train", "--output", "new", "--tracking-uri", "sqlite:///mymodel/m.db"],
                                "tracking.uri 'sqlite:///mymodel/m.db': the store 'mymodel/m.db' is inside the "
                                "model folder"),
    "update-store-in-a-bundle": (["update", "--model", "mymodel", "--input", "in.csv", "--output", "local",
                                  "--tracking-uri", "sqlite:///link/m.db"], "is inside the model folder"),
}


@pytest.mark.parametrize("name", list(REFUSED), ids=list(REFUSED))
def test_refused_before_any_work(name, folder):
    (folder / "sub").mkdir()
    argv, needle = REFUSED[name]
    before = tree_digest(folder)
    code, err = _run(argv)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("icipredict: error: "), err
    assert needle in err and "Traceback" not in err
    assert tree_digest(folder) == before  # nothing written anywhere, the model unchanged
    assert sorted(p.name for p in folder.iterdir()) == sorted(["in.csv", "link", "mymodel", "out_file", "sub"])
    icipredict.load_model(folder / "mymodel")  # still loads


def test_python_update_refuses_its_own_model(folder):
    before = tree_digest(folder / "mymodel")
    for out, replace in (("mymodel/local", False), ("mymodel", True), ("link", True)):
        with pytest.raises(OutputRefused, match="model folder"):
            icipredict.update("mymodel", "in.csv", out=out, replace=replace)
        with pytest.raises(OutputRefused, match="model folder"):
            icipredict.update(icipredict.load_model("link"), "in.csv", out=out, replace=replace)
    assert tree_digest(folder / "mymodel") == before


def test_an_output_beside_the_model_is_fine(folder):
    code, err = _run(["predict", "--model", "mymodel", "--input", "in.csv", "--output", "x.csv", "--quiet"])
    assert code == 0, err
    assert (folder / "x.csv").is_file()


def test_update_without_any_outcome_column_says_so(folder):
    (folder / "no_outcomes.csv").write_text("patient_id,pdl1_tps,tmb\n" + "".join(f"p{i},{i},{i % 7}\n"
                                                                                   for i in range(40)))
    code, err = _run(["update", "--model", "mymodel", "--input", "no_outcomes.csv", "--output", "local",
                      "--no-tracking"])
    assert code == 2, err
    assert "no outcome column found" in err and "pfs_months, pfs_event, best_response" in err
    assert "'pdl1_tps'" in err and "at least 10 patients" not in err
    code, err = _run(["update", "--model", "mymodel", "--input", "no_outcomes.csv", "--output", "local",
                      "--no-tracking", "--label-source", "reported"])
    assert "no outcome column found" in err and "dcb_reported" in err
    assert not (folder / "local").exists()


def test_python_patient_report_refuses_the_model_folder(folder):
    from icipredict.report.patient import patient_report

    before = tree_digest(folder / "mymodel")
    for out in ("mymodel/r.html", "link/sub/r.png"):
        with pytest.raises(OutputRefused, match="model folder"):
            patient_report("mymodel", "in.csv", "p1", out)
    assert tree_digest(folder / "mymodel") == before and not (folder / "mymodel" / "sub").exists()
