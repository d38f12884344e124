"""Updating a model with a PFS curve on a centre's own PFS: baseline, then slope, by closed testing."""

from __future__ import annotations

import numpy as np
import pytest

import icipredict
from icipredict.exceptions import InvalidPatientData
from icipredict.fitting.curve_updating import poisson_recalibration
from icipredict.fitting.updating import update
from icipredict.io.synthetic import synthetic_cohort


def test_poisson_recalibration_by_hand():
    rng = np.random.default_rng(0)
    lp = rng.normal(size=500)
    h0 = rng.uniform(0.1, 2.0, 500)
    d = rng.poisson(h0 * np.exp(0.3 + 0.6 * lp)).clip(0, 1).astype(float)
    a, b, ll = poisson_recalibration(d, lp, h0, slope=False)
    assert a == 1.0 and np.exp(b) == pytest.approx(d.sum() / np.sum(h0 * np.exp(lp)))
    a, b, ll_slope = poisson_recalibration(d, lp, h0, slope=True)
    mu = h0 * np.exp(a * lp + b)
    np.testing.assert_allclose([np.sum((d - mu) * lp), np.sum(d - mu)], [0, 0], atol=1e-8)  # score equations
    assert ll_slope >= ll and a < 1  # the events were drawn with a slope of 0.6


@pytest.fixture(scope="module")
def worse_centre(small_curve_model, tmp_path_factory):
    """A centre whose patients progress earlier than the training centres' at the same inputs."""
    data = synthetic_cohort(500, seed=23, logit_shift=-1.2, cohort="local")
    out = tmp_path_factory.mktemp("updated") / "bundle"
    return update(small_curve_model, data, out=out, n_boot=50), data


def test_baseline_recalibrated_and_s12_closer_to_local_km(worse_centre):
    result, _ = worse_centre
    assert result.method in ("intercept", "logistic")
    assert result.tests[0]["method"] == "intercept" and result.tests[0]["p"] < 0.05
    before, after = result.comparison.iloc[0], result.comparison.iloc[1]
    assert before["n_pfs"] == after["n_pfs"] > 400
    km = before["km_12m"]
    assert abs(after["mean_predicted_12m"] - km) < abs(before["mean_predicted_12m"] - km)
    assert before["mean_predicted_12m"] > km  # the training centres progressed later
    assert "## S(12) on the local data" in result.card and "By risk quarter" in result.card
    assert {"original S(12)", f"{after['model']} S(12)"} <= set(result.curves)


def test_updated_bundle_keeps_one_curve(worse_centre, small_curve_model):
    result, data = worse_centre
    model = icipredict.load_model(result.bundle_path)
    assert model.has_curve
    out = icipredict.predict(data.head(50), model=model)
    curve = icipredict.predict_curve(data.head(50), model=model, times=[6, 12])
    s6 = curve.loc[curve["time_months"] == 6].set_index("patient_id").loc[out["patient_id"], "s"]
    np.testing.assert_allclose(s6.to_numpy(), out["p_durable_benefit"], atol=1e-9)
    assert (out["p_pfs_12m"] <= out["p_durable_benefit"]).all()
    parent = icipredict.predict(data.head(50), model=small_curve_model)
    # the worse centre: on average the 6-month probability goes down
    assert out["p_durable_benefit"].mean() < parent["p_durable_benefit"].mean()


def test_too_few_progressions_and_unsupported_method(small_curve_model):
    few = synthetic_cohort(8, seed=4, cohort="local")
    with pytest.raises(InvalidPatientData, match=r"expected at least 10 local patients with a progression .*Got \d+ "
                                                 r"among 8 patients with PFS"):
        update(small_curve_model, few, n_boot=0)
    with pytest.raises(InvalidPatientData, match=r"--method refit: expected one of \['intercept', 'logistic'\] for a "
                                                 r"model with a PFS curve"):
        update(small_curve_model, synthetic_cohort(200, seed=4), method="refit", n_boot=0)


def test_patients_censored_before_6_months_count_with_their_follow_up(worse_centre):
    """Patients censored before 6 months (no 6-month label) are in the update: counted, and their follow-up moves
    the recalibration (the expected events of each patient run to their own last visit)."""
    from icipredict.fitting.curve_updating import apply_curve_update
    from icipredict.model.survival import pfs_rows
    from icipredict.table.schema import check_patients

    result, data = worse_centre
    pfs = pfs_rows(check_patients(data))
    early = (pfs["pfs_months"] < 6) & (pfs["pfs_event"] == 0)
    assert early.sum() >= 5  # the synthetic centre has some
    assert int(result.comparison.iloc[0]["n_pfs"]) == len(pfs)  # every patient with PFS, the early-censored too
    model = icipredict.load_model(result.bundle_path).model
    with_all = apply_curve_update(model, pfs, "intercept").calibrator.b
    without = apply_curve_update(model, pfs.loc[~early.to_numpy()].reset_index(drop=True), "intercept").calibrator.b
    assert with_all != pytest.approx(without, abs=1e-6)
