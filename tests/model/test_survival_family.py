"""The penalised spline Cox model: its Newton fit and Breslow baseline against scikit-survival (dev extra) and
lifelines (where installed), its saved state."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from icipredict.model.survival import Baseline, SplineCox, breslow, cox_newton, horizon


def _censored(n: int, seed: int, p: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X = (X - X.mean(0)) / X.std(0, ddof=1)  # lifelines standardises with ddof=1: then it changes nothing
    t = rng.exponential(np.exp(-(X @ np.linspace(0.5, -0.3, p)))) * 6
    c = rng.exponential(10, size=n)
    return X, np.minimum(t, c), (t <= c).astype(float)


@pytest.mark.parametrize("penalty", [0.0, 0.01, 0.1])
def test_newton_matches_lifelines_penalised_cox(penalty):
    lifelines = pytest.importorskip("lifelines", reason="lifelines is not installed (not in the dev extra: it caps pandas below 3); scikit-survival is the reference")
    X, t, e = _censored(300, 3)
    beta, _, _ = cox_newton(X, t, e, penalty)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(T=t, E=e)
    # lifelines: -log partial likelihood + n * penalizer / 2 * ||b||^2, i.e. our per-patient scale
    ref = lifelines.CoxPHFitter(penalizer=penalty, l1_ratio=0.0).fit(df, "T", "E").params_.to_numpy()
    np.testing.assert_allclose(beta, ref, atol=1e-5)


@pytest.mark.parametrize("penalty", [0.0, 0.01, 0.1])
def test_newton_matches_scikit_survival_penalised_cox(penalty):
    linear = pytest.importorskip("sksurv.linear_model", reason="scikit-survival (dev extra) is the reference fit")
    from sksurv.util import Surv

    X, t, e = _censored(300, 3)
    beta, _, _ = cox_newton(X, t, e, penalty)
    # scikit-survival: -log partial likelihood + alpha / 2 * ||b||^2 on the sum scale, so alpha = n * penalty
    ref = linear.CoxPHSurvivalAnalysis(alpha=penalty * len(t), ties="breslow").fit(X, Surv.from_arrays(e > 0, t))
    np.testing.assert_allclose(beta, ref.coef_, atol=1e-8)


def test_breslow_baseline_matches_scikit_survival():
    linear = pytest.importorskip("sksurv.linear_model", reason="scikit-survival (dev extra) is the reference fit")
    from sksurv.util import Surv

    X, t, e = _censored(200, 5, p=2)
    beta, _, _ = cox_newton(X, t, e, 0.0)
    times, H = breslow(X @ beta, t, e)
    ref = linear.CoxPHSurvivalAnalysis(ties="breslow").fit(X, Surv.from_arrays(e > 0, t)).cum_baseline_hazard_
    np.testing.assert_allclose(H, ref(times), rtol=1e-8)


def test_breslow_baseline_matches_lifelines():
    lifelines = pytest.importorskip("lifelines", reason="lifelines is not installed (not in the dev extra: it caps pandas below 3); scikit-survival is the reference")
    X, t, e = _censored(200, 5, p=2)
    beta, _, _ = cox_newton(X, t, e, 0.0)
    times, H = breslow(X @ beta, t, e)
    df = pd.DataFrame(X, columns=["a", "b"]).assign(T=t, E=e)
    fitter = lifelines.CoxPHFitter().fit(df, "T", "E")
    ref = fitter.baseline_cumulative_hazard_.iloc[:, 0]  # at the covariates' mean, 0 here
    np.testing.assert_allclose(H, ref.reindex(times).to_numpy(), rtol=1e-4)


def test_prior_centre_and_offset():
    X, t, e = _censored(150, 7, p=1)
    # a huge penalty pins the coefficient to its centre, whatever the data say
    beta, _, _ = cox_newton(X, t, e, 1e6, centre=np.array([-0.7]))
    assert beta[0] == pytest.approx(-0.7, abs=1e-4)
    # an offset equal to the true effect leaves nothing for the coefficient to learn
    b_free, _, _ = cox_newton(X, t, e, 0.0)
    b_off, _, _ = cox_newton(X, t, e, 0.0, offset=X[:, 0] * b_free[0])
    assert abs(b_off[0]) < 1e-6


def test_horizon_is_the_last_event_time_with_ten_at_risk():
    t = np.arange(1.0, 31.0)
    e = np.ones(30)
    assert horizon(t, e) == 21.0  # at t = 21 the patients 21..30 are at risk
    assert horizon(t, np.zeros(30)) == 0.0


def test_spline_cox_fits_saves_and_reloads_as_plain_numbers():
    rng = np.random.default_rng(11)
    n = 400
    D = pd.DataFrame({"pdl1": rng.uniform(0, 100, n), "tmb": rng.normal(2, 0.7, n),
                      "pdl1_band": None, "ecog": rng.integers(0, 2, n).astype(float)})
    lp = -0.01 * D["pdl1"] - 0.5 * D["tmb"] + 0.6 * D["ecog"]
    t = rng.exponential(np.exp(-lp)) * 3
    c = rng.uniform(2, 40, n)
    time, event = np.minimum(t, c), (t <= c).astype(float)
    m = SplineCox(inputs=("pdl1", "tmb", "ecog"), knots=3, penalty=0.01).fit(D, time, event)
    assert m.horizon_ > 6
    s = m.survival(D, [3.0, 6.0, 12.0])
    assert np.all(np.diff(s, axis=1) <= 0)
    state = json.loads(json.dumps(m.to_dict()))
    again = SplineCox.from_dict(state)
    np.testing.assert_array_equal(again.survival(D, [3.0, 6.0, 12.0]), s)
    # the contributions add up to the linear predictor
    phi, base = m.contributions(D)
    np.testing.assert_allclose(phi.sum(axis=1).to_numpy() + base, m.linear_predictor(D), atol=1e-10)
    # higher PD-L1 and TMB mean a lower hazard, ECOG a higher one (the simulated directions)
    hi = m.linear_predictor(D.assign(pdl1=90.0)) - m.linear_predictor(D.assign(pdl1=5.0))
    assert np.all(hi < 0)


def test_baseline_median_and_horizon():
    b = Baseline(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.2, 0.5, 0.8, 1.0]), horizon=3.0)
    assert np.isnan(b.at([3.5])[0]) and b.at([2.5])[0] == 0.5 and b.at([0.5])[0] == 0.0
    med = b.quantile_time(np.array([0.0, np.log(0.01)]))
    assert med[0] == 3.0 and np.isnan(med[1])  # H0 passes log 2 = 0.69 at t = 3; the low-risk curve never by t = 3
