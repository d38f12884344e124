"""Biomarker statuses: PD-L1 band and positivity, TMB-high, TIL positivity.

Rules follow domain.md section 3: PD-L1 bands <1, 1-49, >=50 % of tumour cells; PD-L1 positive
at TPS >= 1 % by default; TMB high at >= 10 mut/Mb; TIL-high at stromal TILs >= 10 % or >= 250
cells/mm2 on H&E (Rakaee et al., JAMA Oncol 2022). Every status is a float 1.0 / 0.0 / NaN so it
can enter a model matrix unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.outcomes import _float_column, _text_column
from icipredict.vocab import (PDL1_BAND_RANGES, PDL1_BANDS, PDL1_POSITIVE_CUTOFF, PLASMA_ASSAY_WORDS,
                              TMB_HIGH_CUTOFF, WES_ASSAY_WORDS)

__all__ = [
    "PLASMA_ASSAY_WORDS",
    "WES_ASSAY_WORDS",
    "tmb_assay_kind",
    "PDL1_BANDS",
    "PDL1_BAND_RANGES",
    "TMB_HIGH_CUTOFF",
    "TIL_PCT_CUTOFF",
    "TIL_DENSITY_CUTOFF",
    "pdl1_band",
    "pdl1_positive",
    "tmb_high",
    "til_positive",
]

#: Stromal TIL cut-off in percent (domain.md section 3).
TIL_PCT_CUTOFF = 10.0
#: TIL density cut-off in cells/mm2 (Rakaee et al., JAMA Oncol 2022).
TIL_DENSITY_CUTOFF = 250.0


def pdl1_band(df: pd.DataFrame) -> pd.Series:
    """PD-L1 TPS band from ``pdl1_tps``, falling back to the ``pdl1_band`` column.

    Parameters
    ----------
    df : DataFrame
        Uses ``pdl1_tps`` (percent) and ``pdl1_band`` (one of :data:`PDL1_BANDS`).

    Returns
    -------
    Series (categorical with categories :data:`PDL1_BANDS`), on ``df.index``; NaN when neither is
    known. The TPS wins when both are given.

    Examples
    --------
    >>> import pandas as pd
    >>> pdl1_band(pd.DataFrame({"pdl1_tps": [0.0, 20.0, None], "pdl1_band": [None, None, ">=50"]})).tolist()
    ['<1', '1-49', '>=50']
    """
    tps = _float_column(df, "pdl1_tps")
    reported = _text_column(df, "pdl1_band")
    from_tps = np.select([tps < 1.0, tps < 50.0, tps >= 50.0], list(PDL1_BANDS), default="")
    band = pd.Series(from_tps, index=df.index, dtype=object).where(tps.notna(), reported)
    band = band.where(band.isin(PDL1_BANDS), np.nan)
    return pd.Series(pd.Categorical(band, categories=list(PDL1_BANDS)), index=df.index, name="pdl1_band")


def pdl1_positive(df: pd.DataFrame, cutoff: float = PDL1_POSITIVE_CUTOFF) -> pd.Series:
    """PD-L1 positive (TPS >= ``cutoff``) as 1.0 / 0.0 / NaN.

    When only the band is known, the status is given when the whole band lies on one side of the
    cut-off (:data:`PDL1_BAND_RANGES`): with cut-off 1, "<1" is negative and the other bands
    positive; with cut-off 50 only ">=50" is positive; with cut-off 5, "1-49" is NaN.

    Parameters
    ----------
    df : DataFrame
        Uses ``pdl1_tps`` and ``pdl1_band``.
    cutoff : float
        TPS cut-off in percent.

    Returns
    -------
    Series of float, on ``df.index``, named ``pdl1_positive``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pdl1_tps": [0.0, 60.0, None], "pdl1_band": [None, None, "1-49"]})
    >>> pdl1_positive(df).tolist(), pdl1_positive(df, cutoff=50).tolist()
    ([0.0, 1.0, 1.0], [0.0, 1.0, 0.0])
    """
    tps = _float_column(df, "pdl1_tps").to_numpy(dtype=float)
    band = _text_column(df, "pdl1_band").to_numpy(dtype=object)
    no_tps = np.isnan(tps)
    with np.errstate(invalid="ignore"):
        out = np.where(no_tps, np.nan, (tps >= cutoff).astype(float))
    for name, (low, high) in PDL1_BAND_RANGES.items():
        is_band = no_tps & (band == name)
        if low >= cutoff:
            out[is_band] = 1.0
        elif high <= cutoff and not (name == PDL1_BANDS[-1] and cutoff == high):
            # the top band includes its upper end (TPS 100), so it is negative only above 100
            out[is_band] = 0.0
    return pd.Series(out, index=df.index, name="pdl1_positive")


def tmb_high(df: pd.DataFrame, cutoff: float = TMB_HIGH_CUTOFF) -> pd.Series:
    """TMB high (``tmb >= cutoff`` mut/Mb) as 1.0 / 0.0 / NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> tmb_high(pd.DataFrame({"tmb": [12.0, 3.0, None]})).tolist()
    [1.0, 0.0, nan]
    """
    tmb = _float_column(df, "tmb")
    return pd.Series(np.where(tmb.notna(), (tmb >= cutoff).astype(float), np.nan), index=df.index,
                     name="tmb_high")


def til_positive(
    df: pd.DataFrame,
    pct_cutoff: float = TIL_PCT_CUTOFF,
    density_cutoff: float = TIL_DENSITY_CUTOFF,
) -> pd.Series:
    """TIL positive (TIL-high) as 1.0 / 0.0 / NaN.

    Decision order: ``til_status`` ("positive" / "negative") when given; else
    ``til_pct >= pct_cutoff``; else ``til_density >= density_cutoff``; else NaN.

    Parameters
    ----------
    df : DataFrame
        Uses ``til_status``, ``til_pct`` (%) and ``til_density`` (cells/mm2).
    pct_cutoff, density_cutoff : float
        Cut-offs for the percentage and the density.

    Returns
    -------
    Series of float, on ``df.index``, named ``til_positive``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"til_status": ["negative", None, None], "til_pct": [40.0, 5.0, None],
    ...                    "til_density": [None, None, 300.0]})
    >>> til_positive(df).tolist()
    [0.0, 0.0, 1.0]
    """
    codes, uniques = pd.factorize(_text_column(df, "til_status"), use_na_sentinel=True)
    lowered = np.array([*(u.lower() if isinstance(u, str) else u for u in uniques), None], dtype=object)
    status = lowered[np.where(codes < 0, len(uniques), codes)]  # lower-cased once per distinct value
    pct = _float_column(df, "til_pct").to_numpy(dtype=float)
    density = _float_column(df, "til_density").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.select(
            [status == "positive", status == "negative", ~np.isnan(pct), ~np.isnan(density)],
            [1.0, 0.0, (pct >= pct_cutoff).astype(float), (density >= density_cutoff).astype(float)],
            default=np.nan,
        )
    return pd.Series(out, index=df.index, name="til_positive")


def tmb_assay_kind(df: pd.DataFrame) -> pd.Series:
    """Kind of TMB assay per patient: ``plasma``, ``wes`` or ``panel`` (any other named assay).

    Missing where ``tmb_assay`` is missing.

    >>> import pandas as pd
    >>> tmb_assay_kind(pd.DataFrame({"tmb_assay": ["Plasma bTMB", "WES", "MSK-IMPACT", None]})).tolist()
    ['plasma', 'wes', 'panel', None]
    """
    if "tmb_assay" not in df.columns:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    text = df["tmb_assay"].astype("string").str.lower()
    plasma = text.str.contains("|".join(PLASMA_ASSAY_WORDS), regex=True).fillna(False).to_numpy(dtype=bool)
    wes = text.str.contains("|".join(WES_ASSAY_WORDS), regex=True).fillna(False).to_numpy(dtype=bool)
    kind = np.where(plasma, "plasma", np.where(wes, "wes", "panel")).astype(object)
    kind[text.isna().to_numpy()] = None
    return pd.Series(kind, index=df.index, dtype=object)
