"""Tumour immune microenvironment (TIME) class from PD-L1 and TIL status.

The class is stored as the (PD-L1 status, TIL status) pair and mapped to a roman label through a
numbering, because papers number the four classes differently (domain.md section 3).
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd

from collections.abc import Mapping

from icipredict.clinical.biomarkers import pdl1_positive
from icipredict.clinical.til import Cutoff, til_positive
from icipredict.table.vocab import PDL1_POSITIVE_CUTOFF

__all__ = ["NUMBERINGS", "time_class_key", "time_status_pair", "describe_pair", "read_pair", "time_class", "time_class_codes",
           "time_class_labels"]

#: (PD-L1 positive, TIL positive) -> TIME class label.
#: "seed": the expert commentary of the seed review (domain.md section 3): I PD-L1-/TIL-,
#: II PD-L1+/TIL+, III PD-L1-/TIL+, IV PD-L1+/TIL-.
#: "teng": Teng et al., Cancer Res 2015;75:2139 ("Classifying cancers based on T-cell infiltration
#: and PD-L1"): I PD-L1+/TIL+ (adaptive immune resistance), II PD-L1-/TIL- (immune ignorance),
#: III PD-L1+/TIL- (intrinsic induction), IV PD-L1-/TIL+ (tolerance).
NUMBERINGS: dict[str, dict[tuple[int, int], str]] = {
    "seed": {(0, 0): "I", (1, 1): "II", (0, 1): "III", (1, 0): "IV"},
    "teng": {(1, 1): "I", (0, 0): "II", (1, 0): "III", (0, 1): "IV"},
}

_PAIRS = ((0, 0), (0, 1), (1, 0), (1, 1))


def time_class_key(numbering: str = "seed") -> str:
    """The TIME classes of a numbering in plain words, for a reader who does not know the numbering's name.

    >>> time_class_key()
    'tumour immune microenvironment: I PD-L1-/TIL-, II PD-L1+/TIL+, III PD-L1-/TIL+, IV PD-L1+/TIL-'
    """
    classes = sorted((label, describe_pair(*pair)) for pair, label in NUMBERINGS[numbering].items())
    return "tumour immune microenvironment: " + ", ".join(f"{label} {pair}" for label, pair in classes)


def time_status_pair(
    df: pd.DataFrame,
    pdl1_cutoff: float = PDL1_POSITIVE_CUTOFF,
    til_cutoffs: Mapping[str, Cutoff] | None = None,
) -> pd.DataFrame:
    """PD-L1 and TIL status per patient, each 1.0 / 0.0 / NaN.

    Parameters
    ----------
    df : DataFrame
        Patient table (see :func:`~icipredict.clinical.biomarkers.pdl1_positive` and
        :func:`~icipredict.clinical.biomarkers.til_positive` for the columns used).
    pdl1_cutoff : float
        TPS % for PD-L1 positive.
    til_cutoffs : mapping, optional
        Cut-off per TIL measure (:data:`icipredict.clinical.til.DEFAULT_TIL_CUTOFFS`).

    Returns
    -------
    DataFrame with float columns ``pdl1_positive`` and ``til_positive``, on ``df.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> time_status_pair(pd.DataFrame({"pdl1_tps": [60.0], "til_pct": [5.0]})).iloc[0].tolist()
    [1.0, 0.0]
    """
    return pd.DataFrame({
        "pdl1_positive": pdl1_positive(df, cutoff=pdl1_cutoff),
        "til_positive": til_positive(df, til_cutoffs),
    }, index=df.index)


def _sign(v: object) -> str:
    if v is None or pd.isna(v):  # type: ignore[arg-type]
        return "?"
    return "+" if float(v) == 1.0 else "-"  # type: ignore[arg-type]


def describe_pair(pdl1: float | None, til: float | None) -> str:
    """Text of a status pair, "?" for an unknown status.

    Examples
    --------
    >>> describe_pair(1.0, 0.0), describe_pair(float("nan"), 1)
    ('PD-L1+/TIL-', 'PD-L1?/TIL+')
    """
    return f"PD-L1{_sign(pdl1)}/TIL{_sign(til)}"


_PAIR_TEXT = re.compile(r"PD-L1([+\-?])/TIL([+\-?])")
_STATUS = {"+": 1, "-": 0, "?": None}


def read_pair(text: str) -> tuple[int | None, int | None]:
    """The status pair a :func:`describe_pair` text names, also inside a TIME class label; None for "?".

    (None, None) when the text holds no pair.

    Examples
    --------
    >>> read_pair("II (PD-L1+/TIL+)"), read_pair("unknown (PD-L1?/TIL-)"), read_pair("unknown")
    ((1, 1), (None, 0), (None, None))
    """
    m = _PAIR_TEXT.search(text)
    return (None, None) if m is None else (_STATUS[m.group(1)], _STATUS[m.group(2)])


def _resolve_mapping(numbering: str, mapping: dict[tuple[int, int], str] | None) -> dict[tuple[int, int], str]:
    if mapping is None:
        if numbering not in NUMBERINGS:
            raise ValueError(f"numbering must be one of {', '.join(map(repr, NUMBERINGS))}. "
                             f"Got {numbering!r} instead.")
        return NUMBERINGS[numbering]
    missing = [p for p in _PAIRS if p not in mapping]
    if missing:
        raise ValueError("mapping must give a label for each (PD-L1, TIL) pair (0, 0), (0, 1), (1, 0), (1, 1). "
                         f"Got {sorted(mapping)!r} instead (missing {missing}).")
    return mapping


def time_class(
    df: pd.DataFrame,
    *,
    numbering: Literal["seed", "teng"] = "seed",
    mapping: dict[tuple[int, int], str] | None = None,
    pdl1_cutoff: float = PDL1_POSITIVE_CUTOFF,
    til_cutoffs: Mapping[str, Cutoff] | None = None,
) -> pd.Series:
    """TIME class label per patient, e.g. ``"II (PD-L1+/TIL+)"`` in the seed's numbering.

    Parameters
    ----------
    df : DataFrame
        Patient table.
    numbering : {"seed", "teng"}
        Which entry of :data:`NUMBERINGS` names the classes.
    mapping : dict, optional
        Own ``{(pdl1, til): label}`` for the four 0/1 pairs; overrides ``numbering``.
    pdl1_cutoff, til_cutoffs
        Passed to :func:`time_status_pair`.

    Returns
    -------
    Series of str, on ``df.index``
        ``f"{label} ({describe_pair(pdl1, til)})"`` when both statuses are known; otherwise
        ``"unknown (PD-L1+/TIL?)"`` style, with "?" for each unknown status.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pdl1_tps": [60.0, 0.0, None], "til_pct": [30.0, 0.0, 30.0]})
    >>> time_class(df).tolist()
    ['II (PD-L1+/TIL+)', 'I (PD-L1-/TIL-)', 'unknown (PD-L1?/TIL+)']
    >>> time_class(df, numbering="teng").tolist()[:2]
    ['I (PD-L1+/TIL+)', 'II (PD-L1-/TIL-)']
    """
    labels = np.asarray(time_class_labels(numbering, mapping), dtype=object)
    pair = time_status_pair(df, pdl1_cutoff=pdl1_cutoff, til_cutoffs=til_cutoffs)
    codes = time_class_codes(pair["pdl1_positive"].to_numpy(), pair["til_positive"].to_numpy())
    return pd.Series(labels[codes], index=df.index, dtype=object, name="time_class")


def time_class_codes(pdl1_positive: np.ndarray, til_positive: np.ndarray) -> np.ndarray:
    """Each patient's (PD-L1, TIL) state as an index into :func:`time_class_labels` (no per-patient Python).

    >>> codes = time_class_codes(np.array([1.0, np.nan]), np.array([1.0, 0.0]))
    >>> [time_class_labels()[c] for c in codes]
    ['II (PD-L1+/TIL+)', 'unknown (PD-L1?/TIL-)']
    """
    p, t = pdl1_positive, til_positive
    return np.where(np.isnan(p), 2, p).astype(int) * 3 + np.where(np.isnan(t), 2, t).astype(int)


def time_class_labels(numbering: Literal["seed", "teng"] = "seed",
                      mapping: dict[tuple[int, int], str] | None = None) -> list[str]:
    """The labels of the 9 (PD-L1, TIL) states, PD-L1 negative / positive / unknown by TIL the same."""
    table = _resolve_mapping(numbering, mapping)
    states = []
    for a in (0.0, 1.0, np.nan):
        for b in (0.0, 1.0, np.nan):
            known = not (np.isnan(a) or np.isnan(b))
            states.append(f"{table[(int(a), int(b))] if known else 'unknown'} ({describe_pair(a, b)})")
    return states
