"""Faults: tampered or half-written models, unreachable or busy tracking stores."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FAST_TRAIN

from icipredict import load_model, predict
from icipredict.exceptions import ModelLoadError
from icipredict.io.bundle import load_bundle, save_bundle
from icipredict.tracking import TrackingError
from icipredict.training import train


@pytest.fixture()
def bundle_copy(small_model, tmp_path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(small_model, dst)
    return dst


def test_tampered_estimator_is_refused(bundle_copy):
    f = bundle_copy / "estimator.ubj"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"checksum mismatch for estimator.ubj .* Refusing to load it"):
        load_bundle(bundle_copy)


def test_truncated_metadata_is_refused(bundle_copy):
    f = bundle_copy / "model.json"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match=r"checksum mismatch for model.json"):
        load_model(bundle_copy)


def test_bundle_without_checksums_is_incomplete(bundle_copy):
    (bundle_copy / "checksums.sha256").unlink()
    with pytest.raises(ModelLoadError, match=r"has no checksums.sha256: it is incomplete"):
        load_model(bundle_copy)


def test_missing_model_and_unknown_name(tmp_path):
    with pytest.raises(ModelLoadError, match=r"does not exist"):
        load_model(tmp_path / "absent")
    with pytest.raises(ModelLoadError, match=r"no shipped model named 'nonesuch'"):
        load_model("nonesuch")


def test_skops_with_foreign_types_is_not_loaded(tmp_path):
    import functools

    import skops.io as sio

    from icipredict.models import IciModel
    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.schema import check_patients
    from icipredict.clinical.outcomes import benefit_label, binary_target

    df = check_patients(synthetic_cohort(200, seed=2))
    y = binary_target(benefit_label(df))
    ok = y.notna().to_numpy()
    model = IciModel(estimator="logistic", inner_folds=3).fit(df.loc[ok], y[ok].astype(int).to_numpy())
    path = save_bundle(model, tmp_path / "lr", {"name": "lr"})
    assert load_bundle(path)[0].estimator == "logistic"
    # replace the estimator by an archive that references builtins.print, and re-sign it
    (path / "estimator.skops").write_bytes(sio.dumps(functools.partial(print, "owned")))
    from icipredict.io.bundle import _sha256

    lines = [f"{_sha256(path / n)}  {n}" for n in ("estimator.skops", "model.json", "model_card.md")]
    (path / "checksums.sha256").write_text("\n".join(lines) + "\n")
    with pytest.raises(ModelLoadError, match=r"types outside scikit-learn and numpy .*builtins.print"):
        load_bundle(path)


def test_killed_while_saving_leaves_previous_model_loadable(small_model, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(small_model, target)
    before = predict({"patient_id": "a", "pdl1_tps": 70}, model=target)["p_durable_benefit"].iloc[0]
    script = textwrap.dedent(f"""
        import os
        import icipredict.io.bundle as b
        from icipredict.serving import load_model
        model = load_model({str(small_model)!r})
        def die(path):
            os._exit(9)   # the process is killed while the new bundle is being written
        b._sha256 = die
        b.save_bundle(model.model, {str(target)!r}, model.metadata)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9
    partial = [p for p in tmp_path.iterdir() if p.name.startswith(".model.partial-")]
    assert partial, "the half-written bundle should sit in a temporary sibling"
    with pytest.raises(ModelLoadError, match="incomplete"):
        load_model(partial[0])
    after = predict({"patient_id": "a", "pdl1_tps": 70}, model=target)["p_durable_benefit"].iloc[0]
    assert after == before


def _fast(uri: str, *extra: str) -> list[str]:
    return [*FAST_TRAIN, "explain.enabled=false", f"tracking.uri={uri}", *extra]


def test_unreachable_tracking_store_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(TrackingError, match=r"tracking.uri 'sqlite:////no/such/dir/mlflow.db': directory"):
        train(overrides=_fast("sqlite:////no/such/dir/mlflow.db"), quiet=True)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    with pytest.raises(TrackingError, match=r"tracking.uri 'http://127.0.0.1:9'"):
        train(overrides=_fast("http://127.0.0.1:9"), quiet=True)


def test_cli_reports_unreachable_store_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "icipredict.cli", "train", "--quiet", *sum(
        (["--set", s] for s in _fast("sqlite:////no/such/dir/mlflow.db")), [])],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 4
    assert "tracking.uri" in proc.stderr and "Traceback" not in proc.stderr


def test_locked_store_is_a_clear_error(tmp_path, monkeypatch):
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    train(overrides=_fast(uri), quiet=True)  # create the schema
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TrackingError, match=r"locked|rejected the run|cannot open"):
            train(overrides=_fast(uri), quiet=True)
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.slow
def test_two_runs_into_one_sqlite_store_at_once(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    train(overrides=_fast(uri), quiet=True)  # schema created once, as by a first run
    cmd = [sys.executable, "-m", "icipredict.cli", "train", "--quiet", *sum((["--set", s] for s in _fast(uri)), [])]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("icipredict")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)
