"""TIL status from the measures pathologists and labs report, and which measure set it.

Each measure has its own cut-off (:class:`icipredict.model.metadata.FeatureOptions`) with a cited default.
The first measure given, in :data:`TIL_MEASURES` order, sets the status; the patient's record says
which (``til_source``):

========================  =========================  ==================================================
measure                   default cut-off            source
========================  =========================  ==================================================
``til_status``            positive / negative        as reported (overrides every cut-off)
``til_density``           >= 250 TIL cells/mm2, H&E  Rakaee et al., JAMA Oncol 2023 (machine-learning
                                                     TIL counts; the evidence behind the model's TIL term)
``til_pct``               >= 10 % stromal TILs, H&E  Gataa et al. 2021 (nivolumab, n = 221; 22 % TIL-high)
``cd8_density``           cohort median              no accepted absolute cut-off: split at the median of
                                                     the patients scored together (stated before outcomes)
``cd8_score``             cohort median              a published CD8 IHC score (e.g. Fumet et al., Br J
                                                     Cancer 2018, the Dijon cohort; the authors' own code
                                                     splits near its median, 7.68)
``immune_rna_score``      0 (within-cohort z-score)  the cohort median of a T-effector / IFN-gamma
                                                     signature (Fehrenbacher et al., Lancet 2016, POPLAR)
========================  =========================  ==================================================

A "median" cut-off is cohort-relative: it needs the patients scored together (at least
:data:`MIN_MEDIAN_PATIENTS` with the measure); for fewer, the status stays unknown and the
prediction says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.clinical.columns import Table, floats, n_rows, texts

__all__ = ["TIL_MEASURES", "MIN_MEDIAN_PATIENTS", "DEFAULT_TIL_CUTOFFS", "Cutoff", "TilStatus", "til_status",
           "til_status_values", "til_positive"]

#: Measures, in the order that decides which one sets the status.
TIL_MEASURES: tuple[str, ...] = ("til_status", "til_density", "til_pct", "cd8_density", "cd8_score",
                                 "immune_rna_score")
#: Patients with a measure needed before a cohort-median cut-off is defined.
MIN_MEDIAN_PATIENTS = 10

#: A numeric cut-off, or "median" for the median of the patients scored together.
Cutoff = float | Literal["median"]


#: Default cut-off per numeric measure (module docstring): a number, or "median" for the cohort median.
DEFAULT_TIL_CUTOFFS: dict[str, Cutoff] = {"til_density": 250.0, "til_pct": 10.0, "cd8_density": "median",
                                          "cd8_score": "median", "immune_rna_score": 0.0}


def _threshold(values: np.ndarray, cutoff: Cutoff) -> float:
    if cutoff == "median":
        known = ~np.isnan(values)
        if known.sum() < MIN_MEDIAN_PATIENTS:
            return np.nan
        return float(pd.Series(values[known]).median())
    return float(cutoff)


_STATUS = {"positive": 1.0, "negative": 0.0}
_SOURCES = np.array([*TIL_MEASURES, None], dtype=object)


@dataclass(frozen=True)
class TilStatus:
    """:func:`til_status` as arrays: ``positive`` (1.0 / 0.0 / NaN), ``source`` (index into
    :data:`TIL_MEASURES`, -1 when no measure is given) and ``cutoff`` (NaN for a reported status)."""

    positive: np.ndarray
    source: np.ndarray
    cutoff: np.ndarray

    def source_names(self) -> np.ndarray:
        return _SOURCES[self.source]


def til_status_values(table: Table, cutoffs: Mapping[str, Cutoff] | None = None) -> TilStatus:
    """:func:`til_status` as arrays, from a table or its checked columns.

    >>> status = til_status_values(pd.DataFrame({"til_pct": [40.0, 5.0, None]}))
    >>> status.positive.tolist(), status.source_names().tolist()
    ([1.0, 0.0, nan], ['til_pct', 'til_pct', None])
    """
    cut = {**DEFAULT_TIL_CUTOFFS, **(cutoffs or {})}
    n = n_rows(table)
    positive = texts(table, "til_status").map(lambda v: _STATUS.get(v.lower(), np.nan) if isinstance(v, str)
                                              else np.nan, np.nan, float)
    source = np.where(np.isnan(positive), -1, 0).astype(np.int8)
    threshold = np.full(n, np.nan)
    for k, measure in enumerate(TIL_MEASURES[1:], start=1):
        values = floats(table, measure)
        t = _threshold(values, cut[measure])
        if np.isnan(t):
            continue
        todo = np.isnan(positive) & ~np.isnan(values)
        positive[todo] = (values[todo] >= t).astype(float)
        source[todo] = k
        threshold[todo] = t
    return TilStatus(positive, source, threshold)


def til_status(df: pd.DataFrame, cutoffs: Mapping[str, Cutoff] | None = None) -> pd.DataFrame:
    """TIL positive (1.0 / 0.0 / NaN), the measure that set it, and the cut-off used, per patient.

    Returns
    -------
    DataFrame with ``til_positive`` (float), ``til_source`` (measure name or None) and
    ``til_cutoff`` (the numeric cut-off applied, NaN for a reported status), on ``df.index``.

    Examples
    --------
    >>> df = pd.DataFrame({"til_status": ["negative", None, None], "til_pct": [40.0, 5.0, None],
    ...                    "til_density": [None, None, 300.0]})
    >>> til_status(df)[["til_positive", "til_source"]].values.tolist()
    [[0.0, 'til_status'], [0.0, 'til_pct'], [1.0, 'til_density']]
    """
    status = til_status_values(df, cutoffs)
    return pd.DataFrame({"til_positive": status.positive, "til_source": status.source_names(),
                         "til_cutoff": status.cutoff}, index=df.index)


def til_positive(df: pd.DataFrame, cutoffs: Mapping[str, Cutoff] | None = None) -> pd.Series:
    """TIL positive (TIL-high) as 1.0 / 0.0 / NaN by :func:`til_status`.

    >>> til_positive(pd.DataFrame({"til_pct": [40.0, 5.0, None]})).tolist()
    [1.0, 0.0, nan]
    """
    return pd.Series(til_status_values(df, cutoffs).positive, index=df.index, name="til_positive")
