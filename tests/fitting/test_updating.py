"""Local updating: refusals, closed testing, the new bundle, the CLI and MLflow, and what an update buys."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from process_support import run_cli

import icipredict
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.evaluation import calibration_slope_intercept
from icipredict.exceptions import InvalidPatientData
from icipredict.io import write_table
from icipredict.io.synthetic import synthetic_cohort
from icipredict.fitting.updating import MIN_EVENTS, apply_update, update


def _labelled(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    clean = icipredict.check_patients(df)
    y = binary_target(benefit_label(clean))
    ok = y.notna().to_numpy()
    return clean.loc[ok].reset_index(drop=True), y[ok].to_numpy(float)


def test_too_few_events_is_refused_naming_the_count_needed(small_model):
    local = synthetic_cohort(25, seed=8)
    clean, y = _labelled(local)
    events = int(min(y.sum(), len(y) - y.sum()))
    assert events < MIN_EVENTS["intercept"]
    with pytest.raises(InvalidPatientData, match=(
            rf"update: expected at least 10 patients with durable benefit and 10 with primary resistance .*"
            rf"Got {int(y.sum())} and {int(len(y) - y.sum())} instead: collect at least {10 - events} more")):
        update(small_model, local)
    big = synthetic_cohort(150, seed=8)
    with pytest.raises(InvalidPatientData, match=r"update --method refit: expected at least 50 patients"):
        update(small_model, big, method="refit")


def test_a_shifted_centre_is_recalibrated_and_the_bundle_records_its_parent(small_model, tmp_path):
    local = synthetic_cohort(500, seed=21, logit_shift=-1.0, id_prefix="LOC")  # a centre doing worse
    result = update(small_model, local, out=tmp_path / "local", n_boot=100)
    assert result.method in ("intercept", "logistic", "refit")
    before, after = result.comparison.iloc[0], result.comparison.iloc[1]
    assert before["calibration_intercept"] < -0.5 and abs(after["calibration_intercept"]) < 0.25
    loaded = icipredict.load_model(tmp_path / "local")
    parent = icipredict.load_model(small_model)
    meta = loaded.metadata
    assert meta.parent.name == parent.metadata.name and meta.parent.version == parent.version
    assert meta.parent.method == result.method and meta.parent.n_patients == len(_labelled(local)[1])
    text = (tmp_path / "local" / "model.json").read_text() + (tmp_path / "local" / "model_card.md").read_text()
    assert "LOC-000001" not in text  # the local data's fingerprint, never a patient id
    assert (tmp_path / "local" / "plots" / "update_calibration.png").is_file()
    p_new = icipredict.predict(local.head(50), model=tmp_path / "local")["p_durable_benefit"]
    p_old = icipredict.predict(local.head(50), model=small_model)["p_durable_benefit"]
    assert p_new.mean() < p_old.mean()


def test_updating_on_the_models_own_training_data_changes_nothing_material(small_model):
    out = small_model  # trained on FAST_TRAIN's two synthetic centres, rebuilt here patient for patient
    own = pd.concat([synthetic_cohort(220, seed=1, cohort="centre_a", id_prefix="CENTRE_A"),
                     synthetic_cohort(180, seed=2, cohort="centre_b", logit_shift=0.3, id_prefix="CENTRE_B")])
    result = update(out, own, n_boot=0)
    clean, y = _labelled(own)
    before = icipredict.load_model(out).model.predict_proba(clean)
    after = result.model.predict_proba(clean)
    assert np.abs(after - before).max() < 0.05  # nothing material: at most a few probability points
    assert abs(result.comparison.iloc[1]["calibration_intercept"]) < 0.2


def test_update_on_half_a_centre_calibrates_the_other_half(small_model):
    """Pooled over three shifted centres: update on one half, check the other (the issue's yardstick)."""
    pooled_y, pooled_p = [], []
    for seed, shift in ((31, -0.8), (32, 0.6), (33, -0.3)):
        clean, y = _labelled(synthetic_cohort(600, seed=seed, logit_shift=shift, id_prefix=f"C{seed}"))
        rng = np.random.default_rng(seed)
        half = rng.permutation(len(y)) < len(y) // 2
        model = icipredict.load_model(small_model).model
        from icipredict.fitting.updating import choose_method

        method, _, _ = choose_method(model, clean.loc[half].reset_index(drop=True), y[half])
        fitted = apply_update(model, clean.loc[half].reset_index(drop=True), y[half], method)
        pooled_p.append(fitted.predict_proba(clean.loc[~half].reset_index(drop=True)))
        pooled_y.append(y[~half])
    slope, citl = calibration_slope_intercept(np.concatenate(pooled_y), np.concatenate(pooled_p))
    assert abs(citl) <= 0.15 and 0.75 <= slope <= 1.3, (slope, citl)


def test_extend_learns_the_til_effect_from_local_til_data(small_model):
    strong = synthetic_cohort(600, seed=41, id_prefix="T")
    clean, y = _labelled(strong)
    parent = icipredict.load_model(small_model).model
    til = parent.inputs(clean)["til"].to_numpy()
    # a centre where TIL-high patients do much better than the prior says
    rng = np.random.default_rng(0)
    u = rng.random(len(y))
    known = np.isfinite(til)
    # two centres: TIL-high patients do much better than TIL-low ones, or exactly as well
    y_strong = np.where(known, np.where(til == 1, u < 0.7, u < 0.15), y).astype(float)
    y_none = np.where(known, u < 0.35, y).astype(float)
    strong = apply_update(parent, clean, y_strong, "extend").til_term
    none = apply_update(parent, clean, y_none, "extend").til_term
    assert strong.source == none.source == "learned" and strong.n_patients == int(known.sum())
    # estimated from the data, shrunk toward the cited prior (SE 0.1): it moves with the relation
    assert strong.beta > parent.til_term.beta + 0.1 > none.beta + 0.1


def test_cli_update_writes_a_bundle_and_an_mlflow_run(small_model, tmp_path):
    local = tmp_path / "local.csv"
    write_table(synthetic_cohort(300, seed=51, logit_shift=-0.7, id_prefix="L"), local)
    db = tmp_path / "runs.db"
    proc = run_cli(["update", "--model", str(small_model), "--data", str(local), "--out", str(tmp_path / "upd"),
                    "--n-boot", "50", "--tracking-uri", f"sqlite:///{db}"])
    assert proc.returncode == 0, proc.stderr
    assert "method:" in proc.stdout and "before and after on the local data" in proc.stdout
    run_id = proc.stdout.split("MLflow run: ")[1].split()[0]
    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=f"sqlite:///{db}").get_run(run_id)
    assert run.data.params["parent.version"] == icipredict.load_model(small_model).version
    assert {"before.calibration_intercept", "after.calibration_intercept"} <= set(run.data.metrics)
    again = run_cli(["update", "--model", str(small_model), "--data", str(local), "--out", str(tmp_path / "upd"),
                     "--no-tracking"])
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    meta = json.loads((tmp_path / "upd" / "model.json").read_text())
    assert meta["parent"]["method"] in ("intercept", "logistic", "refit")
