"""The LORIS / Chowell table layout (Chang et al., Nature Cancer 2024, ``02.Input/AllData.xlsx``).

Codes verified against the distributions (``../shared/data/README.md``): ``Sex`` 1 = male,
0 = female; ``Drug`` 0 = anti-PD-(L)1 alone, 1 = + anti-CTLA-4; ``Systemic_therapy_history``
1 = chemotherapy or targeted therapy before the ICI; ``TMB`` mut/Mb from MSK-IMPACT;
``PDL1_TPS(%)`` 0-100, empty when not measured; ``Albumin`` g/dL; ``PFS_Event`` 1 = progressed
or died. ``Response`` (1 = CR/PR) is the LORIS target, not ours: it is carried as
``objective_response``. Identifiers are study-local integers, so they are prefixed with the
cohort name (``"chowell_train:12"``) to stay unique when cohorts are pooled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.table import carry_extras, read_table
from icipredict.table.schema import UNREAD_ROWS_ATTR

__all__ = ["read_loris", "LORIS_COLUMNS", "LORIS_CODES", "LORIS_TMB_ASSAY", "LORIS_ID_COLUMNS", "NSCLC_TYPES"]

#: LORIS column -> canonical (or carried) column.
LORIS_COLUMNS: dict[str, str] = {
    "TMB": "tmb",
    "PDL1_TPS(%)": "pdl1_tps",
    "Systemic_therapy_history": "prior_systemic_therapy",
    "Albumin": "albumin",
    "NLR": "nlr",
    "Age": "age",
    "Sex": "sex",
    "Drug": "regimen",
    "PFS_Event": "pfs_event",
    "PFS_Months": "pfs_months",
    "OS_Event": "os_event",
    "OS_Months": "os_months",
    "Response": "objective_response",
}
#: Integer codes of the coded columns. An unknown code is passed through for the schema to report.
LORIS_CODES: dict[str, dict[str, str]] = {
    "sex": {"1": "male", "0": "female"},
    "regimen": {"0": "ici_mono", "1": "ici_ctla4"},
}
#: Every LORIS cohort was sequenced with MSK-IMPACT.
LORIS_TMB_ASSAY = "MSK-IMPACT panel"
#: Identifier columns, in order of preference.
LORIS_ID_COLUMNS = ("SAMPLE_ID", "PATIENT_ID")
_CANCER_TYPE_COLUMNS = ("CancerType", "Cancer_Type", "CANCER_TYPE", "Cancer Type")
#: Cancer types read as NSCLC (lower case): the umbrella terms and the NSCLC histologies.
NSCLC_TYPES = frozenset({
    "nsclc", "non-small cell lung cancer", "non small cell lung cancer", "non-small-cell lung cancer",
    "lung adenocarcinoma", "luad", "lung squamous cell carcinoma", "lusc", "lung squamous",
    "large cell lung carcinoma", "large cell carcinoma", "lung large cell carcinoma", "nsclc nos",
    "non-small cell lung cancer nos", "lung adenosquamous carcinoma", "adenosquamous carcinoma of the lung",
})


def _code(s: pd.Series) -> pd.Series:
    text = s.astype(str).str.strip()
    return text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)


def read_loris(path: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read one sheet of the LORIS table (saved as CSV) into the canonical vocabulary.

    Parameters
    ----------
    path : str or Path
        CSV (or TSV / Parquet) with the LORIS columns.
    cohort : str, optional
        Cohort name, also the id prefix; defaults to the file stem.

    Returns
    -------
    DataFrame
        Canonical columns plus the unmapped ones in snake_case; NSCLC rows only when the table has
        a cancer-type column with other types (:data:`NSCLC_TYPES`, histologies included). Every row
        not read is listed in ``df.attrs[schema.UNREAD_ROWS_ATTR]`` with its id and cancer type,
        so that it is counted and named in the report.

    Examples
    --------
    >>> df = read_loris("../shared/data/loris_nsclc/msk1.csv")  # doctest: +SKIP
    >>> df["patient_id"].iloc[0]  # doctest: +SKIP
    'msk1:132'
    """
    path = Path(path)
    cohort = cohort or path.stem
    src = read_table(path, cohort=cohort).drop(columns="cohort")
    id_col = next((c for c in LORIS_ID_COLUMNS if c in src.columns), None)
    if id_col is None:
        raise InvalidPatientData(
            f"{path}: no identifier column; expected one of {list(LORIS_ID_COLUMNS)} in the LORIS layout. "
            f"Got columns {list(src.columns)[:12]} instead.",
            [Problem(None, "patient_id", f"one of {list(LORIS_ID_COLUMNS)}", "no such column")])
    type_col = next((c for c in _CANCER_TYPE_COLUMNS if c in src.columns), None)
    unread: list[Problem] = []
    if type_col is not None:
        kind = src[type_col].astype(str).str.strip()
        is_nsclc = kind.str.lower().str.replace(r"\s+", " ", regex=True).isin(NSCLC_TYPES).to_numpy(dtype=bool)
        if not is_nsclc.all():  # a pan-cancer table: keep the NSCLC rows, and count and name the others
            ids = src[id_col].astype(str).str.strip()
            for i in np.flatnonzero(~is_nsclc):
                unread.append(Problem(f"{cohort}:{ids.iloc[i]}", type_col, "a non-small cell lung cancer row",
                                      f"{kind.iloc[i][:80]!r} (row {i + 1}: not NSCLC, not read)"))
            src = src[is_nsclc]
    src = src.reset_index(drop=True)

    out = pd.DataFrame({"patient_id": cohort + ":" + src[id_col].astype(str).str.strip()})
    for raw, canonical in LORIS_COLUMNS.items():
        if raw in src.columns:
            values = src[raw]
            if canonical in LORIS_CODES:
                values = _code(values).replace(LORIS_CODES[canonical])
            out[canonical] = values
    if "tmb" in out.columns:
        out["tmb_assay"] = LORIS_TMB_ASSAY
    out["cohort"] = cohort
    used = set(LORIS_COLUMNS) | {id_col}
    out = carry_extras(out, src, used)
    out.attrs[UNREAD_ROWS_ATTR] = unread
    return out
