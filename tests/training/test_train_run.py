"""Real training runs: MLflow store, fold-leak canary, reproducibility, public-cohort config."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_TRAIN, REPO, shared_path

from icipredict import load_model, predict
from icipredict.io import write_table
from icipredict.io.synthetic import synthetic_cohort
from icipredict.training import train


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tracked")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    result = train(overrides=[*FAST_TRAIN, f"tracking.uri={uri}", f"output.model_dir={tmp / 'bundle'}",
                              "tracking.registered_model=icipredict-test"], quiet=True)
    return result, uri


def test_run_holds_params_metrics_plots_and_a_loadable_model(tracked_run, monkeypatch):
    from mlflow.tracking import MlflowClient

    result, uri = tracked_run
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result.run_id)
    assert run.data.params["model.name"] == "xgboost"
    assert run.data.params["calibration.method"] == "sigmoid"
    for key in ("roc_auc", "brier", "calibration_slope", "calibration_intercept", "cv.synthetic.model.roc_auc_low",
                "cv.synthetic.pdl1.roc_auc", "data.n_evaluable"):
        assert key in run.data.metrics, key
    assert 0.5 < run.data.metrics["roc_auc"] < 0.95
    history = client.get_metric_history(result.run_id, "cv.fold_roc_auc")
    assert [m.step for m in history] == [1, 2, 3]
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    for name in ("roc_cv.png", "calibration_cv.png", "decision_curve_cv.png", "shap_beeswarm.png",
                 "shap_importance.png", "shap_dependence_pdl1_tps.png", "shap_dependence_tmb_log.png"):
        assert f"plots/{name}" in plots
    top = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"model_card.md", "metrics.csv", "config.yaml"} <= top
    card = Path(client.download_artifacts(result.run_id, "model_card.md")).read_text()
    assert "Intended use" in card and "Limits" in card and "synthetic" in card
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    patients = synthetic_cohort(30, seed=5, outcomes=False)
    via_mlflow = predict(patients, model=f"runs:/{result.run_id}/model")
    via_dir = predict(patients, model=result.bundle_path)
    np.testing.assert_allclose(via_mlflow["p_durable_benefit"], via_dir["p_durable_benefit"], atol=1e-12)
    via_registry = predict(patients, model="models:/icipredict-test/1")
    np.testing.assert_allclose(via_registry["p_durable_benefit"], via_dir["p_durable_benefit"], atol=1e-12)


def test_no_test_fold_patient_reaches_fitting_or_calibration(tracked_run):
    result, _ = tracked_run
    assert len(result.fold_models) == 3
    every = set()
    for model, test_ids in zip(result.fold_models, result.fold_test_ids):
        # fit_ids_ are every patient the fold model (base estimator, tuning and calibrator) saw
        assert model.fit_ids_.isdisjoint(test_ids)
        every |= test_ids
    assert len(every) == len(result.predictions)  # each evaluable patient predicted exactly once
    assert result.predictions["model"].notna().all()


def test_noise_outcome_gives_chance_auc(tmp_path):
    """Canary: with outcomes shuffled, any leak of test rows into fitting would lift the CV AUC."""
    df = synthetic_cohort(400, seed=3)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(df))
    for col in ("pfs_months", "pfs_event", "best_response", "os_months", "os_event"):
        df[col] = df[col].to_numpy()[perm]
    path = tmp_path / "noise.csv"
    write_table(df, path)
    result = train(overrides=[*FAST_TRAIN, "tracking.enabled=false", "explain.enabled=false",
                              f"data.sources=[{{name: noise, format: table, path: '{path}'}}]"], quiet=True)
    row = result.metrics.query("scheme == 'cv' and subset == 'all' and model == 'model'").iloc[0]
    assert row["roc_auc_low"] < 0.5 < row["roc_auc_high"] or abs(row["roc_auc"] - 0.5) < 0.08


def _bundle_files(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("estimator", ["xgboost", "logistic"])
def test_same_config_and_seed_give_identical_metrics_and_files(tmp_path, estimator):
    runs = []
    for i, order in enumerate([1, -1]):
        fast = [s for s in FAST_TRAIN if not s.startswith("model.params")]
        sets = [*fast, f"model.name={estimator}", "tracking.enabled=false", "explain.enabled=false"][::order]
        runs.append(train(overrides=[*sets, f"output.model_dir={tmp_path / str(i)}"], quiet=True))
    pd.testing.assert_frame_equal(runs[0].metrics, runs[1].metrics)
    a, b = runs[0].bundle_path, runs[1].bundle_path
    assert _bundle_files(a) == _bundle_files(b)
    for name in _bundle_files(a):
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.mark.slow
def test_public_cohort_config_reports_model_beside_baselines(tmp_path):
    shared_path("cbioportal", "nsclc_pd1_msk_2018")
    result = train(REPO / "configs" / "public_cohorts.yaml", overrides=[
        "tracking.enabled=false", "explain.enabled=false", "evaluation.n_boot=100", "model.search={}",
        "calibration.inner_folds=3", f"output.model_dir={tmp_path / 'pub'}",
        f"data.root={shared_path()}"], quiet=True)
    m = result.metrics
    assert result.metadata.training.data.duplicates_removed == 23
    loco = m.query("scheme == 'loco' and subset == 'all'")
    assert {"lung_msk_mind_2020", "nsclc_pd1_msk_2018", "nsclc_mskcc_2018"} <= set(loco["cohort"])
    for cohort in ("lung_msk_mind_2020", "nsclc_pd1_msk_2018"):
        models = set(loco.loc[loco["cohort"] == cohort, "model"])
        assert {"model", "pdl1", "tmb"} <= models
    ext = m.query("scheme == 'external' and subset == 'loris available'")
    assert {"model", "loris"} <= set(ext.loc[ext["cohort"] == "chowell_test", "model"])
    same = ext.loc[ext["cohort"] == "chowell_test"]
    assert same["n"].nunique() == 1  # model and LORIS on exactly the same patients
    assert m["roc_auc_low"].le(m["roc_auc"]).all() and m["roc_auc"].le(m["roc_auc_high"]).all()
    assert loaded_predicts(result.bundle_path)


def loaded_predicts(path) -> bool:
    out = predict({"patient_id": "x", "pdl1_band": ">=50"}, model=load_model(path))
    return bool(np.isfinite(out["p_durable_benefit"]).all())


def test_calibration_never_reverses_the_model():
    from icipredict.models import fit_calibrator

    rng = np.random.default_rng(0)
    score = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(2 * score))).astype(int)  # outcome falls as the score rises
    cal = fit_calibrator("sigmoid", score, y)
    assert cal.a == 0.0
    np.testing.assert_allclose(cal.predict(score), y.mean())
    good = fit_calibrator("sigmoid", -score, y)
    assert good.a > 0
