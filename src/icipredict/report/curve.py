"""What the report says about a patient's progression-free curve: :class:`CurveSummary`, no rendering.

A curve model predicts each patient's progression-free survival S(t) with its band
(:func:`icipredict.predict_curve`: ``patient_id, time_months, s, s_low, s_high``), and the
prediction row carries its landmarks (``p_pfs_3m``, ``p_durable_benefit`` = S(6), ``p_pfs_12m``,
``p_pfs_24m``), the median with its interval and ``p_secondary_resistance_24m``.
:func:`curve_summary` gathers both for one patient; the properties of :class:`CurveSummary` are
the sentences a clinician reads, in natural frequencies ("about 1 in 3 patients like this one
are progression-free at 12 months", :func:`natural_frequency`), each written once: the HTML
report, the one-page figure and the calculator read them.

>>> natural_frequency(0.34)
'about 1 in 3'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from icipredict.table.labels import is_missing, percent
from icipredict.table.vocab import DCB_MONTHS

__all__ = ["CurveSummary", "Landmark", "curve_summary", "natural_frequency", "months_text", "report_curve_times",
           "LANDMARKS", "CURVE_COLUMNS_SHOWN", "NO_CURVE_TEXT", "CURVE_STEP"]

#: The landmark times (months) the report names, with the prediction column holding S(t) at each.
LANDMARKS: tuple[tuple[float, str], ...] = ((3.0, "p_pfs_3m"), (DCB_MONTHS, "p_durable_benefit"),
                                            (12.0, "p_pfs_12m"), (24.0, "p_pfs_24m"))
#: The prediction columns of a curve model, in the order the report's tables show them.
CURVE_COLUMNS_SHOWN: tuple[str, ...] = ("p_pfs_3m", "p_pfs_12m", "p_pfs_24m", "median_pfs_months", "median_pfs_low",
                                        "median_pfs_high", "p_secondary_resistance_24m")
#: Said in place of the curve when the model has none.
NO_CURVE_TEXT = ("This model has no progression-free curve: it was trained for durable benefit at "
                 f"{DCB_MONTHS:g} months only, so it says nothing about how long benefit lasts.")

#: The report draws the curve at every quarter month (a week), up to the horizon.
CURVE_STEP = 0.25

# "1 in k" (k = 2..10) and "n in 10" (n = 1..9): the frequencies a clinician reads at a glance
_ONE_IN = tuple((1 / k, f"1 in {k}") for k in range(2, 11))
_N_IN_TEN = tuple((n / 10, f"{n} in 10") for n in range(1, 10))
_FEWER = 0.075  # halfway between 1 in 20 and 1 in 10: below it, "about 1 in 10" would overstate


def natural_frequency(p: float) -> str:
    """``p`` in the words of the nearest simple natural frequency: "about 1 in k" (k from 2 to 10) or "about n in 10".

    The nearest of those frequencies wins; at a tie "1 in k" (the simpler words) wins over "n in
    10" ("about 1 in 2", not "5 in 10"). Below 7.5 % (nearer 1 in 20 than 1 in 10) it is "fewer
    than 1 in 10", above 92.5 % "more than 9 in 10". A missing value gives "".

    >>> [natural_frequency(p) for p in (0.5, 0.34, 0.30, 0.26, 0.06, 0.96)]
    ['about 1 in 2', 'about 1 in 3', 'about 3 in 10', 'about 1 in 4', 'fewer than 1 in 10', 'more than 9 in 10']
    """
    if is_missing(p):
        return ""
    p = round(float(p), 9)  # 0.075 computed as 0.07499999999 is 0.075
    if p < _FEWER:
        return "fewer than 1 in 10"
    if p > 1 - _FEWER:
        return "more than 9 in 10"
    # the one-in forms come first, so a tie (0.5, 0.2, 0.1, 0.55) keeps the simpler words
    return "about " + min(_ONE_IN + _N_IN_TEN, key=lambda c: round(abs(p - c[0]), 9))[1]


def months_text(m: float) -> str:
    """Months as the report writes them: whole months without decimals, else one decimal.

    >>> months_text(24.0), months_text(7.25), months_text(29.96)
    ('24 months', '7.2 months', '30 months')
    """
    return f"{_months_number(m)} months"


def _months_number(m: float) -> str:
    rounded = round(float(m), 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def report_curve_times(horizon: float, step: float = CURVE_STEP) -> np.ndarray:
    """The months at which the report reads a curve: every ``step`` from 0, the landmarks, and the horizon itself;
    none beyond the horizon (there the curve is not estimated).

    >>> report_curve_times(7.0, step=2.0).tolist()
    [0.0, 2.0, 3.0, 4.0, 6.0, 7.0]
    """
    grid = np.arange(0.0, horizon, step)
    marks = [m for m, _ in LANDMARKS if m <= horizon]
    return np.unique(np.round(np.r_[grid, marks, horizon], 6))


def _value(x: Any) -> float | None:
    return None if is_missing(x) else float(x)


@dataclass(frozen=True)
class Landmark:
    """S(t) at one landmark time, with its band when the curve gives one (None: not estimated)."""

    months: float
    s: float | None
    low: float | None
    high: float | None


@dataclass
class CurveSummary:
    """One patient's progression-free curve and landmarks, with the sentences the report says them in."""

    patient_id: str
    times: np.ndarray
    s: np.ndarray
    s_low: np.ndarray
    s_high: np.ndarray
    landmarks: list[Landmark]
    median: float | None
    median_low: float | None
    median_high: float | None
    secondary_24m: float | None
    horizon: float
    level: float = 0.9

    def landmark(self, months: float) -> Landmark | None:
        """The landmark at ``months``, if the report names one there."""
        return next((m for m in self.landmarks if math.isclose(m.months, months)), None)

    @property
    def p_6m(self) -> float | None:
        """S(6): the probability of durable benefit."""
        mark = self.landmark(DCB_MONTHS)
        return None if mark is None else mark.s

    # -- sentences ---------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        return "How long benefit may last: progression-free survival"

    def interval_text(self, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return ""
        return f"{self.level:.0%} interval {percent(low)} to {percent(high)}"

    def landmark_text(self, mark: Landmark) -> str:
        """One landmark in words: "About 1 in 3 patients like this one are progression-free at 12 months (...)"."""
        when = months_text(mark.months)
        if mark.s is None:
            return (f"At {when}: not estimated, beyond the {months_text(self.horizon)} of follow-up the model's "
                    "training data support.")
        band = self.interval_text(mark.low, mark.high)
        numbers = percent(mark.s) + (f"; {band}" if band else "")
        words = natural_frequency(mark.s)
        return f"{words[:1].upper()}{words[1:]} patients like this one are progression-free at {when} ({numbers})."

    @property
    def landmark_texts(self) -> list[str]:
        return [self.landmark_text(m) for m in self.landmarks]

    @property
    def median_text(self) -> str:
        """The median progression-free survival in words, or why it is not given."""
        limit = f"{months_text(self.horizon)}, the longest time the training follow-up supports"
        if self.median is None:
            text = (f"Median progression-free survival not reached: the curve stays above 50% up to {limit}, so more "
                    "than half of patients like this one are estimated to be progression-free then.")
            if self.median_low is not None:
                text += f" Its {self.level:.0%} interval starts at {months_text(self.median_low)}."
            return text
        if self.median_low is not None and self.median_high is not None:
            band = f" ({self.level:.0%} interval {_months_number(self.median_low)} to {months_text(self.median_high)})"
        elif self.median_low is not None:
            band = f" ({self.level:.0%} interval from {months_text(self.median_low)} to beyond {limit})"
        else:
            band = f" ({self.level:.0%} interval not known)"
        return (f"Median progression-free survival: {months_text(self.median)}{band}. Half of patients like this one "
                "are estimated to progress (or die) before then, half after.")

    @property
    def secondary_text(self) -> str:
        """Acquired (secondary) resistance: progression by 24 months after benefit at 6 months."""
        if self.secondary_24m is None:
            return (f"Progression between {DCB_MONTHS:g} and 24 months (acquired resistance) not estimated: 24 months "
                    f"is beyond the {months_text(self.horizon)} of follow-up the model's training data support.")
        return (f"Of patients like this one who are progression-free at {DCB_MONTHS:g} months, "
                f"{natural_frequency(self.secondary_24m)} progress by 24 months ({percent(self.secondary_24m)}): "
                "acquired (secondary) resistance.")

    @property
    def band_text(self) -> str:
        return (f"Line: the estimated share of patients like this one still progression-free; shaded band: its "
                f"{self.level:.0%} interval. Dashed line: {DCB_MONTHS:g} months (durable benefit). The curve stops at "
                f"{months_text(self.horizon)}, the longest time the training follow-up supports.")

    # -- the figure's labels -------------------------------------------------------------------------

    @property
    def six_month_label(self) -> str:
        value = f" ({percent(self.p_6m)})" if self.p_6m is not None else ""
        return f"{DCB_MONTHS:g} months: durable benefit{value}"

    @property
    def median_label(self) -> str:
        if self.median is None:
            return f"median not reached by {months_text(self.horizon)}"
        if self.median_low is not None and self.median_high is not None:
            band = f"{_months_number(self.median_low)} to {_months_number(self.median_high)}"
        elif self.median_low is not None:
            band = f"{_months_number(self.median_low)} to beyond {_months_number(self.horizon)}"
        else:
            band = "not known"
        return f"median {months_text(self.median)} ({self.level:.0%} interval {band})"

    @property
    def beyond_label(self) -> str:
        return f"beyond {months_text(self.horizon)}: the training follow-up is too short"

    @property
    def sentences(self) -> list[str]:
        """Everything the report says of the curve, in reading order."""
        return [*self.landmark_texts, self.median_text, self.secondary_text]

    @property
    def alt_text(self) -> str:
        """The figure's text alternative: the numbers it draws."""
        return "Progression-free survival curve. " + " ".join(self.sentences)


def curve_summary(curve: pd.DataFrame, row: Mapping[str, Any], *, horizon: float | None = None,
                  level: float = 0.9) -> CurveSummary:
    """One patient's curve (rows of ``predict_curve``) and prediction row, gathered for the report.

    Parameters
    ----------
    curve : DataFrame
        ``time_months, s, s_low, s_high`` of one patient (rows of other patients are left out when a
        ``patient_id`` column is there). Times beyond the model's horizon carry NaN.
    row : mapping
        The patient's row of ``predict``: the landmarks come from its columns (``p_pfs_3m``,
        ``p_durable_benefit``, ``p_pfs_12m``, ``p_pfs_24m``), so the report prints exactly what
        ``predict`` returns; their bands from the curve at the same time when it has that time.
    horizon : float, optional
        The longest time the training follow-up supports; by default the last time with a value.
    level : float
        The band's coverage (the model's ``p_low`` / ``p_high`` level).

    Examples
    --------
    >>> curve = pd.DataFrame({"time_months": [0, 6, 12], "s": [1, .5, .3], "s_low": [1, .4, .2],
    ...                       "s_high": [1, .6, .4]})
    >>> curve_summary(curve, {"patient_id": "p1", "p_durable_benefit": .5, "p_pfs_12m": .3}).landmark_texts[2]
    'About 3 in 10 patients like this one are progression-free at 12 months (30%; 90% interval 20% to 40%).'
    """
    pid = str(row.get("patient_id", ""))
    if "patient_id" in curve.columns:
        curve = curve.loc[curve["patient_id"].astype(str) == pid]
    curve = curve.sort_values("time_months")
    t = curve["time_months"].to_numpy(float)
    s, lo, hi = (curve[c].to_numpy(float) for c in ("s", "s_low", "s_high"))
    known = np.isfinite(s)
    if horizon is None:
        horizon = float(t[known].max()) if known.any() else 0.0

    def at(months: float, values: np.ndarray) -> float | None:
        hit = np.flatnonzero(np.isclose(t, months) & np.isfinite(values))
        return float(values[hit[0]]) if len(hit) else None

    marks = []
    for months, column in LANDMARKS:
        value = _value(row.get(column)) if column in row else at(months, s)
        beyond = months > horizon + 1e-9
        marks.append(Landmark(months, None if beyond else value, None if beyond or value is None else at(months, lo),
                              None if beyond or value is None else at(months, hi)))
    return CurveSummary(pid, t[known], s[known], lo[known], hi[known], marks, _value(row.get("median_pfs_months")),
                        _value(row.get("median_pfs_low")), _value(row.get("median_pfs_high")),
                        _value(row.get("p_secondary_resistance_24m")), float(horizon), level)
