"""What a prediction request may hold: the shapes of ``patients``, the ``explain`` bound and the row limit
(defined with every other request limit in :mod:`icipredict.io.limits`).

Shared by :func:`icipredict.serve.predict.predict` (which re-exports these names), the MLflow pyfunc
and the calculator, so that every path accepts and refuses the same requests with the same words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem, trim
from icipredict.io.limits import DEFAULT_MAX_ROWS, MAX_ROWS_ENV, limit
from icipredict.serve.words import INPUT_COLUMNS_TEXT
from icipredict.table.schema import PREDICTORS

__all__ = ["MAX_EXPLAIN", "MAX_ROWS_ENV", "DEFAULT_MAX_ROWS", "is_explain", "explain_error", "request_limit",
           "patients_frame"]

#: Largest ``explain``: one contribution per input column at most.
MAX_EXPLAIN = len(PREDICTORS)


def is_explain(k: object) -> bool:
    """True when ``k`` is an ``explain`` :func:`predict` takes: an integer (not a bool) from 0 to :data:`MAX_EXPLAIN`.

    >>> is_explain(3), is_explain(-1), is_explain(True), is_explain("3")
    (True, False, False, False)
    """
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k <= MAX_EXPLAIN


def explain_error(name: str, got: str) -> str:
    """The message for an ``explain`` that :func:`is_explain` refuses; ``name`` is the parameter as the caller
    spelled it, ``got`` the value as shown to them."""
    return f"{name}: expected an integer from 0 to {MAX_EXPLAIN} ({INPUT_COLUMNS_TEXT}). Got {got} instead."


def request_limit(env: str = MAX_ROWS_ENV, default: int = DEFAULT_MAX_ROWS, value: int | None = None) -> int:
    """A per-request limit (:func:`icipredict.io.limits.limit`, where every request limit is defined).

    >>> request_limit(value=100)
    100
    """
    return limit(env, default, value)


def _is_list(value: object) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index))


def patients_frame(patients) -> pd.DataFrame:
    """A DataFrame from the shapes :func:`predict` accepts: DataFrame, dict of scalars, dict of lists, list of dicts.

    Raises
    ------
    InvalidPatientData
        Another shape, or a dict mixing scalars and lists (or lists of different lengths).
    """
    if isinstance(patients, pd.DataFrame):
        return patients
    if isinstance(patients, Mapping):
        lists = [k for k, v in patients.items() if _is_list(v)]
        if not lists:  # one patient: a one-row frame, built column by column (the lean path)
            return pd.DataFrame({str(k): [v] for k, v in patients.items()})
        lengths = {str(k): len(v) if _is_list(v) else None for k, v in patients.items()}
        if len(lists) != len(patients) or len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} {'a scalar' if n is None else n}" for k, n in list(lengths.items())[:8])
            raise InvalidPatientData(
                "patients: expected a dict of scalars (one patient) or a dict of equally long lists (one value per "
                f"patient). Got {trim(shown, 160)} instead.",
                [Problem(None, None, "equally long lists", "lists of different lengths or scalars beside lists")])
        return pd.DataFrame({str(k): list(v) for k, v in patients.items()})
    if isinstance(patients, Sequence) and not isinstance(patients, (str, bytes)):
        bad = next((i for i, p in enumerate(patients) if not isinstance(p, Mapping)), None)
        if bad is not None:
            raise InvalidPatientData(
                "patients: expected a DataFrame, a dict or a list of dicts. Got a list whose item "
                f"{bad} is a {type(patients[bad]).__name__} instead.",
                [Problem(None, None, "a list of dicts", type(patients[bad]).__name__)])
        return pd.DataFrame([dict(p) for p in patients])
    raise InvalidPatientData(f"patients: expected a DataFrame, a dict or a list of dicts. Got "
                             f"{type(patients).__name__} instead.",
                             [Problem(None, None, "a DataFrame, a dict or a list of dicts", type(patients).__name__)])
