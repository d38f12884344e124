"""Bootstrap confidence intervals: percentile intervals of any metric, stratified by outcome, and the
paired AUC difference of two scores on the same patients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from icipredict.evaluation.discrimination import CHUNK_CELLS, FastMetric, both_classes, check_y_score, roc_auc, rowwise

__all__ = ['bootstrap_ci', 'paired_auc_difference']

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
                [metric(y[i], s[i]) if both_classes(y[i]) else np.nan for i in idx], dtype=float
            )
        else:
            step = max(1, CHUNK_CELLS // max(y.size, 1))
            stats = np.concatenate([rowwise(metric, y[idx[a : a + step]], s[idx[a : a + step]]) for a in range(0, n_boot, step)])
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
    y_arr, s_arr = check_y_score(y, score)
    keep = ~np.isnan(s_arr)
    y_arr, s_arr = y_arr[keep], s_arr[keep]
    if n_boot == 0 or not both_classes(y_arr):
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
    y_arr, a = check_y_score(y, s1, name="s1")
    _, b = check_y_score(y, s2, name="s2")
    keep = ~(np.isnan(a) | np.isnan(b))
    y_arr, a, b = y_arr[keep], a[keep], b[keep]
    if not both_classes(y_arr):
        return (np.nan, np.nan, np.nan)
    diff = roc_auc(y_arr, a) - roc_auc(y_arr, b)
    if n_boot == 0:
        return (float(diff), np.nan, np.nan)
    auc_a, auc_b = _bootstrap_stats(y_arr, [a, b], "roc_auc", n_boot, seed, True)
    return (float(diff), *_percentile_ci(auc_a - auc_b, alpha))
