"""The Dijon cohort table (Fumet et al., Br J Cancer 2020; repository CRichard21/CD8PDL1_Nivolumab).

85 NSCLC patients on nivolumab (anti-PD-1 alone) with CD8+ T-cell IHC and PD-L1 SP142 scores.
``CD8_IHC`` is an infiltration score (0 to about 46), **not** a stromal TIL percentage, so it is
carried as ``cd8_ihc`` and never written to ``til_pct``. ``til_status`` is derived from it by the
provisional, cohort-relative rule :data:`CD8_CUTOFF_RULE` (at or above the cohort median ->
positive): it splits this cohort in two and has no meaning outside it. Replace it with the
paper's own cut-off once checked against the publication.

SP142 tumour-cell scores: 0 <1 %, 1 1-4 %, 2 5-49 %, 3 >=50 % of tumour cells (README), hence
:data:`SP142_TC_BANDS`. The raw TC and IC scores are kept as ``pdl1_tc_sp142`` / ``pdl1_ic_sp142``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.table import carry_extras, read_table

__all__ = ["read_dijon", "DIJON_COLUMNS", "DIJON_CODES", "SP142_TC_BANDS", "CD8_CUTOFF_RULE", "DIJON_ID_PREFIX",
           "DIJON_REGIMEN", "cd8_til_status"]

#: Dijon column -> canonical column.
DIJON_COLUMNS: dict[str, str] = {
    "Sex": "sex",
    "AgeNivo": "age",
    "WHO performance status": "ecog",
    "Histology": "histology",
    "Smoker": "smoking",
    "PFS": "pfs_months",
    "evtPFS": "pfs_event",
    "bestRECIST": "best_response",
}
#: Codes of the coded columns (after stripping a trailing ".0"); unknown codes pass through.
DIJON_CODES: dict[str, dict[str, str]] = {
    "smoking": {"1": "ever", "0": "never"},
    # "non-squamous cell" is not known to be adenocarcinoma, so it stays "other"
    "histology": {"non-squamous cell": "other", "squamous cell": "squamous", "other": "other"},
}
#: PD-L1 SP142 tumour-cell score -> canonical TPS band (scores 1 and 2 both fall in 1-49 %).
SP142_TC_BANDS: dict[str, str] = {"0": "<1", "1": "1-49", "2": "1-49", "3": ">=50"}
#: Provisional TIL status from CD8_IHC: positive at or above this quantile of the cohort read.
#: Cohort-relative on purpose: the score is not a stromal TIL % and has no validated absolute cut-off.
CD8_CUTOFF_RULE: dict[str, object] = {
    "column": "cd8_ihc",
    "quantile": 0.5,
    "positive": "value >= cohort quantile",
    "status": "provisional, cohort-relative (not a stromal TIL % cut-off)",
}
#: Every patient received nivolumab alone.
DIJON_REGIMEN = "ici_mono"
#: Identifiers are study-local ("P1"), so they are prefixed.
DIJON_ID_PREFIX = "dijon"


def _code(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def read_dijon(path: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read the Fumet 2020 (Dijon) table into the canonical vocabulary.

    Parameters
    ----------
    path : str or Path
        The CSV saved from sheet Feuil2 of ``dataIHCRNApredictive.xlsx``.
    cohort : str, optional
        Defaults to the file stem.

    Returns
    -------
    DataFrame
        Canonical columns, ``cd8_ihc`` and ``til_status`` (see :data:`CD8_CUTOFF_RULE`), the raw
        SP142 scores and every other column in snake_case.

    Examples
    --------
    >>> df = read_dijon("../shared/data/dijon/fumet2020_cd8_pdl1.csv")  # doctest: +SKIP
    >>> df["patient_id"].iloc[0]  # doctest: +SKIP
    'dijon:P1'
    """
    path = Path(path)
    cohort = cohort or path.stem
    src = read_table(path, cohort=cohort).drop(columns="cohort")
    if "ID" not in src.columns:
        raise InvalidPatientData(
            f"{path}: no 'ID' column; expected the Dijon layout (ID, Sex, AgeNivo, CD8_IHC, ...). "
            f"Got columns {list(src.columns)[:12]} instead.", [Problem(None, "patient_id", "an 'ID' column", "no such column")])
    out = pd.DataFrame({"patient_id": DIJON_ID_PREFIX + ":" + src["ID"].astype(str).str.strip()})
    for raw, canonical in DIJON_COLUMNS.items():
        if raw in src.columns:
            values = src[raw]
            if canonical in DIJON_CODES:
                values = _code(values).str.lower().replace(DIJON_CODES[canonical])
            elif canonical in ("ecog", "pfs_event"):
                values = _code(values)
            out[canonical] = values
    if "PDL1_TC_Sp142" in src.columns:
        out["pdl1_band"] = _code(src["PDL1_TC_Sp142"]).replace(SP142_TC_BANDS)
    out["regimen"] = DIJON_REGIMEN
    if "CD8_IHC" in src.columns:
        cd8 = pd.to_numeric(src["CD8_IHC"].replace("", np.nan), errors="coerce")
        out["cd8_ihc"] = cd8
        out["til_status"] = cd8_til_status(cd8)
    out["cohort"] = cohort
    extras = src.rename(columns={"PDL1_TC_Sp142": "pdl1_tc_sp142", "PDL1_IC_Sp142": "pdl1_ic_sp142"})
    return carry_extras(out, extras, set(DIJON_COLUMNS) | {"ID", "CD8_IHC"})


def cd8_til_status(cd8: pd.Series) -> pd.Series:
    """TIL status by :data:`CD8_CUTOFF_RULE`: ``positive`` at or above the cohort quantile.

    >>> cd8_til_status(pd.Series([0.0, 1.0, 2.0, np.nan])).tolist()
    ['negative', 'positive', 'positive', None]
    """
    cut = cd8.quantile(float(CD8_CUTOFF_RULE["quantile"]))  # type: ignore[arg-type]
    status = np.where(cd8 >= cut, "positive", "negative").astype(object)
    status[cd8.isna().to_numpy()] = None
    return pd.Series(status, index=cd8.index, dtype=object)
