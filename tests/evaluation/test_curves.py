"""Held-out curves beside the Kaplan-Meier and PD-L1-only references: the table's numbers are the metrics'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icipredict.evaluation.curves import (DEFAULT_GRID, HeldOutCurves, curve_calibration, curve_metrics,
                                          reference_curves, supported_until)
from icipredict.evaluation.proportional_hazards import fit_cox
from icipredict.evaluation.survival import brier_at, harrell_c, integrated_brier, km_at, td_auc, uno_c


def _cohort(seed: int, n: int, name: str) -> pd.DataFrame:
    """PFS from an exponential model in which higher PD-L1 lowers the hazard; uniform censoring."""
    rng = np.random.default_rng(seed)
    tps = rng.uniform(0, 100, n)
    tps[rng.random(n) < 0.3] = np.nan
    x = rng.normal(size=n)
    lp = 0.8 * x - 0.01 * np.nan_to_num(tps, nan=30.0)
    t_event = rng.exponential(5 * np.exp(-lp))
    cens = rng.uniform(3, 36, n)
    return pd.DataFrame({"cohort": name, "pfs_months": np.minimum(t_event, cens) + 0.01,
                         "pfs_event": (t_event <= cens).astype(int), "pdl1_tps": tps, "x": x, "lp": lp})


@pytest.fixture(scope="module")
def held():
    """Two held-out studies, each predicted by a stand-in curve fitted on the other (risk = the true lp)."""
    studies = [_cohort(1, 160, "a"), _cohort(2, 140, "b")]
    grid = DEFAULT_GRID
    parts = []
    for k, test in enumerate(studies):
        train = studies[1 - k]
        fit = fit_cox(train[["lp"]].to_numpy(), train["pfs_months"], train["pfs_event"])
        part = HeldOutCurves(test.reset_index(drop=True), grid)
        s = fit.survival(test[["lp"]].to_numpy(), grid)
        s[:, grid > train["pfs_months"].max()] = np.nan
        part.add("model", fit.linear_predictor(test[["lp"]].to_numpy()), s)
        for name, (risk, surv) in reference_curves(train, test, grid).items():
            part.add(name, risk, surv)
        parts.append(part)
    return HeldOutCurves.concat(parts)


@pytest.fixture(scope="module")
def table(held):
    return curve_metrics(held, n_boot=40, seed=3)


def test_rows_per_cohort_and_model(table):
    assert table[["cohort", "model"]].values.tolist() == [
        [c, m] for c in ("a", "b", "pooled") for m in ("model", "km_null", "pdl1_cox")]
    assert table.set_index(["cohort", "model"]).loc[("pooled", "model"), "n"] == 300


def test_point_values_are_the_metric_functions(held, table):
    row = table.set_index(["cohort", "model"]).loc[("a", "model")]
    a = held.patients["cohort"].to_numpy() == "a"
    t, e, r = held.patients["pfs_months"].to_numpy()[a], held.patients["pfs_event"].to_numpy()[a], held.risks["model"][a]
    s = held.surv["model"][a]
    assert row["harrell_c"] == pytest.approx(harrell_c(t, e, r))
    assert row["uno_c"] == pytest.approx(uno_c(t, e, r, train_time=t, train_event=e, tau=row["uno_tau"]))
    assert row["td_auc_12m"] == pytest.approx(td_auc(t, e, r, 12.0, train_time=t, train_event=e))
    assert row["brier_6m"] == pytest.approx(brier_at(t, e, s[:, 5], 6.0, train_time=t, train_event=e))
    cols = held.grid <= row["ibs_until"]
    assert row["ibs"] == pytest.approx(integrated_brier(t, e, s[:, cols], held.grid[cols], train_time=t, train_event=e))
    assert row["km_12m"] == pytest.approx(km_at(t, e, 12.0))
    assert row["supported_until"] == supported_until(t, e)


def test_the_informative_curve_beats_both_references(table):
    pooled = table[table["cohort"] == "pooled"].set_index("model")
    assert pooled.loc["model", "ibs"] < pooled.loc["pdl1_cox", "ibs"] < pooled.loc["km_null", "ibs"]
    assert pooled.loc["model", "ibs_minus_km_null_high"] < 0
    assert pooled.loc["model", "uno_c_minus_pdl1_cox_low"] > 0
    assert pooled.loc["km_null", "harrell_c"] == 0.5  # one curve for everyone ranks nobody
    for metric in ("harrell_c", "uno_c", "td_auc_6m", "ibs"):
        assert pooled.loc["model", f"{metric}_low"] <= pooled.loc["model", metric] <= pooled.loc["model", f"{metric}_high"]
    assert abs(pooled.loc["model", "calibration_slope_6m"] - 1) < 0.35


def test_same_seed_same_numbers(held, table):
    again = curve_metrics(held, n_boot=40, seed=3)
    pd.testing.assert_frame_equal(table, again)


def test_calibration_groups_count_every_patient(held):
    cal = curve_calibration(held, "model", n_groups=4)
    counts = cal.groupby(["cohort", "time_months"])["n"].sum()
    assert counts.loc[("a", 6.0)] == 160 and counts.loc[("pooled", 12.0)] == 300
    pooled6 = cal[(cal["cohort"] == "pooled") & (cal["time_months"] == 6.0)]
    assert pooled6["mean_predicted"].is_monotonic_increasing
    assert (pooled6["mean_predicted"] - pooled6["observed"]).abs().max() < 0.12


def test_wrong_shape_is_named(held):
    bad = HeldOutCurves(held.patients, held.grid)
    with pytest.raises(ValueError, match=r"model 'x': expected 300 risks and a 300 x 24 curve. Got 3 and \(3,\)"):
        bad.add("x", [1, 2, 3], [1, 2, 3])


class _StandIn:
    """A stand-in time-to-event model (the test's own): risk = -PD-L1 TPS, Breslow baseline from fit_cox."""

    def __init__(self, train: pd.DataFrame):
        x = -train[["pdl1_tps"]].fillna(30.0).to_numpy() / 100
        self.fit = fit_cox(x, train["pfs_months"], train["pfs_event"])
        self.horizon = supported_until(train["pfs_months"], train["pfs_event"])
        self.baseline = self

    def linear_predictor(self, patients):
        return self.fit.linear_predictor(-patients[["pdl1_tps"]].fillna(30.0).to_numpy() / 100)

    def at(self, times):
        k = np.searchsorted(self.fit.baseline_times, times, side="right") - 1
        h = np.where(k >= 0, self.fit.baseline_cumhaz[np.maximum(k, 0)], 0.0)
        return np.where(np.asarray(times) > self.horizon, np.nan, h)


def test_held_out_curves_from_models_and_a_six_month_score():
    from icipredict.evaluation.curves import held_out_curves

    pfs = pd.concat([_cohort(4, 120, "a"), _cohort(5, 100, "b"), _cohort(6, 90, "c")], ignore_index=True)
    models = {s: _StandIn(pfs[pfs["cohort"] != s]) for s in ("a", "b", "c")}
    held = held_out_curves(pfs, models)
    assert len(held.patients) == 310 and set(held.risks) == {"model", "km_null", "pdl1_cox"}
    # each study predicted only by the model that did not see it: the held-out lp is that model's
    b = (held.patients["cohort"] == "b").to_numpy()
    np.testing.assert_allclose(held.risks["model"][b], models["b"].linear_predictor(held.patients.loc[b]))
    assert np.isnan(held.surv["model"][:, held.grid > models["a"].horizon + 1e-9][~b & (held.patients["cohort"] == "a").to_numpy()]).all()
    six = np.full_like(held.surv["model"], np.nan)
    six[:, 5] = held.surv["model"][:, 5]
    held.add("six_month", -six[:, 5], six)
    table = curve_metrics(held, n_boot=0, compare_to=("km_null", "six_month")).set_index(["cohort", "model"])
    assert np.isnan(table.loc[("pooled", "six_month"), "ibs"])
    assert np.isfinite(table.loc[("pooled", "model"), "ibs"])
    assert table.loc[("pooled", "six_month"), "brier_6m"] == pytest.approx(table.loc[("pooled", "model"), "brier_6m"])
    assert table.loc[("pooled", "model"), "uno_c_minus_six_month"] == pytest.approx(
        table.loc[("pooled", "model"), "uno_c"] - table.loc[("pooled", "six_month"), "uno_c"])
