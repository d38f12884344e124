"""A time-to-event model end to end: one curve, one answer; its bands; old bundles; explanations; bad PFS input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import icipredict
from icipredict.exceptions import InputWarning, InvalidPatientData
from icipredict.fitting.training import _pfs_patients
from icipredict.io.synthetic import synthetic_cohort
from icipredict.model.survival import check_outcomes
from icipredict.table.vocab import CURVE_COLUMNS


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return synthetic_cohort(300, seed=91, outcomes=False)


@pytest.fixture(scope="module")
def out(small_curve_model, patients) -> pd.DataFrame:
    return icipredict.predict(patients, model=small_curve_model)


@pytest.fixture(scope="module")
def curve(small_curve_model, patients) -> pd.DataFrame:
    return icipredict.predict_curve(patients, model=small_curve_model, times=[3, 6, 12, 24])


def test_one_curve_one_answer(out, curve):
    s = curve.pivot(index="patient_id", columns="time_months", values="s").loc[out["patient_id"]]
    # S(6) is p_durable_benefit, the other landmarks are the same curve's
    np.testing.assert_allclose(s[6.0].to_numpy(), out["p_durable_benefit"], rtol=0, atol=1e-9)
    for name, t in (("p_pfs_3m", 3.0), ("p_pfs_12m", 12.0), ("p_pfs_24m", 24.0)):
        np.testing.assert_allclose(s[t].to_numpy(), out[name], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["p_secondary_resistance_24m"], 1 - s[24.0].to_numpy() / s[6.0].to_numpy(),
                               rtol=0, atol=1e-9)
    assert (out["p_pfs_3m"] >= out["p_durable_benefit"]).all()
    assert (out["p_durable_benefit"] >= out["p_pfs_12m"]).all() and (out["p_pfs_12m"] >= out["p_pfs_24m"]).all()
    # patients differ: the curve is not one curve for everyone
    assert out["p_pfs_12m"].std() > 0.01


def test_every_value_lies_in_its_interval(out, curve):
    assert ((out["p_low"] <= out["p_durable_benefit"]) & (out["p_durable_benefit"] <= out["p_high"])).all()
    assert (curve["s_low"] <= curve["s"]).all() and (curve["s"] <= curve["s_high"]).all()
    six = curve.loc[curve["time_months"] == 6.0].set_index("patient_id").loc[out["patient_id"]]
    np.testing.assert_allclose(six["s_low"], out["p_low"], atol=1e-12)
    np.testing.assert_allclose(six["s_high"], out["p_high"], atol=1e-12)
    med = out.dropna(subset=["median_pfs_months"])
    assert len(med) > 0.9 * len(out)
    assert (med["median_pfs_low"] <= med["median_pfs_months"]).all()
    high = med.dropna(subset=["median_pfs_high"])
    assert (high["median_pfs_months"] <= high["median_pfs_high"]).all()


def test_an_empty_median_comes_with_its_warning(small_curve_model, patients):
    loaded = icipredict.load_model(small_curve_model)
    out = icipredict.predict(patients, model=loaded)
    no_high = out["median_pfs_high"].isna()
    said = out["warnings"].str.contains("median_pfs_high is empty", regex=False)
    assert (no_high == said).all()
    assert loaded.has_curve and loaded.metadata.curve.horizon >= 24


def test_curve_times_beyond_the_horizon_are_empty_with_a_warning(small_curve_model, patients):
    horizon = icipredict.load_model(small_curve_model).metadata.curve.horizon
    with pytest.warns(InputWarning, match="beyond"):
        c = icipredict.predict_curve(patients.head(3), model=small_curve_model, times=[6, horizon + 1])
    assert c.loc[c["time_months"] > horizon, ["s", "s_low", "s_high"]].isna().all().all()
    assert c.loc[c["time_months"] == 6, "s"].notna().all()
    assert c["patient_id"].tolist() == [p for p in patients["patient_id"].head(3) for _ in range(2)]
    with pytest.raises(ValueError, match="times: expected months as numbers >= 0. Got -1"):
        icipredict.predict_curve(patients.head(3), model=small_curve_model, times=[-1, 6])


def test_an_old_bundle_predicts_as_before_and_says_it_has_no_curve(small_model, patients):
    loaded = icipredict.load_model(small_model)
    assert not loaded.has_curve
    out = icipredict.predict(patients.head(10), model=small_model)
    assert out[list(CURVE_COLUMNS)].isna().all().all() and out["p_durable_benefit"].notna().all()
    with pytest.raises(ValueError, match="has no PFS curve|expected a time-to-event model"):
        icipredict.predict_curve(patients.head(2), model=small_model)


def test_explanations_add_up_to_the_log_odds_of_s6(small_curve_model, patients):
    loaded = icipredict.load_model(small_curve_model)
    out = icipredict.predict(patients.head(60), model=loaded, explain=3)
    phi, base = loaded.model.contributions(icipredict.check_patients(patients.head(60)))
    total = phi.to_numpy().sum(axis=1) + base
    np.testing.assert_allclose(total, _logit(out["p_durable_benefit"]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["top1_shap"].abs(), phi.abs().max(axis=1).to_numpy(), atol=1e-12)


def test_til_positive_raises_s6_and_time_classes_keep_their_order(small_curve_model, patients):
    plain = patients.drop(columns=["til_pct", "til_status"], errors="ignore")
    pos = icipredict.predict(plain.assign(til_status="positive"), model=small_curve_model)
    neg = icipredict.predict(plain.assign(til_status="negative"), model=small_curve_model)
    assert (pos["p_durable_benefit"] > neg["p_durable_benefit"]).mean() >= 0.99
    assert (pos["p_pfs_12m"] > neg["p_pfs_12m"]).mean() >= 0.99
    both = pd.concat([pos, neg], ignore_index=True)
    mean = both.groupby(both["time_class"].str.split(" ").str[0])["p_durable_benefit"].mean()
    assert mean["II"] > mean["IV"] and mean["III"] > mean["I"], mean.to_dict()


def test_the_bundle_holds_plain_numbers_and_the_cited_log_hazard_ratio(small_curve_model):
    from icipredict.clinical.evidence import til_prior_log_hr

    state = json.loads((small_curve_model / "estimator.json").read_text())
    assert state["family"] == "spline_cox" and len(state["baseline_times"]) == len(state["baseline_cumhaz"])
    meta = json.loads((small_curve_model / "model.json").read_text())
    assert meta["curve"]["horizon"] > 6 and np.all(np.diff(meta["curve"]["cumhaz"]) >= 0)
    term = icipredict.load_model(small_curve_model).metadata.til_term
    if term.source == "prior":
        assert (term.beta, term.se) == pytest.approx(til_prior_log_hr())
    card = (small_curve_model / "model_card.md").read_text()
    for fact in ("## The PFS curve", "proportional hazards", "censored", "durable-benefit label and no PFS"):
        assert fact in card, fact


# -- bad PFS input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("time, event, column, got", [
    ([3.0, -1.0], [1, 0], "pfs_months", "-1"),
    ([3.0, 0.0], [1, 0], "pfs_months", "0"),
    ([3.0, 4.0], [1, 2], "pfs_event", "2"),
    ([3.0, 4.0], [1, "yes"], "pfs_event", "'yes'"),
    ([3.0, 4.0], [1, None], "pfs_event", "empty"),
])
def test_bad_pfs_values_name_patient_column_and_value(time, event, column, got):
    with pytest.raises(InvalidPatientData) as info:
        check_outcomes(time, event, ["a", "b"])
    text = str(info.value)
    assert "patient b" in text and column in text and got in text


def _study(n, time, event, name="s1"):
    return pd.DataFrame({"patient_id": [f"{name}-{i}" for i in range(n)], "cohort": name,
                         "pfs_months": time, "pfs_event": event})


def test_a_study_without_events_or_followed_under_6_months_is_refused():
    labels = pd.Series(["not_evaluable"] * 20)
    with pytest.raises(InvalidPatientData, match="study s1: pfs_event expected some progression events"):
        _pfs_patients(_study(20, np.linspace(1, 20, 20), 0), labels, lambda m: None)
    with pytest.raises(InvalidPatientData, match="study s1: pfs_months expected some patients followed "
                                                 "progression-free to 6 months"):
        _pfs_patients(_study(20, np.linspace(1, 5.9, 20), np.arange(20) % 2), labels, lambda m: None)


def test_pfs_without_an_event_flag_and_dcb_only_patients():
    frame = _study(4, [3.0, 8.0, np.nan, 5.0], [1, 0, np.nan, np.nan])
    with pytest.raises(InvalidPatientData, match="patient s1-3: pfs_event expected 0 or 1 beside a PFS time"):
        _pfs_patients(frame, pd.Series(["primary_resistance"] * 4), lambda m: None)
    ok = _study(3, [3.0, 8.0, np.nan], [1, 0, np.nan])
    said = []
    pfs, counts = _pfs_patients(ok, pd.Series(["primary_resistance", "durable_benefit", "durable_benefit"]), said.append)
    assert len(pfs) == 2 and counts["n_dcb_only"] == 1 and counts["n_censored_before_6"] == 0
    assert "1 with a durable-benefit label and no PFS" in said[0]


def test_updating_a_curve_model_on_6_month_labels_is_refused_not_bent(small_curve_model):
    """The 6-month recalibration is refused for a curve model; `update` takes the curve's own path
    (tests/test_updating_curve.py)."""
    from icipredict.evaluation.saved import read_labelled
    from icipredict.exceptions import InvalidConfig
    from icipredict.fitting.updating import apply_update

    clean, target = read_labelled(synthetic_cohort(300, seed=5))
    ok = target.notna().to_numpy()
    with pytest.raises(InvalidConfig, match="PFS curve"):
        apply_update(icipredict.load_model(small_curve_model).model, clean.loc[ok], target[ok].to_numpy(float),
                     "intercept")
