"""Assays on one scale: TMB from tissue panels, whole exome and plasma; PD-L1 from TPS, bands, SP142.

The model is trained on tissue-panel TMB in mut/Mb (MSK-IMPACT; the FoundationOne CDx scale of the
trials' 10 mut/Mb cut-off) and on PD-L1 tumour proportion scores (22C3 / 28-8 / SP263). Other
assays are put on that scale by the stated rules below, each with its source; an assay the rules
do not know is never guessed silently: it is warned about (``serving``) and read as a tissue panel
or TPS only where that is the documented default.

TMB (``harmonised_tmb``): multiply by :data:`TMB_TO_PANEL_SCALE`, a cut-off equivalence:

* tissue panel: x 1.
* whole exome (WES) in mut/Mb over a 30 Mb exome (cBioPortal's ``TMB_NONSYNONYMOUS`` divides the
  nonsynonymous count by 30 for exomes; checked on the shared nsclc_mskcc_2015/2018 files, where
  every value times 30 is a whole number): the lung-cancer TMB-high threshold of about 200
  nonsynonymous exome mutations (Chan et al., Ann Oncol 2019; 30:44-56) corresponds to the panel's
  10 mut/Mb (CheckMate 227, Hellmann et al., N Engl J Med 2018; 378:2093), so x 10 / (200 / 30) = 1.5.
* plasma bTMB: validated at >= 16 mut/Mb (Gandara et al., Nat Med 2018; 24:1441) against the tissue
  cut-off of 10 mut/Mb, so x 10 / 16 = 0.625. Blood and tissue TMB agree imperfectly (a third of
  410 matched pairs disagreed on high / low status in one series); the prediction carries a warning.

PD-L1 (``pdl1_band_from_scores``): the SP142 assay stains fewer tumour cells than 22C3, 28-8 and
SP263 (Blueprint phase 1 and 2: Hirsch et al., J Thorac Oncol 2017; 12:208; Tsao et al., J Thorac
Oncol 2018; 13:1302). An SP142 tumour-cell score maps to the TPS band it cannot fall below:
TC3 (>= 50 % of tumour cells) -> ">=50", TC1-2 (1-49 %) -> "1-49", TC0 (< 1 %) -> "<1" (may
understate a 22C3 TPS: warned). Immune-cell (IC) scores have no TPS equivalent and are not used
(poor inter-reader agreement on IC, Blueprint phase 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.outcomes import _float_column, _text_column
from icipredict.vocab import PDL1_BANDS, PLASMA_ASSAY_WORDS, WES_ASSAY_WORDS

__all__ = [
    "TMB_ASSAY_KINDS",
    "TMB_TO_PANEL_SCALE",
    "TMB_SCALE_SOURCES",
    "SP142_TC_BANDS",
    "TPS_ASSAY_WORDS",
    "SP142_ASSAY_WORDS",
    "tmb_assay_kind",
    "harmonised_tmb",
    "pdl1_assay_kind",
    "pdl1_band_from_scores",
]

#: Kinds of TMB assay the rules know.
TMB_ASSAY_KINDS: tuple[str, str, str] = ("panel", "wes", "plasma")
#: Factor that puts each kind on the tissue-panel mut/Mb scale (module docstring).
TMB_TO_PANEL_SCALE: dict[str, float] = {"panel": 1.0, "wes": 10.0 / (200.0 / 30.0), "plasma": 10.0 / 16.0}
#: Where each factor comes from.
TMB_SCALE_SOURCES: dict[str, str] = {
    "panel": "tissue panel (MSK-IMPACT / FoundationOne CDx): the training scale",
    "wes": "200 nonsynonymous exome mutations (Chan et al., Ann Oncol 2019) = 10 mut/Mb on a panel "
           "(Hellmann et al., N Engl J Med 2018), exome mut/Mb over 30 Mb (cBioPortal)",
    "plasma": "bTMB >= 16 mut/Mb (Gandara et al., Nat Med 2018) = tissue >= 10 mut/Mb",
}
#: SP142 tumour-cell score -> TPS band it cannot fall below (module docstring).
SP142_TC_BANDS: dict[int, str] = {0: "<1", 1: "1-49", 2: "1-49", 3: ">=50"}
#: Words in ``pdl1_assay`` naming an assay scored as a tumour proportion score.
TPS_ASSAY_WORDS: tuple[str, ...] = ("22c3", "28-8", "28.8", "sp263", "tps")
#: Words in ``pdl1_assay`` naming the SP142 assay.
SP142_ASSAY_WORDS: tuple[str, ...] = ("sp142",)


def _kind(text: pd.Series, rules: list[tuple[str, tuple[str, ...]]], default: str) -> pd.Series:
    lowered = text.astype("string").str.lower()
    out = np.full(len(text), default, dtype=object)
    decided = np.zeros(len(text), dtype=bool)
    for kind, words in rules:
        hit = lowered.str.contains("|".join(map(lambda w: w.replace(".", r"\."), words)), regex=True)
        hit = hit.fillna(False).to_numpy(dtype=bool) & ~decided
        out[hit] = kind
        decided |= hit
    out[lowered.isna().to_numpy()] = None
    return pd.Series(out, index=text.index, dtype=object)


def tmb_assay_kind(df: pd.DataFrame) -> pd.Series:
    """Kind of TMB assay per patient: ``plasma``, ``wes`` or ``panel`` (any other named assay).

    Missing where ``tmb_assay`` is missing.

    >>> tmb_assay_kind(pd.DataFrame({"tmb_assay": ["Plasma bTMB", "WES", "MSK-IMPACT", None]})).tolist()
    ['plasma', 'wes', 'panel', None]
    """
    return _kind(_text_column(df, "tmb_assay"), [("plasma", PLASMA_ASSAY_WORDS), ("wes", WES_ASSAY_WORDS)], "panel")


def harmonised_tmb(df: pd.DataFrame) -> pd.Series:
    """TMB on the tissue-panel mut/Mb scale (:data:`TMB_TO_PANEL_SCALE`); an unnamed assay counts as a panel.

    >>> harmonised_tmb(pd.DataFrame({"tmb": [16.0, 10.0, 10.0], "tmb_assay": ["bTMB", "WES", None]})).tolist()
    [10.0, 15.0, 10.0]
    """
    kind = tmb_assay_kind(df).fillna("panel")
    factor = kind.map(TMB_TO_PANEL_SCALE).astype(float)
    return (_float_column(df, "tmb") * factor).rename("tmb")


def pdl1_assay_kind(df: pd.DataFrame) -> pd.Series:
    """``tps`` (22C3, 28-8, SP263), ``sp142``, ``unknown`` (a named assay the rules do not know) or missing.

    >>> pdl1_assay_kind(pd.DataFrame({"pdl1_assay": ["22C3", "SP142", "E1L3N", None]})).tolist()
    ['tps', 'sp142', 'unknown', None]
    """
    return _kind(_text_column(df, "pdl1_assay"), [("sp142", SP142_ASSAY_WORDS), ("tps", TPS_ASSAY_WORDS)],
                 "unknown")


def pdl1_band_from_scores(df: pd.DataFrame) -> pd.Series:
    """PD-L1 TPS band from ``pdl1_tps``, else ``pdl1_band``, else the SP142 tumour-cell score.

    >>> df = pd.DataFrame({"pdl1_tps": [60.0, None, None], "pdl1_band": [None, "1-49", None],
    ...                    "pdl1_sp142_tc": [None, None, 3.0]})
    >>> pdl1_band_from_scores(df).tolist()
    ['>=50', '1-49', '>=50']
    """
    tps = _float_column(df, "pdl1_tps")
    reported = _text_column(df, "pdl1_band")
    tc = _float_column(df, "pdl1_sp142_tc")
    from_tps = pd.Series(np.select([tps < 1.0, tps < 50.0, tps >= 50.0], list(PDL1_BANDS), default=""),
                         index=df.index, dtype=object)
    from_tc = tc.map(lambda v: SP142_TC_BANDS.get(int(v)) if pd.notna(v) else None)
    band = from_tps.where(tps.notna(), reported.where(reported.notna(), from_tc))
    return band.where(band.isin(PDL1_BANDS), None).astype(object).rename("pdl1_band")
