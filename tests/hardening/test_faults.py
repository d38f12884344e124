"""Faults: tampered, half-written or padded models; unreachable, locked or shared tracking stores.

The store-fault tests log one small prebuilt training result (trained once per session, without
tracking) instead of training again; training itself opens the store before any work, so a bad
store fails in seconds.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FAST_TRAIN
from process_support import run_cli, run_cli_many

from icipredict import load_model, predict
from icipredict.exceptions import ModelLoadError
from icipredict.model.bundle import CHECKSUMS, _sha256, read_bundle
from icipredict.fitting.tracking import TrackingError, log_training_run, open_store
from icipredict.fitting.training import train


@pytest.fixture()
def bundle_copy(small_model, tmp_path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(small_model, dst)
    return dst


def _resign(path: Path) -> None:
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    (path / CHECKSUMS).write_text("".join(f"{_sha256(path / n)}  {n}\n" for n in names))


def test_tampered_estimator_is_refused(bundle_copy):
    f = bundle_copy / "estimator.json"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"checksum mismatch for estimator.json .* Refusing to load it"):
        read_bundle(bundle_copy)


def test_estimator_state_that_is_not_a_model_is_refused(bundle_copy):
    (bundle_copy / "estimator.json").write_text('{"inputs": ["pdl1"]}\n')
    _resign(bundle_copy)
    with pytest.raises(ModelLoadError, match=r"estimator.json does not hold a spline_logistic model \(KeyError"):
        load_model(bundle_copy)


def test_truncated_metadata_is_refused(bundle_copy):
    f = bundle_copy / "model.json"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match=r"checksum mismatch for model.json"):
        load_model(bundle_copy)


def test_bundle_without_checksums_is_incomplete(bundle_copy):
    (bundle_copy / CHECKSUMS).unlink()
    with pytest.raises(ModelLoadError, match=r"has no checksums.sha256: it is incomplete"):
        load_model(bundle_copy)


def test_unlisted_file_refuses_the_load(bundle_copy):
    (bundle_copy / "estimator_extra.json").write_bytes((bundle_copy / "estimator.json").read_bytes())
    with pytest.raises(ModelLoadError, match=r"1 file\(s\) not listed in checksums.sha256 \(estimator_extra.json\)"):
        load_model(bundle_copy)


def test_metadata_without_a_required_key_is_a_model_load_error(bundle_copy):
    meta = json.loads((bundle_copy / "model.json").read_text())
    del meta["calibrator"]
    (bundle_copy / "model.json").write_text(json.dumps(meta))
    _resign(bundle_copy)
    with pytest.raises(ModelLoadError, match=r"model.json does not follow the model file contract \(calibrator: "):
        load_model(bundle_copy)


def test_version_changes_with_any_model_file(bundle_copy):
    before = load_model(bundle_copy).version
    (bundle_copy / "model_card.md").write_text("edited card\n")
    _resign(bundle_copy)
    assert load_model(bundle_copy).version != before


def test_missing_model_and_unknown_name(tmp_path):
    with pytest.raises(ModelLoadError, match=r"does not exist"):
        load_model(tmp_path / "absent")
    with pytest.raises(ModelLoadError, match=r"no shipped model named 'nonesuch'"):
        load_model("nonesuch")


def test_skops_with_foreign_types_is_not_loaded(tmp_path):
    import functools

    import skops.io as sio

    fast = [s for s in FAST_TRAIN if not s.startswith(("model.families", "evaluation.cv_folds", "evaluation.n_boot"))]
    result = train(overrides=[*fast, "model.families=[random_forest]", "model.random_forest={min_samples_leaf: [20], "
                              "n_estimators: 30}", "evaluation.cv_folds=0", "evaluation.n_boot=0", "tracking.enabled=false",
                              "explain.enabled=false", f"output.model_dir={tmp_path / 'rf'}"], quiet=True)
    path = result.bundle_path
    assert read_bundle(path)[0].estimator.name == "random_forest"
    # replace the estimator by an archive that references builtins.print, and re-sign it
    (path / "estimator.skops").write_bytes(sio.dumps(functools.partial(print, "owned")))
    _resign(path)
    with pytest.raises(ModelLoadError, match=r"types outside scikit-learn and numpy .*builtins.print"):
        read_bundle(path)


def test_killed_while_saving_leaves_previous_model_loadable(small_model, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(small_model, target)
    before = predict({"patient_id": "a", "pdl1_tps": 70}, model=target)["p_durable_benefit"].iloc[0]
    script = textwrap.dedent(f"""
        import os
        import icipredict.model.bundle as b
        from icipredict.serve.predict import load_model
        model = load_model({str(small_model)!r})
        def die(*args):
            os._exit(9)   # the process is killed while the new bundle is being written
        b._write_estimator = die
        b.save_bundle({str(target)!r}, model.metadata, model.model.base.to_dict(), replace=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".model.partial-")]
    assert partial, "the half-written bundle should sit in a temporary sibling"
    with pytest.raises(ModelLoadError, match="incomplete"):
        load_model(partial[0])
    after = predict({"patient_id": "a", "pdl1_tps": 70}, model=target)["p_durable_benefit"].iloc[0]
    assert after == before


# -- tracking stores -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prebuilt(small_training):
    """One small training result, never tracked, logged by each store test: the session's ``small_model`` run."""
    return small_training


def _log_to(result, uri: str) -> str:
    config = result.config.model_copy(deep=True)
    config.tracking.uri = uri
    from dataclasses import replace

    return log_training_run(replace(result, config=config), result.card, result.figures)


def _fast(uri: str, *extra: str) -> list[str]:
    return [*FAST_TRAIN, "explain.enabled=false", f"tracking.uri={uri}", *extra]


def test_unreachable_tracking_store_is_a_clear_error(prebuilt, monkeypatch):
    with pytest.raises(TrackingError, match=r"tracking.uri 'sqlite:////no/such/dir/mlflow.db': directory"):
        _log_to(prebuilt, "sqlite:////no/such/dir/mlflow.db")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    with pytest.raises(TrackingError, match=r"tracking.uri 'http://127.0.0.1:9'"):
        _log_to(prebuilt, "http://127.0.0.1:9")


def test_training_opens_the_store_before_any_work(tmp_path):
    progress: list[str] = []
    with pytest.raises(TrackingError, match=r"directory '/no/such/dir' does not exist"):
        train(overrides=_fast("sqlite:////no/such/dir/mlflow.db"), progress=progress.append)
    assert progress == []  # nothing was loaded or fitted


def test_cli_reports_unreachable_store_without_traceback(tmp_path):
    proc = run_cli(["train", "--quiet", *sum((["--set", s] for s in _fast("sqlite:////no/such/dir/mlflow.db")), [])],
                   timeout=300, cwd=tmp_path)
    assert proc.returncode == 4
    assert "tracking.uri" in proc.stderr and "Traceback" not in proc.stderr


def test_locked_store_is_a_clear_error(prebuilt, tmp_path, monkeypatch, new_store):
    db = tmp_path / "mlflow.db"
    uri = new_store(tmp_path)
    open_store(uri, prebuilt.config.tracking.experiment)  # the experiment, as a first run creates it
    monkeypatch.setenv("ICIPREDICT_STORE_WAIT", "1")  # MLflow's own wait is 20 s
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TrackingError, match=r"the store is locked or unreadable .*waited 1 s"):
            _log_to(prebuilt, uri)
    finally:
        holder.rollback()
        holder.close()
    monkeypatch.setenv("ICIPREDICT_STORE_WAIT", "soon")
    with pytest.raises(TrackingError, match=r"ICIPREDICT_STORE_WAIT: expected seconds from 0 to 3600. Got 'soon'"):
        _log_to(prebuilt, uri)


@pytest.mark.slow
def test_two_runs_into_one_sqlite_store_at_once(prebuilt, tmp_path, new_store):
    uri = new_store(tmp_path)
    _log_to(prebuilt, uri)  # a first run, before the two at once
    settings = dict(s.split("=", 1) for s in _fast(uri))
    settings.update({"evaluation.n_boot": "0", "evaluation.cv_folds": "0"})
    tiny = [f"{k}={v}" for k, v in settings.items()]
    cmd = ["train", "--quiet", *sum((["--set", s] for s in tiny), [])]
    procs = run_cli_many({0: cmd, 1: cmd}, cwd=tmp_path, timeout=600).values()  # two processes at once
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("icipredict")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)
