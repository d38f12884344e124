"""A small reference Cox model and the scaled-Schoenfeld check of proportional hazards.

Evaluation-side tools, never on the prediction path:

* :func:`fit_cox`: a Cox model with Breslow ties, an optional ridge penalty and a Breslow baseline
  cumulative hazard; it gives the PD-L1-only reference the time-to-event model must beat on the
  integrated Brier score, and a design to check;
* :func:`schoenfeld_test`: the Grambsch & Therneau (Biometrika 1994) test of proportional hazards
  from scaled Schoenfeld residuals, per design column: under proportional hazards the residuals
  show no trend against (ranked) time. The statistic is the one-degree-of-freedom approximation
  lifelines' ``proportional_hazard_test`` and R's ``cox.zph(terms=FALSE)`` of survival 2.x use.

>>> rng = np.random.default_rng(0); x = rng.normal(size=(400, 1))
>>> t = rng.exponential(np.exp(-0.7 * x[:, 0])); e = np.ones(400)
>>> fit = fit_cox(x, t, e)
>>> bool(abs(fit.coef[0] - 0.7) < 0.15)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.evaluation.survival import check_survival

__all__ = ["CoxFit", "fit_cox", "schoenfeld_residuals", "schoenfeld_test", "proportional_hazards_check",
           "proportional_hazards_summary", "PH_ALPHA"]


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox model: coefficients, their covariance and the Breslow baseline.

    ``baseline_times`` are the distinct event times and ``baseline_cumhaz`` the Breslow cumulative
    hazard just after each, for a patient whose design row is all zeros.
    """

    coef: np.ndarray
    covariance: np.ndarray
    baseline_times: np.ndarray
    baseline_cumhaz: np.ndarray
    penalty: float

    def linear_predictor(self, X) -> np.ndarray:
        """``X @ coef``; higher means earlier progression."""
        return np.asarray(X, dtype=float) @ self.coef

    def survival(self, X, times) -> np.ndarray:
        """Predicted S(t) of each row of ``X`` at each of ``times``: one row per patient.

        >>> fit = CoxFit(np.array([0.0]), np.eye(1), np.array([1.0, 2.0]), np.array([0.5, 1.0]), 0.0)
        >>> fit.survival(np.zeros((1, 1)), [0.5, 1.5]).round(4).tolist()
        [[1.0, 0.6065]]
        """
        grid = np.asarray(times, dtype=float).ravel()
        k = np.searchsorted(self.baseline_times, grid, side="right") - 1
        h0 = np.where(k >= 0, self.baseline_cumhaz[np.maximum(k, 0)] if self.baseline_cumhaz.size else 0.0, 0.0)
        return np.exp(-np.exp(self.linear_predictor(X))[:, None] * h0[None, :])


def _risk_sets(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order by time, and for each ordered patient the first ordered position with the same time."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    first = np.searchsorted(ts, ts, side="left")
    return order, first


def _partial(X: np.ndarray, t: np.ndarray, e: np.ndarray, beta: np.ndarray):
    """Breslow log partial likelihood, gradient, information and the risk-set means at each patient."""
    order, first = _risk_sets(t)
    Xs, es = X[order], e[order]
    eta = Xs @ beta
    shift = eta.max()
    w = np.exp(eta - shift)
    # Sums over the risk set {j: T_j >= T_i}: reverse cumulative sums read at the first tied position.
    s0 = np.cumsum(w[::-1])[::-1][first]
    s1 = np.cumsum((w[:, None] * Xs)[::-1], axis=0)[::-1][first]
    s2 = np.cumsum((w[:, None, None] * Xs[:, :, None] * Xs[:, None, :])[::-1], axis=0)[::-1][first]
    xbar = s1 / s0[:, None]
    ll = float(np.sum(es * (eta - shift - np.log(s0))))
    grad = np.sum(es[:, None] * (Xs - xbar), axis=0)
    info = np.sum(es[:, None, None] * (s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]), axis=0)
    return ll, grad, info, order, xbar


def fit_cox(X, time, event, *, penalty: float = 0.0, max_iter: int = 50) -> CoxFit:
    """Maximum (ridge-penalised) partial-likelihood Cox model by Newton's method with step halving.

    Parameters
    ----------
    X : array of shape (n, p)
        Design; standardise it first when ``penalty > 0`` so the penalty treats columns alike.
    time, event : arrays
        Follow-up in months and 1 = progressed or died, 0 = censored.
    penalty : float, default=0
        Ridge penalty ``penalty / 2 * ||coef||^2`` on the log partial likelihood.

    Examples
    --------
    >>> fit = fit_cox(np.array([[0.0], [1.0], [0.0], [1.0]]), [1.0, 2.0, 3.0, 4.0], [1, 1, 1, 0])
    >>> fit.baseline_times.tolist()
    [1.0, 2.0, 3.0]
    """
    t, e, Xa = check_survival(time, event, X, names=("X",))
    Xa = Xa.reshape(t.size, -1)
    if not e.any():
        raise ValueError("event must contain at least one progression to fit a Cox model. Got none instead.")
    p = Xa.shape[1]
    beta = np.zeros(p)
    pen = np.eye(p) * penalty

    def objective(b):
        ll, grad, info, _, _ = _partial(Xa, t, e, b)
        return ll - 0.5 * penalty * b @ b, grad - penalty * b, info + pen

    current, grad, info = objective(beta)
    for _ in range(max_iter):
        step = np.linalg.lstsq(info, grad, rcond=None)[0]
        for _ in range(30):
            new, new_grad, new_info = objective(beta + step)
            if new >= current - 1e-12:
                break
            step = step / 2
        beta, gain = beta + step, new - current
        current, grad, info = new, new_grad, new_info
        if np.max(np.abs(step)) < 1e-9 or abs(gain) < 1e-12:
            break
    covariance = np.linalg.pinv(info)
    # Breslow baseline: d_k / sum over the risk set of exp(eta), at each distinct event time.
    times, inverse = np.unique(t[e], return_inverse=True)
    d = np.bincount(inverse, minlength=times.size)
    risk = np.exp(Xa @ beta)
    order = np.argsort(t)
    tail = np.cumsum(risk[order][::-1])[::-1]
    at = np.searchsorted(t[order], times, side="left")
    cumhaz = np.cumsum(d / tail[at])
    return CoxFit(coef=beta, covariance=covariance, baseline_times=times, baseline_cumhaz=cumhaz, penalty=float(penalty))


def schoenfeld_residuals(X, time, event, coef) -> tuple[np.ndarray, np.ndarray]:
    """Schoenfeld residuals ``x_i - mean of x over the risk set at T_i`` of every progression.

    Returns ``(event_times, residuals)`` ordered by time, one row per progression.

    Examples
    --------
    >>> times, r = schoenfeld_residuals(np.array([[1.0], [0.0], [0.0]]), [1.0, 2.0, 3.0], [1, 1, 0], [0.0])
    >>> times.tolist(), r.round(3).ravel().tolist()
    ([1.0, 2.0], [0.667, 0.0])
    """
    t, e, Xa = check_survival(time, event, X, names=("X",))
    Xa = Xa.reshape(t.size, -1)
    _, _, _, order, xbar = _partial(Xa, t, e, np.asarray(coef, dtype=float))
    es = e[order]
    return t[order][es], (Xa[order] - xbar)[es]


def schoenfeld_test(
    X,
    time,
    event,
    fit: CoxFit,
    *,
    names: Sequence[str] | None = None,
    transform: Literal["rank", "identity", "log", "km"] = "rank",
) -> pd.DataFrame:
    """Grambsch-Therneau test of proportional hazards for each design column.

    Scaled Schoenfeld residuals ``r* = d * r @ V`` (d progressions, V the coefficient covariance)
    estimate how each log hazard ratio drifts over (transformed) time; the statistic
    ``(sum g_i r*_ij)^2 / (d V_jj sum g_i^2)`` with ``g`` the centred transformed event times is
    chi-square with one degree of freedom under proportional hazards.

    Returns
    -------
    DataFrame
        One row per column: ``term, coef, statistic, p_value, trend`` where ``trend`` is the
        slope of the scaled residuals against transformed time (the log hazard ratio rising,
        i.e. the effect fading for a protective term, when positive), ``n``, ``n_events``.

    Examples
    --------
    >>> rng = np.random.default_rng(1); x = rng.normal(size=(300, 1))
    >>> t = rng.exponential(np.exp(-0.5 * x[:, 0])); e = np.ones(300)
    >>> table = schoenfeld_test(x, t, e, fit_cox(x, t, e), names=["pdl1"])
    >>> table["term"].tolist(), bool(table["p_value"].iloc[0] > 0.01)
    (['pdl1'], True)
    """
    from icipredict.evaluation.distributions import chi2_sf

    t, e, Xa = check_survival(time, event, X, names=("X",))
    Xa = Xa.reshape(t.size, -1)
    p = Xa.shape[1]
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    if len(names) != p:
        raise ValueError(f"names must name each of the {p} design columns. Got {len(names)} instead.")
    event_times, resid = schoenfeld_residuals(Xa, t, e, fit.coef)
    d = event_times.size
    if transform == "rank":
        # rank among the progressions (ties share their mean rank), as cox.zph and lifelines; scipy.stats.rankdata
        g = pd.Series(event_times).rank(method="average").to_numpy(float)
    elif transform == "identity":
        g = event_times
    elif transform == "log":
        g = np.log(event_times)
    elif transform == "km":
        from icipredict.evaluation.survival import kaplan_meier

        km_times, km_surv = kaplan_meier(t, e)
        g = 1.0 - km_surv[np.searchsorted(km_times, event_times, side="right") - 1]
    else:
        raise ValueError(f"transform must be 'rank', 'identity', 'log' or 'km'. Got {transform!r} instead.")
    g = g - g.mean()
    scaled = d * resid @ fit.covariance
    var = np.diag(fit.covariance)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = (g @ scaled) ** 2 / (d * var * np.sum(g**2))
        trend = (g @ scaled) / np.sum(g**2)
    return pd.DataFrame({"term": names, "coef": fit.coef, "statistic": stat, "p_value": chi2_sf(stat, 1),
                         "trend": trend, "n": t.size, "n_events": d})


#: Below this p-value an input's hazard ratio is reported as changing over follow-up.
PH_ALPHA = 0.05


def proportional_hazards_check(model, pfs: pd.DataFrame, *, transform: Literal["rank", "identity", "log", "km"] = "rank"
                               ) -> pd.DataFrame:
    """Scaled-Schoenfeld check of a fitted spline Cox model on the patients it was fitted on.

    The model's standardised design is refitted by :func:`fit_cox` with the model's own ridge
    penalty (the same coefficients, without the TIL prior's centre), and each design column is
    tested by :func:`schoenfeld_test`. ``input`` names the model input a column belongs to (spline
    columns ``<input>_s<k>``). A tree model has no design to test: an empty frame.

    ``model`` is an :class:`~icipredict.model.models.IciModel` whose ``base`` has
    ``standardised(inputs)``, ``columns_`` and ``penalty``; ``pfs`` has ``pfs_months`` and ``pfs_event``.
    """
    base = getattr(model, "base", None)
    columns = ["input", "term", "coef", "statistic", "p_value", "trend", "n", "n_events"]
    if base is None or not hasattr(base, "standardised"):
        return pd.DataFrame(columns=columns)
    t, e = check_survival(pfs["pfs_months"], pfs["pfs_event"])
    Z = base.standardised(model.inputs(pfs))
    names = list(base.columns_)
    fit = fit_cox(Z, t, e, penalty=float(t.size * base.penalty))
    table = schoenfeld_test(Z, t, e, fit, names=names, transform=transform)
    table.insert(0, "input", [n.rsplit("_s", 1)[0] if n.rsplit("_s", 1)[-1].isdigit() else n for n in names])
    return table[columns]


def proportional_hazards_summary(table: pd.DataFrame, *, alpha: float = PH_ALPHA) -> str:
    """What the check found and what the model does about it, in words.

    >>> table = pd.DataFrame({"input": ["pdl1", "tmb"], "term": ["pdl1", "tmb"], "coef": [-0.3, -0.2],
    ...                       "statistic": [6.1, 0.2], "p_value": [0.013, 0.65], "trend": [0.4, 0.0]})
    >>> print(proportional_hazards_summary(table))  # doctest: +ELLIPSIS
    Proportional hazards rejected (p < 0.05) for 1 of 2 inputs: pdl1 (p = 0.013, effect fading over follow-up). ...
    """
    if table.empty:
        return "Proportional hazards not tested: the model has no linear design (trees)."
    worst = table.groupby("input", sort=False).agg(p=("p_value", "min"), coef=("coef", "first"),
                                                   trend=("trend", "first"))
    failing = worst.loc[worst["p"] < alpha]
    head = f"Proportional hazards rejected (p < {alpha:g}) for {len(failing)} of {len(worst)} inputs"
    if failing.empty:
        return head + ": one hazard ratio per input over the whole follow-up is consistent with the data."
    words = []
    for name, r in failing.iterrows():
        fading = np.sign(r["trend"]) != np.sign(r["coef"])  # the log hazard ratio drifts towards 0
        words.append(f"{name} (p = {r['p']:.3f}, effect {'fading' if fading else 'growing'} over follow-up)")
    return (head + ": " + "; ".join(words) + ". The model keeps one hazard ratio per input (proportional hazards): "
            "for these inputs it is an average over follow-up, so the curves separate patients too little early and "
            "too much late for a fading effect (the reverse for a growing one); the average curve is not affected. "
            "No time-varying term is added; the check is reported in the model card.")
