"""The byte and nesting limits under MLflow's own server (``mlflow models serve``).

MLflow's scoring server reads a request's whole body and parses its JSON before the model sees
anything, so the pyfunc's row limit alone would let a 50 MB body through (answered in full) and a
body of 100,000 nested arrays end in MLflow's HTTP 500 (a ``RecursionError`` in its parser). When
the icipredict pyfunc is loaded inside that server, :func:`guard_scoring_server` wraps the server's
``invocations`` function so that each body is first checked against ``ICIPREDICT_MAX_REQUEST_BYTES``
(HTTP 413) and ``ICIPREDICT_MAX_JSON_DEPTH`` (HTTP 400), the limits ``icipredict serve`` applies
(:mod:`icipredict.io.limits`). The body has already been read into memory by then: what this closes
is the silent or crashing answer, not the memory a huge body takes (for that, a proxy's body limit or
``icipredict serve``, which stops reading at the limit).

Outside MLflow's server (Python, Spark, ``mlflow models predict``) nothing is changed. If a future
MLflow moves the function, the guard says so once and leaves the server as it is.
"""

from __future__ import annotations

import json
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
        return original(data, content_type, *args, **kwargs)

    setattr(invocations, _MARK, True)
    invocations.__wrapped__ = original
    server.invocations = invocations
    return True
