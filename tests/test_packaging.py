"""Packaging: shipped models as package data that install and serve (the layers: tests/test_architecture.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from process_support import run_cli, tree_digest

import icipredict
from icipredict.model.bundle import shipped_model_path, shipped_models

PATIENTS = [{"patient_id": "a", "pdl1_tps": 60, "tmb": 14, "regimen": "ici_mono"},
            {"patient_id": "b", "pdl1_band": "<1", "tmb": 2.5, "mut_stk11": 1, "ecog": 2}]


def _no_folds(fast: tuple[str, ...]) -> list[str]:
    """FAST_TRAIN without pooled folds and explanations: the tracking tests read where the run went, not its metrics."""
    return [*(s for s in fast if not s.startswith("evaluation.cv_folds")), "evaluation.cv_folds=0",
            "explain.enabled=false"]


def _digest_tree(root: Path) -> dict[str, str]:
    return tree_digest(root, skip=("__pycache__",))  # Python's bytecode caches are not written by the package


def test_public_model_is_package_data_and_an_mlflow_model():
    assert "public" in shipped_models()
    path = shipped_model_path("public")
    assert Path(icipredict.model_uri("public")) == path
    assert path.is_relative_to(Path(icipredict.__file__).parent)  # found through the package, not the checkout
    assert (path / "MLmodel").is_file() and (path / "artifacts" / "bundle" / "model.json").is_file()
    # the models-from-code file MLflow runs for the shipped model is the package's own
    assert (path / "pyfunc_model.py").read_bytes() == (Path(icipredict.__file__).parent / "serve" / "pyfunc_model.py").read_bytes()
    assert "/work/" not in (path / "MLmodel").read_text() and "/tmp" not in (path / "MLmodel").read_text()


@pytest.mark.slow
def test_wheel_installed_alone_predicts_with_the_shipped_model(tmp_path):
    import shutil

    source = tmp_path / "source"  # build from a copy: a build leaves build/ and *.egg-info behind
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("icipredict-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "icipredict/shipped/public/MLmodel" in names
    assert "icipredict/shipped/public/artifacts/bundle/estimator.json" in names
    assert any(n.startswith("icipredict/shipped/public/artifacts/bundle/plots/") for n in names)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import icipredict, json; out = icipredict.predict(%r, model='public'); "
              "print(json.dumps({'file': icipredict.__file__, 'p': out['p_durable_benefit'].tolist()}))" % PATIENTS)
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("ICIPREDICT_MODELS", None)
    proc = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = pd.read_json(pd.io.common.StringIO(proc.stdout.strip().splitlines()[-1]), typ="series")
    assert str(got["file"]).startswith(str(target))  # the wheel's copy, not the checkout
    expected = icipredict.predict(PATIENTS, model="public")["p_durable_benefit"].tolist()
    assert list(got["p"]) == pytest.approx(expected, abs=1e-12)


def test_training_never_writes_into_the_shipped_models(tmp_path):
    from conftest import FAST_TRAIN

    from icipredict.exceptions import OutputRefused
    from icipredict.fitting.training import train

    root = shipped_model_path("public")
    before = _digest_tree(root)
    for target in (root, root / "artifacts" / "bundle", root / "new"):
        with pytest.raises(OutputRefused, match="inside the shipped models folder"):
            train(overrides=[*FAST_TRAIN, "tracking.enabled=false", f"output.model_dir={target}",
                             "output.replace=true"], quiet=True)
    assert _digest_tree(root) == before


def test_training_refuses_an_existing_folder_it_did_not_create(tmp_path):
    from conftest import FAST_TRAIN

    from icipredict.exceptions import OutputRefused
    from icipredict.fitting.training import train

    mine = tmp_path / "mydata"
    mine.mkdir()
    (mine / "patients.csv").write_text("patient_id\na\n")
    before = _digest_tree(tmp_path)
    for extra in ([], ["output.replace=true"]):
        with pytest.raises(OutputRefused, match="mydata"):
            train(overrides=[*FAST_TRAIN, "tracking.enabled=false", f"output.model_dir={mine}", *extra], quiet=True)
    assert _digest_tree(tmp_path) == before


def test_force_replaces_only_an_earlier_bundle(tmp_path, small_model):
    import shutil

    from conftest import FAST_TRAIN

    from icipredict.fitting.training import train

    out = tmp_path / "model"
    shutil.copytree(small_model, out)
    old_version = icipredict.load_model(out).version
    result = train(overrides=[*FAST_TRAIN, "tracking.enabled=false", "explain.enabled=false", "seed=11",
                              f"output.model_dir={out}", "output.replace=true"], quiet=True)
    assert result.bundle_path == out
    assert icipredict.load_model(out).version != old_version
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no leftovers beside it


@pytest.mark.slow
def test_cli_train_without_mlflow_tracking_uri_says_the_uri_is_the_default(tmp_path):
    """Issue 21 item 4: with no MLFLOW_TRACKING_URI and no tracking.uri, the run went to the default store, and
    the command says so (it used to name MLFLOW_TRACKING_URI, which the run itself had set in the process)."""
    from conftest import FAST_TRAIN

    from icipredict.fitting.tracking import DEFAULT_TRACKING_URI, TRACKING_ORIGINS

    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    sets = sum((["--set", s] for s in _no_folds(FAST_TRAIN)), [])
    proc = run_cli(["train", *sets, "--output", str(tmp_path / "m")], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MLflow run: "))
    assert f" in {DEFAULT_TRACKING_URI} ({TRACKING_ORIGINS['default']};" in line, line
    assert "environment variable" not in proc.stdout + proc.stderr
    assert (tmp_path / "mlflow.db").is_file()


@pytest.mark.slow
def test_cli_train_logs_to_the_store_named_by_mlflow_tracking_uri(tmp_path):
    from conftest import FAST_TRAIN

    db = tmp_path / "X.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
    sets = sum((["--set", s] for s in _no_folds(FAST_TRAIN)), [])
    proc = run_cli(["train", *sets, "--out", str(tmp_path / "m")], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "from the environment variable MLFLOW_TRACKING_URI" in proc.stdout and str(db) in proc.stdout
    assert db.is_file() and not (tmp_path / "mlflow.db").exists()
    run_id = proc.stdout.split("MLflow run: ")[1].split()[0]
    # the printed runs:/ URI works from the same shell
    out = tmp_path / "pred.csv"
    pd.DataFrame(PATIENTS).to_csv(tmp_path / "in.csv", index=False)
    pred = run_cli(["predict", "--model", f"runs:/{run_id}/model", "--input", str(tmp_path / "in.csv"), "--output",
                    str(out), "--quiet"], cwd=tmp_path, env=env, timeout=300)
    assert pred.returncode == 0, pred.stderr
    assert len(pd.read_csv(out)) == 2
