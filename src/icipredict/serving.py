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

from icipredict.clinical.assays import TMB_SCALE_SOURCES, pdl1_assay_kind, tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.til import til_status
from icipredict.clinical.time_class import time_class
from icipredict.exceptions import InvalidPatientData, ModelLoadError
from icipredict.explain import top_contributions
from icipredict.features import FEATURE_GROUPS, INPUT_SOURCES, MISSING_INPUT_NAMES
from icipredict.io.bundle import bundle_digest, find_bundle, read_bundle, shipped_model_path, shipped_models
from icipredict.metadata import ModelMetadata
from icipredict.models import IciModel, base_from_saved
from icipredict.schema import check_patients
from icipredict.tracking import download_bundle
from icipredict.vocab import BENEFIT_GROUPS

__all__ = ["predict", "load_model", "model_uri", "LoadedModel", "shipped_models", "OUTPUT_COLUMNS"]

#: Columns of every prediction table, in order (``top{i}_*`` follow when ``explain=k``).
OUTPUT_COLUMNS = ("patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "time_class", "til_source",
                  "missing_inputs", "warnings", "model_version")
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
        return self.model.predict_proba(clean)

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
    meta, state = read_bundle(path)
    try:
        base = base_from_saved(meta.estimator, state, meta.feature_options)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"model {str(path)!r}: {meta.estimator.file} does not hold a {meta.estimator.name} "
                             f"model ({type(exc).__name__}: {exc}).") from None
    fitted = IciModel(meta.estimator.name, base, meta.calibrator, meta.til_term, meta.uncertainty,
                      meta.feature_options)
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


def _used_inputs(fitted: IciModel) -> list[str]:
    """The model inputs a model uses (the TIL term included), in a stable order."""
    used = [u for u in (getattr(fitted.base, "used_inputs_", None) or list(INPUT_SOURCES)) if u in INPUT_SOURCES]
    if fitted.til_term.source != "none" and "til" not in used:
        used.append("til")
    return used


def _missing_inputs(inputs: pd.DataFrame, used: list[str]) -> list[str]:
    """Per patient, the model's inputs that are unknown, named by their canonical columns."""
    names = [MISSING_INPUT_NAMES[u] for u in used]
    unknown = inputs[used].isna().to_numpy().copy()
    if "pdl1" in used:
        unknown[:, used.index("pdl1")] &= inputs["pdl1_band"].isna().to_numpy()
    return ["; ".join(n for n, miss in zip(names, row) if miss) for row in unknown]


def _warnings(clean: pd.DataFrame, meta: ModelMetadata, inputs: pd.DataFrame, used: list[str]) -> list[str]:
    train = meta.training
    n = len(clean)
    notes: list[list[str]] = [[] for _ in range(n)]
    if meta.signal.status == "none":
        for i in range(n):
            notes[i].append("this model carries no signal (see its model card): every prediction is the training rate")
    drivers = clean[list(DRIVER_COLUMNS)].astype(float).to_numpy() == 1
    for i in np.flatnonzero(drivers.any(axis=1)):
        genes = ", ".join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, drivers[i]) if hit)
        notes[i].append(f"driver-positive tumour ({genes}): usually excluded from ICI monotherapy, "
                        f"{train.driver_positive_share:.0%} of training patients")
    seen = set(train.regimens)
    if seen:
        reg = clean["regimen"].astype(object)
        for i in np.flatnonzero((reg.notna() & ~reg.isin(seen)).to_numpy()):
            notes[i].append(f"regimen {reg.iloc[i]} never seen in training (seen: {', '.join(sorted(seen))}): its "
                            "effect is unknown to the model, which reads the regimen as not given")
    kind = tmb_assay_kind(clean)
    kinds = set(train.tmb_assay_kinds)
    for i in np.flatnonzero((kind.notna() & ~kind.isin(kinds)).to_numpy()):
        notes[i].append(f"TMB assay kind {kind.iloc[i]} ({clean['tmb_assay'].iloc[i]}) never seen in training: "
                        f"put on the tissue-panel scale by {TMB_SCALE_SOURCES[kind.iloc[i]]}")
    tc_only = clean["pdl1_tps"].isna() & clean["pdl1_band"].isna() & clean["pdl1_sp142_tc"].notna()
    for i in np.flatnonzero(tc_only.to_numpy()):
        notes[i].append("PD-L1 from the SP142 tumour-cell score, read as the TPS band it cannot fall below (SP142 "
                        "stains fewer tumour cells than 22C3)")
    assay = pdl1_assay_kind(clean)
    for i in np.flatnonzero((assay == "unknown").to_numpy()):
        notes[i].append(f"PD-L1 assay {clean['pdl1_assay'].iloc[i]!r} unknown to the harmonisation rules: its score "
                        "is read as a 22C3-like TPS")
    for col, r in train.ranges.items():
        v = clean[col].astype(float).to_numpy()
        out = (v < r.min) | (v > r.max)
        for i in np.flatnonzero(out):
            notes[i].append(f"{col} {v[i]:g} outside the training range {r.min:g}-{r.max:g}")
    known = inputs[used].notna().to_numpy().sum(axis=1)
    for i in np.flatnonzero(known < len(used) / 2):
        notes[i].append(f"only {int(known[i])} of the model's {len(used)} inputs given: the unknown ones are read "
                        "as the training average, and p_low-p_high is wide")
    return ["; ".join(x) for x in notes]


def predict(patients: pd.DataFrame | Mapping | Sequence[Mapping], model: str | os.PathLike | LoadedModel = "public",
            explain: int = 0) -> pd.DataFrame:
    """Probability of durable clinical benefit for each patient, in input order, with its interval.

    Parameters
    ----------
    patients : DataFrame, dict, or list of dicts
        Canonical patient table (see ``schema.COLUMNS``); only ``patient_id`` is required. Outcome
        and unknown columns are ignored.
    model : str, path or LoadedModel
        Shipped model name (``"public"``), bundle directory or MLflow model URI.
    explain : int
        Add the ``explain`` inputs that moved each prediction most: ``top{i}_feature`` (the canonical
        input column), ``top{i}_value`` (the value as given), ``top{i}_effect`` (signed change in
        probability) and ``top{i}_shap`` (log-odds).

    Returns
    -------
    DataFrame
        ``patient_id``; ``p_durable_benefit`` (calibrated probability) and ``p_low`` / ``p_high`` (its
        90 % interval); ``benefit_group`` (low / intermediate / high likelihood of durable benefit,
        thresholds in the model card); ``time_class``; ``til_source`` (the TIL measure that set the
        TIL status); ``missing_inputs``; ``warnings``; ``model_version``.

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
    fitted = loaded.model
    inputs = fitted.inputs(clean)
    used = _used_inputs(fitted)
    p, low, high = fitted.interval(clean)
    thr = meta.benefit_thresholds
    low_group, intermediate, high_group = BENEFIT_GROUPS
    opts = meta.feature_options
    til = til_status(clean, opts.til_cutoffs())
    out = pd.DataFrame({
        "patient_id": clean["patient_id"].astype(str).to_numpy(),
        "p_durable_benefit": p,
        "p_low": low,
        "p_high": high,
        "benefit_group": np.where(p < thr.low, low_group, np.where(p >= thr.high, high_group, intermediate)),
        "time_class": time_class(clean, numbering=meta.time_numbering, pdl1_cutoff=opts.pdl1_cutoff,
                                 til_cutoffs=opts.til_cutoffs()).to_numpy(),
        "til_source": til["til_source"].fillna("").to_numpy(dtype=object),
        "missing_inputs": _missing_inputs(inputs, used),
        "warnings": _warnings(clean, meta, inputs, used),
        "model_version": loaded.version,
    })
    if explain:
        top = top_contributions(fitted, clean, int(explain))
        out = pd.concat([out, top.reset_index(drop=True)], axis=1)
    return out
