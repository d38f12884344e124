"""Time-to-event metrics: hand-checked small cases, and the same numbers as lifelines / scikit-survival."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icipredict.evaluation.survival import (
    brier_at,
    calibration_by_group,
    censoring_survival,
    check_survival,
    harrell_c,
    integrated_brier,
    kaplan_meier,
    kaplan_meier_table,
    km_at,
    km_ci_at,
    survival_bootstrap_ci,
    survival_metrics,
    survival_metrics_table,
    td_auc,
    uno_c,
)


@pytest.fixture(scope="module")
def cohort():
    """300 patients, exponential PFS with a log-hazard of x, independent uniform censoring, no ties."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    t_event = rng.exponential(8 * np.exp(-0.8 * x))
    t_cens = rng.uniform(2, 30, size=300)
    time = np.minimum(t_event, t_cens) + rng.uniform(0, 1e-6, size=300)
    event = (t_event <= t_cens).astype(int)
    return x, time, event


# --------------------------------------------------------------------------- hand-checked


def test_kaplan_meier_by_hand():
    # at 1: 6 at risk, 1 event -> 5/6; at 3: 3 at risk (2 censored at 2), 2 events -> 5/6 * 1/3;
    # at 5: 1 at risk, 1 event -> 0.
    time = [1, 2, 2, 3, 3, 5]
    event = [1, 0, 0, 1, 1, 1]
    times, surv = kaplan_meier(time, event)
    assert times.tolist() == [1.0, 3.0, 5.0]
    np.testing.assert_allclose(surv, [5 / 6, 5 / 18, 0.0])
    assert km_at(time, event, 0.5) == 1.0
    assert km_at(time, event, 4.0) == pytest.approx(5 / 18)
    assert km_at(time, event, 6.0) == 0.0  # the last patient progressed: the curve stays at 0
    assert np.isnan(km_at([1, 2, 3], [1, 0, 0], 4.0))  # past the last follow-up of a censored patient
    table = kaplan_meier_table(time, event)
    assert table["n_at_risk"].tolist() == [6.0, 3.0, 1.0]
    # Greenwood: var = S^2 * sum d / (n (n - d))
    assert table["se"].iloc[1] == pytest.approx(5 / 18 * np.sqrt(1 / 30 + 2 / 3))


def test_harrell_c_perfect_reversed_and_tied():
    time = np.array([1.0, 2, 3, 4, 5])
    event = np.array([1, 1, 0, 1, 0])
    assert harrell_c(time, event, -time) == 1.0
    assert harrell_c(time, event, time) == 0.0
    assert harrell_c(time, event, np.zeros(5)) == 0.5
    # one discordant pair out of 7 comparable ones: (1,2),(1,3),(1,4),(1,5),(2,3),(2,4),(2,5),(4,5) = 8 pairs
    risk = np.array([5.0, 3, 2, 4, 1])  # patient at 2 ranked below the one at 4
    assert harrell_c(time, event, risk) == pytest.approx(7 / 8)


def test_censored_tie_with_event_is_comparable():
    # Censored at the progression time: still at risk then, so the pair counts.
    assert harrell_c([2.0, 2.0], [1, 0], [1.0, 0.0]) == 1.0
    assert np.isnan(harrell_c([2.0, 2.0], [1, 1], [1.0, 0.0]))  # both progressed together: no pair


def test_censoring_distribution_by_hand():
    G = censoring_survival([1, 2, 2, 3, 4], [1, 0, 1, 0, 1])
    # censoring at 2: at risk 4, minus the progression at 2 -> 3, one censored -> 2/3; at 3: 2 at risk -> 1/3
    np.testing.assert_allclose(G(np.array([1.5, 2.0, 3.5])), [1.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(G(np.array([2.0, 3.0]), left=True), [1.0, 2 / 3])


def test_uno_c_without_censoring_equals_harrell(cohort):
    x, time, _ = cohort
    event = np.ones_like(time, dtype=int)
    tau = time.max() + 1
    assert uno_c(time, event, x, train_time=time, train_event=event, tau=tau) == pytest.approx(
        harrell_c(time, event, x))


def test_uno_c_is_hand_weighted_concordance():
    time = np.array([1.0, 2, 3, 4, 6]); event = np.array([1, 0, 1, 1, 0]); risk = np.array([2.0, 5, 1, 3, 0])
    G = censoring_survival(time, event)
    num = den = 0.0
    for i in range(5):
        for j in range(5):
            if event[i] and time[i] < time[j] and time[i] < 5:
                w = 1 / G(np.array([time[i]]), left=True)[0] ** 2
                den += w
                num += w * (risk[i] > risk[j])
    assert uno_c(time, event, risk, train_time=time, train_event=event, tau=5) == pytest.approx(num / den)


def test_td_auc_and_brier_by_hand():
    time = np.array([1.0, 2, 3, 7, 8, 9]); event = np.array([1, 1, 0, 1, 0, 1])
    # cases by 6: patients at 1 and 2 (G = 1 before the censoring at 3); controls: 7, 8, 9
    risk = np.array([1.0, 0.0, 5.0, 0.5, 2.0, 0.0])
    # case 1 (risk 1) beats 0.5 and 0 (not 2): 2/3; case 2 (risk 0) ties 0: 0.5/3
    assert td_auc(time, event, risk, 6.0, train_time=time, train_event=event) == pytest.approx((2 / 3 + 0.5 / 3) / 2)
    s = np.array([0.2, 0.4, 0.9, 0.7, 0.6, 0.8])
    g6 = censoring_survival(time, event)(np.array([6.0]))[0]  # 3 of 4 left after the censoring at 3 -> 3/4
    assert g6 == pytest.approx(3 / 4)
    expected = (0.2**2 + 0.4**2 + (0.3**2 + 0.4**2 + 0.2**2) / g6) / 6
    assert brier_at(time, event, s, 6.0, train_time=time, train_event=event) == pytest.approx(expected)


def test_integrated_brier_is_trapezoid_of_brier():
    time = np.array([1.0, 2, 3, 7, 8, 9]); event = np.array([1, 1, 0, 1, 0, 1])
    grid = np.array([1.5, 4.0, 7.5])
    s = np.tile([0.8, 0.5, 0.3], (6, 1))
    b = [brier_at(time, event, s[:, k], t, train_time=time, train_event=event) for k, t in enumerate(grid)]
    expected = ((b[0] + b[1]) / 2 * 2.5 + (b[1] + b[2]) / 2 * 3.5) / 6.0
    assert integrated_brier(time, event, s, grid, train_time=time, train_event=event) == pytest.approx(expected)


def test_calibration_by_group_counts_and_km():
    time = np.array([1.0, 2, 3, 7, 8, 9, 10, 11]); event = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    table = calibration_by_group(time, event, s, 6.0, n_groups=2)
    assert table["n"].tolist() == [4, 4]
    assert table["n_events"].tolist() == [3, 1]
    assert table["mean_predicted"].tolist() == pytest.approx([0.25, 0.75])
    # low group: 1, 2 progress (4 -> 3/4 -> 2/4), censored at 3, still 1/2 at 6; high group: all free at 6
    assert table["observed"].tolist() == pytest.approx([0.5, 1.0])
    assert (table["observed_low"] <= table["observed"]).all() and (table["observed"] <= table["observed_high"]).all()


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([1.0, 0.0], [1, 0], r"time must be positive .*Got 0.0 at position 1"),
        ([1.0, np.nan], [1, 0], r"time must be positive .*Got nan at position 1"),
        ([1.0, 2.0], [1, 2], r"event must be 0 \(censored\) or 1 .*Got 2.0 at position 1"),
        ([1.0, 2.0], [1], r"same length. Got 2 and 1"),
    ],
    ids=["zero-time", "missing-time", "event-2", "length"],
)
def test_bad_input_is_named(time, event, message):
    with pytest.raises(ValueError, match=message):
        check_survival(time, event)


def test_risk_with_missing_value_is_refused():
    with pytest.raises(ValueError, match=r"risk must be finite. Got 1 missing"):
        harrell_c([1.0, 2.0], [1, 1], [0.5, np.nan])


# --------------------------------------------------------------------------- bootstrap and tables


def test_bootstrap_ci_covers_and_repeats(cohort):
    x, time, event = cohort
    c = harrell_c(time, event, x)
    ci = survival_bootstrap_ci(lambda i: harrell_c(time[i], event[i], x[i]), event, n_boot=100, seed=1)
    assert ci[0] < c < ci[1]
    assert ci == survival_bootstrap_ci(lambda i: harrell_c(time[i], event[i], x[i]), event, n_boot=100, seed=1)


def test_survival_metrics_table_per_cohort_and_pooled(cohort):
    x, time, event = cohort
    frame = pd.DataFrame({"cohort": np.repeat(["a", "b", "c"], 100), "pfs_months": time, "pfs_event": event,
                          "risk": x, "noise": np.random.default_rng(0).normal(size=300),
                          "s6": np.exp(-6 / 8 * np.exp(0.8 * x))})
    frame.loc[0, "risk"] = np.nan
    table = survival_metrics_table(frame, risks={"model": "risk", "noise": "noise"},
                                   surv_columns={"model": {6.0: "s6"}}, n_boot=30)
    assert table["cohort"].tolist() == ["a", "a", "b", "b", "c", "c", "pooled", "pooled"]
    model = table[table["model"] == "model"].set_index("cohort")
    assert model.loc["a", "n"] == 99 and model.loc["a", "n_missing"] == 1
    assert model.loc["pooled", "n"] == 299
    noise = table[table["model"] == "noise"].set_index("cohort")
    assert (model["uno_c"] > noise["uno_c"] + 0.1).all()
    assert (model["td_auc_6m_low"] < model["td_auc_6m"]).all() and (model["td_auc_6m"] < model["td_auc_6m_high"]).all()
    assert model.loc["pooled", "mean_predicted_6m"] == pytest.approx(model.loc["pooled", "km_6m"], abs=0.06)
    assert "brier_6m" not in noise.columns or noise["brier_6m"].isna().all()


# --------------------------------------------------------------------------- cross-checks


def test_harrell_c_matches_lifelines(cohort):
    utils = pytest.importorskip("lifelines.utils", reason="lifelines is not installed (kept out of the dev extra: it caps pandas below 3); it cross-checks Harrell's C")
    x, time, event = cohort
    # lifelines takes a score where higher means longer survival
    assert harrell_c(time, event, x) == pytest.approx(utils.concordance_index(time, -x, event), abs=1e-12)
    rounded = np.round(time)  # with tied times and tied scores
    r = np.round(x, 1)
    assert harrell_c(rounded + 1, event, r) == pytest.approx(utils.concordance_index(rounded + 1, -r, event), abs=1e-12)


def test_kaplan_meier_matches_lifelines(cohort):
    lifelines = pytest.importorskip("lifelines", reason="lifelines is not installed (kept out of the dev extra: it caps pandas below 3); it cross-checks Kaplan-Meier")
    _, time, event = cohort
    rounded = np.round(time) + 1  # ties between events and censorings
    fitter = lifelines.KaplanMeierFitter().fit(rounded, event)
    for t in (3.0, 6.0, 12.0):
        s, low, high = km_ci_at(rounded, event, t)
        assert s == pytest.approx(float(fitter.survival_function_at_times(t).iloc[0]), abs=1e-12)
        ci = fitter.confidence_interval_survival_function_
        row = ci[ci.index <= t].iloc[-1]
        assert (low, high) == pytest.approx((row.iloc[0], row.iloc[1]), abs=1e-9)


def test_harrell_c_and_kaplan_meier_match_scikit_survival(cohort):
    metrics = pytest.importorskip("sksurv.metrics", reason="scikit-survival (dev extra) cross-checks Harrell's C")
    from sksurv.nonparametric import kaplan_meier_estimator

    x, time, event = cohort
    rounded, r = np.round(time) + 1, np.round(x, 1)  # tied times and tied scores
    for t_, s_ in ((time, x), (rounded, r)):
        ref = metrics.concordance_index_censored(event.astype(bool), t_, s_)[0]
        assert harrell_c(t_, event, s_) == pytest.approx(ref, abs=1e-12)
    grid, surv = kaplan_meier_estimator(event.astype(bool), rounded)
    for t in (3.0, 6.0, 12.0):
        assert km_ci_at(rounded, event, t)[0] == pytest.approx(float(surv[grid <= t][-1]), abs=1e-12)


def _sksurv_target(time, event):
    from sksurv.util import Surv

    return Surv.from_arrays(event=event.astype(bool), time=time)


def test_uno_td_auc_and_ibs_match_scikit_survival(cohort):
    metrics = pytest.importorskip("sksurv.metrics", reason="scikit-survival cross-checks Uno's C, td-AUC and IBS")
    x, time, event = cohort
    train = np.arange(200)
    # scikit-survival refuses test times past the training follow-up
    test = 200 + np.flatnonzero(time[200:] < time[train].max())
    assert test.size > 90
    y_train, y_test = _sksurv_target(time[train], event[train]), _sksurv_target(time[test], event[test])
    kw = {"train_time": time[train], "train_event": event[train]}
    tau = 15.0
    ours = uno_c(time[test], event[test], x[test], tau=tau, **kw)
    theirs = metrics.concordance_index_ipcw(y_train, y_test, x[test], tau=tau)[0]
    assert ours == pytest.approx(theirs, abs=1e-10)
    for t in (6.0, 12.0):
        ours = td_auc(time[test], event[test], x[test], t, **kw)
        theirs = metrics.cumulative_dynamic_auc(y_train, y_test, x[test], [t])[0][0]
        assert ours == pytest.approx(theirs, abs=1e-10)
    grid = np.array([3.0, 6.0, 9.0, 12.0, 15.0])
    surv = np.exp(-grid[None, :] / 8 * np.exp(0.8 * x[test])[:, None])
    ours = integrated_brier(time[test], event[test], surv, grid, **kw)
    theirs = metrics.integrated_brier_score(y_train, y_test, surv, grid)
    assert ours == pytest.approx(theirs, abs=1e-10)
    ours = brier_at(time[test], event[test], surv[:, 1], 6.0, **kw)
    assert ours == pytest.approx(metrics.brier_score(y_train, y_test, surv[:, 1], 6.0)[1][0], abs=1e-10)


def test_survival_metrics_point_values_are_the_single_functions(cohort):
    x, time, event = cohort
    s12 = np.exp(-12 / 8 * np.exp(0.8 * x))
    m = survival_metrics(time, event, x, train_time=time, train_event=event, surv_at={12: s12}, n_boot=0)
    assert m["harrell_c"] == harrell_c(time, event, x)
    assert m["td_auc_12m"] == td_auc(time, event, x, 12.0, train_time=time, train_event=event)
    assert m["brier_12m"] == brier_at(time, event, s12, 12.0, train_time=time, train_event=event)
    assert m["km_12m"] == km_at(time, event, 12.0)
    assert np.isnan(m["harrell_c_low"])


@pytest.mark.realdata
def test_real_study_kaplan_meier_and_concordance_match_lifelines():
    """nsclc_pd1_msk_2018 (cBioPortal, 240 patients with PFS): the same numbers as lifelines on real follow-up."""
    from conftest import shared_path

    from icipredict.io import read_patients
    from icipredict.table.schema import check_patients

    lifelines = pytest.importorskip("lifelines", reason="lifelines is not installed (kept out of the dev extra: it caps pandas below 3); it is the reference")
    df = check_patients(read_patients(shared_path("cbioportal", "nsclc_pd1_msk_2018")))
    df = df.loc[df["pfs_months"].notna() & df["pfs_event"].notna()]
    t, e = df["pfs_months"].to_numpy(float), df["pfs_event"].to_numpy(float)
    assert len(df) == 240 and int(e.sum()) == 198
    fitter = lifelines.KaplanMeierFitter().fit(t, e)
    for month in (3.0, 6.0, 12.0):
        assert km_at(t, e, month) == pytest.approx(float(fitter.survival_function_at_times(month).iloc[0]), abs=1e-12)
    tmb = df["tmb"].to_numpy(float)
    known = np.isfinite(tmb)
    assert harrell_c(t[known], e[known], -tmb[known]) == pytest.approx(
        lifelines.utils.concordance_index(t[known], tmb[known], e[known]), abs=1e-12)


@st.composite
def _survival_data(draw):
    n = draw(st.integers(2, 30))
    time = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    risk = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    return np.array(time, float), np.array(event), np.array(risk, float)


@settings(max_examples=60, deadline=None)
@given(_survival_data())
def test_properties_over_small_tables(data):
    """Tied times and scores included: C(risk) + C(-risk) = 1, KM non-increasing in [0, 1], weights never negative."""
    time, event, risk = data
    c, c_rev = harrell_c(time, event, risk), harrell_c(time, event, -risk)
    if np.isnan(c):
        assert np.isnan(c_rev)
    else:
        assert 0 <= c <= 1 and c + c_rev == pytest.approx(1.0)
    u = uno_c(time, event, risk, train_time=time, train_event=event, tau=13.0)
    assert np.isnan(u) or 0 <= u <= 1
    _, surv = kaplan_meier(time, event)
    assert ((0 <= surv) & (surv <= 1)).all() and (np.diff(surv) <= 1e-12).all()
    G = censoring_survival(time, event)
    g = G(np.arange(0.0, 14.0))
    assert ((0 <= g) & (g <= 1)).all() and (np.diff(g) <= 1e-12).all()
    s = np.clip(0.5 + 0.1 * risk, 0, 1)
    assert 0 <= brier_at(time, event, s, 6.0, train_time=time, train_event=event)


def test_concordance_count_equals_the_pairwise_definition():
    """The O(n sqrt n) count of comparable pairs gives what looking at every pair gives: ties in time
    and risk, censoring at an event's time, zero weights, a constant risk, one patient."""
    from icipredict.evaluation.survival import _concordance, _concordance_pairs

    rng = np.random.default_rng(3)
    checked = 0
    for trial in range(400):
        n = int(rng.integers(1, 90))
        t = np.round(rng.exponential(5, n), int(rng.integers(0, 2))) + 1
        e = rng.random(n) < rng.random()
        r = np.round(rng.normal(size=n), int(rng.integers(0, 2))) if trial % 4 else np.zeros(n)
        w = rng.random(n) * (rng.random(n) < 0.8)
        both = _concordance(t, e, r, np.vstack([np.ones(n), w]))
        for got, weight in zip(both, (np.ones(n), w)):
            want = _concordance_pairs(t, e, r, weight)
            assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, abs=1e-12)
            checked += not np.isnan(want)
    assert checked > 500
