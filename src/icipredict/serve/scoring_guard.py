"""The byte and nesting limits under MLflow's own server (``mlflow models serve``).

MLflow's scoring server reads a request's whole body and parses its JSON before the model sees
anything, so the pyfunc's row limit alone would let a 50 MB body through (answered in full) and a
body of 100,000 nested arrays end in MLflow's HTTP 500 (a ``RecursionError`` in its parser). When
the icipredict pyfunc is loaded inside that server, :func:`guard_scoring_server` wraps the server's
``invocations`` function so that each body is first checked against ``ICIPREDICT_MAX_REQUEST_BYTES``
(HTTP 413) and ``ICIPREDICT_MAX_JSON_DEPTH`` (HTTP 400), the limits ``icipredict serve`` applies
(:mod:`icipredict.io.limits`), and each answer is mended to match ``icipredict serve``: empty values
as JSON ``null`` (MLflow writes a bare ``NaN``), and no request rows quoted in an error. The body
has already been read into memory by then: what this closes is the silent or crashing answer, not
the memory a huge body takes (for that, a proxy's body limit or ``icipredict serve``, which stops
reading at the limit).

Outside MLflow's server (Python, Spark, ``mlflow models predict``) nothing is changed. If a future
MLflow moves the function, the guard says so once and leaves the server as it is.
"""

from __future__ import annotations

import json
import math
import sys
import warnings

from icipredict.io.limits import MAX_BYTES_ENV, MAX_DEPTH_ENV, Limits, json_depth, too_deep

__all__ = ["guard_scoring_server", "SERVER_MODULE"]

#: The module of MLflow's scoring server; the guard acts only when it is loaded.
SERVER_MODULE = "mlflow.pyfunc.scoring_server"
_MARK = "_icipredict_limits"


def _refusal(server, status: int, message: str):
    return server.InvocationsResponse(response=json.dumps({"error_code": "BAD_REQUEST", "message": message}),
                                      status=status, mimetype="application/json")


def _json_null(value):
    """``value`` with every NaN or infinity replaced by None (JSON's null), through lists and dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_json_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_null(v) for k, v in value.items()}
    return value


#: MLflow's wrappers around a model's error, which quote the request's rows (kept: the text after them).
_QUOTING = ("Failed to predict data '", "Failed to enforce schema of data '")


def _unquoted(message: str) -> str:
    """The reason of an MLflow error wrapper, without the request's rows it quotes.

    >>> _unquoted("Failed to predict data '  patient_id note\\n0  MRN-1  Error: x'. \\nError: bad curve_times")
    'bad curve_times'
    """
    for mark in ("'. \nError: ", "'. Error: ", "Error: "):  # the end of the quote, most precise first
        cut = message.find(mark)
        if cut >= 0:
            return message[cut + len(mark):].strip()
    return "invalid request (the reason quoted the request)"


def _answer(server, response):
    """MLflow's answer made valid JSON and free of patient rows.

    MLflow writes an empty value as a bare ``NaN``, which JSON parsers refuse (``icipredict serve``
    writes ``null``), and its error wrappers quote the request's rows; both are mended here.
    """
    body = getattr(response, "response", None)
    if not isinstance(body, str) or not body.startswith("{"):
        return response
    try:
        payload = json.loads(body)
    except ValueError:
        return response
    if response.status >= 400 and isinstance(payload.get("message"), str):
        message = payload["message"]
        if message.startswith(_QUOTING):
            payload["message"] = _unquoted(message)
            body = json.dumps(payload)
    elif "NaN" in body or "Infinity" in body:
        body = json.dumps(_json_null(payload), allow_nan=False)
    return response._replace(response=body) if body is not response.response else response


def guard_scoring_server() -> bool:
    """Check every ``/invocations`` body of MLflow's scoring server against the byte and nesting limits.

    Returns True when the server's ``invocations`` is guarded (now or already), False outside it.

    >>> guard_scoring_server()  # in a plain Python session: MLflow's server is not loaded
    False
    """
    server = sys.modules.get(SERVER_MODULE)
    if server is None:
        return False
    original = getattr(server, "invocations", None)
    if getattr(original, _MARK, False):
        return True
    if original is None or not hasattr(server, "InvocationsResponse"):
        warnings.warn(f"icipredict: {SERVER_MODULE} has no invocations/InvocationsResponse in this MLflow version; "
                      f"{MAX_BYTES_ENV} and {MAX_DEPTH_ENV} are not applied by mlflow models serve (the row limit is)",
                      RuntimeWarning, stacklevel=2)
        return False

    def invocations(data, content_type, *args, **kwargs):
        limits = Limits.read()
        body = data.encode() if isinstance(data, str) else bytes(data or b"")  # FastAPI hands over bytes
        if len(body) > limits.bytes:
            return _refusal(server, 413, f"the request body is {len(body):,} bytes; expected at most "
                                         f"{limits.bytes:,} ({MAX_BYTES_ENV}). Got a larger body instead: send fewer "
                                         "patients per request.")
        depth = json_depth(body) if (content_type or "").split(";")[0].strip() in ("application/json", "") else 0
        if depth > limits.depth:
            return _refusal(server, 400, too_deep(depth, limits.depth))
        try:
            response = original(data, content_type, *args, **kwargs)
        except Exception as exc:  # MLflow raises its error wrappers (quoting the rows) out of invocations
            message = getattr(exc, "message", None)
            if isinstance(message, str) and message.startswith(_QUOTING):
                exc.message = _unquoted(message)
            raise
        return _answer(server, response)

    setattr(invocations, _MARK, True)
    invocations.__wrapped__ = original
    server.invocations = invocations
    return True
