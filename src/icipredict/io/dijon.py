"""The Dijon cohort table (Fumet et al., Br J Cancer 2018; repository CRichard21/CD8PDL1_Nivolumab).

85 NSCLC patients on nivolumab (anti-PD-1 alone) with CD8+ T-cell IHC and PD-L1 SP142 scores,
read as measured: ``CD8_IHC``, an infiltration score (0 to about 46), **not** a stromal TIL
percentage, becomes ``cd8_score``, whose TIL cut-off is the cohort median by default (the rule
stated in :mod:`icipredict.clinical.til` before any outcome was looked at; the authors' own code
splits at 7.68, near the median of 7.51). The SP142 scores become ``pdl1_sp142_tc`` and
``pdl1_sp142_ic`` with ``pdl1_assay`` "SP142"; the tumour-cell score gives the PD-L1 band by the
rule of :mod:`icipredict.clinical.assays`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.table import carry_extras, read_table

__all__ = ["read_dijon", "DIJON_COLUMNS", "DIJON_CODES", "DIJON_ID_PREFIX", "DIJON_REGIMEN"]

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
#: Every patient received nivolumab alone.
DIJON_REGIMEN = "ici_mono"
#: Identifiers are study-local ("P1"), so they are prefixed.
DIJON_ID_PREFIX = "dijon"


def _code(s: pd.Series) -> pd.Series:
    return s.astype(str).str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def read_dijon(path: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read the Fumet et al. 2018 (Dijon) table into the canonical vocabulary.

    Parameters
    ----------
    path : str or Path
        The CSV saved from sheet Feuil2 of ``dataIHCRNApredictive.xlsx``.
    cohort : str, optional
        Defaults to the file stem.

    Returns
    -------
    DataFrame
        Canonical columns (``cd8_score``, ``pdl1_sp142_tc`` / ``_ic``) and every other column in
        snake_case.

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
    if "PDL1_TC_Sp142" in src.columns or "PDL1_IC_Sp142" in src.columns:
        out["pdl1_assay"] = "SP142"
    if "PDL1_TC_Sp142" in src.columns:
        out["pdl1_sp142_tc"] = _code(src["PDL1_TC_Sp142"])
    if "PDL1_IC_Sp142" in src.columns:
        out["pdl1_sp142_ic"] = _code(src["PDL1_IC_Sp142"])
    out["regimen"] = DIJON_REGIMEN
    if "CD8_IHC" in src.columns:
        out["cd8_score"] = src["CD8_IHC"]
    out["cohort"] = cohort
    return carry_extras(out, src, set(DIJON_COLUMNS) | {"ID", "CD8_IHC", "PDL1_TC_Sp142", "PDL1_IC_Sp142"})
