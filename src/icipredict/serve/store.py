"""The MLflow store a model is read from: which store, and the bundle inside an MLflow model.

:mod:`icipredict.fitting.tracking` writes runs and models to the same store (and re-exports
:func:`resolve_tracking_uri`). mlflow is imported inside the functions only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from icipredict.exceptions import ModelLoadError
from icipredict.model.bundle import find_bundle

__all__ = ["DEFAULT_TRACKING_URI", "TRACKING_ORIGINS", "resolve_tracking_uri", "remember_origin", "mlflow_module",
           "download_bundle"]

#: Where runs go when neither the config nor MLFLOW_TRACKING_URI names a store.
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


#: Where a tracking URI came from (:func:`resolve_tracking_uri`), in words.
TRACKING_ORIGINS: dict[str, str] = {
    "config": "from the config's tracking.uri or --tracking-uri",
    "MLFLOW_TRACKING_URI": "from the environment variable MLFLOW_TRACKING_URI",
    "default": "the default: no tracking.uri in the config and no MLFLOW_TRACKING_URI set",
}

#: URIs this process handed to ``mlflow.set_tracking_uri`` (which sets MLFLOW_TRACKING_URI), by where they came from
#: (:func:`remember_origin`).
_SET_HERE: dict[str, str] = {}


def remember_origin(uri: str, origin: str) -> None:
    """Note that this process set ``uri`` as the tracking URI, from ``origin``: MLflow writes it into
    MLFLOW_TRACKING_URI, and :func:`resolve_tracking_uri` keeps saying where it really came from."""
    if origin != "MLFLOW_TRACKING_URI":
        _SET_HERE[uri] = origin


def resolve_tracking_uri(configured: str | None) -> tuple[str, Literal["config", "MLFLOW_TRACKING_URI", "default"]]:
    """The tracking URI a run uses and where it came from, by MLflow's own precedence.

    >>> resolve_tracking_uri("sqlite:///runs.db")
    ('sqlite:///runs.db', 'config')
    """
    if configured:
        return configured, "config"
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        # mlflow.set_tracking_uri writes the variable itself: a URI this process set keeps its own origin
        return env, _SET_HERE.get(env, "MLFLOW_TRACKING_URI")  # type: ignore[return-value]
    return DEFAULT_TRACKING_URI, "default"


def mlflow_module():
    """``mlflow``, imported on first use, its logger quiet and its download bars off."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return mlflow


def download_bundle(uri: str) -> Path:
    """Local path of the model bundle inside an MLflow model (``runs:/<id>/model``, ``models:/...``)."""
    mlflow = mlflow_module()
    from mlflow.tracking._tracking_service import utils as tracking_utils

    if not getattr(tracking_utils, "is_tracking_uri_set", lambda: True)():
        # the store `icipredict train` logs to by default, so that a printed runs:/ URI works as printed
        mlflow.set_tracking_uri(resolve_tracking_uri(None)[0])
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:
        raise ModelLoadError(f"model {uri!r}: could not download it from MLflow ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300]}). Is MLFLOW_TRACKING_URI set to the right store?") from None
    found = find_bundle(local)
    if found is not None:
        return found
    raise ModelLoadError(f"model {uri!r}: no icipredict bundle inside (looked for artifacts/bundle/model.json).")
