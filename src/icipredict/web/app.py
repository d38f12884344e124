"""The local calculator behind ``icipredict serve``: a one-patient form, a table upload and ``/invocations``.

Decision support for research, not a medical device. Patient data stay in memory: uploads are
parsed from bytes (never spooled to a temporary file), downloads are generated on the fly, and the
access log names only the method, path and status. Only ``icipredict serve`` imports this module,
so ``icipredict --help`` never loads Flask.

Routes: ``GET /`` and ``POST /`` (form), ``POST /upload`` (CSV / Parquet / Excel table),
``POST /invocations`` (MLflow scoring-server JSON), ``GET /ping`` and ``GET /version``.
"""

from __future__ import annotations

import base64
import ipaddress
import io
import json
import math
import signal
import socket
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from flask import Flask, Request, Response, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server

import icipredict
from icipredict.exceptions import IcipredictError, InputWarning, InvalidPatientData, Problem, problems_text, trim
from icipredict.io.output import neutralise_formulas
from icipredict.io.table import read_table_bytes
from icipredict.model.metadata import ModelMetadata
from icipredict.report.content import REPORT_EXPLAIN, benefit_group_meanings, benefit_groups_text, build_report
from icipredict.report.html import report_fragment
from icipredict.table.labels import column_label
from icipredict.table.schema import COLUMNS, PREDICTORS, ColumnSpec
from icipredict.serve.predict import (DEFAULT_MAX_ROWS, MAX_EXPLAIN, MAX_ROWS_ENV, explain_error, is_explain,
                                      request_limit, unknown_columns_note)
from icipredict.table.column_names import resolve_columns

__all__ = ["create_app", "serve", "render_result", "form_sections", "patient_from_form", "parse_invocation",
           "host_warning", "Field", "ServeError", "MAX_ROWS_ENV", "MAX_BYTES_ENV"]

#: Byte limit of one request body (JSON, CSV or uploaded file); the row limit is serving.MAX_ROWS_ENV, which
#: bounds the MLflow pyfunc's requests too.
MAX_BYTES_ENV = "ICIPREDICT_MAX_REQUEST_BYTES"
_DEFAULT_MAX_BYTES = 128 * 2**20  # 50,000 JSON records of every column fit with room to spare
#: Contributions offered for an uploaded table (the one-patient form shows the report's, REPORT_EXPLAIN).
FORM_EXPLAIN = 5
_SHOWN_ROWS = 200  # an uploaded table's rows shown on the page; the CSV has them all
_DATA_URI_LIMIT = 2 * 2**20  # browsers refuse longer data: links
_TRIM = 80
INPUT_FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")

#: Form sections: (id, legend, column-name prefixes); a predictor matching no prefix goes to the last.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("biomarkers", "Biomarkers", ("pdl1_", "tmb")),
    ("til", "Tumour-infiltrating lymphocytes (TIME)", ("til_", "cd8_", "immune_")),
    ("mutations", "Gene alterations: 1 altered, 0 tested wild-type, unknown if not tested", ("mut_",)),
    ("clinical", "Clinical", ()),
)


class ServeError(IcipredictError, OSError):
    """The server cannot start (port taken, address unknown, ...)."""


class _InvalidRequest(InvalidPatientData):
    """An ``/invocations`` body that is not a scoring request (bad JSON, layout or params)."""


# -- the form ----------------------------------------------------------------------------------

@dataclass
class Field:
    """One input of the patient form, as the template draws it."""

    name: str
    label: str
    control: Literal["text", "number", "select"]
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    value: str = ""
    errors: list[str] = field(default_factory=list)


def _num(x: float) -> str:
    return f"{x:g}"


def _range_text(spec: ColumnSpec) -> str:
    if spec.low is not None and spec.high is not None and spec.low_inclusive and spec.high_inclusive:
        rng = f"{_num(spec.low)} to {_num(spec.high)}"
    else:
        bits = []
        if spec.low is not None:
            bits.append(("at least " if spec.low_inclusive else "above ") + _num(spec.low))
        if spec.high is not None:
            bits.append(("at most " if spec.high_inclusive else "below ") + _num(spec.high))
        rng = " and ".join(bits)
    return ", ".join(x for x in (spec.unit, "whole number" if spec.kind == "int" else "", rng) if x)


def _field(spec: ColumnSpec) -> Field:
    # the label is the input's display name (the report's, the plots', the model card's); the hint says the rest
    label = column_label(spec.name)
    label = label[0].upper() + label[1:]
    about = spec.description if spec.description.lower() != column_label(spec.name).lower() else ""
    if spec.kind == "category":
        return Field(spec.name, label, "select", hint=about,
                     options=(("", "unknown"), *((c, c) for c in spec.categories)))
    if spec.kind == "binary":
        no, yes = ("tested wild-type", "altered") if spec.name.startswith("mut_") else ("no", "yes")
        return Field(spec.name, label, "select", hint=about,
                     options=(("", "unknown"), ("0", f"0: {no}"), ("1", f"1: {yes}")))
    if spec.kind in ("float", "int"):
        return Field(spec.name, label, "number", hint="; ".join(x for x in (about, _range_text(spec)) if x))
    return Field(spec.name, label, "text", hint="; ".join(x for x in (about, "free text") if x))


def form_sections(values: Mapping[str, str] | None = None,
                  errors: Mapping[str, list[str]] | None = None) -> list[tuple[str, str, list[Field]]]:
    """The predictor fields of ``schema.COLUMNS``, grouped into the form's sections.

    Parameters
    ----------
    values : mapping, optional
        Submitted values by column name, shown again in the fields.
    errors : mapping, optional
        Error messages by column name, shown next to their field.

    Returns
    -------
    list of (section id, legend, fields)

    Examples
    --------
    >>> [s[0] for s in form_sections()]
    ['biomarkers', 'til', 'mutations', 'clinical']
    """
    values, errors = values or {}, errors or {}
    sections: dict[str, list[Field]] = {sid: [] for sid, _, _ in SECTIONS}
    for name in PREDICTORS:
        f = _field(COLUMNS[name])
        f.value, f.errors = str(values.get(name, "")), list(errors.get(name, []))
        sid = next((s for s, _, prefixes in SECTIONS if name.startswith(prefixes)), SECTIONS[-1][0])
        sections[sid].append(f)
    return [(sid, legend, sections[sid]) for sid, legend, _ in SECTIONS if sections[sid]]


def patient_from_form(form: Mapping[str, str]) -> dict[str, str]:
    """The patient dict ``predict`` gets from a submitted form: raw strings, empty fields left out.

    >>> patient_from_form({"patient_id": "", "pdl1_tps": " 60 ", "tmb": ""})
    {'patient_id': 'patient', 'pdl1_tps': '60'}
    """
    patient = {"patient_id": str(form.get("patient_id", "")).strip() or "patient"}
    for name in PREDICTORS:
        value = str(form.get(name, "")).strip()
        if value:
            patient[name] = value
    return patient


# -- messages ----------------------------------------------------------------------------------

def _problem_text(p: Problem) -> str:
    """A problem with every user-supplied part trimmed, so a huge value is never echoed whole."""
    return str(Problem(None if p.patient_id is None else trim(p.patient_id), None if p.column is None
                       else trim(p.column), trim(p.expected, 2 * _TRIM), trim(p.got)))


def _error_message(exc: InvalidPatientData, limit: int = 8) -> str:
    problems = exc.problems
    if not any(p.patient_id is not None or p.column is not None for p in problems):
        return trim(exc, 6 * _TRIM)  # a table-level message (unreadable file, bad request) says more
    return "Invalid patient data: " + problems_text(problems, limit, _problem_text)


def _errors_by_field(exc: InvalidPatientData, names: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    by_field: dict[str, list[str]] = {}
    general = []
    for p in exc.problems:
        if p.column in names:
            by_field.setdefault(p.column, []).append(_problem_text(p))
        else:
            general.append(_problem_text(p))
    if not exc.problems:
        general.append(_error_message(exc))
    return by_field, general


# -- results -----------------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _cell(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def render_result(row: Mapping[str, Any], metadata: ModelMetadata | None = None,
                  patient: Mapping[str, Any] | None = None) -> Markup:
    """The HTML of one patient's result: the patient report's fragment (:mod:`icipredict.report.html`).

    The same report ``icipredict explain --input X --patient ID --output report.html`` writes: the probability with its 90 %
    interval, the benefit group in words with its thresholds, the TIME class 2x2, the inputs that
    moved the estimate in percentage points, the calibration position, the missing inputs, the
    warnings and the caveat to recalibrate locally. Needs no application context.

    Parameters
    ----------
    row : mapping
        One row of :func:`icipredict.predict`'s output (with ``explain=k`` for the contributions).
    metadata : ModelMetadata, optional
        The model's metadata (thresholds, calibration curve, TIME numbering and rates).
    patient : mapping, optional
        The patient's canonical values (the TMB assay is shown beside the TMB).

    Returns
    -------
    Markup

    Examples
    --------
    >>> model = icipredict.load_model("public")
    >>> row = icipredict.predict({"patient_id": "p1", "tmb": 12}, model=model, explain=3).iloc[0]
    >>> 'id="probability"' in render_result(row, model.metadata)
    True
    """
    return Markup(report_fragment(build_report(row, metadata, patient)))


def _csv(result: pd.DataFrame) -> str:
    """The CSV a user downloads, with the CLI's protection: no text cell can start a spreadsheet formula."""
    return neutralise_formulas(result).to_csv(index=False)


#: The columns the uploaded table shows first, so that a row's group, warnings and inputs are read without
#: scrolling sideways; the others follow in ``predict``'s order (the model version is said once above it).
_FIRST_COLUMNS = ("patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "warnings", "missing_inputs",
                  "inputs_not_used")


def _batch(result: pd.DataFrame, metadata: ModelMetadata | None = None) -> dict[str, Any]:
    """What the page shows of an uploaded table's predictions: the first rows, one cell per column (every row has
    its warnings cell), the benefit groups' meaning, and the whole CSV as a download link."""
    csv = _csv(result)
    order = [c for c in _FIRST_COLUMNS if c in result] + [c for c in result.columns
                                                          if c not in _FIRST_COLUMNS and c != "model_version"]
    shown = result.head(_SHOWN_ROWS)[order]
    rows = [[(f"{v:.3f}" if c.startswith("p_") and not _missing(v) else _cell(v)) for c, v in zip(order, r)]
            for r in shown.itertuples(index=False)]
    uri = ("data:text/csv;charset=utf-8;base64," + base64.b64encode(csv.encode()).decode()
           if len(csv) <= _DATA_URI_LIMIT else None)
    return {"columns": order, "rows": rows, "n": len(result), "csv_uri": uri,
            "groups_text": benefit_groups_text(metadata), "group_meanings": benefit_group_meanings(metadata)}


def _quiet_predict(patients: Any, loaded: Any, explain: int) -> pd.DataFrame:
    """``predict`` without its :class:`InputWarning` (they name a request's columns): the server log stays free of
    request content; the page says what the warning would have said."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return icipredict.predict(patients, model=loaded, explain=explain)


def _unknown_columns(raw: pd.DataFrame) -> str:
    """The note naming the uploaded table's columns the package does not know ("" when none), once per table."""
    cells = [str(c).strip() for c in raw.columns]
    unknown = [c for c, name in zip(cells, resolve_columns(cells, COLUMNS).names) if name not in COLUMNS]
    return unknown_columns_note(unknown) if unknown else ""


def _records(result: pd.DataFrame) -> list[dict[str, Any]]:
    """``predict``'s rows as JSON-ready dicts: NaN as None, numpy scalars as Python ones."""
    obj = result.astype(object).where(result.notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()}
            for rec in obj.to_dict(orient="records")]


# -- /invocations --------------------------------------------------------------------------------

def _json_kind(value: Any) -> str:
    return {dict: "a JSON object", list: "a JSON array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _check_records(records: Any, key: str) -> list[dict]:
    if not isinstance(records, list):
        raise _InvalidRequest(f"{key}: expected a list of patient objects. Got {_json_kind(records)} instead.")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise _InvalidRequest(f"{key}[{i}]: expected a patient object. Got {_json_kind(rec)} instead.")
        for column, value in rec.items():
            if isinstance(value, (dict, list)):
                who = trim(rec.get("patient_id", f"row {i + 1}"))
                raise _InvalidRequest(f"patient {who!r}, column {trim(column)!r}: expected a number, a string or "
                                      f"null. Got {_json_kind(value)} instead.")
    return records


def _columns_frame(columns: Any, data: Any, key: str) -> pd.DataFrame:
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _InvalidRequest(f"{key}.columns: expected a list of column names. Got {_json_kind(columns)} instead.")
    if not isinstance(data, list):
        raise _InvalidRequest(f"{key}.data: expected a list of rows. Got {_json_kind(data)} instead.")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            got = f"{len(row)} values" if isinstance(row, list) else _json_kind(row)
            raise _InvalidRequest(f"{key}.data[{i}]: expected a list of {len(columns)} values (one per column). "
                                  f"Got {got} instead.")
    records = [dict(zip(columns, row)) for row in data]
    return pd.DataFrame(_check_records(records, key), columns=columns)


def _frame(key: str, value: Any) -> pd.DataFrame:
    if key == "dataframe_split":
        if not isinstance(value, dict):
            raise _InvalidRequest(f"dataframe_split: expected an object with 'columns' and 'data'. "
                                  f"Got {_json_kind(value)} instead.")
        return _columns_frame(value.get("columns"), value.get("data"), key)
    if key in ("instances", "inputs") and isinstance(value, dict):  # column -> list of values
        lists = list(value.values())
        if not all(isinstance(v, list) for v in lists) or len({len(v) for v in lists}) > 1:
            raise _InvalidRequest(f"{key}: expected a list of patient objects, or an object of equally long "
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


def _too_many(n: int, max_rows: int) -> str:
    return (f"too many patients in one request: expected at most {max_rows} ({MAX_ROWS_ENV}). Got {n} instead. "
            "Send smaller batches.")


def _explain_param(params: Any) -> int:
    if not isinstance(params, dict):
        raise _InvalidRequest(f"params: expected an object such as {{\"explain\": 3}}. Got {_json_kind(params)} instead.")
    unknown = sorted(set(params) - {"explain"})
    if unknown:
        raise _InvalidRequest(f"params: expected only 'explain'. Got {trim(unknown)} instead.")
    k = params.get("explain", 0)
    if not is_explain(k):
        raise _InvalidRequest(explain_error("params.explain", trim(json.dumps(k))))
    return k


def parse_invocation(body: bytes, mimetype: str = "application/json", *,
                     max_rows: int = DEFAULT_MAX_ROWS) -> tuple[pd.DataFrame, int]:
    """Patients and ``explain`` from a body in MLflow's scoring-server format.

    JSON with exactly one of ``dataframe_records``, ``dataframe_split``, ``instances`` or
    ``inputs`` (records, or an object of column lists), and optionally ``params``
    (``{"explain": k}``); or a CSV table when ``mimetype`` is ``text/csv``.

    Raises
    ------
    InvalidPatientData
        The body is not such a request (its message never repeats patient rows).

    Examples
    --------
    >>> df, k = parse_invocation(b'{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": 2}}')
    >>> (len(df), k)
    (1, 2)
    """
    if mimetype == "text/csv":
        frame, explain = read_table_bytes(body, "request.csv"), 0
    else:
        try:
            payload = json.loads(body)
        except UnicodeDecodeError:
            raise _InvalidRequest("the request body is not UTF-8 text; expected a JSON object. Got undecodable "
                                  "bytes instead.") from None
        except json.JSONDecodeError as err:
            raise _InvalidRequest(f"the request body is not valid JSON ({err.msg} at line {err.lineno} column "
                                  f"{err.colno}); expected a JSON object with one of {', '.join(INPUT_FORMATS)}. "
                                  "Got invalid JSON instead.") from None
        keys = [k for k in INPUT_FORMATS if isinstance(payload, dict) and k in payload]
        extra = sorted(set(payload) - {*INPUT_FORMATS, "params"}) if isinstance(payload, dict) else []
        if len(keys) != 1 or extra:
            got = (_json_kind(payload) if not isinstance(payload, dict)
                   else f"the keys {trim(sorted(payload), 2 * _TRIM)}")
            raise _InvalidRequest(f"expected a JSON object with exactly one of {', '.join(INPUT_FORMATS)} "
                                  f"(and optionally params). Got {got} instead.")
        n = _rows_in(keys[0], payload[keys[0]])
        if n > max_rows:
            raise _InvalidRequest(_too_many(n, max_rows))
        params = payload.get("params")
        explain = _explain_param({} if params is None else params)
        frame = _frame(keys[0], payload[keys[0]])
    if len(frame) > max_rows:
        raise _InvalidRequest(_too_many(len(frame), max_rows))
    if len(frame) == 0:
        raise _InvalidRequest("expected at least one patient. Got an empty list instead.")
    return frame, explain


# -- the application -----------------------------------------------------------------------------

class _MemoryRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        # werkzeug spools uploads over 500 KB to a temporary file: patient tables must never reach the disk
        return io.BytesIO()


class _App(Flask):
    request_class = _MemoryRequest

    def log_exception(self, exc_info) -> None:
        # the stack, not the message: an unexpected error's message may quote patient values
        etype, _, tb = exc_info
        self.logger.error("internal error on %s %s: %s (message withheld)\n%s", request.method, request.path,
                          etype.__name__, "".join(traceback.format_tb(tb)))


def create_app(model: Any = "public", *, max_rows: int | None = None, max_bytes: int | None = None) -> Flask:
    """The calculator as a Flask application, with its model loaded once.

    Parameters
    ----------
    model : str, path or loaded model
        Anything :func:`icipredict.load_model` accepts.
    max_rows, max_bytes : int, optional
        Per-request limits (default: ``ICIPREDICT_MAX_REQUEST_ROWS`` (50,000) and
        ``ICIPREDICT_MAX_REQUEST_BYTES`` (128 MiB)).

    Returns
    -------
    Flask

    Examples
    --------
    >>> client = create_app("public").test_client()  # doctest: +SKIP
    >>> client.get("/ping").status_code  # doctest: +SKIP
    200
    """
    loaded = icipredict.load_model(model)
    max_rows = request_limit(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, max_rows)
    max_bytes = request_limit(MAX_BYTES_ENV, _DEFAULT_MAX_BYTES, max_bytes)
    web = resources.files("icipredict").joinpath("web")
    app = _App(__name__, template_folder=str(web.joinpath("templates")), static_folder=str(web.joinpath("static")))
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    explain_choices = tuple(range(min(FORM_EXPLAIN, MAX_EXPLAIN) + 1))

    def page(status: int = 200, *, values: Mapping[str, str] | None = None,
             field_errors: Mapping[str, list[str]] | None = None, **context: Any) -> tuple[str, int]:
        values = values or {}
        return render_template(
            "index.html", sections=form_sections(values, field_errors), values=values,
            id_errors=(field_errors or {}).get("patient_id", []), model_version=loaded.version,
            version=icipredict.__version__, max_rows=max_rows, explain_choices=explain_choices,
            n_field_errors=sum(len(v) for v in (field_errors or {}).values()), **context), status

    def bad_request(message: str) -> tuple[Response, int]:
        return Response(json.dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": message}),
                        mimetype="application/json"), 400

    @app.get("/")
    def index():
        return page()

    @app.post("/")
    def one_patient():
        values = {k: request.form.get(k, "") for k in ("patient_id", *PREDICTORS)}
        try:
            patient = patient_from_form(values)
            result = _quiet_predict(patient, loaded, REPORT_EXPLAIN)
        except InvalidPatientData as exc:
            by_field, general = _errors_by_field(exc, ("patient_id", *PREDICTORS))
            return page(400, values=values, field_errors=by_field, form_errors=general)
        return page(values=values, result=render_result(result.iloc[0], loaded.metadata, patient))

    @app.post("/upload")
    def upload():
        table = request.files.get("table")
        explain = request.form.get("explain", "0")
        if table is None or not table.filename:
            return page(400, upload_errors=["Choose a patient table (CSV, Parquet or .xlsx) to upload."],
                        explain_chosen=explain)
        if explain not in {str(k) for k in explain_choices}:
            return page(400, upload_errors=[f"explain: expected one of {list(explain_choices)}. "
                                            f"Got {trim(explain)!r} instead."])
        chosen = {"explain_chosen": explain}  # the page keeps the setting, whatever the upload gives
        try:
            raw = read_table_bytes(table.read(), table.filename)
            if len(raw) > max_rows:
                return page(400, upload_errors=[_too_many(len(raw), max_rows) + " Or use icipredict predict."],
                            upload_name=trim(table.filename), **chosen)
            result = _quiet_predict(raw, loaded, int(explain))  # the page names unknown columns itself, once
        except InvalidPatientData as exc:
            return page(400, upload_errors=[_error_message(exc)], upload_name=trim(table.filename), **chosen)
        if request.form.get("action") == "download":
            return Response(_csv(result), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=predictions.csv"})
        return page(batch=_batch(result, loaded.metadata), upload_name=trim(table.filename), explain_chosen=explain,
                    unknown_columns=_unknown_columns(raw))

    @app.post("/invocations")
    def invocations():
        try:
            frame, explain = parse_invocation(request.get_data(cache=False), request.mimetype, max_rows=max_rows)
            result = _quiet_predict(frame, loaded, explain)
        except InvalidPatientData as exc:
            return bad_request(_error_message(exc))
        body = json.dumps({"predictions": _records(result)}, allow_nan=False)
        return Response(body, mimetype="application/json")

    @app.get("/ping")
    def ping():
        return Response("\n", mimetype="text/plain")

    @app.get("/version")
    def version():
        return {"icipredict": icipredict.__version__, "model_version": loaded.version,
                "model": loaded.metadata.name}

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_err):
        size = f"{request.content_length} bytes" if request.content_length else "a longer body"
        message = (f"the request is too large: expected at most {max_bytes} bytes ({MAX_BYTES_ENV}). Got {size} "
                   "instead. Send fewer patients per call.")
        return bad_request(message) if request.path == "/invocations" else page(400, upload_errors=[message])

    @app.errorhandler(InternalServerError)
    def internal_error(_err):
        message = "internal error; the server log has the stack (without patient data)"
        if request.path == "/invocations":
            return Response(json.dumps({"error_code": "INTERNAL_ERROR", "message": message}),
                            mimetype="application/json"), 500
        return page(500, form_errors=[message])

    return app


# -- the server ----------------------------------------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    """Access log with method, path and status only: query strings and bodies may hold patient data."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "") or "").path
        self.log("info", "%s %s %s", getattr(self, "command", "-"), trim(path), code)

    def log_error(self, format: str, *args: Any) -> None:
        # http.server passes the raw request line to some errors: keep the status code only
        self.log("error", "request error %s", args[0] if args and isinstance(args[0], int) else "")


def host_warning(host: str) -> str | None:
    """The warning for a host that is not loopback, else None.

    >>> host_warning("127.0.0.1") is None
    True
    """
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return None
    return (f"--host {host} is not a loopback address: the calculator, and the patient data sent to it, would be "
            "reachable from the network (no authentication, no encryption). Use the default 127.0.0.1 unless "
            "that is intended.")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(model: Any = "public", host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the calculator with werkzeug's server until Ctrl-C (or SIGTERM); the model loads first.

    Raises
    ------
    ModelLoadError
        The model cannot be loaded (the server never starts).
    ServeError
        The address cannot be listened on.

    Examples
    --------
    >>> serve("public", port=8000)  # doctest: +SKIP
    """
    loaded = icipredict.load_model(model)
    app = create_app(loaded)
    warning = host_warning(host)
    if warning:
        print(f"icipredict: warning: {warning}", file=sys.stderr, flush=True)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # our own socket, because werkzeug's make_server exits the process when it cannot bind
        sock = socket.create_server((host.strip("[]"), port), family=family)
    except (OSError, OverflowError) as err:
        raise ServeError(f"--host {host} --port {port}: cannot listen there; expected a free port on a local "
                         f"address. Got {getattr(err, 'strerror', None) or err} instead.") from None
    with sock:
        server = make_server(host.strip("[]"), port, app, threaded=True, request_handler=_QuietHandler,
                             fd=sock.fileno())
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    print(f"icipredict calculator (model {loaded.version}) on http://{shown}:{server.port}/ ; Ctrl-C to stop. "
          "Decision support for research, not a medical device.", file=sys.stderr, flush=True)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if main:
            signal.signal(signal.SIGTERM, previous)
        print("icipredict: server stopped", file=sys.stderr, flush=True)
    return 0
