"""The reference Cox model and the Schoenfeld check, against lifelines on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icipredict.evaluation.proportional_hazards import fit_cox, schoenfeld_residuals, schoenfeld_test


@pytest.fixture(scope="module")
def data():
    """300 patients, two covariates; the second one's hazard ratio fades over time (non-PH)."""
    rng = np.random.default_rng(0)
    n = 300
    X = rng.normal(size=(n, 2))
    early = rng.exponential(np.exp(-(0.5 * X[:, 0] - 1.2 * X[:, 1])))
    late = 1.0 + rng.exponential(np.exp(-0.5 * X[:, 0]), size=n)  # after 1 month the second covariate stops mattering
    t_event = np.where(early < 1.0, early, late)
    cens = rng.uniform(0.2, 4.0, n)
    time = np.minimum(t_event, cens) + rng.uniform(0, 1e-6, n)
    event = (t_event <= cens).astype(int)
    return X, time, event


def test_cox_by_hand_two_patients():
    # Two patients, x = 0 progresses at 1, x = 1 censored at 2: the partial likelihood
    # exp(0) / (exp(0) + exp(b)) is maximal at b -> -inf; with a ridge penalty it stays finite.
    fit = fit_cox(np.array([[0.0], [1.0]]), [1.0, 2.0], [1, 0], penalty=1.0)
    # d/db [-log(1 + e^b) - b^2/2] = 0  ->  -sigmoid(b) = b
    b = fit.coef[0]
    assert -1 / (1 + np.exp(-b)) == pytest.approx(b, abs=1e-8)
    # Breslow: one event at 1, risk set sum exp(0) + exp(b)
    assert fit.baseline_cumhaz.tolist() == pytest.approx([1 / (1 + np.exp(b))])


def test_schoenfeld_residuals_sum_to_zero_at_the_maximum(data):
    X, time, event = data
    fit = fit_cox(X, time, event)
    _, resid = schoenfeld_residuals(X, time, event, fit.coef)
    assert np.abs(resid.sum(axis=0)).max() < 1e-6  # the score equation


def test_schoenfeld_test_finds_the_fading_effect(data):
    X, time, event = data
    table = schoenfeld_test(X, time, event, fit_cox(X, time, event), names=["steady", "fading"])
    by = table.set_index("term")
    assert by.loc["fading", "p_value"] < 0.01
    assert by.loc["steady", "p_value"] > 0.05
    # the log hazard ratio of a protective covariate rises towards 0 over time
    assert by.loc["fading", "coef"] < 0 and by.loc["fading", "trend"] > 0


def test_cox_and_schoenfeld_match_lifelines(data):
    lifelines = pytest.importorskip("lifelines", reason="lifelines is not installed (kept out of the dev extra: it caps pandas below 3); it cross-checks the Cox fit and the PH test")
    from lifelines.statistics import proportional_hazard_test

    X, time, event = data
    frame = pd.DataFrame(X, columns=["steady", "fading"]).assign(t=time, e=event)
    cph = lifelines.CoxPHFitter().fit(frame, "t", "e")
    fit = fit_cox(X, time, event)
    np.testing.assert_allclose(fit.coef, cph.params_.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(fit.covariance, cph.variance_matrix_.to_numpy(), atol=1e-6)
    grid = np.sort(time[event == 1])[[5, 50, 100, -1]]  # lifelines interpolates between event times
    theirs = cph.predict_survival_function(frame[["steady", "fading"]], times=grid).to_numpy().T
    np.testing.assert_allclose(fit.survival(X, grid), theirs, atol=1e-5)
    for transform in ("rank", "km", "identity"):
        ours = schoenfeld_test(X, time, event, fit, names=["steady", "fading"], transform=transform)
        ref = proportional_hazard_test(cph, frame, time_transform=transform).summary
        np.testing.assert_allclose(ours["statistic"], ref.loc[["steady", "fading"], "test_statistic"].to_numpy(), rtol=1e-6)


def test_no_progression_is_refused():
    with pytest.raises(ValueError, match="at least one progression"):
        fit_cox(np.zeros((3, 1)), [1.0, 2.0, 3.0], [0, 0, 0])
