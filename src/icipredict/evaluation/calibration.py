"""Calibration: slope and calibration-in-the-large with Wald intervals, the calibration curve with
Wilson intervals, and the DerSimonian-Laird pooling of per-study estimates.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.evaluation.discrimination import CLIP, both_classes, check_probability, check_y_score

__all__ = ['calibration_slope_intercept', 'calibration_ci', 'dersimonian_laird', 'calibration_curve_table']

# --------------------------------------------------------------------------- calibration


def _logistic_newton(x: np.ndarray, y: np.ndarray, offset: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Unpenalised maximum-likelihood logistic coefficients (Newton with step halving)."""
    beta = np.zeros(x.shape[1])

    def loglik(b: np.ndarray) -> float:
        eta = offset + x @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    current = loglik(beta)
    for _ in range(max_iter):
        mu = 1.0 / (1.0 + np.exp(-(offset + x @ beta)))
        grad = x.T @ (y - mu)
        hess = (x * (mu * (1 - mu))[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return np.full(x.shape[1], np.nan)
        for _ in range(30):
            new = loglik(beta + step)
            if new >= current - 1e-12:
                break
            step /= 2.0
        beta, improvement, current = beta + step, new - current, new
        if np.max(np.abs(step)) < 1e-9 or abs(improvement) < 1e-12:
            return beta
    warnings.warn(
        "logistic recalibration did not converge (outcome separated by the predictions?); returning NaN.",
        RuntimeWarning,
        stacklevel=3,
    )
    return np.full(x.shape[1], np.nan)


def calibration_slope_intercept(y, p) -> tuple[float, float]:
    """Calibration slope and calibration-in-the-large of predicted probabilities.

    The slope is the coefficient of ``logit(p)`` in an unpenalised logistic regression of ``y`` on
    ``logit(p)``; below 1 means overconfident predictions (too extreme). The intercept is that of a
    logistic regression with ``logit(p)`` as offset (slope fixed at 1); above 0 means predictions
    are too low on average. ``p`` is clipped to ``[1e-6, 1 - 1e-6]``; NaN predictions are dropped.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.95, 5000); y = rng.random(5000) < p
    >>> slope, intercept = calibration_slope_intercept(y, p)
    >>> bool(abs(slope - 1) < 0.15 and abs(intercept) < 0.15)
    True
    """
    y_arr, p_arr = check_y_score(y, p, name="p")
    check_probability(p_arr)
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], np.clip(p_arr[keep], CLIP, 1 - CLIP)
    if not both_classes(y_arr):
        return (np.nan, np.nan)
    lp = np.log(p_arr / (1 - p_arr))
    ones = np.ones((y_arr.size, 1))
    slope = _logistic_newton(np.column_stack([ones, lp]), y_arr, np.zeros_like(lp))[1]
    intercept = _logistic_newton(ones, y_arr, lp)[0]
    return float(slope), float(intercept)


def calibration_ci(y, p, alpha: float = 0.05) -> dict[str, float]:
    """Calibration slope and intercept (as :func:`calibration_slope_intercept`) with Wald CIs.

    The standard errors come from the observed information of the two logistic fits, so they stay
    usable for small cohorts where a bootstrap of the slope is unstable.

    >>> rng = np.random.default_rng(1); p = rng.uniform(0.1, 0.9, 2000); y = rng.random(2000) < p
    >>> ci = calibration_ci(y, p)
    >>> bool(ci["calibration_slope_low"] < 1 < ci["calibration_slope_high"])
    True
    """
    from scipy.special import ndtri

    y_arr, p_arr = check_y_score(y, p, name="p")
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], np.clip(p_arr[keep], CLIP, 1 - CLIP)
    out = {k: np.nan for k in ("calibration_slope", "calibration_slope_low", "calibration_slope_high",
                               "calibration_intercept", "calibration_intercept_low", "calibration_intercept_high")}
    if not both_classes(y_arr):
        return out
    z = ndtri(1 - alpha / 2)
    lp = np.log(p_arr / (1 - p_arr))
    ones = np.ones((y_arr.size, 1))
    A = np.column_stack([ones, lp])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        b = _logistic_newton(A, y_arr, np.zeros_like(lp))
        c = _logistic_newton(ones, y_arr, lp)
    if np.all(np.isfinite(b)):
        mu = 1 / (1 + np.exp(-(A @ b)))
        cov = np.linalg.pinv((A * (mu * (1 - mu))[:, None]).T @ A)
        se = float(np.sqrt(cov[1, 1]))
        out.update(calibration_slope=float(b[1]), calibration_slope_low=float(b[1] - z * se),
                   calibration_slope_high=float(b[1] + z * se))
    if np.all(np.isfinite(c)):
        mu = 1 / (1 + np.exp(-(lp + c[0])))
        se = float(1 / np.sqrt(np.sum(mu * (1 - mu))))
        out.update(calibration_intercept=float(c[0]), calibration_intercept_low=float(c[0] - z * se),
                   calibration_intercept_high=float(c[0] + z * se))
    return out


def dersimonian_laird(estimates, standard_errors) -> dict[str, float]:
    """Random-effects pooling (DerSimonian & Laird, Control Clin Trials 1986): mean, tau and I2.

    >>> dersimonian_laird(np.array([0.1, -0.1, 0.3]), np.array([0.1, 0.1, 0.1]))["tau"] > 0
    True
    """
    est = np.asarray(estimates, dtype=float)
    se = np.asarray(standard_errors, dtype=float)
    keep = np.isfinite(est) & np.isfinite(se) & (se > 0)
    est, se = est[keep], se[keep]
    k = est.size
    if k == 0:
        return {"k": 0, "mu": np.nan, "se_mu": np.nan, "tau2": 0.0, "tau": 0.0, "Q": np.nan, "I2": np.nan}
    w = 1 / se ** 2
    fixed = np.sum(w * est) / np.sum(w)
    q = float(np.sum(w * (est - fixed) ** 2))
    c = np.sum(w) - np.sum(w ** 2) / np.sum(w)
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    wr = 1 / (se ** 2 + tau2)
    mu = float(np.sum(wr * est) / np.sum(wr))
    return {"k": int(k), "mu": mu, "se_mu": float(1 / np.sqrt(np.sum(wr))), "tau2": float(tau2),
            "tau": float(np.sqrt(tau2)), "Q": q, "I2": float(max(0.0, (q - (k - 1)) / q)) if q > 0 else 0.0}


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    phat = k / n
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def calibration_curve_table(
    y, p, *, n_bins: int = 10, strategy: Literal["quantile", "uniform"] = "quantile"
) -> pd.DataFrame:
    """Observed outcome rate against mean prediction per bin, with Wilson 95% intervals.

    Returns a frame with columns ``bin, mean_predicted, observed, n, observed_low, observed_high``;
    empty bins are left out (quantile bins with tied predictions may merge).

    Examples
    --------
    >>> calibration_curve_table([0, 1, 0, 1], [0.2, 0.3, 0.6, 0.9], n_bins=2)["n"].tolist()
    [2, 2]
    """
    if strategy not in ("quantile", "uniform"):
        raise ValueError(f"strategy must be 'quantile' or 'uniform'. Got {strategy!r} instead.")
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer. Got {n_bins!r} instead.")
    y_arr, p_arr = check_y_score(y, p, name="p")
    check_probability(p_arr)
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], p_arr[keep]
    columns = ["bin", "mean_predicted", "observed", "n", "observed_low", "observed_high"]
    if p_arr.size == 0:
        return pd.DataFrame(columns=columns)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p_arr, np.linspace(0, 1, n_bins + 1)))
    else:
        edges = np.linspace(0, 1, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p_arr, side="right")
    n = np.bincount(bins, minlength=edges.size - 1)
    used = np.flatnonzero(n)
    n = n[used]
    k = np.bincount(bins, weights=y_arr, minlength=edges.size - 1)[used]
    low, high = _wilson(k, n)
    return pd.DataFrame(
        {
            "bin": used,
            "mean_predicted": np.bincount(bins, weights=p_arr, minlength=edges.size - 1)[used] / n,
            "observed": k / n,
            "n": n,
            "observed_low": low,
            "observed_high": high,
        },
        columns=columns,
    )
