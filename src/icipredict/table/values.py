"""One column's cells checked against its :class:`~icipredict.table.columns.ColumnSpec`: numbers (units,
ranges, ``%``, decimal commas), 0/1 flags, categories and their aliases, free text.

Each ``check_*`` function returns the clean column and appends one :class:`~icipredict.exceptions.Problem`
per bad cell; :func:`icipredict.table.schema.validate_patients` runs them over a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from icipredict.exceptions import Problem, trim as _trim
from icipredict.table.columns import _FALSE, _TRUE, MISSING_TOKENS, ColumnSpec, _fmt
from icipredict.table.vocab import MONTH_DAYS

#: ``-`` means "negative" in the columns where ``+`` means positive (0/1 columns and ``til_status``);
#: in number, text and other category columns it is the usual "no value" and reads as missing.
_MISSING_IN_SIGNED = MISSING_TOKENS - {"-"}
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+%?$")


def empty_column(spec: ColumnSpec, n: int):
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


SMALL = 64  # up to this many distinct cells, the per-value rules run in plain Python (no pandas overhead)


#: Cell values that are not one value: a patient's cell holding a list, a mapping or an array.
CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray, pd.Series, pd.DataFrame)


class NotAScalar(Exception):
    """A cell holds a container (raised where hashing or text conversion would fail or mislead)."""


def container_problems(col, labels, name: str, problems: list[Problem]) -> None:
    """One problem per cell of ``col`` that holds a container instead of one value."""
    for i, v in enumerate(np.asarray(col, dtype=object).tolist()):
        if isinstance(v, CONTAINERS):
            problems.append(Problem(labels[i], name, "one value (text or a number)",
                                    f"a {type(v).__name__}: {_trim(repr(v))}"))


def is_na(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _uniques(col) -> tuple[np.ndarray, list[str | None]]:
    """Codes of each cell (-1 when missing) and the distinct cells as stripped text (``col``: an array).

    The string rules then run once per distinct value, not once per cell.
    """
    try:
        if len(col) <= SMALL:  # one patient, or a few: a dict is faster than pandas' hash table
            index: dict[object, int] = {}
            codes = np.empty(len(col), dtype=np.intp)
            for k, v in enumerate(col.tolist()):
                if is_na(v):
                    codes[k] = -1
                else:
                    codes[k] = index.setdefault(v, len(index))
            uniques = list(index)
        else:
            codes, arr = pd.factorize(_objects_if_bool(col), use_na_sentinel=True)
            uniques = list(np.asarray(arr, dtype=object))
    except TypeError as err:  # unhashable: a list or a mapping in a cell
        raise NotAScalar from err
    if any(isinstance(u, CONTAINERS) for u in uniques):  # hashable containers (tuples, frozensets)
        raise NotAScalar
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
    if len(texts) <= SMALL:
        return pd.to_numeric(np.array(texts, dtype=object), errors="coerce").astype(float)
    return pd.to_numeric(pd.Series(texts, dtype="string"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _nan_text(spec: ColumnSpec, raw: object) -> str:
    text = str(raw).strip()
    if text.endswith("%") and spec.unit != "%":
        return f"{_trim(repr(raw))} (not a number: '%' is accepted only in percentage columns)"
    if _DECIMAL_COMMA.match(text):
        return f"{_trim(repr(raw))} (not a number: a decimal comma? read the file with --decimal ',')"
    return f"{_trim(repr(raw))} (not a number)"


def check_numeric(spec: ColumnSpec, col, labels, problems: list[Problem]) -> np.ndarray:
    if col.dtype.kind == "b":  # true/false is no measurement (a JSON true would otherwise read as 1)
        for i in range(len(col)):
            problems.append(Problem(labels[i], spec.name, spec.expectation(), f"{bool(col[i])} (true/false, not a number)"))
        return np.full(len(col), np.nan)
    numbers = col.dtype.kind in "iuf"
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
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(shown(col[i]))))
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


def shown(value: object) -> str:
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


def check_binary(spec: ColumnSpec, col, labels, problems: list[Problem]) -> np.ndarray:
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
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(shown(col[i]))))
    return out


_SPACES = re.compile(r"\s+")


def check_category(spec: ColumnSpec, col, labels, problems: list[Problem]) -> pd.Categorical:
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
            problems.append(Problem(labels[i], spec.name, spec.expectation(), _trim(shown(col[i]))))
    return pd.Categorical.from_codes(_spread(codes, ucodes, -1, np.int16), dtype=_category_dtype(spec))


def check_text(col):
    """Text cells stripped, missing tokens as missing: for a large table a pandas string array (each distinct
    text converted once, as the frame would hold it), else an object array (None where missing)."""
    codes, texts = _uniques(col)
    values = [None if t.lower() in MISSING_TOKENS else t for t in texts]
    if len(codes) <= SMALL or all(v is None for v in values):
        return _spread(codes, values, None)
    return pd.array([*values, None], dtype="str").take(codes)  # code -1 picks the last entry: missing


def note_units(out: Mapping[str, object], notes: list[str]) -> None:
    both = ~np.isnan(np.asarray(out["pdl1_tps"], dtype=float)) & (out["pdl1_band"].codes >= 0)
    if both.any():
        notes.append(f"{int(both.sum())} patient(s) have both pdl1_tps and pdl1_band: pdl1_tps is used")
