"""The canonical patient table: columns, units, ranges and categories.

``check_patients(df)`` is the one boundary every entry point goes through (Python API, CLI, REST).
It returns a clean copy of the table (numbers as float, categories normalised, missing tokens as
NaN) or raises :class:`~icipredict.exceptions.InvalidPatientData` naming the patient, the column,
what was expected and what was got. The input frame is never modified.

The table is described in ``DESIGN.md``; every predictor may be missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.vocab import (BEST_RESPONSES, HISTOLOGIES, MUTATION_GENES, PDL1_BANDS, REGIMENS, SEXES,
                              SMOKING_STATUSES, TIL_STATUSES)

__all__ = [
    "ColumnSpec",
    "COLUMNS",
    "PREDICTORS",
    "MUTATION_COLUMNS",
    "OUTCOME_COLUMNS",
    "MISSING_TOKENS",
    "ValidationReport",
    "check_patients",
    "validate_patients",
]

Kind = Literal["id", "float", "int", "binary", "category", "text"]

#: Cell values read as "missing" in every column (compared case-insensitively, after stripping).
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "none", "null", "nd", "not available", "unknown", "-", ".", "?", "missing", "<na>"}
)

_TRUE = {"1", "1.0", "true", "yes", "y", "altered", "mutated", "mut", "positive", "pos", "+"}
_FALSE = {"0", "0.0", "false", "no", "n", "wt", "wild-type", "wildtype", "negative", "neg", "-0"}


@dataclass(frozen=True)
class ColumnSpec:
    """What one canonical column holds."""

    name: str
    kind: Kind
    description: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    categories: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    role: Literal["id", "predictor", "outcome", "meta"] = "predictor"

    def expectation(self) -> str:
        if self.kind == "category":
            return "one of " + ", ".join(self.categories)
        if self.kind == "binary":
            return "0 or 1 (or empty when unknown)"
        rng = []
        if self.low is not None:
            rng.append((">= " if self.low_inclusive else "> ") + _fmt(self.low))
        if self.high is not None:
            rng.append(("<= " if self.high_inclusive else "< ") + _fmt(self.high))
        what = "an integer" if self.kind == "int" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what}{unit}" + (" " + " and ".join(rng) if rng else "")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


MUTATION_COLUMNS: tuple[str, ...] = tuple(f"mut_{g}" for g in MUTATION_GENES)

_SEX = {"f": "female", "female": "female", "woman": "female", "w": "female",
        "m": "male", "male": "male", "man": "male"}
_SMOKING = {
    "never": "never", "never smoker": "never", "non-smoker": "never", "nonsmoker": "never", "no": "never",
    "former": "former", "former smoker": "former", "ex-smoker": "former", "ex": "former", "past": "former",
    "current": "current", "current smoker": "current", "smoker": "current",
    "ever": "ever", "ever smoker": "ever", "yes": "ever",
}
_HISTOLOGY = {
    "adenocarcinoma": "adenocarcinoma", "adeno": "adenocarcinoma", "luad": "adenocarcinoma",
    "lung adenocarcinoma": "adenocarcinoma",
    "squamous": "squamous", "squamous cell carcinoma": "squamous", "lusc": "squamous", "sqcc": "squamous",
    "lung squamous cell carcinoma": "squamous", "squamous cell": "squamous",
    "other": "other", "nsclc nos": "other", "large cell": "other", "non-squamous": "other",
}
_REGIMEN = {
    "ici_mono": "ici_mono", "mono": "ici_mono", "monotherapy": "ici_mono", "pd1 alone": "ici_mono",
    "pd-1 alone": "ici_mono", "pdl1 alone": "ici_mono", "pd-l1 alone": "ici_mono", "pd1/pdl1 alone": "ici_mono",
    "ici_ctla4": "ici_ctla4", "pd1 + ctla4": "ici_ctla4", "pd1+ctla4": "ici_ctla4", "pd-1 + ctla-4": "ici_ctla4",
    "io+ctla4": "ici_ctla4", "ici+ctla4": "ici_ctla4",
    "chemo_ici": "chemo_ici", "chemo+ici": "chemo_ici", "chemoimmunotherapy": "chemo_ici",
    "chemo-immunotherapy": "chemo_ici", "chemo-io": "chemo_ici", "chemo+io": "chemo_ici",
}
_PDL1_BAND = {"<1": "<1", "<1%": "<1", "0": "<1", "negative": "<1", "1-49": "1-49", "1-49%": "1-49",
              "low": "1-49", "weak": "1-49", ">=50": ">=50", ">=50%": ">=50", "≥50": ">=50", "≥50%": ">=50",
              "high": ">=50", "strong": ">=50"}
_TIL_STATUS = {"positive": "positive", "pos": "positive", "high": "positive", "+": "positive", "til+": "positive",
               "negative": "negative", "neg": "negative", "low": "negative", "-": "negative", "til-": "negative"}
_RESPONSE = {
    "cr": "CR", "complete response": "CR", "pr": "PR", "partial response": "PR",
    "sd": "SD", "stable disease": "SD", "stable response": "SD", "stable": "SD",
    "pd": "PD", "progressive disease": "PD", "progression of disease": "PD", "pod": "PD", "progression": "PD",
    "ne": "NE", "not evaluable": "NE", "inevaluable": "NE",
}


def _num(name, description, unit="", low=None, high=None, *, kind: Kind = "float", role="predictor",
         low_inclusive=True, high_inclusive=True) -> ColumnSpec:
    return ColumnSpec(name, kind, description, unit, low, high, low_inclusive, high_inclusive, role=role)


def _cat(name, description, categories, aliases, role="predictor") -> ColumnSpec:
    full = {c.lower(): c for c in categories}
    full.update({k.lower(): v for k, v in aliases.items()})
    return ColumnSpec(name, "category", description, categories=tuple(categories), aliases=full, role=role)


def _bin(name, description, role="predictor") -> ColumnSpec:
    return ColumnSpec(name, "binary", description, role=role)


_SPECS: list[ColumnSpec] = [
    ColumnSpec("patient_id", "id", "unique patient identifier", role="id"),
    _num("pdl1_tps", "PD-L1 tumour proportion score", "%", 0, 100),
    _cat("pdl1_band", "PD-L1 TPS band when only the band is known", PDL1_BANDS, _PDL1_BAND),
    _num("tmb", "tumour mutational burden", "mut/Mb", 0, 1000),
    ColumnSpec("tmb_assay", "text", "TMB assay (panel, WES, plasma bTMB)"),
    ColumnSpec("pdl1_assay", "text", "PD-L1 antibody / scoring (22C3, 28-8, SP263: TPS; SP142: TC/IC scores)"),
    _num("pdl1_sp142_tc", "PD-L1 SP142 tumour-cell score (0 <1 %, 1 1-4 %, 2 5-49 %, 3 >=50 %)", "", 0, 3,
         kind="int"),
    _num("pdl1_sp142_ic", "PD-L1 SP142 immune-cell score (0-3; no TPS equivalent, not used by the model)", "", 0, 3,
         kind="int"),
    _num("til_pct", "stromal tumour-infiltrating lymphocytes on H&E", "%", 0, 100),
    _num("til_density", "TIL density on H&E (e.g. digital scoring)", "cells/mm2", 0, 100000),
    _num("cd8_density", "CD8+ T-cell density by IHC", "cells/mm2", 0, 100000),
    _num("cd8_score", "a published CD8 IHC infiltration score (cut at the cohort median by default)", "", 0, 1000),
    _num("immune_rna_score", "RNA immune score (CD8A or T-effector / IFN-gamma signature), within-cohort z-score",
         "z", -10, 10),
    _cat("til_status", "TIL status (overrides every TIL measure's cut-off)", TIL_STATUSES,
         _TIL_STATUS),
    *[_bin(c, f"{c[4:].upper()} alteration: 1 altered, 0 tested wild-type, empty not tested")
      for c in MUTATION_COLUMNS],
    _num("age", "age at ICI start", "years", 18, 110),
    _cat("sex", "sex", SEXES, _SEX),
    _cat("smoking", "smoking status", SMOKING_STATUSES, _SMOKING),
    _num("pack_years", "pack-years", "pack-years", 0, 300),
    _num("ecog", "ECOG performance status", "", 0, 4, kind="int"),
    _cat("histology", "histology", HISTOLOGIES, _HISTOLOGY),
    _bin("met_liver", "liver metastasis"),
    _bin("met_bone", "bone metastasis"),
    _bin("met_brain", "brain metastasis"),
    _bin("met_pleura", "pleural metastasis or effusion"),
    _num("n_met_sites", "number of metastatic organ sites", "", 0, 20, kind="int"),
    _num("line_of_therapy", "line of therapy of the ICI", "", 1, 15, kind="int"),
    _bin("prior_systemic_therapy", "systemic therapy before the ICI"),
    _cat("regimen", "ICI regimen", REGIMENS, _REGIMEN),
    _num("albumin", "serum albumin", "g/dL", 1, 6),
    _num("nlr", "neutrophil-to-lymphocyte ratio", "", 0, 200, low_inclusive=False, high_inclusive=False),
    _bin("antibiotics", "antibiotics around ICI start"),
    # outcomes (training and evaluation only, never used as predictors)
    _cat("best_response", "best overall response (RECIST)", BEST_RESPONSES, _RESPONSE,
         role="outcome"),
    _num("pfs_months", "progression-free survival", "months", 0, 240, role="outcome"),
    _bin("pfs_event", "progression or death observed (1) or censored (0)", role="outcome"),
    _num("os_months", "overall survival", "months", 0, 240, role="outcome"),
    _bin("os_event", "death observed (1) or censored (0)", role="outcome"),
    _num("ici_weeks", "weeks of ICI exposure", "weeks", 0, 1000, role="outcome"),
    _num("last_dose_months", "months from ICI start to the last dose", "months", 0, 240, role="outcome"),
    _bin("planned_stop", "ICI stopped as planned (not for progression or toxicity)", role="outcome"),
    _bin("pseudoprogression", "unconfirmed progression followed by shrinkage (iRECIST iUPD)", role="outcome"),
    _bin("dcb_reported", "the study's own durable clinical benefit call (1 yes, 0 no)", role="outcome"),
    _num("sld_prebaseline_mm", "sum of target-lesion diameters on the pre-baseline scan", "mm", 0, 2000,
         role="outcome"),
    _num("sld_baseline_mm", "sum of target-lesion diameters at ICI start", "mm", 0, 2000, role="outcome"),
    _num("sld_eval_mm", "sum of target-lesion diameters at first evaluation on ICI", "mm", 0, 2000, role="outcome"),
    _num("months_prebaseline_to_baseline", "months between pre-baseline and baseline scans", "months", 0, 60,
         low_inclusive=False, role="outcome"),
    _num("months_baseline_to_eval", "months between baseline and first evaluation", "months", 0, 60,
         low_inclusive=False, role="outcome"),
    ColumnSpec("cohort", "text", "cohort or study the patient comes from", role="meta"),
]

#: Every canonical column by name, in table order.
COLUMNS: dict[str, ColumnSpec] = {s.name: s for s in _SPECS}
#: Columns a model may use as inputs.
PREDICTORS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.role == "predictor")
#: Outcome columns: carried, never used as inputs.
OUTCOME_COLUMNS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.role == "outcome")


@dataclass
class ValidationReport:
    """What :func:`validate_patients` found.

    ``frame`` is the clean table; ``dropped`` lists the rows removed in lenient mode with their
    problems; ``notes`` are table-level remarks (ignored extra columns, ...).
    """

    frame: pd.DataFrame
    dropped: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len({p.patient_id for p in self.dropped})


def _is_missing_token(s: pd.Series) -> pd.Series:
    if s.dtype.kind in "fiub":  # numbers carry no text tokens: skip the string pass
        return s.isna()
    lowered = s.astype("string").str.strip().str.lower()
    return s.isna() | lowered.isin(MISSING_TOKENS).fillna(False).astype(bool)


def _ids(df: pd.DataFrame) -> pd.Series:
    raw = df["patient_id"]
    text = raw.astype("string").str.strip()
    # integers read by pandas as floats ("12.0") go back to "12"
    as_num = pd.to_numeric(raw, errors="coerce")
    whole = as_num.notna() & np.isfinite(as_num.astype(float)) & (as_num.astype(float) % 1 == 0)
    if raw.dtype.kind == "f":
        text = text.where(~whole, as_num.astype("Int64").astype("string"))
    return text


def _label(ids: pd.Series, i: int) -> str:
    v = ids.iloc[i]
    return f"row {i + 1}" if pd.isna(v) or v == "" else str(v)


def validate_patients(df: pd.DataFrame, *, lenient: bool = False) -> ValidationReport:
    """Check a patient table and return a clean copy with a report.

    Parameters
    ----------
    df : DataFrame
        One row per patient, canonical snake_case columns; only ``patient_id`` is required.
    lenient : bool
        Drop rows with row-level problems (listed in ``report.dropped``) instead of raising.

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import pandas as pd
    >>> rep = validate_patients(pd.DataFrame({"patient_id": ["a"], "sex": ["F"]}))
    >>> rep.frame.loc[0, "sex"]
    'female'
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidPatientData(
            f"expected a pandas DataFrame of patients. Got {type(df).__name__} instead.",
            [Problem(None, None, "a DataFrame", type(df).__name__)],
        )
    columns = [str(c).strip() for c in df.columns]
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidPatientData(
            f"column(s) {dup} appear more than once; expected unique column names. Got {columns} instead.",
            [Problem(None, c, "a unique column name", "duplicated") for c in dup],
        )
    if "patient_id" not in columns:
        raise InvalidPatientData(
            "the table has no 'patient_id' column; expected a column of unique patient identifiers. "
            f"Got columns {columns[:12]}{' ...' if len(columns) > 12 else ''} instead.",
            [Problem(None, "patient_id", "a patient_id column", "no such column")],
        )
    if len(df) == 0:
        raise InvalidPatientData(
            "the table has no patient rows; expected at least one patient. Got a header only instead.",
            [Problem(None, None, "at least one row", "0 rows")],
        )
    src = df.copy()
    src.columns = columns
    src = src.reset_index(drop=True)
    ids = _ids(src)
    out: dict[str, object] = {}  # framed once at the end (per-column inserts are slow)
    problems: list[Problem] = []
    notes: list[str] = []

    # identifiers
    blank = _is_missing_token(src["patient_id"]) | (ids.fillna("") == "")
    for i in np.flatnonzero(blank.to_numpy()):
        problems.append(Problem(f"row {i + 1}", "patient_id", "a non-blank identifier", repr(src["patient_id"].iloc[i])))
    dup = ids.duplicated(keep=False) & ~blank
    for i in np.flatnonzero((dup & ~ids.duplicated(keep="first")).to_numpy()):
        problems.append(Problem(str(ids.iloc[i]), "patient_id", "a unique identifier",
                                f"{int((ids == ids.iloc[i]).sum())} rows with this id"))
    out["patient_id"] = ids.astype(object).where(~blank, None)

    for name, spec in COLUMNS.items():
        if name == "patient_id":
            continue
        if name not in src.columns:
            out[name] = _empty(spec, len(src))
            continue
        col = src[name]
        missing = _is_missing_token(col)
        if spec.kind in ("float", "int"):
            values, probs = _check_numeric(spec, col, missing, ids)
            problems += probs
            out[name] = values
        elif spec.kind == "binary":
            values, probs = _check_binary(spec, col, missing, ids)
            problems += probs
            out[name] = values
        elif spec.kind == "category":
            values, probs = _check_category(spec, col, missing, ids)
            problems += probs
            out[name] = values
        else:  # free text
            out[name] = col.astype(object).where(~missing, None).map(lambda v: v if v is None else str(v).strip())

    out = pd.DataFrame(out, index=src.index)
    problems += _check_whole_columns(out, src, ids)
    _note_units(out, notes)

    extra = [c for c in src.columns if c not in COLUMNS]
    if extra:
        out = pd.concat([out, src[extra]], axis=1)
        notes.append(f"{len(extra)} column(s) not in the canonical table are carried and not used: "
                     + ", ".join(extra[:10]) + (" ..." if len(extra) > 10 else ""))

    table_level = [p for p in problems if p.patient_id is None]
    if table_level:
        # the column-level diagnosis first, then the rows it explains (so the message names patients)
        raise InvalidPatientData.from_problems(table_level + [p for p in problems if p.patient_id is not None])
    dropped: list[Problem] = []
    if problems:
        if not lenient:
            raise InvalidPatientData.from_problems(problems)
        bad_ids = {p.patient_id for p in problems}
        row_labels = pd.Series([_label(ids, i) for i in range(len(src))])
        keep = ~row_labels.isin(bad_ids)
        if not keep.any():
            raise InvalidPatientData(
                "every row has a problem, so lenient mode would drop them all: "
                + str(InvalidPatientData.from_problems(problems)), problems)
        out = out[keep.to_numpy()].reset_index(drop=True)
        dropped = problems
        notes.append(f"lenient mode dropped {len(bad_ids)} row(s): " + ", ".join(sorted(map(str, bad_ids))[:20]))
    for name, spec in COLUMNS.items():
        if spec.kind == "category":
            out[name] = pd.Categorical(out[name], categories=list(spec.categories))
    return ValidationReport(frame=out, dropped=dropped, notes=notes, extra_columns=extra)


def check_patients(df: pd.DataFrame, *, lenient: bool = False) -> pd.DataFrame:
    """Return a clean copy of a patient table, or raise :class:`InvalidPatientData`.

    See :func:`validate_patients` for the report with dropped rows and notes.

    Examples
    --------
    >>> import pandas as pd
    >>> check_patients(pd.DataFrame({"patient_id": ["p1"], "albumin": ["3.9"]}))["albumin"].iloc[0]
    3.9
    """
    return validate_patients(df, lenient=lenient).frame


def _empty(spec: ColumnSpec, n: int) -> pd.Series:
    if spec.kind in ("float", "int", "binary"):
        return pd.Series(np.full(n, np.nan), dtype=float)
    return pd.Series([None] * n, dtype=object)


def _check_numeric(spec: ColumnSpec, col: pd.Series, missing: pd.Series, ids: pd.Series):
    problems: list[Problem] = []
    miss = missing.to_numpy(dtype=bool)
    if col.dtype.kind in "biuf":  # already numbers: numpy only (one-patient calls stay fast)
        values = col.to_numpy(dtype=float).copy()
        values[miss] = np.nan
    else:
        text = col.astype("string").str.strip().str.rstrip("%")
        values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(np.isnan(values) & ~miss):
        problems.append(Problem(_label(ids, i), spec.name, spec.expectation(), f"{col.iloc[i]!r} (not a number)"))
    for i in np.flatnonzero(np.isinf(values)):
        problems.append(Problem(_label(ids, i), spec.name, spec.expectation(), repr(col.iloc[i])))
    v = np.where(np.isfinite(values), values, np.nan)
    with np.errstate(invalid="ignore"):
        out_of_range = np.zeros(len(v), dtype=bool)
        if spec.low is not None:
            out_of_range |= (v < spec.low) if spec.low_inclusive else (v <= spec.low)
        if spec.high is not None:
            out_of_range |= (v > spec.high) if spec.high_inclusive else (v >= spec.high)
        for i in np.flatnonzero(out_of_range):
            problems.append(Problem(_label(ids, i), spec.name, spec.expectation(),
                                    f"{_fmt(v[i])}{_unit_hint(spec.name, v[i])}"))
        if spec.kind == "int":
            for i in np.flatnonzero(~np.isnan(v) & (v % 1 != 0)):
                problems.append(Problem(_label(ids, i), spec.name, spec.expectation(), _fmt(v[i])))
    return pd.Series(v, index=col.index), problems


def _unit_hint(name: str, value: float) -> str:
    if name == "albumin" and 10 <= value <= 60:
        return " (this looks like g/L: divide by 10 to give g/dL)"
    if name in ("pfs_months", "os_months", "last_dose_months") and value > 240:
        return " (this looks like days: divide by 30.4375 to give months)"
    if name == "age" and value > 110:
        return " (an impossible age)"
    return ""


def _check_binary(spec: ColumnSpec, col: pd.Series, missing: pd.Series, ids: pd.Series):
    problems: list[Problem] = []
    if col.dtype.kind in "fiub":
        values = col.astype(float)
        out = values.where(values.isin([0.0, 1.0]))
    else:
        lowered = col.astype("string").str.strip().str.lower()
        out = pd.Series(np.nan, index=col.index, dtype=float)
        out[lowered.isin(_TRUE).fillna(False).to_numpy()] = 1.0
        out[lowered.isin(_FALSE).fillna(False).to_numpy()] = 0.0
    bad = out.isna() & ~missing
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(_label(ids, i), spec.name, spec.expectation(), repr(col.iloc[i])))
    return out, problems


def _check_category(spec: ColumnSpec, col: pd.Series, missing: pd.Series, ids: pd.Series):
    problems: list[Problem] = []
    lowered = col.astype("string").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    mapped = lowered.map(lambda v: spec.aliases.get(v) if isinstance(v, str) else None)
    bad = mapped.isna() & ~missing
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(_label(ids, i), spec.name, spec.expectation(), repr(col.iloc[i])))
    return mapped.astype(object).where(~missing & ~bad, None), problems


def _check_whole_columns(out: pd.DataFrame, src: pd.DataFrame, ids: pd.Series) -> list[Problem]:
    """Unit mistakes that only show across a whole column."""
    problems: list[Problem] = []
    if "pdl1_tps" in src.columns:
        v = out["pdl1_tps"].dropna()
        if len(v) >= 5 and v.max() <= 1.0 and ((v > 0) & (v < 1)).any():
            problems.append(Problem(None, "pdl1_tps", "PD-L1 TPS in percent (0-100)",
                                    f"all {len(v)} values between 0 and 1 (max {v.max():g}): this looks like a "
                                    "fraction; multiply by 100"))
    for name in ("pfs_months", "os_months"):
        if name in src.columns:
            v = out[name].dropna()
            if len(v) >= 5 and v.median() > 72:
                problems.append(Problem(None, name, f"{name} in months",
                                        f"median {v.median():g}: this looks like days; divide by 30.4375"))
    if "albumin" in src.columns:
        v = out["albumin"].dropna()
        if len(v) >= 5 and v.median() > 10:
            problems.append(Problem(None, "albumin", "albumin in g/dL (1-6)",
                                    f"median {v.median():g}: this looks like g/L; divide by 10"))
    return problems


def _note_units(out: pd.DataFrame, notes: list[str]) -> None:
    both = out["pdl1_tps"].notna() & out["pdl1_band"].notna()
    if both.any():
        notes.append(f"{int(both.sum())} patient(s) have both pdl1_tps and pdl1_band: pdl1_tps is used")
