"""No patient identifier or row from a real study reaches the MLflow store."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FAST_TRAIN, shared_path, with_plots

from icipredict.io import read_patients
from icipredict.fitting.training import train


@pytest.mark.slow
def test_training_on_a_real_study_logs_no_identifiers(tmp_path, new_store):
    study = shared_path("cbioportal", "nsclc_pd1_msk_2018")
    raw = read_patients(study)
    ids = {str(i) for i in raw["patient_id"]}
    samples = {str(s) for s in raw.get("sample_id", [])} if "sample_id" in raw else set()
    store = tmp_path / "store"
    uri = new_store(store)
    result = train(overrides=[
        *[s for s in with_plots(FAST_TRAIN) if not s.startswith("data.sources")],
        f"data.sources=[{{name: rizvi2018, format: cbioportal, path: '{study}'}}]",
        f"tracking.uri={uri}"], quiet=True)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result.run_id)
    logged = [*run.data.params.values(), *run.data.tags.values(), *run.data.params.keys(), *run.data.metrics.keys()]
    local = Path(client.download_artifacts(result.run_id, "", dst_path=str(tmp_path / "artifacts")))
    import mlflow

    mlflow.set_tracking_uri(uri)
    model_dir = Path(mlflow.artifacts.download_artifacts(f"runs:/{result.run_id}/model", dst_path=str(tmp_path / "m")))
    files = [p for p in [*local.rglob("*"), *model_dir.rglob("*")] if p.is_file()]
    assert any(p.name == "model.json" for p in files) and any(p.suffix == ".png" for p in files)
    blobs = [p.read_bytes() for p in files] + [(store / "mlflow.db").read_bytes()]
    for pid in sorted(ids | samples):
        assert not any(pid in text for text in logged), pid
        needle = pid.encode()
        assert not any(needle in blob for blob in blobs), pid
    for p in files:
        if p.suffix == ".csv":
            header = p.read_text().splitlines()[0]
            assert "patient_id" not in header, p.name
