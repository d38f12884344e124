"""Clinical utility: net benefit across decision thresholds (decision curves) and sensitivity /
specificity at chosen thresholds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.evaluation.discrimination import check_probability, check_y_score

__all__ = ['decision_curve', 'sensitivity_specificity']

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
    y_arr, p_arr = check_y_score(y, p, name="p")
    check_probability(p_arr)
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
    y_arr, p_arr = check_y_score(y, p, name="p")
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
