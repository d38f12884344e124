"""Prediction: ``predict(patients, model="public", explain=0)`` and the model loader.

The same function backs the Python API, ``icipredict predict``, the MLflow pyfunc (and so the
REST endpoint and Spark UDF) and the calculator page. Loading a model directory never imports
mlflow; MLflow URIs (``runs:/``, ``models:/``, ...) are resolved through :mod:`icipredict.tracking`.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.time_class import time_class
from icipredict.exceptions import InputWarning, InvalidPatientData, Problem
from icipredict.explain import contributions, top_contributions
from icipredict.features import FEATURE_GROUPS
from icipredict.io.bundle import bundle_digest, find_bundle, read_bundle, shipped_model_path, shipped_models
from icipredict.metadata import ModelMetadata
from icipredict.models import IciModel
from icipredict.schema import PREDICTORS, ValidationReport, validate_patients
from icipredict.tracking import download_bundle
from icipredict.vocab import BENEFIT_GROUPS, PLASMA_ASSAY_WORDS, TISSUE_PANEL_WORDS, WES_ASSAY_WORDS

__all__ = ["predict", "load_model", "model_uri", "LoadedModel", "shipped_models", "OUTPUT_COLUMNS", "MAX_EXPLAIN"]

#: Columns of every prediction table, in order (``top{i}_*`` follow when ``explain=k``).
OUTPUT_COLUMNS = ("patient_id", "p_durable_benefit", "benefit_group", "time_class", "missing_inputs", "warnings",
                  "model_version")
#: Largest ``explain``: one contribution per input column at most.
MAX_EXPLAIN = len(PREDICTORS)
#: Columns of each input group, and their positions in :data:`_GROUP_COLUMNS` (computed once).
_GROUP_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(c for cols in FEATURE_GROUPS.values() for c in cols))
_GROUP_INDEX: tuple[list[int], ...] = tuple([_GROUP_COLUMNS.index(c) for c in cols] for cols in FEATURE_GROUPS.values())
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


def _is_list(value: object) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index))


def _as_frame(patients) -> pd.DataFrame:
    """A DataFrame from the accepted shapes: DataFrame, dict of scalars, dict of lists, list of dicts."""
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
                f"patient). Got {_trim(shown, 160)} instead.",
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


def _trim(text: object, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _clean(patients) -> pd.DataFrame:
    """The validated frame: a :class:`ValidationReport` is trusted as it is, anything else is checked."""
    if isinstance(patients, ValidationReport):
        return patients.frame
    report = validate_patients(_as_frame(patients))
    if report.renamed:
        warnings.warn(InputWarning("columns read by another name: " + ", ".join(
            f"{_trim(k)!r} as {v}" for k, v in report.renamed.items())), stacklevel=3)
    return report.frame


def _group_presence(clean: pd.DataFrame) -> np.ndarray:
    """(patients x input groups) True where at least one column of the group is given."""
    columns = _GROUP_COLUMNS
    known = clean[list(columns)].notna().to_numpy()
    return np.column_stack([known[:, idx].any(axis=1) for idx in _GROUP_INDEX])


@dataclass
class _Texts:
    """Per-row texts as codes into a list of distinct texts (-1: no text): rows share their formatting."""

    codes: np.ndarray
    texts: list[str]

    def rows(self) -> list[str]:
        table = np.array([*self.texts, ""], dtype=object)
        return list(table[np.where(self.codes < 0, len(self.texts), self.codes)])


def _by_pattern(rows: np.ndarray, text_of) -> _Texts:
    """Texts from a (n x k) boolean array: each distinct row pattern (packed into an integer) formatted once."""
    k = rows.shape[1]
    key = rows.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
    uniq, inverse = _unique_codes(key, 1 << k) if k <= 20 else np.unique(key, return_inverse=True)
    texts = [text_of(np.array([(u >> b) & 1 for b in range(k)], dtype=bool)) for u in uniq.tolist()]
    return _Texts(np.asarray(inverse).reshape(-1), texts)


def _missing_inputs(present: np.ndarray) -> list[str]:
    names = list(FEATURE_GROUPS)
    return _by_pattern(present, lambda row: "; ".join(n for n, here in zip(names, row) if not here)).rows()


def _by_value(values: pd.Series, text_of) -> _Texts:
    """Texts from a column: each distinct value formatted once; none where the value is missing."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _Texts(np.asarray(codes), [text_of(u) for u in uniques])


def _unique_codes(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for non-negative integer keys below ``size``, without a sort."""
    if size > 4 * len(key) + 1024:
        uniq, inverse = np.unique(key, return_inverse=True)
        return uniq, np.asarray(inverse).reshape(-1)
    seen = np.zeros(size, dtype=bool)
    seen[key] = True
    uniq = np.flatnonzero(seen)
    position = np.cumsum(seen) - 1
    return uniq, position[key]


def _join(parts: list[_Texts], n: int) -> list[str]:
    """Row-wise "; ".join of the non-empty texts of several parts, in order, one join per distinct combination."""
    acc: _Texts | None = None
    for part in parts:
        empty = np.array([t == "" for t in part.texts] + [True])
        codes = np.asarray(part.codes, dtype=np.int64)
        codes = np.where(empty[np.where(codes < 0, len(part.texts), codes)], -1, codes)
        if (codes < 0).all():
            continue
        if acc is None:
            acc = _Texts(codes, part.texts)
            continue
        width = len(part.texts) + 1
        uniq, inverse = _unique_codes((acc.codes + 1) * width + (codes + 1), (len(acc.texts) + 1) * width)
        texts = []
        for u in uniq.tolist():
            a, b = divmod(u, width)
            texts.append("; ".join(t for t in (acc.texts[a - 1] if a else "", part.texts[b - 1] if b else "") if t))
        acc = _Texts(inverse.astype(np.int64), texts)
    return [""] * n if acc is None else acc.rows()


def _warnings(clean: pd.DataFrame, meta: ModelMetadata, present: np.ndarray) -> list[str]:
    train = meta.training
    n = len(clean)
    parts: list[_Texts] = []
    drivers = clean[list(DRIVER_COLUMNS)].to_numpy(dtype=float) == 1
    if drivers.any():
        parts.append(_by_pattern(drivers, lambda row: "" if not row.any() else (
            f"driver-positive tumour ({', '.join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, row) if hit)}): "
            f"usually excluded from ICI monotherapy, {train.driver_positive_share:.0%} of training patients")))
    seen = set(train.regimens)
    if seen:
        reg = clean["regimen"].astype(object)
        parts.append(_by_value(reg, lambda r: "" if r in seen else
                               f"regimen {r} never seen in training (seen: {', '.join(sorted(seen))})"))
    kinds = set(train.tmb_assay_kinds)
    codes, assays = pd.factorize(clean["tmb_assay"].astype(object), use_na_sentinel=True)
    if len(assays):  # the assay rules run once per distinct assay
        kind = tmb_assay_kind(pd.DataFrame({"tmb_assay": np.asarray(assays, dtype=object)})).tolist()
        if kinds:
            parts.append(_Texts(codes, [f"TMB assay kind {k} ({a}) never seen in training" if k not in kinds else ""
                                        for a, k in zip(assays, kind)]))
        parts.append(_Texts(codes, [_unrecognised_assay(a) for a in assays]))
    for col, r in train.ranges.items():
        v = clean[col].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            out = (v < r.min) | (v > r.max)
        if out.any():
            rows = np.flatnonzero(out)  # only the rows outside the range are formatted
            codes = np.full(n, -1, dtype=np.int64)
            codes[rows] = np.arange(len(rows))
            parts.append(_Texts(codes, [f"{col} {v[i]:g} outside the training range {r.min:g}-{r.max:g}"
                                        for i in rows]))
    n_groups = len(FEATURE_GROUPS)
    given = present.sum(axis=1)
    few = given < n_groups / 3
    if few.any():
        parts.append(_Texts(np.where(few, given, -1), [f"only {k} of {n_groups} input groups given: the prediction "
                                                       "is close to the training average"
                                                       for k in range(n_groups + 1)]))
    return _join(parts, n)


def _unrecognised_assay(assay: object) -> str:
    """A TMB assay named by none of the known words is read as a tissue panel: say so."""
    text = str(assay).lower()
    known = (*PLASMA_ASSAY_WORDS, *WES_ASSAY_WORDS, *TISSUE_PANEL_WORDS)
    if any(word in text for word in known):
        return ""
    return (f"TMB assay {_trim(assay, 40)!r} not recognised as a tissue panel, exome or plasma assay: read as a "
            "tissue panel (a blood-based TMB runs on another scale)")


def predict(patients: pd.DataFrame | Mapping | Sequence[Mapping] | ValidationReport, model: str | os.PathLike | LoadedModel = "public",
            explain: int = 0) -> pd.DataFrame:
    """Probability of durable clinical benefit for each patient, in input order.

    Parameters
    ----------
    patients : DataFrame, dict of scalars, dict of lists, list of dicts, or ValidationReport
        Canonical patient table (see ``schema.COLUMNS``); only ``patient_id`` is required. Column
        names are matched through the schema's aliases (an :class:`InputWarning` says which column
        was read as what). Outcome and unknown columns are ignored. A report from
        :func:`icipredict.validate_patients` is used as it is, without checking it again.
    model : str, path or LoadedModel
        Shipped model name (``"public"``), bundle directory or MLflow model URI.
    explain : int
        From 0 to the number of input columns. Add the ``explain`` features that moved each prediction most (``top{i}_feature``,
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
    if not isinstance(explain, (int, np.integer)) or isinstance(explain, bool) or not 0 <= explain <= MAX_EXPLAIN:
        raise ValueError(f"explain: expected an integer from 0 to {MAX_EXPLAIN} (the number of input columns). "
                         f"Got {_trim(repr(explain))} instead.")
    loaded = load_model(model)
    clean = _clean(patients)
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
