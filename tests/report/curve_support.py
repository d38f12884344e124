"""A stand-in progression-free curve for the report tests: Weibull curves whose numbers are known exactly.

S(t) = exp(-(t / scale) ** shape), the band from a shorter and a longer scale, so the median and its
interval are known in closed form (scale * log(2) ** (1 / shape)). The frame has ``predict_curve``'s
columns and the row ``predict``'s curve columns, so the report code is tested before (and apart
from) any fitted curve model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def weibull(t, scale: float, shape: float) -> np.ndarray:
    return np.exp(-(np.asarray(t, dtype=float) / scale) ** shape)


def weibull_median(scale: float, shape: float) -> float:
    return scale * math.log(2) ** (1 / shape)


def standin_curve(patient_id: str = "P-1", *, scale: float = 10.0, shape: float = 1.2, spread: float = 0.25,
                  horizon: float = 30.0, times=None) -> tuple[pd.DataFrame, dict]:
    """(curve frame, prediction row) of one patient; times beyond ``horizon`` carry NaN, as predict_curve's."""
    t = np.asarray(times if times is not None else np.round(np.arange(0, horizon + 1e-9, 0.25), 4), dtype=float)
    lo_scale, hi_scale = scale * (1 - spread), scale * (1 + spread)
    beyond = t > horizon + 1e-9
    frame = pd.DataFrame({"patient_id": patient_id, "time_months": t,
                          "s": np.where(beyond, np.nan, weibull(t, scale, shape)),
                          "s_low": np.where(beyond, np.nan, weibull(t, lo_scale, shape)),
                          "s_high": np.where(beyond, np.nan, weibull(t, hi_scale, shape))})

    def within(m: float) -> float:
        return m if m <= horizon else float("nan")

    def s_at(m: float) -> float:
        return float(weibull(m, scale, shape)) if m <= horizon else float("nan")

    row = {"patient_id": patient_id, "p_durable_benefit": s_at(6), "p_low": float(weibull(6, lo_scale, shape)),
           "p_high": float(weibull(6, hi_scale, shape)), "p_pfs_3m": s_at(3), "p_pfs_12m": s_at(12),
           "p_pfs_24m": s_at(24), "median_pfs_months": within(weibull_median(scale, shape)),
           "median_pfs_low": within(weibull_median(lo_scale, shape)),
           "median_pfs_high": within(weibull_median(hi_scale, shape)),
           "p_secondary_resistance_24m": 1 - s_at(24) / s_at(6)}
    return frame, row
