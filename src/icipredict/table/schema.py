"""The canonical patient table: columns, units, ranges and categories.

``check_patients(df)`` is the one boundary every entry point goes through (Python API, CLI, REST).
It returns a clean copy of the table (numbers as float, categories normalised, missing tokens as
NaN) or raises :class:`~icipredict.exceptions.InvalidPatientData` naming the patient, the column,
what was expected and what was got. The input frame is never modified.

Values: a ``%`` sign is accepted only in percentage columns (``pdl1_tps``, ``til_pct``); ``-``
means negative in 0/1 columns and ``til_status`` (where ``+`` means positive) and missing
elsewhere; a decimal comma is refused with a hint (``--decimal ,`` reads a European CSV).
Identifiers are text, stripped of surrounding spaces; a whole number stored as a float (``12.0``,
e.g. from Parquet) is the identifier ``"12"``. Messages trim any value to about 80 characters and
never repeat a whole row.

The table is described in ``DESIGN.md``; every predictor may be missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.table.column_names import ColumnResolution, resolve_columns
from icipredict.exceptions import InvalidPatientData, Problem, trim as _trim
from icipredict.table.checks import UNIT_CHECK_COLUMNS, IdSet, UnitCheck  # re-exported: part of the boundary
from icipredict.table.vocab import (BEST_RESPONSES, HISTOLOGIES, MONTH_DAYS, MUTATION_GENES, PDL1_BANDS, REGIMENS, SEXES,
                              SMOKING_STATUSES, TIL_STATUSES)

__all__ = [
    "ColumnSpec",
    "COLUMNS",
    "PREDICTORS",
    "MUTATION_COLUMNS",
    "OUTCOME_COLUMNS",
    "MISSING_TOKENS",
    "UNREAD_ROWS_ATTR",
    "READ_NOTES_ATTR",
    "UNIT_CHECK_COLUMNS",
    "ValidationReport",
    "UnitCheck",
    "IdSet",
    "check_patients",
    "validate_patients",
    "checked_columns",
    "check_record",
]

Kind = Literal["id", "float", "int", "binary", "category", "text"]

#: Cell values read as "missing" (compared case-insensitively, after stripping); ``-`` is missing
#: everywhere except in 0/1 columns and ``til_status``, where it means negative (as ``+`` means positive).
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "none", "null", "nd", "not available", "unknown", "-", ".", "?", "missing", "<na>"}
)

_TRUE = {"1", "1.0", "true", "yes", "y", "altered", "mutated", "mut", "positive", "pos", "+"}
_FALSE = {"0", "0.0", "false", "no", "n", "wt", "wild-type", "wildtype", "negative", "neg", "-0", "-"}


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


#: ``DataFrame.attrs`` key under which a reader lists the rows it did not read (as :class:`Problem`),
#: so that every unscored row is counted and named (see :attr:`ValidationReport.unread`).
UNREAD_ROWS_ATTR = "icipredict_unread_rows"

#: ``DataFrame.attrs`` key under which a reader leaves notes for the report (which sheet it read, ...).
READ_NOTES_ATTR = "icipredict_read_notes"

#: ``-`` means "negative" in the columns where ``+`` means positive (0/1 columns and ``til_status``);
#: in number, text and other category columns it is the usual "no value" and reads as missing.
_MISSING_IN_SIGNED = MISSING_TOKENS - {"-"}
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+%?$")
_TRIM = 80


@dataclass
class ValidationReport:
    """What :func:`validate_patients` found.

    ``frame`` is the clean table; ``dropped`` lists the rows removed in lenient mode with their
    problems; ``unread`` the rows the reader did not read (a non-NSCLC row of a pan-cancer table,
    ...); ``notes`` are table-level remarks (ignored extra columns, columns read by another name,
    ...); ``renamed`` maps each header cell read under another name to its canonical column.

    A report can be passed to :func:`icipredict.predict` as it is: its frame is not checked again.
    """

    frame: pd.DataFrame
    dropped: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    unread: list[Problem] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len({p.patient_id for p in self.dropped})

    @property
    def not_scored(self) -> list[str]:
        """Every row of the source that is not in ``frame`` (not read, or dropped), named once, in order."""
        return list(dict.fromkeys([str(p.patient_id) for p in self.unread] + [str(p.patient_id) for p in self.dropped]))


def _ids(raw) -> tuple[object, np.ndarray]:
    """Identifiers as text, stripped, and which are blank (missing, empty or a missing token); whole
    numbers stored as floats ("12.0", e.g. from Parquet) back to "12".

    ``raw`` is a column's values (an array). Text identifiers of a large table stay a pandas string
    array (no Python string per patient); otherwise an object array with None where missing.
    """
    kind = raw.dtype.kind
    if kind in "iu":
        ids = pd.Series(raw, copy=False).astype(str).to_numpy(dtype=object)
    elif kind == "f" or len(raw) <= _SMALL or (
            kind == "O" and pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty")):
        ids = np.array([_one_id(v) for v in raw.tolist()], dtype=object)
    else:
        text = pd.Series(raw, copy=False).astype("string").str.strip()
        blank = (text.isna() | text.str.lower().isin(MISSING_TOKENS) | (text == "")).to_numpy(dtype=bool)
        return text.astype("str").array, blank
    return ids, _blank_ids(ids)


def _one_id(v: object) -> str | None:
    if isinstance(v, _CONTAINERS):
        raise _NotAScalar
    if _is_na(v):
        return None
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if np.isfinite(v) and float(v).is_integer() else repr(float(v))
    return str(v).strip()


def _labels(ids, blank: np.ndarray):
    """Each row's name in messages: its id, or "row N" (1-based) when the id is blank."""
    if not blank.any():
        return ids
    out = _as_objects(ids).copy()
    out[blank] = [f"row {i + 1}" for i in np.flatnonzero(blank)]
    return out


def _as_objects(ids) -> np.ndarray:
    return ids if isinstance(ids, np.ndarray) else ids.to_numpy(dtype=object, na_value=None)


def _blank_ids(ids: np.ndarray) -> np.ndarray:
    if len(ids) <= _SMALL:
        return np.array([v is None or v == "" or v.lower() in MISSING_TOKENS for v in ids], dtype=bool)
    text = pd.Series(ids, dtype="string")
    return (text.isna() | text.str.lower().isin(MISSING_TOKENS) | (text == "")).to_numpy(dtype=bool)


def _duplicated(ids, blank: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(duplicated rows, first rows of each duplicated id, count per duplicated id), blanks ignored."""
    if len(ids) > _SMALL:  # one hash pass finds whether any id repeats; the details only when one does
        codes, _ = pd.factorize(ids, use_na_sentinel=True)
        counted = codes[(codes >= 0) & ~blank]
        if not (np.bincount(counted) > 1).any():
            none = np.zeros(len(ids), dtype=bool)
            return none, none, {}
    ids = _as_objects(ids)
    if len(ids) <= _SMALL:
        counts: dict = {}
        for v, b in zip(ids, blank):
            if not b:
                counts[v] = counts.get(v, 0) + 1
        dup = np.array([not b and counts[v] > 1 for v, b in zip(ids, blank)], dtype=bool)
        seen: set = set()
        first = np.zeros(len(ids), dtype=bool)
        for i in np.flatnonzero(dup):
            if ids[i] not in seen:
                seen.add(ids[i])
                first[i] = True
        return dup, first, counts
    series = pd.Series(ids, dtype=object)
    dup = series.duplicated(keep=False).to_numpy(dtype=bool) & ~blank
    first = dup & ~series.duplicated(keep="first").to_numpy(dtype=bool)
    return dup, first, series[dup].value_counts().to_dict() if dup.any() else {}


def _raise_column_problems(resolution: ColumnResolution, cells: list[str]) -> None:
    if resolution.duplicates:
        spellings = "; ".join(" and ".join(repr(c) for c in group) + f" both read as {name!r}"
                              for name, group in resolution.duplicates.items())
        dup = sorted(resolution.duplicates)
        raise InvalidPatientData(
            f"column(s) {dup} appear more than once ({_trim(spellings, 4 * _TRIM)}); expected unique column "
            f"names. Got {_trim(cells, 2 * _TRIM)} instead.",
            [Problem(None, c, "a unique column name", "duplicated") for c in dup])
    if resolution.unit_conflicts:
        problems = [Problem(None, cell, f"{name} in {expected}", f"a column in {cell[cell.rfind('(') + 1:-1] or 'another unit'}")
                    for cell, (name, expected) in resolution.unit_conflicts.items()]
        raise InvalidPatientData.from_problems(problems)


def validate_patients(df: pd.DataFrame, *, lenient: bool = False, units: UnitCheck | None = None) -> ValidationReport:
    """Check a patient table and return a clean copy with a report.

    Parameters
    ----------
    df : DataFrame
        One row per patient; only ``patient_id`` is required. Column names are matched case- and
        space-insensitively, through the aliases of :mod:`icipredict.table.column_names` (the report
        says which column was read as what).
    lenient : bool
        Drop rows with row-level problems (listed in ``report.dropped``) instead of raising.
    units : UnitCheck, optional
        For a table read in chunks: collect the whole-column unit checks here (the caller asks
        ``units.problems()`` after the last chunk) instead of checking this chunk on its own.

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> import pandas as pd
    >>> rep = validate_patients(pd.DataFrame({"patient_id": ["a"], "Sex": ["F"]}))
    >>> rep.frame.loc[0, "sex"], rep.renamed
    ('female', {'Sex': 'sex'})
    """
    src, resolution = _source(df)
    notes: list[str] = list(df.attrs.get(READ_NOTES_ATTR, []))
    if resolution.renamed:
        notes.append(f"{len(resolution.renamed)} column(s) read by another name: "
                     + ", ".join(f"{_trim(k)!r} as {v}" for k, v in resolution.renamed.items()))
    given = frozenset(src.columns)
    columns, problems, labels = _check_columns({name: _values(src[name]) for name in COLUMNS if name in given},
                                               len(src))
    out = pd.DataFrame(columns, index=src.index, copy=False)  # every column is a fresh array of the checks
    if units is None:
        problems += _unit_problems(columns, given)
    else:
        units.add(columns, given)
    _note_units(columns, notes)

    extra = [c for c in src.columns if c not in COLUMNS]
    if extra:
        out = pd.concat([out, src[extra]], axis=1)
        notes.append(f"{len(extra)} column(s) not in the canonical table are carried and not used: "
                     + ", ".join(_trim(c) for c in extra[:10]) + (" ..." if len(extra) > 10 else ""))

    _raise_table_problems(problems)
    dropped: list[Problem] = []
    if problems:
        if not lenient:
            raise InvalidPatientData.from_problems(problems)
        bad_ids = {p.patient_id for p in problems}
        keep = ~pd.Series(labels).isin(bad_ids).to_numpy(dtype=bool)
        if not keep.any() and units is None:  # a streamed chunk may lose every row: the caller counts
            raise InvalidPatientData(
                "every row has a problem, so lenient mode would drop them all: "
                + str(InvalidPatientData.from_problems(problems)), problems)
        out = out[keep].reset_index(drop=True)
        dropped = problems
        notes.append(f"lenient mode dropped {len(bad_ids)} row(s): " + ", ".join(sorted(map(str, bad_ids))[:20]))
    unread = list(df.attrs.get(UNREAD_ROWS_ATTR, []))
    return ValidationReport(frame=out, dropped=dropped, notes=notes, extra_columns=extra,
                            renamed=dict(resolution.renamed), unread=unread)


def checked_columns(df: pd.DataFrame) -> tuple[dict[str, object], dict[str, str]]:
    """What :func:`validate_patients` checks, without framing the clean table: its canonical columns as
    arrays (categories as ``pd.Categorical``) and the columns read by another name.

    The same checks, messages and order as ``validate_patients(df)`` (not lenient); the prediction
    path reads these arrays directly.

    >>> columns, renamed = checked_columns(pd.DataFrame({"patient_id": ["a"], "Sex": ["F"]}))
    >>> list(columns["sex"]), renamed
    (['female'], {'Sex': 'sex'})
    """
    src, resolution = _source(df)
    given = frozenset(src.columns)
    columns, problems, _ = _check_columns({name: _values(src[name]) for name in COLUMNS if name in given}, len(src))
    problems += _unit_problems(columns, given)
    _raise_table_problems(problems)
    if problems:
        raise InvalidPatientData.from_problems(problems)
    return columns, dict(resolution.renamed)


def _unit_problems(columns: Mapping[str, object], given: frozenset[str]) -> list[Problem]:
    """The whole-column unit verdicts of one table's checked columns (a streamed table collects its own)."""
    check = UnitCheck()
    check.add(columns, given)
    return check.problems()


def check_record(record: Mapping[object, object]) -> tuple[dict[str, object], dict[str, str]] | None:
    """:func:`checked_columns` of one patient given as a mapping of scalars, without building a frame.

    None when anything is out of the ordinary (a problem, a value of another type than text, number,
    bool or missing, a column named twice...): the caller then checks the one-row table, which gives
    the same result or the same error as before.

    >>> check_record({"patient_id": "a", "tmb": "12"})[0]["tmb"].tolist()
    [12.0]
    >>> check_record({"patient_id": "a", "tmb": "twelve"}) is None  # the table path names the problem
    True
    """
    cells = [str(k) for k in record]
    if len(set(cells)) != len(cells):
        return None
    resolution = resolve_columns([c.strip() for c in cells], COLUMNS)
    if resolution.duplicates or resolution.unit_conflicts or "patient_id" not in resolution.names:
        return None
    values: dict[str, np.ndarray] = {}
    for name, value in zip(resolution.names, record.values()):
        if name in COLUMNS:
            one = _one_value(value)
            if one is None:
                return None
            values[name] = one
    columns, problems, _ = _check_columns(values, 1)
    # one row gives no whole-column verdict today; asked all the same, as the table path does
    if problems or _unit_problems(columns, frozenset(values)):
        return None
    return columns, dict(resolution.renamed)


_INT64 = (-(1 << 63), 1 << 63)


def _one_value(value: object) -> np.ndarray | None:
    """One cell as the one-row column pandas would build from it (``pd.DataFrame({k: [value]})``), or None."""
    if value is None or value is pd.NA:
        return np.array([value], dtype=object)
    if isinstance(value, str):
        return np.array([str(value)], dtype=object)
    if isinstance(value, (bool, np.bool_)):
        return np.array([bool(value)])
    if isinstance(value, int):
        return np.array([value], dtype=np.int64) if _INT64[0] <= value < _INT64[1] else None
    if isinstance(value, float):
        return np.array([value], dtype=np.float64)
    if isinstance(value, (np.integer, np.floating)):
        return np.array([value])
    return None


def _source(df: pd.DataFrame) -> tuple[pd.DataFrame, ColumnResolution]:
    """The table under its canonical column names (a new frame: the caller's is never modified)."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidPatientData(
            f"expected a pandas DataFrame of patients. Got {type(df).__name__} instead.",
            [Problem(None, None, "a DataFrame", type(df).__name__)])
    cells = [str(c).strip() for c in df.columns]
    resolution = resolve_columns(cells, COLUMNS)
    _raise_column_problems(resolution, cells)
    if "patient_id" not in resolution.names:
        raise InvalidPatientData(
            "the table has no 'patient_id' column; expected a column of unique patient identifiers. "
            f"Got columns {[_trim(c) for c in cells[:12]]}{' ...' if len(cells) > 12 else ''} instead.",
            [Problem(None, "patient_id", "a patient_id column", "no such column")])
    if len(df) == 0:
        raise InvalidPatientData(
            "the table has no patient rows; expected at least one patient. Got a header only instead.",
            [Problem(None, None, "at least one row", "0 rows")])
    src = df.set_axis(list(resolution.names), axis=1)
    if not isinstance(src.index, pd.RangeIndex) or src.index.start != 0 or src.index.step != 1:
        src = src.reset_index(drop=True)
    return src, resolution


def _values(col: pd.Series):
    """A column's values: its extension array (strings, categories, nullable numbers) or numpy array."""
    return col.array if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else col.to_numpy()


def _check_columns(values: Mapping[str, object], n: int) -> tuple[dict[str, object], list[Problem], object]:
    """The clean canonical columns, the problems found (in table order), and each row's name in messages."""
    out: dict[str, object] = {}
    problems: list[Problem] = []
    raw_ids = values["patient_id"]
    try:
        ids, blank = _ids(raw_ids)
    except _NotAScalar:
        _container_problems(raw_ids, [f"row {i + 1}" for i in range(n)], "patient_id", problems)
        raise InvalidPatientData.from_problems(problems) from None
    for i in np.flatnonzero(blank):
        problems.append(Problem(f"row {i + 1}", "patient_id", "a non-blank identifier", _trim(_shown(raw_ids[i]))))
    dup, first, counts = _duplicated(ids, blank)
    if first.any():
        objects = _as_objects(ids)
        for i in np.flatnonzero(first):
            problems.append(Problem(str(objects[i]), "patient_id", "a unique identifier",
                                    f"{int(counts[objects[i]])} rows with this id"))
    if blank.any():
        clean_ids = _as_objects(ids).copy()
        clean_ids[blank] = None
        out["patient_id"] = clean_ids
    else:
        out["patient_id"] = ids

    labels = _labels(ids, blank)
    for name, spec in COLUMNS.items():
        if name == "patient_id":
            continue
        col = values.get(name)
        try:
            if col is None:
                out[name] = _empty(spec, n)
            elif spec.kind in ("float", "int"):
                out[name] = _check_numeric(spec, col, labels, problems)
            elif spec.kind == "binary":
                out[name] = _check_binary(spec, col, labels, problems)
            elif spec.kind == "category":
                out[name] = _check_category(spec, col, labels, problems)
            else:  # free text
                out[name] = _check_text(col)
        except _NotAScalar:
            _container_problems(col, labels, name, problems)
            out[name] = _empty(spec, n)
    return out, problems, labels


def _raise_table_problems(problems: list[Problem]) -> None:
    table_level = [p for p in problems if p.patient_id is None]
    if table_level:
        # the column-level diagnosis first, then the rows it explains (so the message names patients)
        raise InvalidPatientData.from_problems(table_level + [p for p in problems if p.patient_id is not None])


def check_patients(df: pd.DataFrame, *, lenient: bool = False) -> pd.DataFrame:
    """Return a clean copy of a patient table, or raise :class:`InvalidPatientData`.

    See :func:`validate_patients` for the report with dropped rows and notes.

    Examples
    --------
    >>> import pandas as pd
    >>> float(check_patients(pd.DataFrame({"patient_id": ["p1"], "albumin": ["3.9"]}))["albumin"].iloc[0])
    3.9
    """
    return validate_patients(df, lenient=lenient).frame


def _empty(spec: ColumnSpec, n: int):
    if spec.kind in ("float", "int", "binary"):
        return np.full(n, np.nan)
    if spec.kind == "category":
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), dtype=_category_dtype(spec))
    return np.full(n, None, dtype=object)


def _category_dtype(spec: ColumnSpec) -> pd.CategoricalDtype:
    return _dtype_of(spec.name, spec.categories)


@lru_cache(maxsize=None)
def _dtype_of(name: str, categories: tuple[str, ...]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(categories))


_SMALL = 64  # up to this many distinct cells, the per-value rules run in plain Python (no pandas overhead)


#: Cell values that are not one value: a patient's cell holding a list, a mapping or an array.
_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray, pd.Series, pd.DataFrame)


class _NotAScalar(Exception):
    """A cell holds a container (raised where hashing or text conversion would fail or mislead)."""


def _container_problems(col, labels, name: str, problems: list[Problem]) -> None:
    """One problem per cell of ``col`` that holds a container instead of one value."""
    for i, v in enumerate(np.asarray(col, dtype=object).tolist()):
        if isinstance(v, _CONTAINERS):
            problems.append(Problem(labels[i], name, "one value (text or a number)",
                                    f"a {type(v).__name__}: {_trim(repr(v))}"))


def _is_na(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _uniques(col) -> tuple[np.ndarray, list[str | None]]:
    """Codes of each cell (-1 when missing) and the distinct cells as stripped text (``col``: an array).

    The string rules then run once per distinct value, not once per cell.
    """
    try:
        if len(col) <= _SMALL:  # one patient, or a few: a dict is faster than pandas' hash table
            index: dict[object, int] = {}
            codes = np.empty(len(col), dtype=np.intp)
            for k, v in enumerate(col.tolist()):
                if _is_na(v):
                    codes[k] = -1
                else:
                    codes[k] = index.setdefault(v, len(index))
            uniques = list(index)
        else:
            codes, arr = pd.factorize(_objects_if_bool(col), use_na_sentinel=True)
            uniques = list(np.asarray(arr, dtype=object))
    except TypeError as err:  # unhashable: a list or a mapping in a cell
        raise _NotAScalar from err
    if any(isinstance(u, _CONTAINERS) for u in uniques):  # hashable containers (tuples, frozensets)
        raise _NotAScalar
    return np.asarray(codes), [str(u).strip() for u in uniques]


def _objects_if_bool(col):
    if col.dtype.kind != "b":
        return col
    return col.astype(object) if isinstance(col, np.ndarray) else col.to_numpy(dtype=object)


def _floats(col, copy: bool) -> np.ndarray:
    """A number column's values as float64 (a nullable type's missing values as NaN)."""
    if isinstance(col, np.ndarray):
        return np.array(col, dtype=float) if copy else np.asarray(col, dtype=float)
    return col.to_numpy(dtype=float, copy=copy)


def _spread(codes: np.ndarray, per_unique, fill, dtype=object) -> np.ndarray:
    """Per-cell values from per-unique values; ``fill`` for the missing cells (code -1)."""
    table = np.empty(len(per_unique) + 1, dtype=dtype)
    table[:-1] = per_unique
    table[-1] = fill
    return table[codes]  # code -1 picks the last entry


def _to_numbers(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.empty(0)
    if len(texts) <= _SMALL:
        return pd.to_numeric(np.array(texts, dtype=object), errors="coerce").astype(float)
    return pd.to_numeric(pd.Series(texts, dtype="string"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _nan_text(spec: ColumnSpec, raw: object) -> str:
    text = str(raw).strip()
    if text.endswith("%") and spec.unit != "%":
        return f"{_trim(repr(raw))} (not a number: '%' is accepted only in percentage columns)"
    if _DECIMAL_COMMA.match(text):
        return f"{_trim(repr(raw))} (not a number: a decimal comma? read the file with --decimal ',')"
    return f"{_trim(repr(raw))} (not a number)"


def _check_numeric(spec: ColumnSpec, col, labels, problems: list[Problem]) -> np.ndarray:
    numbers = col.dtype.kind in "biuf"
    if numbers:  # already numbers: numpy only
        values = _floats(col, copy=True)
    else:
        codes, texts = _uniques(col)
        umiss = [t.lower() in MISSING_TOKENS for t in texts]
        number = [t.rstrip("%") if spec.unit == "%" else t for t, m in zip(texts, umiss) if not m]
        parsed = iter(_to_numbers(number))
        uvalues = [np.nan if m else next(parsed) for m in umiss]
        values = _spread(codes, uvalues, np.nan, float)
        miss = _spread(codes, umiss, True, bool)
        for i in np.flatnonzero(np.isnan(values) & ~miss):
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _nan_text(spec, col[i])))
    infinite = np.isinf(values)
    v = values
    if infinite.any():
        for i in np.flatnonzero(infinite):
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(_shown(col[i]))))
        v = np.where(infinite, np.nan, values)
    with np.errstate(invalid="ignore"):
        out_of_range = None
        if spec.low is not None:
            out_of_range = (v < spec.low) if spec.low_inclusive else (v <= spec.low)
        if spec.high is not None:
            high = (v > spec.high) if spec.high_inclusive else (v >= spec.high)
            out_of_range = high if out_of_range is None else out_of_range | high
        if out_of_range is not None and out_of_range.any():
            for i in np.flatnonzero(out_of_range):
                problems.append(Problem(labels[i], spec.name, spec.expectation(),
                                        f"{_trim(_fmt(v[i]))}{_unit_hint(spec.name, v[i])}"))
        if spec.kind == "int":
            fraction = np.trunc(v) != v  # NaN compares unequal: the missing cells are dropped below
            if fraction.any():
                for i in np.flatnonzero(fraction & ~np.isnan(v)):
                    problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(_fmt(v[i]))))
    return v


def _shown(value: object) -> str:
    """A value as the user would write it: ``2`` or ``'abc'``, never ``np.float64(2.0)``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def _unit_hint(name: str, value: float) -> str:
    if name == "albumin" and 10 <= value <= 60:
        return " (this looks like g/L: divide by 10 to give g/dL)"
    if name in ("pfs_months", "os_months", "last_dose_months") and value > 240:
        return f" (this looks like days: divide by {MONTH_DAYS:g} to give months)"
    if name == "age" and value > 110:
        return " (an impossible age)"
    return ""


def _check_binary(spec: ColumnSpec, col, labels, problems: list[Problem]) -> np.ndarray:
    if col.dtype.kind in "fiub":
        values = _floats(col, copy=False)
        ok = (values == 0.0) | (values == 1.0)
        bad = ~(ok | np.isnan(values))
        # a fresh array either way: the clean frame never shares memory with the caller's
        out = np.where(ok, values, np.nan) if bad.any() else values.copy()
    else:
        codes, texts = _uniques(col)
        lowered = [t.lower() for t in texts]
        umiss = [t in _MISSING_IN_SIGNED for t in lowered]
        uvalues = [1.0 if t in _TRUE else 0.0 if t in _FALSE else np.nan for t in lowered]
        out = _spread(codes, uvalues, np.nan, float)
        bad = np.isnan(out) & ~_spread(codes, umiss, True, bool)
    if bad.any():
        for i in np.flatnonzero(bad):
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(_shown(col[i]))))
    return out


_SPACES = re.compile(r"\s+")


def _check_category(spec: ColumnSpec, col, labels, problems: list[Problem]) -> pd.Categorical:
    codes, texts = _uniques(col)
    tokens = _MISSING_IN_SIGNED if "-" in spec.aliases else MISSING_TOKENS
    level = {c: k for k, c in enumerate(spec.categories)}
    ucodes, ubad = [], []
    for t in texts:
        lowered = _SPACES.sub(" ", t.lower())
        missing = lowered in tokens
        code = -1 if missing else level.get(spec.aliases.get(lowered), -1)
        ucodes.append(code)
        ubad.append(code < 0 and not missing)
    if any(ubad):
        for i in np.flatnonzero(_spread(codes, ubad, False, bool)):
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(_shown(col[i]))))
    return pd.Categorical.from_codes(_spread(codes, ucodes, -1, np.int16), dtype=_category_dtype(spec))


def _check_text(col):
    """Text cells stripped, missing tokens as missing: for a large table a pandas string array (each distinct
    text converted once, as the frame would hold it), else an object array (None where missing)."""
    codes, texts = _uniques(col)
    values = [None if t.lower() in MISSING_TOKENS else t for t in texts]
    if len(codes) <= _SMALL or all(v is None for v in values):
        return _spread(codes, values, None)
    return pd.array([*values, None], dtype="str").take(codes)  # code -1 picks the last entry: missing


def _note_units(out: Mapping[str, object], notes: list[str]) -> None:
    both = ~np.isnan(np.asarray(out["pdl1_tps"], dtype=float)) & (out["pdl1_band"].codes >= 0)
    if both.any():
        notes.append(f"{int(both.sum())} patient(s) have both pdl1_tps and pdl1_band: pdl1_tps is used")
