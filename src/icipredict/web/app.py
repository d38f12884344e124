"""The local calculator behind ``icipredict serve``: a one-patient form, a table upload and ``/invocations``.

Decision support for research, not a medical device. Patient data stay in memory: uploads are
parsed from bytes (never spooled to a temporary file), downloads are generated on the fly, and the
access log names only the method, path and status. Only ``icipredict serve`` imports this module,
so ``icipredict --help`` never loads Flask.

The form, the request parsing and the rendering live in :mod:`~icipredict.web.forms`,
:mod:`~icipredict.web.requests` and :mod:`~icipredict.web.render`; this module holds the routes and the
server.

Routes: ``GET /`` and ``POST /`` (form), ``POST /upload`` (CSV / Parquet / Excel table),
``POST /invocations`` (MLflow scoring-server JSON; ``params.curve_times`` or ``?curve_times=3,6,12``
adds each patient's progression-free curve as ``curve``), ``GET /ping`` and ``GET /version``.
"""

from __future__ import annotations

import io
import ipaddress
import json
import socket
import sys
import traceback
import warnings
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, render_template, request
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server

from icipredict import __version__
from icipredict.exceptions import IcipredictError, InputWarning, InvalidPatientData, stop_signals, trim
from icipredict.io.limits import MAX_BYTES_ENV, MAX_ROWS_ENV, Limits
from icipredict.io.table import read_table_bytes
from icipredict.report.content import REPORT_EXPLAIN
from icipredict.serve.predict import MAX_EXPLAIN, load_model, predict
from icipredict.serve.words import unknown_columns, unknown_columns_note
from icipredict.table.schema import PREDICTORS
from icipredict.web.forms import Field, error_message, errors_by_field, form_sections, patient_from_form  # re-exported
from icipredict.report.patient import patient_curve
from icipredict.web.render import batch_result, curve_answer, render_result, result_csv, result_records  # re-exported
from icipredict.web.requests import UnsupportedBody, parse_invocation, parse_scoring_request, too_many_rows  # re-exported

__all__ = ["create_app", "serve", "render_result", "form_sections", "patient_from_form", "parse_invocation",
           "host_warning", "Field", "ServeError", "MAX_ROWS_ENV", "MAX_BYTES_ENV"]

# the request limits (rows, bytes, JSON nesting, Excel packing, columns) are defined in icipredict.io.limits
#: Contributions offered for an uploaded table (the one-patient form shows the report's, REPORT_EXPLAIN).
FORM_EXPLAIN = 5
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ServeError(IcipredictError, OSError):
    """The server cannot start (port taken, address unknown, ...)."""



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


def _quiet_predict(patients: Any, loaded: Any, explain: int):
    """``predict`` without its :class:`InputWarning` (they name a request's columns): the server log stays free of
    request content; the page says what the warning would have said."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return predict(patients, model=loaded, explain=explain)


def _unknown_columns(raw) -> str:
    """The note naming the uploaded table's columns the package does not know ("" when none), once per table."""
    unknown = unknown_columns(raw.columns)
    return unknown_columns_note(unknown) if unknown else ""


def create_app(model: Any = "public", *, max_rows: int | None = None, max_bytes: int | None = None) -> Flask:
    """The calculator as a Flask application, with its model loaded once.

    Parameters
    ----------
    model : str, path or loaded model
        Anything :func:`icipredict.load_model` accepts.
    max_rows, max_bytes : int, optional
        Per-request limits (default: ``ICIPREDICT_MAX_REQUEST_ROWS`` (50,000) and
        ``ICIPREDICT_MAX_REQUEST_BYTES`` (128 MiB); every limit is in :mod:`icipredict.io.limits`).
        A body over the byte limit is answered 413, with or without a Content-Length: it is read
        up to the limit and refused at the first byte over it, never cut and answered.

    Returns
    -------
    Flask

    Examples
    --------
    >>> client = create_app("public").test_client()  # doctest: +SKIP
    >>> client.get("/ping").status_code  # doctest: +SKIP
    200
    """
    loaded = load_model(model)
    limits = Limits.read(rows=max_rows, bytes=max_bytes)
    max_rows, max_bytes = limits.rows, limits.bytes
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
            version=__version__, max_rows=max_rows, explain_choices=explain_choices,
            n_field_errors=sum(len(v) for v in (field_errors or {}).values()), **context), status

    def bad_request(message: str) -> tuple[Response, int]:
        return Response(json.dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": message}),
                        mimetype="application/json"), 400

    @app.before_request
    def bounded_body():
        """A body without Content-Length (chunked) is read here up to the byte limit: over it is a 413."""
        if request.method != "POST" or request.content_length is not None:
            return None  # a declared length over the limit is refused by werkzeug (MAX_CONTENT_LENGTH)
        stream = request.environ.get("wsgi.input")
        data, size = [], 0
        while stream is not None and size <= max_bytes:
            block = stream.read(min(1 << 16, max_bytes + 1 - size))
            if not block:
                break
            data.append(block)
            size += len(block)
        if size > max_bytes:
            raise RequestEntityTooLarge()
        body = b"".join(data)
        request.environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
                                "wsgi.input_terminated": False})
        request.environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None

    @app.get("/")
    def index():
        return page()

    @app.post("/")
    def one_patient():
        if request.mimetype not in _FORM_TYPES and (request.mimetype or request.content_length):
            return page(415, form_errors=[f"the form takes a submitted form (application/x-www-form-urlencoded); "
                                          f"expected the page's form, or JSON sent to POST /invocations. Got "
                                          f"{trim(request.mimetype or 'no Content-Type')!r} instead."])
        values = {k: request.form.get(k, "") for k in ("patient_id", *PREDICTORS)}
        try:
            patient = patient_from_form(values)
            result = _quiet_predict(patient, loaded, REPORT_EXPLAIN)
            curve, horizon = patient_curve(loaded, patient)
        except InvalidPatientData as exc:
            by_field, general = errors_by_field(exc, ("patient_id", *PREDICTORS))
            return page(400, values=values, field_errors=by_field, form_errors=general)
        return page(values=values, result=render_result(result.iloc[0], loaded.metadata, patient, curve=curve,
                                                        horizon=horizon))

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
            raw = read_table_bytes(table.read(), table.filename, max_rows=max_rows)
            if len(raw) > max_rows:
                return page(400, upload_errors=[too_many_rows(len(raw), max_rows) + " Or use icipredict predict."],
                            upload_name=trim(table.filename), **chosen)
            result = _quiet_predict(raw, loaded, int(explain))  # the page names unknown columns itself, once
        except InvalidPatientData as exc:
            return page(400, upload_errors=[error_message(exc)], upload_name=trim(table.filename), **chosen)
        if request.form.get("action") == "download":
            return Response(result_csv(result), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=predictions.csv"})
        return page(batch=batch_result(result, loaded.metadata), upload_name=trim(table.filename),
                    unknown_columns=_unknown_columns(raw), **chosen)

    @app.post("/invocations")
    def invocations():
        unknown = sorted(set(request.args) - {"curve_times"})
        if unknown:  # a CSV body takes its parameters from the query string: one it does not read is not ignored
            return bad_request(f"query string: expected only 'curve_times' (explain goes in a JSON body's params). "
                               f"Got {trim(str(unknown))} instead.")
        if len(request.args.getlist("curve_times")) > 1:  # one list, not a repeated parameter read as its first
            return bad_request("query string: expected curve_times once, as one comma-separated list (e.g. "
                               f"curve_times=3,6,12). Got it {len(request.args.getlist('curve_times'))} times instead.")
        try:
            call = parse_scoring_request(request.get_data(cache=False), request.mimetype, max_rows=max_rows,
                                         max_depth=limits.depth, curve_query=request.args.get("curve_times"))
            if call.curve_times is not None and not loaded.has_curve:
                return bad_request(f"curve_times: model {loaded.version} has no progression-free curve (it predicts "
                                   "durable benefit at 6 months only); expected a request without curve_times. Got "
                                   "curve_times instead.")
            result = _quiet_predict(call.frame, loaded, call.explain)
            answer: dict[str, Any] = {"predictions": result_records(result)}
            if call.curve_times is not None:
                answer.update(curve_answer(loaded, call.frame, call.curve_times))
        except UnsupportedBody as exc:
            return bad_request(str(exc))[0], 415
        except InvalidPatientData as exc:
            return bad_request(error_message(exc))
        body = json.dumps(answer, allow_nan=False)
        return Response(body, mimetype="application/json")

    @app.get("/ping")
    def ping():
        return Response("\n", mimetype="text/plain")

    @app.get("/version")
    def version():
        return {"icipredict": __version__, "model_version": loaded.version,
                "model": loaded.metadata.name}

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_err):
        size = f"{request.content_length} bytes" if request.content_length else "a longer body"
        message = (f"the request is too large: expected at most {max_bytes} bytes ({MAX_BYTES_ENV}). Got {size} "
                   "instead. Send fewer patients per call.")
        if request.path == "/invocations":
            return bad_request(message)[0], 413
        return page(413, upload_errors=[message])

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


def serve(model: Any = "public", host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the calculator with werkzeug's server until Ctrl-C, SIGTERM or SIGHUP; the model loads first.

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
    loaded = load_model(model)
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
    try:
        with stop_signals():  # SIGTERM and SIGHUP stop the server as Ctrl-C does
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("icipredict: server stopped", file=sys.stderr, flush=True)
    return 0
