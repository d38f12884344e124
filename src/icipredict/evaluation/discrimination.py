"""Discrimination: ROC AUC, average precision and per-patient log-loss, and the input checks every
metric runs first (``y`` 0/1, scores finite, probabilities within 0-1).

Pure numeric functions; :mod:`icipredict.evaluation.bootstrap` puts intervals around them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ['roc_auc', 'average_precision', 'log_loss_each', 'check_y_score', 'check_probability', 'both_classes', 'rowwise', 'FastMetric', 'CLIP', 'CHUNK_CELLS']

#: The metrics computed for many resamples at once (one row per resample).
FastMetric = Literal["roc_auc", "pr_auc", "brier"]
CLIP = 1e-6
# Rows x patients per vectorised bootstrap chunk: bounds memory at a few tens of MB.
CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------- validation


def check_y_score(y, score, *, name: str = "score") -> tuple[np.ndarray, np.ndarray]:
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


def check_probability(p: np.ndarray, *, name: str = "p") -> None:
    finite = p[~np.isnan(p)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError(
            f"{name} must be probabilities in [0, 1]. Got values from {finite.min():g} to {finite.max():g} instead."
        )


def both_classes(y: np.ndarray) -> bool:
    return 0 < y.sum() < y.size


# --------------------------------------------------------------------------- row-wise metrics


def rowwise(metric: FastMetric, y: np.ndarray, s: np.ndarray) -> np.ndarray:
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
    y_arr, s_arr = check_y_score(y, score)
    return float(rowwise("roc_auc", y_arr[None, :], s_arr[None, :])[0])


def log_loss_each(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each patient's log-loss, with ``p`` clipped to ``[1e-6, 1 - 1e-6]``.

    Examples
    --------
    >>> log_loss_each(np.array([1.0, 0.0]), np.array([0.5, 0.0])).round(3).tolist()
    [0.693, 0.0]
    """
    p = np.clip(p, CLIP, 1 - CLIP)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def average_precision(y, score) -> float:
    """Average precision (area under the precision-recall step curve), as sklearn computes it.

    Examples
    --------
    >>> round(average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 3)
    0.833
    """
    y_arr, s_arr = check_y_score(y, score)
    return float(rowwise("pr_auc", y_arr[None, :], s_arr[None, :])[0])
