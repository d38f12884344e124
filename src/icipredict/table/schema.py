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

The columns are defined in :mod:`icipredict.table.columns`, one column's cells are checked in
:mod:`icipredict.table.values`; this module checks a whole table (headers, identifiers, every column).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from icipredict.exceptions import TRIM as _TRIM, InvalidPatientData, Problem, trim as _trim
from icipredict.table.checks import UNIT_CHECK_COLUMNS, IdSet, UnitCheck, ValidationReport  # re-exported: part of the boundary
from icipredict.table.column_names import ColumnResolution, resolve_columns
from icipredict.table.columns import (COLUMNS, MISSING_TOKENS, MUTATION_COLUMNS, OUTCOME_COLUMNS,  # re-exported
                                      PREDICTORS, READ_NOTES_ATTR, UNREAD_ROWS_ATTR, ColumnSpec)
from icipredict.table.values import (CONTAINERS, SMALL, NotAScalar, check_binary, check_category, check_numeric,
                                     check_text, container_problems, empty_column, is_na, note_units, shown)

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


def _ids(raw) -> tuple[object, np.ndarray]:
    """Identifiers as text, stripped, and which are blank (missing, empty or a missing token); whole
    numbers stored as floats ("12.0", e.g. from Parquet) back to "12".

    ``raw`` is a column's values (an array). Text identifiers of a large table stay a pandas string
    array (no Python string per patient); otherwise an object array with None where missing.
    """
    kind = raw.dtype.kind
    if kind in "iu":
        ids = pd.Series(raw, copy=False).astype(str).to_numpy(dtype=object)
    elif kind == "f" or len(raw) <= SMALL or (
            kind == "O" and pd.api.types.infer_dtype(raw, skipna=True) not in ("string", "empty")):
        ids = np.array([_one_id(v) for v in raw.tolist()], dtype=object)
    else:
        text = pd.Series(raw, copy=False).astype("string").str.strip()
        blank = (text.isna() | text.str.lower().isin(MISSING_TOKENS) | (text == "")).to_numpy(dtype=bool)
        return text.astype("str").array, blank
    return ids, _blank_ids(ids)


def _one_id(v: object) -> str | None:
    if isinstance(v, CONTAINERS):
        raise NotAScalar
    if is_na(v):
        return None
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):  # an overflowed JSON number (1e400): an id nobody can match back
            return None
        return str(int(v)) if float(v).is_integer() else repr(float(v))
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
    if len(ids) <= SMALL:
        return np.array([v is None or v == "" or v.lower() in MISSING_TOKENS for v in ids], dtype=bool)
    text = pd.Series(ids, dtype="string")
    return (text.isna() | text.str.lower().isin(MISSING_TOKENS) | (text == "")).to_numpy(dtype=bool)


def _duplicated(ids, blank: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """(duplicated rows, first rows of each duplicated id, count per duplicated id), blanks ignored."""
    if len(ids) > SMALL:  # one hash pass finds whether any id repeats; the details only when one does
        codes, _ = pd.factorize(ids, use_na_sentinel=True)
        counted = codes[(codes >= 0) & ~blank]
        if not (np.bincount(counted) > 1).any():
            none = np.zeros(len(ids), dtype=bool)
            return none, none, {}
    ids = _as_objects(ids)
    if len(ids) <= SMALL:
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
    note_units(columns, notes)

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
        listed = ", ".join(_trim(x) for x in sorted(map(str, bad_ids))[:20])  # a long id is never echoed whole
        notes.append(f"lenient mode dropped {len(bad_ids)} row(s): {listed}")
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
    except NotAScalar:
        container_problems(raw_ids, [f"row {i + 1}" for i in range(n)], "patient_id", problems)
        raise InvalidPatientData.from_problems(problems) from None
    for i in np.flatnonzero(blank):
        problems.append(Problem(f"row {i + 1}", "patient_id", "a non-blank identifier (text or a finite number)",
                                _trim(shown(raw_ids[i]))))
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
                out[name] = empty_column(spec, n)
            elif spec.kind in ("float", "int"):
                out[name] = check_numeric(spec, col, labels, problems)
            elif spec.kind == "binary":
                out[name] = check_binary(spec, col, labels, problems)
            elif spec.kind == "category":
                out[name] = check_category(spec, col, labels, problems)
            else:  # free text
                out[name] = check_text(col)
        except NotAScalar:
            container_problems(col, labels, name, problems)
            out[name] = empty_column(spec, n)
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
