"""The body of a ``POST /invocations``: MLflow scoring-server JSON (``dataframe_records``,
``dataframe_split``, ``instances``, ``inputs``) or a CSV, read into a patient table with its
``explain`` parameter and the progression-free curve's ``curve_times``, within the row and nesting
limits (:mod:`icipredict.io.limits`). A body must match its declared type: JSON as
``application/json`` (or no type), a table as ``text/csv``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from icipredict.exceptions import TRIM, InvalidPatientData, trim
from icipredict.io.table import read_table_bytes
from icipredict.io.limits import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ROWS, MAX_DEPTH_ENV, MAX_ROWS_ENV, json_depth, too_deep
from icipredict.serve.curve_times import parse_curve_times
from icipredict.serve.predict import explain_error, is_explain

__all__ = ["parse_invocation", "parse_scoring_request", "Invocation", "too_many_rows", "json_depth", "InvalidRequest",
           "UnsupportedBody", "INPUT_FORMATS"]

INPUT_FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
_JSON_TYPES = ("application/json", "")  # no Content-Type: read as JSON, as MLflow's clients send it


class InvalidRequest(InvalidPatientData):
    """An ``/invocations`` body that is not a scoring request (bad JSON, layout or params)."""


class UnsupportedBody(InvalidRequest):
    """A body of a type ``/invocations`` does not read (HTTP 415)."""


# -- /invocations --------------------------------------------------------------------------------

def _json_kind(value: Any) -> str:
    return {dict: "a JSON object", list: "a JSON array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _check_records(records: Any, key: str) -> list[dict]:
    if not isinstance(records, list):
        raise InvalidRequest(f"{key}: expected a list of patient objects. Got {_json_kind(records)} instead.")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise InvalidRequest(f"{key}[{i}]: expected a patient object. Got {_json_kind(rec)} instead.")
        for column, value in rec.items():
            if isinstance(value, (dict, list)):
                who = trim(rec.get("patient_id", f"row {i + 1}"))
                raise InvalidRequest(f"patient {who!r}, column {trim(column)!r}: expected a number, a string or "
                                      f"null. Got {_json_kind(value)} instead.")
    return records


def _columns_frame(columns: Any, data: Any, key: str) -> pd.DataFrame:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidRequest(f"{key}.columns: expected a list of column names. Got {_json_kind(columns)} instead.")
    if not isinstance(data, list):
        raise InvalidRequest(f"{key}.data: expected a list of rows. Got {_json_kind(data)} instead.")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            got = f"{len(row)} values" if isinstance(row, list) else _json_kind(row)
            raise InvalidRequest(f"{key}.data[{i}]: expected a list of {len(columns)} values (one per column). "
                                  f"Got {got} instead.")
    records = [dict(zip(columns, row)) for row in data]
    return pd.DataFrame(_check_records(records, key), columns=columns)


def _frame(key: str, value: Any) -> pd.DataFrame:
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise InvalidRequest(f"dataframe_split: expected an object with 'columns' and 'data'. "
                                  f"Got {_json_kind(value)} instead.")
        return _columns_frame(value.get("columns"), value.get("data"), key)
    if key in ("instances", "inputs") and isinstance(value, dict):  # column -> list of values
        lists = list(value.values())
        if not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) > 1:
            raise InvalidRequest(f"{key}: expected a list of patient objects, or an object of equally long "
                                  "value lists (one per column). Got lists of different lengths or a non-list "
                                  "instead.")
        return _columns_frame(list(value), [list(r) for r in zip(*lists)], key)
    return pd.DataFrame(_check_records(value, key))


def _rows_in(key: str, value: Any) -> int:
    if key == "dataframe_split" and isinstance(value, dict) and isinstance(value.get("data"), list):
        return len(value["data"])
    if isinstance(value, dict):
        return max((len(v) for v in value.values() if isinstance(v, list)), default=0)
    return len(value) if isinstance(value, list) else 0


def too_many_rows(n: int, max_rows: int) -> str:
    return (f"too many patients in one request: expected at most {max_rows} ({MAX_ROWS_ENV}). Got {n} instead. "
            "Send smaller batches.")


def _explain_param(params: Any) -> int:
    if not isinstance(params, dict):
        raise InvalidRequest(f"params: expected an object such as {{\"explain\": 3}}. Got {_json_kind(params)} instead.")
    unknown = sorted(set(params) - {"explain", "curve_times"})
    if unknown:
        raise InvalidRequest(f"params: expected only 'explain' and 'curve_times'. Got {trim(unknown)} instead.")
    k = params.get("explain", 0)
    if not is_explain(k):
        raise InvalidRequest(explain_error("params.explain", trim(json.dumps(k))))
    return k


def _curve_param(params: Any, query: str | None) -> tuple[float, ...] | None:
    """``params.curve_times`` (a JSON list of months) or the query's ``curve_times=3,6,12``; None when neither."""
    given = params.get("curve_times") if isinstance(params, dict) else None
    if given is not None and query is not None:
        raise InvalidRequest("curve_times: expected it once, in params or in the query string. Got both instead.")
    try:
        if given is not None:
            return parse_curve_times(given, "params.curve_times")
        return None if query is None else parse_curve_times(query, "curve_times")
    except ValueError as exc:
        raise InvalidRequest(trim(str(exc), 6 * TRIM)) from None


@dataclass
class Invocation:
    """A parsed ``/invocations`` request: the patients, ``explain`` and the curve's months (None: no curve)."""

    frame: pd.DataFrame
    explain: int = 0
    curve_times: tuple[float, ...] | None = None


def parse_scoring_request(body: bytes, mimetype: str = "application/json", *, max_rows: int = DEFAULT_MAX_ROWS,
                          max_depth: int = DEFAULT_MAX_DEPTH, curve_query: str | None = None) -> Invocation:
    """:func:`parse_invocation` with the progression-free curve's times: ``params.curve_times`` (a JSON list of
    months) or ``curve_query``, the query string's ``curve_times`` (``3,6,12,24``, for a CSV body too).

    Examples
    --------
    >>> parse_scoring_request(b'{"inputs": [{"patient_id": "a"}], "params": {"curve_times": [6, 12]}}').curve_times
    (6.0, 12.0)
    """
    frame, explain, params = _read_request(body, mimetype, max_rows, max_depth)
    return Invocation(frame, explain, _curve_param(params, curve_query))


def parse_invocation(body: bytes, mimetype: str = "application/json", *, max_rows: int = DEFAULT_MAX_ROWS,
                     max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[pd.DataFrame, int]:
    """Patients and ``explain`` from a body in MLflow's scoring-server format.

    JSON with exactly one of ``dataframe_records``, ``dataframe_split``, ``instances`` or
    ``inputs`` (records, or an object of column lists), and optionally ``params``
    (``{"explain": k, "curve_times": [3, 6, 12, 24]}``; :func:`parse_scoring_request` reads the
    curve's times); or a CSV table when ``mimetype`` is ``text/csv``.

    Raises
    ------
    InvalidPatientData
        The body is not such a request (its message never repeats patient rows), nests deeper than
        ``max_depth``, or is JSON declared as ``text/csv``.
    UnsupportedBody
        The declared type is neither JSON nor ``text/csv``.

    Examples
    --------
    >>> df, k = parse_invocation(b'{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": 2}}')
    >>> (len(df), k)
    (1, 2)
    """
    frame, explain, _params = _read_request(body, mimetype, max_rows, max_depth)
    return frame, explain


def _read_request(body: bytes, mimetype: str, max_rows: int, max_depth: int) -> tuple[pd.DataFrame, int, Any]:
    """Patients, ``explain`` and the JSON ``params`` (None for CSV or none given), the body parsed once."""
    params: Any = None
    if mimetype == "text/csv":
        if body.lstrip()[:1] in (b"{", b"["):
            raise InvalidRequest("the body is declared text/csv but holds JSON; expected a CSV table with a "
                                 "header line, or the JSON sent as application/json. Got JSON instead.")
        frame, explain = read_table_bytes(body, "request.csv", max_rows=max_rows), 0
    elif mimetype not in _JSON_TYPES:
        raise UnsupportedBody(f"Content-Type {trim(mimetype)!r}: expected application/json or text/csv. Got "
                              f"{trim(mimetype)!r} instead.")
    else:
        depth = json_depth(body)
        if depth > max_depth:
            raise InvalidRequest(too_deep(depth, max_depth))
        try:
            payload = json.loads(body)
        except UnicodeDecodeError:
            raise InvalidRequest("the request body is not UTF-8 text; expected a JSON object. Got undecodable "
                                  "bytes instead.") from None
        except RecursionError:  # deeper than the scan saw (it cannot happen for valid JSON): still a 400
            raise InvalidRequest(f"the JSON body nests too deeply; expected at most {max_depth} levels "
                                 f"({MAX_DEPTH_ENV}). Got deeper nesting instead.") from None
        except json.JSONDecodeError as err:
            raise InvalidRequest(f"the request body is not valid JSON ({err.msg} at line {err.lineno} column "
                                  f"{err.colno}); expected a JSON object with one of {', '.join(INPUT_FORMATS)}. "
                                  "Got invalid JSON instead.") from None
        keys = [k for k in INPUT_FORMATS if isinstance(payload, dict) and k in payload]
        extra = sorted(set(payload) - {*INPUT_FORMATS, "params"}) if isinstance(payload, dict) else []
        if len(keys) != 1 or extra:
            got = (_json_kind(payload) if not isinstance(payload, dict)
                   else f"the keys {trim(sorted(payload), 2 * TRIM)}")
            raise InvalidRequest(f"expected a JSON object with exactly one of {', '.join(INPUT_FORMATS)} "
                                  f"(and optionally params). Got {got} instead.")
        n = _rows_in(keys[0], payload[keys[0]])
        if n > max_rows:
            raise InvalidRequest(too_many_rows(n, max_rows))
        params = payload.get("params")
        explain = _explain_param({} if params is None else params)
        frame = _frame(keys[0], payload[keys[0]])
    if len(frame) > max_rows:
        raise InvalidRequest(too_many_rows(len(frame), max_rows))
    if len(frame) == 0:
        raise InvalidRequest("expected at least one patient. Got an empty list instead.")
    return frame, explain, params
