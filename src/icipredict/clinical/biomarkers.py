"""Biomarker statuses: PD-L1 band and positivity, TMB-high (TIL status: :mod:`icipredict.clinical.til`).

Rules follow domain.md section 3: PD-L1 bands <1, 1-49, >=50 % of tumour cells; PD-L1 positive
at TPS >= 1 % by default; TMB high at >= 10 mut/Mb. Every status is a float 1.0 / 0.0 / NaN so it
can enter a model matrix unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.assays import band_codes
from icipredict.clinical.columns import Table, floats
from icipredict.table.vocab import PDL1_BAND_RANGES, PDL1_BANDS, PDL1_POSITIVE_CUTOFF, TMB_HIGH_CUTOFF

__all__ = ["PDL1_BANDS", "PDL1_BAND_RANGES", "TMB_HIGH_CUTOFF", "pdl1_band", "pdl1_positive", "pdl1_positive_values", "tmb_high"]



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
    band = pd.Categorical.from_codes(band_codes(df), dtype=pd.CategoricalDtype(list(PDL1_BANDS)))
    return pd.Series(band, index=df.index, name="pdl1_band")


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
    return pd.Series(pdl1_positive_values(df, cutoff), index=df.index, name="pdl1_positive")


def pdl1_positive_values(table: Table, cutoff: float = PDL1_POSITIVE_CUTOFF,
                         bands: np.ndarray | None = None) -> np.ndarray:
    """:func:`pdl1_positive` as an array; ``bands`` are the table's :func:`~icipredict.clinical.assays.band_codes`
    when already known.

    >>> pdl1_positive_values(pd.DataFrame({"pdl1_tps": [0.0, 60.0, None]})).tolist()
    [0.0, 1.0, nan]
    """
    tps = floats(table, "pdl1_tps")
    band = band_codes(table) if bands is None else bands
    no_tps = np.isnan(tps)
    with np.errstate(invalid="ignore"):
        out = np.where(no_tps, np.nan, (tps >= cutoff).astype(float))
    for name, (low, high) in PDL1_BAND_RANGES.items():
        is_band = no_tps & (band == PDL1_BANDS.index(name))
        if low >= cutoff:
            out[is_band] = 1.0
        elif high <= cutoff and not (name == PDL1_BANDS[-1] and cutoff == high):
            # the top band includes its upper end (TPS 100), so it is negative only above 100
            out[is_band] = 0.0
    return out


def tmb_high(df: pd.DataFrame, cutoff: float = TMB_HIGH_CUTOFF) -> pd.Series:
    """TMB high (``tmb >= cutoff`` mut/Mb) as 1.0 / 0.0 / NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> tmb_high(pd.DataFrame({"tmb": [12.0, 3.0, None]})).tolist()
    [1.0, 0.0, nan]
    """
    tmb = floats(df, "tmb")
    with np.errstate(invalid="ignore"):
        return pd.Series(np.where(~np.isnan(tmb), (tmb >= cutoff).astype(float), np.nan), index=df.index,
                         name="tmb_high")
