"""Prediction: ``predict(patients, model="public", explain=0)`` and the model loader.

The same function backs the Python API, ``icipredict predict``, the MLflow pyfunc (and so the
REST endpoint and Spark UDF) and the calculator page. Loading a model directory never imports
mlflow; MLflow URIs (``runs:/``, ``models:/``, ...) are resolved through :mod:`icipredict.tracking`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.time_class import time_class
from icipredict.exceptions import InvalidPatientData
from icipredict.explain import contributions, top_contributions
from icipredict.features import FEATURE_GROUPS
from icipredict.io.bundle import bundle_digest, find_bundle, read_bundle, shipped_model_path, shipped_models
from icipredict.metadata import ModelMetadata
from icipredict.models import IciModel
from icipredict.schema import check_patients
from icipredict.tracking import download_bundle
from icipredict.vocab import BENEFIT_GROUPS

__all__ = ["predict", "load_model", "model_uri", "LoadedModel", "shipped_models", "OUTPUT_COLUMNS"]

#: Columns of every prediction table, in order (``top{i}_*`` follow when ``explain=k``).
OUTPUT_COLUMNS = ("patient_id", "p_durable_benefit", "benefit_group", "time_class", "missing_inputs", "warnings",
                  "model_version")
_MLFLOW_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/", "dbfs:/", "s3://", "gs://", "wasbs://", "http://",
                   "https://")


def model_uri(name: str = "public") -> str:
    """Path of a shipped model: an MLflow model directory, usable wherever a model is expected.

    ``mlflow models serve -m "$(python -c 'import icipredict; print(icipredict.model_uri())')"``
    serves it without any training run.

    >>> model_uri("public").endswith("public")  # doctest: +SKIP
    True
    """
    return str(shipped_model_path(name))


@dataclass
class LoadedModel:
    """A verified model bundle ready to predict."""

    model: IciModel
    metadata: ModelMetadata
    path: Path
    version: str

    def predict_proba(self, clean: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(clean)[:, 1]

    def predict(self, patients, explain: int = 0) -> pd.DataFrame:
        return predict(patients, model=self, explain=explain)


_CACHE: dict[tuple[str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def _resolve(model: str | os.PathLike) -> Path:
    text = str(model)
    if text.startswith(_MLFLOW_SCHEMES):
        return download_bundle(text)
    if os.sep in text or "/" in text or Path(text).exists():
        path = Path(text)
        return find_bundle(path) or path  # a bundle, or an MLflow model folder holding one
    return find_bundle(shipped_model_path(text))  # type: ignore[return-value]


def load_model(model: str | os.PathLike | LoadedModel = "public") -> LoadedModel:
    """Load a model by shipped name, bundle directory, MLflow model directory or MLflow model URI.

    Raises
    ------
    ModelLoadError
        Unknown name, missing directory, incomplete or tampered bundle (an unlisted, missing or
        changed file), or a ``model.json`` that breaks the model file contract.
    """
    if isinstance(model, LoadedModel):
        return model
    path = _resolve(model).resolve()
    stamp = path / "checksums.sha256"
    key = (str(path), f"{stamp.stat().st_mtime_ns}-{stamp.stat().st_size}" if stamp.is_file() else "")
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    meta, estimator = read_bundle(path)
    fitted = IciModel.from_spec(meta.estimator, estimator, meta.calibrator, meta.feature_names, meta.feature_options)
    loaded = LoadedModel(fitted, meta, path, f"{meta.name}-{bundle_digest(path)[:12]}")
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


def _as_frame(patients) -> pd.DataFrame:
    if isinstance(patients, pd.DataFrame):
        return patients
    if isinstance(patients, Mapping):
        return pd.DataFrame([dict(patients)])
    if isinstance(patients, Sequence) and not isinstance(patients, (str, bytes)):
        if not all(isinstance(p, Mapping) for p in patients):
            raise InvalidPatientData("patients: expected a DataFrame, a dict or a list of dicts. Got a list "
                                     "with non-dict items instead.")
        return pd.DataFrame([dict(p) for p in patients])
    raise InvalidPatientData(f"patients: expected a DataFrame, a dict or a list of dicts. Got "
                             f"{type(patients).__name__} instead.")


def _group_presence(clean: pd.DataFrame) -> np.ndarray:
    """(patients x input groups) True where at least one column of the group is given."""
    known = clean.notna()
    return np.column_stack([known[list(cols)].to_numpy().any(axis=1) for cols in FEATURE_GROUPS.values()])


def _missing_inputs(present: np.ndarray) -> list[str]:
    names = list(FEATURE_GROUPS)
    return ["; ".join(n for n, here in zip(names, row) if not here) for row in present]


def _warnings(clean: pd.DataFrame, meta: ModelMetadata, present: np.ndarray) -> list[str]:
    train = meta.training
    n = len(clean)
    notes: list[list[str]] = [[] for _ in range(n)]
    drivers = clean[list(DRIVER_COLUMNS)].astype(float).to_numpy() == 1
    for i in np.flatnonzero(drivers.any(axis=1)):
        genes = ", ".join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, drivers[i]) if hit)
        notes[i].append(f"driver-positive tumour ({genes}): usually excluded from ICI monotherapy, "
                        f"{train.driver_positive_share:.0%} of training patients")
    seen = set(train.regimens)
    if seen:
        reg = clean["regimen"].astype(object)
        for i in np.flatnonzero((reg.notna() & ~reg.isin(seen)).to_numpy()):
            notes[i].append(f"regimen {reg.iloc[i]} never seen in training (seen: {', '.join(sorted(seen))})")
    kinds = set(train.tmb_assay_kinds)
    if kinds:
        kind = tmb_assay_kind(clean)
        for i in np.flatnonzero((kind.notna() & ~kind.isin(kinds)).to_numpy()):
            notes[i].append(f"TMB assay kind {kind.iloc[i]} ({clean['tmb_assay'].iloc[i]}) never seen in training")
    for col, r in train.ranges.items():
        v = clean[col].astype(float).to_numpy()
        out = (v < r.min) | (v > r.max)
        for i in np.flatnonzero(out):
            notes[i].append(f"{col} {v[i]:g} outside the training range {r.min:g}-{r.max:g}")
    n_groups = len(FEATURE_GROUPS)
    for i in np.flatnonzero(present.sum(axis=1) < n_groups / 3):
        notes[i].append(f"only {int(present[i].sum())} of {n_groups} input groups given: the prediction is close "
                        "to the training average")
    return ["; ".join(x) for x in notes]


def predict(patients: pd.DataFrame | Mapping | Sequence[Mapping], model: str | os.PathLike | LoadedModel = "public",
            explain: int = 0) -> pd.DataFrame:
    """Probability of durable clinical benefit for each patient, in input order.

    Parameters
    ----------
    patients : DataFrame, dict, or list of dicts
        Canonical patient table (see ``schema.COLUMNS``); only ``patient_id`` is required. Outcome
        and unknown columns are ignored.
    model : str, path or LoadedModel
        Shipped model name (``"public"``), bundle directory or MLflow model URI.
    explain : int
        Add the ``explain`` features that moved each prediction most (``top{i}_feature``,
        ``top{i}_value``, ``top{i}_shap``; SHAP values on the calibrated log-odds scale).

    Returns
    -------
    DataFrame
        ``patient_id``, ``p_durable_benefit``, ``benefit_group`` (low / intermediate / high likelihood
        of durable benefit, thresholds in the model card), ``time_class``, ``missing_inputs``, ``warnings``, ``model_version``.

    Raises
    ------
    InvalidPatientData
        The table breaks the schema (the message names the patient and column).

    Examples
    --------
    >>> predict({"patient_id": "p1", "pdl1_tps": 80, "tmb": 20})  # doctest: +SKIP
    """
    if not isinstance(explain, (int, np.integer)) or isinstance(explain, bool) or explain < 0:
        raise ValueError(f"explain: expected a non-negative integer. Got {explain!r} instead.")
    loaded = load_model(model)
    clean = check_patients(_as_frame(patients))
    meta = loaded.metadata
    p = loaded.predict_proba(clean)
    thr = meta.benefit_thresholds
    low, intermediate, high = BENEFIT_GROUPS
    opts = meta.feature_options
    present = _group_presence(clean)
    out = pd.DataFrame({
        "patient_id": clean["patient_id"].astype(str).to_numpy(),
        "p_durable_benefit": p,
        "benefit_group": np.where(p < thr.low, low, np.where(p >= thr.high, high, intermediate)),
        "time_class": time_class(clean, numbering=meta.time_numbering, pdl1_cutoff=opts.pdl1_cutoff,
                                 til_pct_cutoff=opts.til_pct_cutoff,
                                 til_density_cutoff=opts.til_density_cutoff).to_numpy(),
        "missing_inputs": _missing_inputs(present),
        "warnings": _warnings(clean, meta, present),
        "model_version": loaded.version,
    })
    if explain:
        phi, _, _ = contributions(loaded.model, clean)
        top = top_contributions(phi, loaded.model.features(clean), int(explain))
        for j in range(int(explain)):
            out[f"top{j + 1}_feature"] = [t[j]["feature"] if j < len(t) else None for t in top]
            out[f"top{j + 1}_value"] = [t[j]["value"] if j < len(t) else None for t in top]
            out[f"top{j + 1}_shap"] = [t[j]["shap"] if j < len(t) else np.nan for t in top]
    return out
