"""Real training runs: MLflow store, study-level leakage canaries, reproducibility, public-cohort config."""

from __future__ import annotations

import filecmp
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_TRAIN, NO_PLOTS, REPO, shared_path, with_plots

from icipredict import load_model, predict
from icipredict.io import write_table
from icipredict.io.synthetic import synthetic_cohort
from icipredict.fitting.training import train


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory, new_store):
    tmp = tmp_path_factory.mktemp("tracked")
    uri = new_store(tmp)
    result = train(overrides=[*with_plots(FAST_TRAIN), f"tracking.uri={uri}", f"output.model_dir={tmp / 'bundle'}",
                              "tracking.registered_model=icipredict-test"], quiet=True)
    return result, uri


def test_run_holds_params_metrics_plots_and_a_loadable_model(tracked_run, monkeypatch):
    from mlflow.tracking import MlflowClient

    result, uri = tracked_run
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(result.run_id)
    assert run.data.params["model.families"] == '["spline_logistic"]'
    assert run.data.tags["model.family"] == "spline_logistic"
    for key in ("roc_auc", "brier", "calibration_slope", "calibration_intercept", "iecv.pooled.model.roc_auc_low",
                "iecv.centre_a.pdl1.roc_auc", "cv.pooled.model.roc_auc", "data.n_evaluable"):
        assert key in run.data.metrics, key
    assert 0.5 < run.data.metrics["roc_auc"] < 0.95
    history = client.get_metric_history(result.run_id, "cv.fold_roc_auc")
    assert [m.step for m in history] == [1, 2, 3]
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    for name in ("roc.png", "calibration.png", "calibration_cv.png", "decision_curve.png", "shap_beeswarm.png",
                 "shap_importance.png", "shap_dependence_pdl1.png", "shap_dependence_tmb.png"):
        assert f"plots/{name}" in plots
    # every plot also sits beside the bundle, checksummed with it
    assert {f"plots/{p.name}" for p in (result.bundle_path / "plots").iterdir()} == plots
    # the metrics are linked to the logged model too (MLflow's model page shows them)
    (output,) = run.outputs.model_outputs
    linked = {m.key for m in client.get_logged_model(output.model_id).metrics}
    assert {"roc_auc", "iecv.pooled.model.roc_auc_low", "data.n_evaluable"} <= linked
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
    # a spline model is served without XGBoost or scikit-learn
    import mlflow

    requirements = Path(mlflow.pyfunc.get_model_dependencies(f"runs:/{result.run_id}/model")).read_text().split()
    assert {"pandas", "numpy", "scipy", "pydantic"} <= {r.split("=")[0] for r in requirements}
    assert not {"xgboost", "scikit-learn", "skops"} & set(requirements)


@pytest.mark.parametrize(("file", "extra"), [("estimator.json", []), ("estimator.ubj", ["xgboost"]),
                                              ("estimator.skops", ["scikit-learn", "skops"])])
def test_a_served_model_requires_its_estimators_library_only(tmp_path, file, extra):
    import json

    from icipredict.fitting.tracking import PYFUNC_REQUIREMENTS, pyfunc_requirements

    (tmp_path / "model.json").write_text(json.dumps({"estimator": {"name": "any", "file": file}}))
    assert pyfunc_requirements(tmp_path) == [*PYFUNC_REQUIREMENTS, *extra]


def test_output_plots_false_trains_without_drawing(small_training):
    """``output.plots=false`` (the tests' FAST_TRAIN): no figures, no ``plots/`` in the bundle, which still loads."""
    assert small_training.config.output.plots is False and small_training.figures == {}
    assert not (small_training.bundle_path / "plots").exists()
    assert loaded_predicts(small_training.bundle_path)


def test_model_card_names_inputs_and_groups_as_every_other_screen_does(tracked_run):
    """Issue 21 items 9-11: the card shows the benefit groups with their meaning (the report's own text) and
    names the model inputs by their display names, never by internal feature names."""
    from icipredict.model.features import INPUT_SOURCES
    from icipredict.report.content import benefit_groups_text
    from icipredict.table.labels import MODEL_INPUT_LABELS

    result, _ = tracked_run
    card = result.card
    assert benefit_groups_text(result.metadata) in card
    rates = re.findall(r"\d+% of \d+ had durable benefit", benefit_groups_text(result.metadata))
    assert len(rates) == 3  # observed rates with n, not bare group names
    table = card.split("| hidden input | patients | coverage |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    hidden = [ln.split("|")[1].strip() for ln in table]
    assert hidden and all(h.startswith(tuple(MODEL_INPUT_LABELS.values())) for h in hidden), hidden
    assert not {name for name in INPUT_SOURCES if len(name) > 3} & set(hidden)


def test_no_held_out_study_reaches_fitting_selection_or_calibration(tracked_run):
    """Study-level canary: each outer model saw every patient except its held-out study's."""
    result, _ = tracked_run
    iecv = result.iecv
    rows = result.predictions
    assert set(iecv.models) == {"centre_a", "centre_b"}
    all_ids = set().union(*iecv.held_out_ids.values())
    for study, model in iecv.models.items():
        held = iecv.held_out_ids[study]
        assert held and model.fit_ids.isdisjoint(held)
        assert model.fit_ids == all_ids - held  # the rest of the training patients, all of them
    assert rows["iecv"].notna().all() and len(all_ids) == len(rows)


def test_no_test_fold_patient_reaches_fitting_or_calibration(tracked_run):
    result, _ = tracked_run
    assert len(result.fold_models) == 3
    every = set()
    for model, test_ids in zip(result.fold_models, result.fold_test_ids):
        # fit_ids are every patient the fold model (selection, base model and calibration) saw
        assert model.fit_ids.isdisjoint(test_ids)
        every |= test_ids
    assert len(every) == len(result.predictions)  # each evaluable patient predicted exactly once
    assert result.predictions["model"].notna().all()


def test_noise_outcome_gives_chance_auc_and_is_reported_as_no_signal(tmp_path):
    """Canary: with outcomes shuffled, a leak of held-out rows into fitting would lift the AUC."""
    parts = []
    for name, seed in (("a", 3), ("b", 4)):
        df = synthetic_cohort(250, seed=seed, cohort=name, id_prefix=name.upper())
        perm = np.random.default_rng(seed).permutation(len(df))
        for col in ("pfs_months", "pfs_event", "best_response", "os_months", "os_event"):
            df[col] = df[col].to_numpy()[perm]
        parts.append(df)
    path = tmp_path / "noise.csv"
    write_table(pd.concat(parts, ignore_index=True), path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(overrides=[*[s for s in FAST_TRAIN if not s.startswith("data.sources")],
                                  "tracking.enabled=false", f"output.model_dir={tmp_path / 'm'}",
                                  f"data.sources=[{{name: noise, format: table, path: '{path}'}}]"], quiet=True)
    row = result.metrics.query("scheme == 'iecv' and subset == 'all' and model == 'model' and cohort == 'pooled'")
    # not above chance (shuffled outcomes push out-of-sample AUCs to or below 0.5; a leak would lift them)
    assert row["roc_auc_low"].iloc[0] < 0.5 and row["roc_auc"].iloc[0] < 0.58
    # a model without signal is never presented as a working one
    assert result.metadata.signal.status == "none" and result.metadata.signal.reasons
    assert any("NO SIGNAL" in str(w.message) for w in caught)
    out = predict({"patient_id": "x", "pdl1_tps": 50}, model=result.bundle_path)
    assert "carries no signal" in out["warnings"].iloc[0]
    assert "carries no signal" in (result.bundle_path / "model_card.md").read_text().lower()


def _bundle_files(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("families", ["[spline_logistic]", "[xgboost]"])
def test_same_config_and_seed_give_identical_metrics_and_files(tmp_path, families):
    """Every file of the bundle, byte for byte, and everything the training figures are drawn from (the
    predictions, the external frames and the explanations): ``tests/plots/test_plots.py`` holds the figures
    byte-identical for the same run, so the runs are compared without drawing them."""
    runs = []
    for i, order in enumerate([1, -1]):
        sets = [s for s in FAST_TRAIN if not s.startswith(("model.families", "evaluation.cv_folds"))]
        sets += ["model.xgboost={max_depth: [1], n_estimators: 40}", "evaluation.cv_folds=0", "tracking.enabled=false",
                 f"model.families={families}"]
        runs.append(train(overrides=[*sets[::order], f"output.model_dir={tmp_path / str(i)}"], quiet=True))
    pd.testing.assert_frame_equal(runs[0].metrics, runs[1].metrics)
    pd.testing.assert_frame_equal(runs[0].predictions, runs[1].predictions)
    for first, second in zip(runs[0].contributions, runs[1].contributions, strict=True):
        pd.testing.assert_frame_equal(first, second)
    assert runs[0].external.keys() == runs[1].external.keys()
    for name in runs[0].external:
        pd.testing.assert_frame_equal(runs[0].external[name], runs[1].external[name])
    a, b = runs[0].bundle_path, runs[1].bundle_path
    assert _bundle_files(a) == _bundle_files(b)
    for name in _bundle_files(a):
        assert filecmp.cmp(a / name, b / name, shallow=False), name


@pytest.mark.slow
def test_public_cohort_config_reports_model_beside_baselines(tmp_path):
    shared_path("cbioportal", "nsclc_pd1_msk_2018")
    result = train(REPO / "configs" / "public_cohorts.yaml", overrides=[
        "tracking.enabled=false", "evaluation.n_boot=100", "evaluation.cv_folds=0",
        "model.families=[spline_logistic]", f"output.model_dir={tmp_path / 'pub'}", NO_PLOTS,
        f"data.root={shared_path()}"], quiet=True)
    m = result.metrics
    assert result.metadata.training.data.duplicates_removed == 23
    head = m.query("scheme == 'iecv' and subset == 'all'")
    assert {"lung_msk_mind_2020", "nsclc_pd1_msk_2018", "nsclc_mskcc_2018", "pooled"} <= set(head["cohort"])
    for cohort in ("lung_msk_mind_2020", "nsclc_pd1_msk_2018"):
        models = set(head.loc[head["cohort"] == cohort, "model"])
        assert {"model", "pdl1", "tmb"} <= models
    ext = m.query("scheme == 'external' and subset == 'loris available'")
    assert {"model", "loris"} <= set(ext.loc[ext["cohort"] == "chowell_test", "model"])
    same = ext.loc[ext["cohort"] == "chowell_test"]
    assert same["n"].nunique() == 1  # model and LORIS on exactly the same patients
    assert m["roc_auc_low"].le(m["roc_auc"]).all() and m["roc_auc"].le(m["roc_auc_high"]).all()
    assert result.metadata.signal.status == "ok"
    assert loaded_predicts(result.bundle_path)


def loaded_predicts(path) -> bool:
    out = predict({"patient_id": "x", "pdl1_band": ">=50"}, model=load_model(path))
    return bool(np.isfinite(out["p_durable_benefit"]).all())


def test_calibration_never_reverses_or_sharpens_the_model():
    from icipredict.model.models import fit_calibrator

    rng = np.random.default_rng(0)
    score = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(2 * score))).astype(int)  # outcome falls as the score rises
    cal = fit_calibrator("slope", score, y)
    assert cal.a == 0.0
    np.testing.assert_allclose(cal.predict(score), y.mean())
    good = fit_calibrator("slope", -score, y)  # out-of-study slope 2: capped at 1, never sharpened
    assert good.a == 1.0
    # the intercept then makes the mean prediction on the development data match the observed rate
    np.testing.assert_allclose(good.predict(-score).mean(), y.mean(), atol=1e-6)
