"""Tests of icipredict.evaluation: metric values, intervals, calibration and clinical utility."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from icipredict.evaluation import (
    average_precision,
    binary_metrics,
    bootstrap_ci,
    calibration_curve_table,
    calibration_slope_intercept,
    decision_curve,
    format_metrics_markdown,
    metrics_table,
    paired_auc_difference,
    roc_auc,
    sensitivity_specificity,
)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return np.log(p / (1 - p))


def _simulate(n: int, seed: int = 0, signal: float = 1.0):
    """Outcome drawn from true probabilities, so those probabilities are perfectly calibrated."""
    rng = np.random.default_rng(seed)
    p = _expit(rng.normal(-0.5, signal, n))
    y = (rng.random(n) < p).astype(int)
    return y, p


# --------------------------------------------------------------------------- AUC / AP


@pytest.mark.parametrize("n_levels", [3, 50, None], ids=["heavy-ties", "some-ties", "continuous"])
@pytest.mark.parametrize("n", [6, 40, 500], ids=["n6", "n40", "n500"])
def test_rank_auc_and_average_precision_equal_sklearn(n, n_levels):
    rng = np.random.default_rng(n)
    for _ in range(20):
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        s = rng.normal(size=n) if n_levels is None else rng.integers(0, n_levels, n).astype(float)
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_auc_of_single_class_is_nan():
    assert np.isnan(roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


@pytest.mark.parametrize(
    ("y", "score", "match"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], r"y must contain only 0 and 1.*Got \['2.0'\] instead"),
        ([0, 1], [0.1, 0.2, 0.3], "same length. Got 2 and 3 instead"),
        ([0, 1], [0.1, np.inf], "finite or NaN. Got 1 infinite"),
    ],
    ids=["non-binary-y", "length-mismatch", "infinite-score"],
)
def test_invalid_inputs_raise_naming_the_problem(y, score, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(y, score)


# --------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc", "brier"], ids=str)
def test_ci_contains_point_estimate_and_shrinks_with_n(metric):
    widths = []
    for n in (200, 2000):
        y, p = _simulate(n, seed=n)
        point = binary_metrics(y, p, n_boot=0)[metric]
        low, high = bootstrap_ci(y, p, metric, n_boot=500, seed=1)
        assert low < point < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_fast_bootstrap_matches_callable_metric_on_same_resamples():
    y, p = _simulate(300, seed=3)
    assert bootstrap_ci(y, p, "roc_auc", n_boot=200, seed=5) == pytest.approx(
        bootstrap_ci(y, p, roc_auc_score, n_boot=200, seed=5), abs=1e-12
    )


def test_bootstrap_is_reproducible_with_seed():
    y, p = _simulate(300, seed=4)
    first = bootstrap_ci(y, p, "roc_auc", n_boot=200, seed=11)
    assert bootstrap_ci(y, p, "roc_auc", n_boot=200, seed=11) == first
    assert bootstrap_ci(y, p, "roc_auc", n_boot=200, seed=12) != first


def test_unstratified_bootstrap_skips_single_class_resamples():
    y = np.array([1] + [0] * 9)
    s = np.linspace(0, 1, 10)
    low, high = bootstrap_ci(y, s, "roc_auc", n_boot=300, seed=0, stratified=False)
    assert 0 <= low <= high <= 1


def test_paired_auc_difference_of_identical_scores_is_zero():
    y, p = _simulate(300, seed=7)
    assert paired_auc_difference(y, p, p, n_boot=200, seed=0) == (0.0, 0.0, 0.0)


def test_paired_auc_difference_uses_complete_pairs_and_detects_better_score():
    y, p = _simulate(600, seed=8, signal=2.0)
    noisy = p + np.random.default_rng(0).normal(0, 0.5, p.size)
    noisy[:50] = np.nan
    diff, low, high = paired_auc_difference(y, p, noisy, n_boot=300, seed=0)
    keep = ~np.isnan(noisy)
    assert diff == pytest.approx(roc_auc(y[keep], p[keep]) - roc_auc(y[keep], noisy[keep]))
    assert 0 < low < diff < high


# --------------------------------------------------------------------------- calibration


def test_perfectly_calibrated_predictions_have_slope_one_and_intercept_zero():
    y, p = _simulate(20000, seed=10)
    slope, intercept = calibration_slope_intercept(y, p)
    assert slope == pytest.approx(1.0, abs=0.05)
    assert intercept == pytest.approx(0.0, abs=0.05)


def test_overconfident_predictions_have_slope_below_one():
    y, p = _simulate(20000, seed=11)
    slope, _ = calibration_slope_intercept(y, _expit(2.0 * _logit(p)))
    assert slope == pytest.approx(0.5, abs=0.05)


def test_predictions_too_low_have_positive_intercept():
    y, p = _simulate(20000, seed=12)
    _, intercept = calibration_slope_intercept(y, _expit(_logit(p) - 1.0))
    assert intercept == pytest.approx(1.0, abs=0.05)


def test_calibration_clips_extreme_probabilities():
    slope, intercept = calibration_slope_intercept([0, 1, 0, 1, 1, 0], [0.0, 1.0, 0.3, 0.6, 0.4, 0.7])
    assert np.isfinite(slope) and np.isfinite(intercept)


def test_calibration_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match=r"p must be probabilities in \[0, 1\]. Got values from 0 to 60"):
        calibration_slope_intercept([0, 1], [0, 60])


def test_calibration_curve_table_bins_with_wilson_intervals():
    y, p = _simulate(2000, seed=13)
    table = calibration_curve_table(y, p, n_bins=10)
    assert list(table.columns) == ["bin", "mean_predicted", "observed", "n", "observed_low", "observed_high"]
    assert table["n"].sum() == 2000 and len(table) == 10
    assert (table["observed_low"] <= table["observed"]).all() and (table["observed"] <= table["observed_high"]).all()
    assert np.abs(table["observed"] - table["mean_predicted"]).max() < 0.1


def test_wilson_interval_matches_hand_value():
    # 0 events in 10: Wilson upper bound = z^2 / (n + z^2) = 3.8415 / 13.8415.
    table = calibration_curve_table(np.zeros(10), np.full(10, 0.1), n_bins=1)
    assert table["observed_low"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert table["observed_high"].iloc[0] == pytest.approx(3.8415 / 13.8415, abs=1e-4)


# --------------------------------------------------------------------------- clinical utility


def test_net_benefit_of_treat_all_follows_formula():
    y, p = _simulate(500, seed=14)
    dc = decision_curve(y, p)
    prev = y.mean()
    t = dc["threshold"].to_numpy()
    np.testing.assert_allclose(dc["net_benefit_all"], prev - (1 - prev) * t / (1 - t))
    assert (dc["net_benefit_none"] == 0).all()


def test_perfect_model_net_benefit_equals_prevalence():
    y, _ = _simulate(500, seed=15)
    dc = decision_curve(y, y.astype(float))
    np.testing.assert_allclose(dc["net_benefit_model"], y.mean())


def test_decision_curve_rejects_threshold_of_one():
    with pytest.raises(ValueError, match="strictly between 0 and 1. Got"):
        decision_curve([0, 1], [0.2, 0.8], thresholds=[0.5, 1.0])


def test_sensitivity_specificity_on_six_patients():
    y = [1, 1, 1, 0, 0, 0]
    p = [0.9, 0.6, 0.2, 0.7, 0.3, 0.1]
    table = sensitivity_specificity(y, p, [0.5, 0.95])
    # t=0.5 flags 0.9, 0.6 (benefit) and 0.7 (resistance): TP=2, FP=1, FN=1, TN=2.
    first = table.iloc[0]
    assert first["sensitivity"] == pytest.approx(2 / 3)
    assert first["specificity"] == pytest.approx(2 / 3)
    assert first["ppv"] == pytest.approx(2 / 3)
    assert first["npv"] == pytest.approx(2 / 3)
    assert first["n_flagged"] == 3
    second = table.iloc[1]
    assert second["sensitivity"] == 0 and second["specificity"] == 1 and np.isnan(second["ppv"])
    assert second["npv"] == pytest.approx(0.5) and second["n_flagged"] == 0


# --------------------------------------------------------------------------- summaries


def test_binary_metrics_probability_has_calibration_and_raw_score_does_not():
    y, p = _simulate(400, seed=16)
    prob = binary_metrics(y, p, n_boot=100)
    raw = binary_metrics(y, 100 * p, is_probability=False, n_boot=100)
    assert prob["brier"] < prob["brier_null"] == pytest.approx(y.mean() * (1 - y.mean()))
    assert {"calibration_slope", "calibration_intercept", "mean_predicted", "brier_low"} <= set(prob)
    assert "brier" not in raw and "calibration_slope" not in raw
    assert raw["roc_auc"] == pytest.approx(prob["roc_auc"])


def test_binary_metrics_drops_nan_scores_and_counts_them():
    y, p = _simulate(300, seed=17)
    p_missing = p.copy()
    p_missing[::10] = np.nan
    m = binary_metrics(y, p_missing, n_boot=50)
    keep = ~np.isnan(p_missing)
    assert m["n"] == keep.sum() and m["n_missing_score"] == 30
    assert m["n_pos"] + m["n_neg"] == m["n"]
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y[keep], p[keep]))
    assert all(np.isfinite(m[k]) for k in ("roc_auc_low", "brier", "calibration_slope"))


def test_binary_metrics_rejects_raw_score_declared_as_probability():
    with pytest.raises(ValueError, match=r"score must be probabilities .*Got values from 1 to 80"):
        binary_metrics([0, 1], [1.0, 80.0], n_boot=0)


@pytest.fixture()
def two_cohorts() -> pd.DataFrame:
    rng = np.random.default_rng(20)
    y_a, p_a = _simulate(120, seed=21)
    y_b, p_b = _simulate(80, seed=22)
    frame = pd.DataFrame(
        {
            "cohort": ["A"] * 120 + ["B"] * 80,
            "y": np.concatenate([y_a, y_b]),
            "p_model": np.concatenate([p_a, p_b]),
            "pdl1_tps": rng.uniform(0, 100, 200),
        }
    )
    frame.loc[[0, 1, 150], "pdl1_tps"] = np.nan
    return frame


def test_metrics_table_has_pooled_and_cohort_rows_with_correct_n(two_cohorts):
    table = metrics_table(
        two_cohorts,
        scores={"model": "p_model", "PD-L1": "pdl1_tps"},
        probability_scores=["model"],
        n_boot=50,
        n_not_evaluable={"A": 4, "B": 1},
    )
    assert table[["cohort", "model"]].values.tolist() == [
        ["A", "model"], ["A", "PD-L1"], ["B", "model"], ["B", "PD-L1"], ["pooled", "model"], ["pooled", "PD-L1"]
    ]
    n = table.set_index(["cohort", "model"])
    assert n.loc[("A", "model"), "n"] == 120 and n.loc[("A", "PD-L1"), "n"] == 118
    assert n.loc[("B", "PD-L1"), "n"] == 79 and n.loc[("pooled", "model"), "n"] == 200
    assert n.loc[("pooled", "PD-L1"), "n_missing_score"] == 3
    assert n.loc[("A", "model"), "n_pos"] == two_cohorts.loc[two_cohorts.cohort == "A", "y"].sum()
    assert n["n_not_evaluable"].to_dict() == {
        ("A", "model"): 4, ("A", "PD-L1"): 4, ("B", "model"): 1, ("B", "PD-L1"): 1,
        ("pooled", "model"): 5, ("pooled", "PD-L1"): 5,
    }
    assert not n["same_patients"].any()
    assert np.isnan(n.loc[("A", "PD-L1"), "brier"]) and np.isfinite(n.loc[("A", "model"), "brier"])


def test_metrics_table_same_patients_when_no_score_missing(two_cohorts):
    table = metrics_table(two_cohorts.dropna(), scores=["p_model", "pdl1_tps"], group=None, n_boot=0)
    assert table["cohort"].tolist() == ["pooled", "pooled"] and table["same_patients"].all()


def test_metrics_table_counts_missing_outcome_as_not_evaluable(two_cohorts):
    frame = two_cohorts.astype({"y": float})
    frame.loc[0, "y"] = np.nan
    table = metrics_table(frame, scores=["p_model"], probability_scores=["p_model"], n_boot=0)
    assert table.set_index("cohort").loc["A", ["n", "n_not_evaluable"]].tolist() == [119, 1]


def test_metrics_table_names_missing_column(two_cohorts):
    with pytest.raises(ValueError, match=r"Got no column\(s\) \['tmb'\] instead"):
        metrics_table(two_cohorts, scores=["tmb"], n_boot=0)


def test_format_metrics_markdown(two_cohorts):
    table = metrics_table(two_cohorts, scores={"model": "p_model", "PD-L1": "pdl1_tps"},
                          probability_scores=["model"], n_boot=50)
    text = format_metrics_markdown(table)
    lines = text.splitlines()
    assert lines[0] == "| Cohort | Model | n | Events | ROC AUC | PR AUC | Brier | Calibration slope | Calibration intercept |"
    assert len(lines) == 2 + len(table)
    row = table.iloc[0]
    assert f"{row.roc_auc:.2f} ({row.roc_auc_low:.2f}-{row.roc_auc_high:.2f})" in lines[2]
    assert lines[3].startswith("| A | PD-L1 | 118 |") and lines[3].endswith("| NA | NA | NA |")
