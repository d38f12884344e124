"""Tumour immune microenvironment (TIME) class from PD-L1 and TIL status.

The class is stored as the (PD-L1 status, TIL status) pair and mapped to a roman label through a
numbering, because papers number the four classes differently (domain.md section 3).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import TIL_DENSITY_CUTOFF, TIL_PCT_CUTOFF, pdl1_positive, til_positive

__all__ = ["NUMBERINGS", "time_status_pair", "describe_pair", "time_class"]

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


def time_status_pair(
    df: pd.DataFrame,
    pdl1_cutoff: float = 1.0,
    til_pct_cutoff: float = TIL_PCT_CUTOFF,
    til_density_cutoff: float = TIL_DENSITY_CUTOFF,
) -> pd.DataFrame:
    """PD-L1 and TIL status per patient, each 1.0 / 0.0 / NaN.

    Parameters
    ----------
    df : DataFrame
        Patient table (see :func:`~icipredict.clinical.biomarkers.pdl1_positive` and
        :func:`~icipredict.clinical.biomarkers.til_positive` for the columns used).
    pdl1_cutoff, til_pct_cutoff, til_density_cutoff : float
        Cut-offs: TPS %, stromal TIL %, TIL cells/mm2.

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
        "til_positive": til_positive(df, pct_cutoff=til_pct_cutoff, density_cutoff=til_density_cutoff),
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
    pdl1_cutoff: float = 1.0,
    til_pct_cutoff: float = TIL_PCT_CUTOFF,
    til_density_cutoff: float = TIL_DENSITY_CUTOFF,
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
    pdl1_cutoff, til_pct_cutoff, til_density_cutoff : float
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
    table = _resolve_mapping(numbering, mapping)
    pair = time_status_pair(df, pdl1_cutoff=pdl1_cutoff, til_pct_cutoff=til_pct_cutoff,
                            til_density_cutoff=til_density_cutoff)
    # 9 possible (PD-L1, TIL) states (each 0, 1 or unknown): label each state once, then index
    p = pair["pdl1_positive"].to_numpy(dtype=float)
    t = pair["til_positive"].to_numpy(dtype=float)
    code = np.where(np.isnan(p), 2, p).astype(int) * 3 + np.where(np.isnan(t), 2, t).astype(int)
    states = []
    for k in range(9):
        sp, st = (np.nan if k // 3 == 2 else float(k // 3)), (np.nan if k % 3 == 2 else float(k % 3))
        name = "unknown" if np.isnan(sp) or np.isnan(st) else table[(int(sp), int(st))]
        states.append(f"{name} ({describe_pair(sp, st)})")
    labels = np.array(states, dtype=object)[code]
    return pd.Series(labels, index=df.index, dtype=object, name="time_class")
