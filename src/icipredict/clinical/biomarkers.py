"""Biomarker statuses: PD-L1 band and positivity, TMB-high (TIL status: :mod:`icipredict.clinical.til`).

Rules follow domain.md section 3: PD-L1 bands <1, 1-49, >=50 % of tumour cells; PD-L1 positive
at TPS >= 1 % by default; TMB high at >= 10 mut/Mb. Every status is a float 1.0 / 0.0 / NaN so it
can enter a model matrix unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.assays import pdl1_band_from_scores
from icipredict.clinical.outcomes import _float_column
from icipredict.vocab import PDL1_BAND_RANGES, PDL1_BANDS, PDL1_POSITIVE_CUTOFF, TMB_HIGH_CUTOFF

__all__ = ["PDL1_BANDS", "PDL1_BAND_RANGES", "TMB_HIGH_CUTOFF", "pdl1_band", "pdl1_positive", "tmb_high"]



def pdl1_band(df: pd.DataFrame) -> pd.Series:
    """PD-L1 TPS band from ``pdl1_tps``, falling back to ``pdl1_band``, then to the SP142 tumour-cell score.

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
    band = pdl1_band_from_scores(df)
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
    band = pdl1_band_from_scores(df).to_numpy(dtype=object)
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
