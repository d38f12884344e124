"""A patient table's columns as arrays, for the rules: numbers as floats, texts as codes into their distinct values.

Every rule reads its columns through :func:`floats` and :func:`texts`, from a DataFrame (raw or
checked by :func:`icipredict.table.schema.check_patients`) or from the checked columns themselves (a
mapping of column name to array, as the prediction path keeps them). A text rule then runs once
per distinct value (:meth:`Distinct.map`), not once per patient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

__all__ = ["Table", "Distinct", "n_rows", "floats", "texts"]

#: A patient table, or its columns by name (arrays of one length; categories as ``pd.Categorical``).
Table = Union[pd.DataFrame, Mapping[str, Any]]


@dataclass(frozen=True)
class Distinct:
    """A text column as ``codes`` (-1 where missing) into ``values``, its distinct values."""

    codes: np.ndarray
    values: list

    def map(self, rule: Callable[[Any], Any], missing: Any = None, dtype: Any = object) -> np.ndarray:
        """``rule(value)`` per cell, computed once per distinct value; ``missing`` where the cell is missing."""
        table = np.empty(len(self.values) + 1, dtype=dtype)
        for k, value in enumerate(self.values):
            table[k] = rule(value)
        table[-1] = missing
        return table[self.codes]  # code -1 picks the last entry: the missing value

    def isna(self) -> np.ndarray:
        return self.codes < 0


def n_rows(table: Table) -> int:
    if isinstance(table, pd.DataFrame):
        return len(table.index)
    return len(table["patient_id"]) if "patient_id" in table else len(next(iter(table.values())))


def _has(table: Table, name: str) -> bool:
    return name in table.columns if isinstance(table, pd.DataFrame) else name in table


def floats(table: Table, name: str) -> np.ndarray:
    """A column as float64 (missing -> NaN); an absent column is all missing. Never to be written to.

    >>> floats(pd.DataFrame({"tmb": ["3.5", None]}), "tmb").tolist()
    [3.5, nan]
    """
    if not _has(table, name):
        return np.full(n_rows(table), np.nan)
    col = table[name]
    kind = col.dtype.kind if hasattr(col, "dtype") else "O"
    if kind in "biuf":  # already numbers (a checked table): no object round trip
        return _as_float(col)
    values = col.astype(object) if isinstance(col, pd.Series) else pd.Series(np.asarray(col, dtype=object))
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _as_float(col) -> np.ndarray:
    if isinstance(col, np.ndarray) or isinstance(col.dtype, np.dtype):  # numpy-backed: a view when already float64
        return np.asarray(col, dtype=float)
    return col.to_numpy(dtype=float, na_value=np.nan)  # a nullable extension type (Int64, Float64, boolean)


def texts(table: Table, name: str, *, strip: bool = True) -> Distinct:
    """A column's cells as codes into its distinct values; text values stripped of surrounding spaces
    (``strip``). Non-text values (numbers in a raw table) are kept as they are.

    >>> sex = texts(pd.DataFrame({"sex": ["F", "M ", None, "F"]}), "sex")
    >>> sex.codes.tolist(), sex.values, sex.map(lambda v: v == "F", False, bool).tolist()
    ([0, 1, -1, 0], ['F', 'M'], [True, False, False, True])
    """
    if not _has(table, name):
        return Distinct(np.full(n_rows(table), -1, dtype=np.intp), [])
    col = table[name]
    if isinstance(col, pd.Series):
        col = col.array
    if isinstance(col, pd.Categorical):  # a checked table: its few categories, not every cell
        codes, uniques = col.codes, list(col.categories)
    else:
        codes, arr = pd.factorize(col if isinstance(col, pd.api.extensions.ExtensionArray)
                                  else np.asarray(col, dtype=object), use_na_sentinel=True)
        uniques = arr.tolist() if hasattr(arr, "tolist") else list(arr)
    if strip:
        uniques = [u.strip() if isinstance(u, str) else u for u in uniques]
    return Distinct(np.asarray(codes), uniques)
