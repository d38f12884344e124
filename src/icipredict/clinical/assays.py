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

from icipredict.clinical.columns import Distinct, Table, floats, texts
from icipredict.table.vocab import PDL1_BAND_RANGES, PDL1_BANDS, PLASMA_ASSAY_WORDS, WES_ASSAY_WORDS

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
    "tmb_on_panel_scale",
    "tmb_assay_kinds",
    "pdl1_assay_kinds",
    "band_codes",
    "band_names",
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


_TMB_RULES = [("plasma", PLASMA_ASSAY_WORDS), ("wes", WES_ASSAY_WORDS)]
_PDL1_RULES = [("sp142", SP142_ASSAY_WORDS), ("tps", TPS_ASSAY_WORDS)]


def _lower(value: object) -> str:
    """Lower case as pandas' string methods give it (Python's ``str.lower`` differs on a few non-ASCII letters)."""
    text = str(value)
    return text.lower() if text.isascii() else str(pd.Series([text], dtype="string").str.lower().iloc[0])


def _kind_of(value: object, rules: list[tuple[str, tuple[str, ...]]], default: str) -> str:
    """The first kind whose words the text contains (in lower case), else ``default``."""
    lowered = _lower(value)
    return next((kind for kind, words in rules if any(w in lowered for w in words)), default)


def _kinds(text: Distinct, rules: list[tuple[str, tuple[str, ...]]], default: str) -> np.ndarray:
    return text.map(lambda v: _kind_of(v, rules, default), None)


def tmb_assay_kind(df: pd.DataFrame) -> pd.Series:
    """Kind of TMB assay per patient: ``plasma``, ``wes`` or ``panel`` (any other named assay).

    Missing where ``tmb_assay`` is missing.

    >>> tmb_assay_kind(pd.DataFrame({"tmb_assay": ["Plasma bTMB", "WES", "MSK-IMPACT", None]})).tolist()
    ['plasma', 'wes', 'panel', None]
    """
    return pd.Series(_kinds(texts(df, "tmb_assay"), _TMB_RULES, "panel"), index=df.index, dtype=object)


def tmb_assay_kinds(assays: Distinct) -> np.ndarray:
    """:func:`tmb_assay_kind` of distinct assay names (``assays.values``), one kind per distinct name.

    >>> tmb_assay_kinds(texts(pd.DataFrame({"tmb_assay": ["bTMB", "WES", "bTMB"]}), "tmb_assay")).tolist()
    ['plasma', 'wes']
    """
    return np.array([_kind_of(v, _TMB_RULES, "panel") for v in assays.values], dtype=object)


def harmonised_tmb(df: pd.DataFrame) -> pd.Series:
    """TMB on the tissue-panel mut/Mb scale (:data:`TMB_TO_PANEL_SCALE`); an unnamed assay counts as a panel.

    >>> harmonised_tmb(pd.DataFrame({"tmb": [16.0, 10.0, 10.0], "tmb_assay": ["bTMB", "WES", None]})).tolist()
    [10.0, 15.0, 10.0]
    """
    return pd.Series(tmb_on_panel_scale(df), index=df.index, name="tmb")


def tmb_on_panel_scale(table: Table) -> np.ndarray:
    """:func:`harmonised_tmb` as an array, from a table or its checked columns.

    >>> tmb_on_panel_scale(pd.DataFrame({"tmb": [16.0, 8.0], "tmb_assay": ["bTMB", None]})).tolist()
    [10.0, 8.0]
    """
    factor = texts(table, "tmb_assay").map(lambda v: TMB_TO_PANEL_SCALE[_kind_of(v, _TMB_RULES, "panel")],
                                           TMB_TO_PANEL_SCALE["panel"], float)
    return floats(table, "tmb") * factor


def pdl1_assay_kind(df: pd.DataFrame) -> pd.Series:
    """``tps`` (22C3, 28-8, SP263), ``sp142``, ``unknown`` (a named assay the rules do not know) or missing.

    >>> pdl1_assay_kind(pd.DataFrame({"pdl1_assay": ["22C3", "SP142", "E1L3N", None]})).tolist()
    ['tps', 'sp142', 'unknown', None]
    """
    return pd.Series(_kinds(texts(df, "pdl1_assay"), _PDL1_RULES, "unknown"), index=df.index, dtype=object)


def pdl1_assay_kinds(assays: Distinct) -> np.ndarray:
    """:func:`pdl1_assay_kind` of distinct assay names (``assays.values``), one kind per distinct name.

    >>> pdl1_assay_kinds(texts(pd.DataFrame({"pdl1_assay": ["22C3", "SP142"]}), "pdl1_assay")).tolist()
    ['tps', 'sp142']
    """
    return np.array([_kind_of(v, _PDL1_RULES, "unknown") for v in assays.values], dtype=object)


def pdl1_band_from_scores(df: pd.DataFrame) -> pd.Series:
    """PD-L1 TPS band from ``pdl1_tps``, else ``pdl1_band``, else the SP142 tumour-cell score.

    >>> df = pd.DataFrame({"pdl1_tps": [60.0, None, None], "pdl1_band": [None, "1-49", None],
    ...                    "pdl1_sp142_tc": [None, None, 3.0]})
    >>> pdl1_band_from_scores(df).tolist()
    ['>=50', '1-49', '>=50']
    """
    return pd.Series(band_names(band_codes(df)), index=df.index, dtype=object, name="pdl1_band")


_BAND_NAMES = np.array([*PDL1_BANDS, None], dtype=object)
#: TPS where each band after the first begins: ``np.digitize`` gives the band index.
_BAND_STARTS = np.array([PDL1_BAND_RANGES[band][0] for band in PDL1_BANDS[1:]])


def band_names(codes: np.ndarray) -> np.ndarray:
    """Band names (None where -1) from :func:`band_codes`.

    >>> band_names(np.array([2, -1])).tolist()
    ['>=50', None]
    """
    return _BAND_NAMES[codes]


def band_codes(table: Table) -> np.ndarray:
    """:func:`pdl1_band_from_scores` as indices into :data:`~icipredict.table.vocab.PDL1_BANDS` (-1: no band).

    >>> band_codes(pd.DataFrame({"pdl1_tps": [60.0, None, None], "pdl1_band": [None, "1-49", None]})).tolist()
    [2, 1, -1]
    """
    tps = floats(table, "pdl1_tps")
    reported = texts(table, "pdl1_band")
    tc = floats(table, "pdl1_sp142_tc")
    index = {band: k for k, band in enumerate(PDL1_BANDS)}
    # a reported band that is not a band name is given but no band: it does not fall back to SP142
    codes = reported.map(lambda v: index.get(v, -1) if isinstance(v, str) else -1, -1, np.int8)
    from_tc = ~reported.isna()
    if not from_tc.all():
        whole = np.trunc(tc)  # int(score): a score is read as the whole number below it
        tc_codes = np.full(len(tc), -1, dtype=np.int8)
        for score, band in SP142_TC_BANDS.items():
            tc_codes[whole == score] = index[band]
        codes = np.where(from_tc, codes, tc_codes)
    from_tps = np.digitize(tps, _BAND_STARTS).astype(np.int8)
    return np.where(np.isnan(tps), codes, from_tps)
