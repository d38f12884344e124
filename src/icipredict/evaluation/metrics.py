"""Discrimination, calibration and clinical-utility metrics with bootstrap confidence intervals.

Pure numeric functions: arrays or frames in, numbers or frames out; no file I/O, no tracking.
The outcome ``y`` is 1 for durable clinical benefit and 0 for primary resistance, so a "positive"
decision means "treat expecting benefit". Reporting follows TRIPOD+AI (Collins et al., BMJ 2024):
discrimination and calibration, per cohort and pooled, each with a 95% confidence interval.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1])
>>> round(binary_metrics(y, np.array([0.1, 0.4, 0.35, 0.8]), n_boot=0)["roc_auc"], 2)
0.75
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "bootstrap_ci",
    "calibration_slope_intercept",
    "binary_metrics",
    "metrics_table",
    "paired_auc_difference",
    "calibration_curve_table",
    "decision_curve",
    "sensitivity_specificity",
    "format_metrics_markdown",
    "roc_auc",
    "average_precision",
    "log_loss_each",
    "dersimonian_laird",
    "calibration_ci",
]

FastMetric = Literal["roc_auc", "pr_auc", "brier"]
_CLIP = 1e-6
# Rows x patients per vectorised bootstrap chunk: bounds memory at a few tens of MB.
_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------- validation


def _check_y_score(y, score, *, name: str = "score") -> tuple[np.ndarray, np.ndarray]:
    """Return float arrays (y, score) of equal length; y must be 0/1 without NaN."""
    y_arr = np.asarray(y, dtype=float).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    if y_arr.shape != s_arr.shape:
        raise ValueError(
            f"y and {name} must have the same length. Got {y_arr.size} and {s_arr.size} instead."
        )
    bad = ~np.isin(y_arr, (0.0, 1.0))
    if bad.any():
        shown = sorted({str(v) for v in y_arr[bad][:5]})
        raise ValueError(f"y must contain only 0 and 1 (no missing values). Got {shown} instead.")
    if np.isinf(s_arr).any():
        raise ValueError(f"{name} must be finite or NaN. Got {int(np.isinf(s_arr).sum())} infinite value(s) instead.")
    return y_arr, s_arr


def _check_probability(p: np.ndarray, *, name: str = "p") -> None:
    finite = p[~np.isnan(p)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError(
            f"{name} must be probabilities in [0, 1]. Got values from {finite.min():g} to {finite.max():g} instead."
        )


def _both_classes(y: np.ndarray) -> bool:
    return 0 < y.sum() < y.size


# --------------------------------------------------------------------------- row-wise metrics


def _rowwise(metric: FastMetric, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Metric for every row of 2-D ``y`` and ``s``; NaN where a row has a single class."""
    if metric == "brier":
        return np.mean((s - y) ** 2, axis=1)
    n = s.shape[1]
    order = np.argsort(s, axis=1, kind="stable")
    s = np.take_along_axis(s, order, axis=1)
    y = np.take_along_axis(y, order, axis=1)
    idx = np.arange(n)
    # Tie groups in the sorted rows: first and last position of the group each element sits in.
    new = np.ones_like(s, dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    last = np.ones_like(new)
    last[:, :-1] = new[:, 1:]
    start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, idx, n - 1)[:, ::-1], axis=1)[:, ::-1]
    n1 = y.sum(axis=1)
    n0 = n - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "roc_auc":
            midrank = (start + end) / 2.0 + 1.0
            out = ((midrank * y).sum(axis=1) - n1 * (n1 + 1) / 2.0) / (n1 * n0)
        elif metric == "pr_auc":
            # AP = mean over positives of precision at the threshold equal to their score.
            cum = np.cumsum(y, axis=1)
            pos_below = np.where(start > 0, np.take_along_axis(cum, np.maximum(start - 1, 0), axis=1), 0.0)
            precision = (n1[:, None] - pos_below) / (n - start)
            out = (y * precision).sum(axis=1) / n1
        else:
            raise ValueError(f"metric must be 'roc_auc', 'pr_auc', 'brier' or a callable. Got {metric!r} instead.")
    out[(n1 == 0) | (n0 == 0)] = np.nan
    return out


def roc_auc(y, score) -> float:
    """Area under the ROC curve from mid-ranks (ties count one half); equals sklearn's value.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y_arr, s_arr = _check_y_score(y, score)
    return float(_rowwise("roc_auc", y_arr[None, :], s_arr[None, :])[0])


def log_loss_each(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each patient's log-loss, with ``p`` clipped to ``[1e-6, 1 - 1e-6]``.

    Examples
    --------
    >>> log_loss_each(np.array([1.0, 0.0]), np.array([0.5, 0.0])).round(3).tolist()
    [0.693, 0.0]
    """
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def average_precision(y, score) -> float:
    """Average precision (area under the precision-recall step curve), as sklearn computes it.

    Examples
    --------
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
    0.833
    """
    y_arr, s_arr = _check_y_score(y, score)
    return float(_rowwise("pr_auc", y_arr[None, :], s_arr[None, :])[0])


# --------------------------------------------------------------------------- bootstrap


def _resample_indices(y: np.ndarray, n_boot: int, rng: np.random.Generator, stratified: bool) -> np.ndarray:
    n = y.size
    if not stratified:
        return rng.integers(0, n, size=(n_boot, n))
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    return np.concatenate(
        [pos[rng.integers(0, pos.size, size=(n_boot, pos.size))], neg[rng.integers(0, neg.size, size=(n_boot, neg.size))]],
        axis=1,
    )


def _bootstrap_stats(y, scores: Sequence[np.ndarray], metric, n_boot: int, seed: int, stratified: bool) -> list[np.ndarray]:
    """Metric on each of ``n_boot`` patient resamples, the same resamples for every score."""
    rng = np.random.default_rng(seed)
    idx = _resample_indices(y, n_boot, rng, stratified)
    out = []
    for s in scores:
        if callable(metric):
            stats = np.array(
                [metric(y[i], s[i]) if _both_classes(y[i]) else np.nan for i in idx], dtype=float
            )
        else:
            step = max(1, _CHUNK_CELLS // max(y.size, 1))
            stats = np.concatenate([_rowwise(metric, y[idx[a : a + step]], s[idx[a : a + step]]) for a in range(0, n_boot, step)])
        out.append(stats)
    return out


def _percentile_ci(stats: np.ndarray, alpha: float) -> tuple[float, float]:
    stats = stats[~np.isnan(stats)]
    if stats.size < 2:
        return (np.nan, np.nan)
    low, high = np.percentile(stats, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def bootstrap_ci(
    y,
    score,
    metric: FastMetric | Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    stratified: bool = True,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a metric, resampling patients.

    Parameters
    ----------
    y : array-like of {0, 1}
        Outcome, 1 = durable clinical benefit.
    score : array-like of float
        Predicted probability or raw score; patients with a NaN score are left out.
    metric : {"roc_auc", "pr_auc", "brier"} or callable
        Named metrics are computed for all resamples at once (fast); a callable ``metric(y, score)``
        is called once per resample.
    n_boot : int, default=1000
        Number of resamples; 0 returns ``(nan, nan)``.
    seed : int, default=0
        Seed of the resampling; the same seed gives the same interval.
    alpha : float, default=0.05
        1 - coverage.
    stratified : bool, default=True
        Resample positives and negatives separately, keeping class sizes, so every resample has both
        classes. Otherwise resamples with a single class are skipped.

    Returns
    -------
    (low, high) : tuple of float
        NaN when fewer than two resamples were usable.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200); s = y + rng.normal(size=200)
    >>> low, high = bootstrap_ci(y, s, "roc_auc", n_boot=200)
    >>> bool(low < roc_auc(y, s) < high)
    True
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1). Got {alpha!r} instead.")
    if n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer. Got {n_boot!r} instead.")
    y_arr, s_arr = _check_y_score(y, score)
    keep = ~np.isnan(s_arr)
    y_arr, s_arr = y_arr[keep], s_arr[keep]
    if n_boot == 0 or not _both_classes(y_arr):
        return (np.nan, np.nan)
    (stats,) = _bootstrap_stats(y_arr, [s_arr], metric, n_boot, seed, stratified)
    return _percentile_ci(stats, alpha)


def paired_auc_difference(
    y, s1, s2, n_boot: int = 1000, seed: int = 0, *, alpha: float = 0.05
) -> tuple[float, float, float]:
    """ROC AUC of ``s1`` minus that of ``s2`` on patients with both scores, with a paired bootstrap CI.

    Both scores are evaluated on the same resamples, so the interval reflects the correlation
    between them (an unpaired comparison of two intervals would be too wide).

    Examples
    --------
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> paired_auc_difference(y, [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], n_boot=50)
    (0.0, 0.0, 0.0)
    """
    y_arr, a = _check_y_score(y, s1, name="s1")
    _, b = _check_y_score(y, s2, name="s2")
    keep = ~(np.isnan(a) | np.isnan(b))
    y_arr, a, b = y_arr[keep], a[keep], b[keep]
    if not _both_classes(y_arr):
        return (np.nan, np.nan, np.nan)
    diff = roc_auc(y_arr, a) - roc_auc(y_arr, b)
    if n_boot == 0:
        return (float(diff), np.nan, np.nan)
    auc_a, auc_b = _bootstrap_stats(y_arr, [a, b], "roc_auc", n_boot, seed, True)
    return (float(diff), *_percentile_ci(auc_a - auc_b, alpha))


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
    y_arr, p_arr = _check_y_score(y, p, name="p")
    _check_probability(p_arr)
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], np.clip(p_arr[keep], _CLIP, 1 - _CLIP)
    if not _both_classes(y_arr):
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
    from scipy.stats import norm

    y_arr, p_arr = _check_y_score(y, p, name="p")
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], np.clip(p_arr[keep], _CLIP, 1 - _CLIP)
    out = {k: np.nan for k in ("calibration_slope", "calibration_slope_low", "calibration_slope_high",
                               "calibration_intercept", "calibration_intercept_low", "calibration_intercept_high")}
    if not _both_classes(y_arr):
        return out
    z = norm.ppf(1 - alpha / 2)
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
    y_arr, p_arr = _check_y_score(y, p, name="p")
    _check_probability(p_arr)
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


# --------------------------------------------------------------------------- clinical utility


def _check_thresholds(thresholds) -> np.ndarray:
    t = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if t.size == 0 or np.any((t <= 0) | (t >= 1)):
        raise ValueError(f"thresholds must be non-empty and strictly between 0 and 1. Got {t.tolist()[:5]} instead.")
    return t


def _flag_counts(y: np.ndarray, p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
    flagged = p[None, :] >= t[:, None]
    tp = (flagged & (y == 1)).sum(axis=1)
    fp = (flagged & (y == 0)).sum(axis=1)
    return tp, fp, int((y == 1).sum()) - tp, int((y == 0).sum()) - fp


def decision_curve(y, p, thresholds=np.arange(0.05, 0.96, 0.01)) -> pd.DataFrame:
    """Net benefit of treating by the model, treating everyone and treating no one.

    Treating a patient means "treat expecting durable benefit" (``p >= t``), and
    net benefit = TP/n - FP/n * t / (1 - t) (Vickers & Elkin 2006). Patients with NaN ``p`` are dropped.

    Examples
    --------
    >>> dc = decision_curve([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.1], thresholds=[0.5])
    >>> float(dc["net_benefit_model"].iloc[0])
    0.5
    """
    y_arr, p_arr = _check_y_score(y, p, name="p")
    _check_probability(p_arr)
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], p_arr[keep]
    t = _check_thresholds(thresholds)
    n = y_arr.size
    tp, fp, _, _ = _flag_counts(y_arr, p_arr, t)
    odds = t / (1 - t)
    prevalence = y_arr.mean() if n else np.nan
    return pd.DataFrame(
        {
            "threshold": t,
            "net_benefit_model": tp / n - fp / n * odds,
            "net_benefit_all": prevalence - (1 - prevalence) * odds,
            "net_benefit_none": np.zeros_like(t),
        }
    )


def sensitivity_specificity(y, p, thresholds) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV when flagging patients with ``p >= threshold``.

    PPV (NPV) is NaN at a threshold that flags no (every) patient.

    Examples
    --------
    >>> sensitivity_specificity([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.6], [0.5])["sensitivity"].tolist()
    [0.5]
    """
    y_arr, p_arr = _check_y_score(y, p, name="p")
    keep = ~np.isnan(p_arr)
    y_arr, p_arr = y_arr[keep], p_arr[keep]
    t = np.atleast_1d(np.asarray(thresholds, dtype=float))
    tp, fp, fn, tn = _flag_counts(y_arr, p_arr, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "threshold": t,
                "sensitivity": tp / (tp + fn),
                "specificity": tn / (tn + fp),
                "ppv": tp / (tp + fp),
                "npv": tn / (tn + fn),
                "n_flagged": tp + fp,
            }
        )


# --------------------------------------------------------------------------- summaries


def binary_metrics(
    y, score, *, is_probability: bool = True, n_boot: int = 1000, seed: int = 0
) -> dict[str, float | int]:
    """Discrimination (and, for probabilities, calibration) of one score, with 95% bootstrap CIs.

    Patients with a NaN score are left out and counted in ``n_missing_score``. Raw scores such as
    PD-L1 TPS or TMB (``is_probability=False``) get ROC AUC and average precision only.

    Returns
    -------
    dict
        ``n, n_pos, n_neg, n_missing_score, prevalence, roc_auc(_low/_high), pr_auc(_low/_high)``
        and, for probabilities, ``brier(_low/_high), brier_null, calibration_slope,
        calibration_intercept, mean_predicted``. ``brier_null`` is the Brier score of predicting
        the prevalence for everyone.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1, 1], [0.1, 0.3, 0.2, 0.8, None], n_boot=0)
    >>> m["n"], m["n_missing_score"], round(m["roc_auc"], 2)
    (4, 1, 0.75)
    """
    y_arr, s_arr = _check_y_score(y, score)
    if is_probability:
        _check_probability(s_arr, name="score")
    keep = ~np.isnan(s_arr)
    n_missing = int((~keep).sum())
    y_arr, s_arr = y_arr[keep], s_arr[keep]
    n, n_pos = int(y_arr.size), int(y_arr.sum())
    prevalence = n_pos / n if n else np.nan
    out: dict[str, float | int] = {
        "n": n, "n_pos": n_pos, "n_neg": n - n_pos, "n_missing_score": n_missing, "prevalence": prevalence,
    }
    usable = _both_classes(y_arr)
    names: list[FastMetric] = ["roc_auc", "pr_auc"] + (["brier"] if is_probability else [])
    for name in names:
        point = float(_rowwise(name, y_arr[None, :], s_arr[None, :])[0]) if n else np.nan
        low, high = bootstrap_ci(y_arr, s_arr, name, n_boot=n_boot, seed=seed) if usable else (np.nan, np.nan)
        out.update({name: point, f"{name}_low": low, f"{name}_high": high})
    if is_probability:
        out.update(
            {
                "brier_null": prevalence * (1 - prevalence),
                **calibration_ci(y_arr, s_arr),
                "mean_predicted": float(s_arr.mean()) if n else np.nan,
                "log_loss": float(log_loss_each(y_arr, s_arr).mean()) if n else np.nan,
            }
        )
    return out


_TABLE_COLUMNS = [
    "cohort", "model", "n", "n_pos", "n_not_evaluable", "n_missing_score", "same_patients", "prevalence",
    "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high",
    "brier", "brier_low", "brier_high", "brier_null", "calibration_slope", "calibration_slope_low",
    "calibration_slope_high", "calibration_intercept", "calibration_intercept_low", "calibration_intercept_high",
    "mean_predicted", "log_loss",
]


def metrics_table(
    frame: pd.DataFrame,
    *,
    y: str = "y",
    scores: Mapping[str, str] | Sequence[str],
    group: str | None = "cohort",
    probability_scores: Collection[str] = (),
    n_boot: int = 1000,
    seed: int = 0,
    n_not_evaluable: Mapping[str, int] | None = None,
    step: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row of :func:`binary_metrics` per (cohort, score), per cohort and pooled.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with the outcome, the scores and the group column.
    y : str, default="y"
        Outcome column (0/1). Rows with a missing outcome are dropped and counted as not evaluable.
    scores : mapping of model name -> column, or list of columns (named after themselves)
        The scores to compare. Each is evaluated on the patients where it is available; the
        ``n`` column says how many, and ``same_patients`` is True when, within the cohort, every
        score was evaluated on exactly the same patients. Use :func:`paired_auc_difference` for a
        like-for-like comparison.
    group : str or None, default="cohort"
        Column defining cohorts; None gives only the pooled rows.
    probability_scores : collection of str
        Model names (or columns) that are probabilities and get calibration metrics; other scores
        (PD-L1 TPS, TMB) get discrimination only.
    n_boot, seed : int
        Bootstrap resamples and seed, the same for every row.
    n_not_evaluable : mapping of cohort -> int, optional
        Patients already removed from ``frame`` because their outcome could not be assessed;
        ``"pooled"`` defaults to the sum over cohorts.
    step : callable, optional
        Called with 1 after each row, e.g. a progress bar's ``update``.

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": list("aabbbb"), "y": [0, 1, 0, 1, 1, 0], "p": [.2, .7, .4, .6, .9, .1]})
    >>> metrics_table(df, scores=["p"], probability_scores=["p"], n_boot=0)[["cohort", "n"]].values.tolist()
    [['a', 2], ['b', 4], ['pooled', 6]]
    """
    named = dict(scores) if isinstance(scores, Mapping) else {c: c for c in scores}
    needed = [y, *named.values()] + ([group] if group is not None else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame must have the columns {needed}. Got no column(s) {missing} instead.")
    missing_y = frame[y].isna()
    extra = dict(n_not_evaluable or {})
    groups: list[tuple[str, pd.DataFrame, pd.Series]] = []
    if group is not None:
        for key, part in frame.groupby(group, sort=True, dropna=False):
            groups.append((str(key), part, missing_y.loc[part.index]))
    groups.append(("pooled", frame, missing_y))
    if "pooled" not in extra:
        extra["pooled"] = sum(v for k, v in extra.items())
    rows = []
    for cohort, part, part_missing_y in groups:
        part = part.loc[~part_missing_y]
        available = pd.DataFrame({m: part[c].notna().to_numpy() for m, c in named.items()})
        same = bool((available.nunique(axis=1) <= 1).all()) if len(available) else True
        for model, column in named.items():
            is_prob = model in probability_scores or column in probability_scores
            metrics = binary_metrics(
                part[y].to_numpy(dtype=float, na_value=np.nan),
                part[column].to_numpy(dtype=float, na_value=np.nan),
                is_probability=is_prob, n_boot=n_boot, seed=seed,
            )
            rows.append(
                {
                    **metrics,
                    "cohort": cohort,
                    "model": model,
                    "n_not_evaluable": int(extra.get(cohort, 0)) + int(part_missing_y.sum()),
                    "same_patients": same,
                }
            )
            if step is not None:
                step(1)
    return pd.DataFrame(rows).reindex(columns=_TABLE_COLUMNS)


#: Columns whose CI bounds are not named ``<column>_low`` / ``<column>_high``.
_BOUNDS = {"auc_diff_vs_baseline": ("auc_diff_low", "auc_diff_high")}

_LABELS = {
    "auc_diff_vs_baseline": "AUC difference (model - baseline)", "log_loss": "Log-loss",
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "Brier", "brier_null": "Brier (prevalence)",
    "calibration_slope": "Calibration slope", "calibration_intercept": "Calibration intercept",
    "mean_predicted": "Mean predicted", "prevalence": "Observed rate",
}


def format_metrics_markdown(
    table: pd.DataFrame,
    *,
    columns: Sequence[str] = ("roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept"),
    digits: int = 2,
) -> str:
    """Markdown table of a :func:`metrics_table`, one line per row, cells like ``0.71 (0.65-0.77)``.

    Examples
    --------
    >>> t = pd.DataFrame({"cohort": ["a"], "model": ["m"], "n": [10], "n_pos": [4],
    ...                   "roc_auc": [0.7123], "roc_auc_low": [0.6], "roc_auc_high": [0.8]})
    >>> print(format_metrics_markdown(t, columns=["roc_auc"]))
    | Cohort | Model | n | Events | ROC AUC |
    |---|---|---:|---:|---|
    | a | m | 10 | 4 | 0.71 (0.60-0.80) |
    """

    def fmt(v) -> str:
        return "NA" if v is None or pd.isna(v) else f"{v:.{digits}f}"

    def cell(row: pd.Series, col: str) -> str:
        text = fmt(row.get(col))
        low_key, high_key = _BOUNDS.get(col, (f"{col}_low", f"{col}_high"))
        low, high = row.get(low_key), row.get(high_key)
        if text != "NA" and low is not None and high is not None and not (pd.isna(low) or pd.isna(high)):
            text += f" ({fmt(low)}-{fmt(high)})"
        return text

    head = ["Cohort", "Model", "n", "Events", *(_LABELS.get(c, c) for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|" + "---|" * len(columns)]
    for _, row in table.iterrows():
        cells = [str(row["cohort"]), str(row["model"]), str(int(row["n"])), str(int(row["n_pos"]))]
        lines.append("| " + " | ".join(cells + [cell(row, c) for c in columns]) + " |")
    return "\n".join(lines)
