"""A real training run of a time-to-event model: the curve validated study by study, in the card, bundle and MLflow.

The run is the session's curve training (``small_curve_model``'s, FAST_TRAIN_CURVE) with its plots drawn, logged to a
fresh MLflow store by ``log_training_run``, the call ``train`` makes when tracking is on (tests/fitting/test_train_run.py
trains with tracking on end to end).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from process_support import run_cli

from icipredict.evaluation.curves import curve_metrics, held_out_curves


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_curve_training, new_store):
    from dataclasses import replace

    from icipredict.fitting.figures import training_figures
    from icipredict.fitting.tracking import log_training_run

    tmp = tmp_path_factory.mktemp("curve_validation")
    uri = new_store(tmp)
    config = small_curve_training.config.model_copy(deep=True)
    config.tracking.enabled, config.tracking.uri, config.output.plots = True, uri, True
    # a copy with the plots train draws when output.plots is on: the session's result stays as trained
    result = replace(small_curve_training, config=config, figures=training_figures(small_curve_training))
    result.run_id = log_training_run(result, result.card, result.figures)
    return result, uri


def test_each_study_and_pooled_beside_both_references(run):
    result, _ = run
    table = result.curve_validation.metrics
    assert table[["cohort", "model"]].values.tolist() == [
        [c, m] for c in ("centre_a", "centre_b", "pooled") for m in ("model", "km_null", "pdl1_cox")]
    pfs = result.curve_validation.held.patients
    n = table.set_index(["cohort", "model"])["n"]
    assert n[("centre_a", "model")] == int((pfs["cohort"] == "centre_a").sum())
    assert n[("pooled", "model")] == len(pfs) == n[("centre_a", "model")] + n[("centre_b", "model")]
    model = table[table["model"] == "model"]
    for metric in ("harrell_c", "uno_c", "td_auc_6m", "td_auc_12m", "ibs"):
        assert (model[f"{metric}_low"] <= model[metric]).all() and (model[metric] <= model[f"{metric}_high"]).all()
    # the synthetic cohort carries signal: the curve ranks better than chance, Kaplan-Meier ranks nobody
    pooled = table[table["cohort"] == "pooled"].set_index("model")
    assert pooled.loc["model", "uno_c_low"] > 0.5 and pooled.loc["km_null", "harrell_c"] == 0.5


def test_the_numbers_are_those_of_the_fold_models(run):
    """Recomputed from the internal-external fold models: each study predicted by the model that never saw it."""
    result, _ = run
    pfs = result.curve_validation.held.patients
    again = curve_metrics(held_out_curves(pfs, result.iecv.models), n_boot=0)
    table = result.curve_validation.metrics
    for col in ("harrell_c", "uno_c", "td_auc_6m", "ibs"):
        np.testing.assert_allclose(table[col].to_numpy(float), again[col].to_numpy(float), rtol=0, atol=1e-12)
    # the held-out curve of a patient is the fold model's S(6), not the final model's
    study = sorted(result.iecv.models)[0]
    rows = pfs.loc[pfs["cohort"] == study]
    s6 = result.curve_validation.held.surv["model"][(pfs["cohort"] == study).to_numpy(), 5]
    np.testing.assert_allclose(s6, result.iecv.models[study].predict_proba(rows), atol=1e-9)


def test_card_bundle_figure_and_proportional_hazards(run):
    result, _ = run
    card = result.card
    assert "### The curve on held-out studies" in card and "### Proportional hazards" in card
    assert "Cox on PD-L1 alone" in card and "Kaplan-Meier (no predictors)" in card
    assert "survival_calibration.png" in result.figures
    saved = json.loads((result.bundle_path / "model.json").read_text())
    v = saved["curve_validation"]
    assert len(v["metrics"]) == 9 and v["n_boot"] == result.config.evaluation.n_boot
    ph = result.curve_validation.proportional_hazards
    assert len(ph) == len(result.model.base.columns_) and ph["p_value"].between(0, 1).all()
    assert v["proportional_hazards_summary"].startswith("Proportional hazards")
    assert {r["time_months"] for r in v["calibration"]} == {6.0, 12.0}


def test_logged_to_mlflow(run):
    from mlflow.tracking import MlflowClient

    result, uri = run
    client = MlflowClient(tracking_uri=uri)
    metrics = client.get_run(result.run_id).data.metrics
    pooled = result.curve_validation.metrics.set_index(["cohort", "model"]).loc[("pooled", "model")]
    assert metrics["pfs_uno_c"] == pytest.approx(pooled["uno_c"])
    assert metrics["iecv.pooled.model.curve.uno_c_low"] == pytest.approx(pooled["uno_c_low"])
    assert metrics["iecv.centre_a.pdl1_cox.curve.ibs"] > 0
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"curve_metrics_iecv.csv", "curve_calibration_iecv.csv", "proportional_hazards.csv"} <= artifacts
    assert "plots/survival_calibration.png" in {a.path for a in client.list_artifacts(result.run_id, "plots")}


def test_a_six_month_model_has_no_curve_validation(small_model):
    saved = json.loads((small_model / "model.json").read_text())
    assert saved.get("curve_validation") is None


def test_evaluate_shows_the_curve_metrics(small_curve_model, small_model, tmp_path):
    """`icipredict evaluate` in a subprocess: a curve model prints the PFS table, a 6-month model does not."""

    from icipredict.evaluation.saved import evaluate_curve
    from icipredict.io.synthetic import synthetic_cohort

    data = tmp_path / "local.csv"
    synthetic_cohort(200, seed=5).assign(cohort="local").to_csv(data, index=False)
    table = evaluate_curve(small_curve_model, data, n_boot=20)
    assert table[["cohort", "model"]].values.tolist()[:3] == [["local", "model"], ["local", "km_null"],
                                                             ["local", "pdl1_cox"]]
    assert table.loc[0, "n"] == int(synthetic_cohort(200, seed=5)["pfs_months"].notna().sum())
    assert evaluate_curve(small_model, data, n_boot=0) is None

    def run(model):
        return run_cli(["evaluate", "--model", str(model), "--input", str(data), "--n-boot", "20", "--quiet"],
                       timeout=300)

    curve_run, six_run = run(small_curve_model), run(small_model)
    assert curve_run.returncode == 0, curve_run.stderr
    assert "PFS curve (every patient with PFS" in curve_run.stdout and "| local | model |" in curve_run.stdout
    assert "| Cohort | Model |" in curve_run.stdout and "Held-out study" not in curve_run.stdout  # nothing held out
    assert f"{table.loc[0, 'uno_c']:.3f}" in curve_run.stdout
    assert six_run.returncode == 0 and "PFS curve" not in six_run.stdout


def test_evaluate_writes_the_curve_metrics_with_curve_output(small_curve_model, small_model, tmp_path):
    """``evaluate --curve-output``: the printed PFS table as a file; refused for a 6-month model and as --output."""
    import pandas as pd
    from process_support import run_cli_in_process

    from icipredict.evaluation.saved import evaluate_curve
    from icipredict.io.synthetic import synthetic_cohort

    data = tmp_path / "local.csv"
    synthetic_cohort(150, seed=8).assign(cohort="local").to_csv(data, index=False)
    base = ["evaluate", "--input", str(data), "--n-boot", "20", "--quiet"]
    code, out, err = run_cli_in_process([*base, "--model", str(small_curve_model), "--output", str(tmp_path / "m.csv"),
                                         "--curve-output", str(tmp_path / "curve.tsv")])
    assert code == 0, err
    written = pd.read_csv(tmp_path / "curve.tsv", sep="\t")
    expected = evaluate_curve(small_curve_model, data, n_boot=20)
    assert written[["cohort", "model"]].values.tolist() == expected[["cohort", "model"]].values.tolist()
    np.testing.assert_allclose(written["uno_c"], expected["uno_c"], rtol=0, atol=1e-12)
    assert f"{expected.loc[0, 'uno_c']:.3f}" in out
    code, _, err = run_cli_in_process([*base, "--model", str(small_model), "--curve-output", str(tmp_path / "c6.csv")])
    assert code == 2 and "has no progression-free curve" in err and not (tmp_path / "c6.csv").exists()
    code, _, err = run_cli_in_process([*base, "--model", str(small_curve_model), "--output", str(tmp_path / "x.csv"),
                                       "--curve-output", str(tmp_path / "x.csv")])
    assert code == 2 and "is also --output" in err and not (tmp_path / "x.csv").exists()
