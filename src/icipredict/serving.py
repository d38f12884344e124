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

from icipredict.clinical.assays import TMB_SCALE_SOURCES, pdl1_assay_kind, tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.til import til_status
from icipredict.clinical.time_class import time_class
from icipredict.exceptions import InputWarning, InvalidPatientData, ModelLoadError, Problem
from icipredict.explain import top_contributions
from icipredict.features import INPUT_SOURCES, MISSING_INPUT_NAMES
from icipredict.io.bundle import bundle_digest, find_bundle, read_bundle, shipped_model_path, shipped_models
from icipredict.metadata import ModelMetadata
from icipredict.models import IciModel, base_from_saved
from icipredict.schema import PREDICTORS, ValidationReport, validate_patients
from icipredict.tracking import download_bundle
from icipredict.vocab import BENEFIT_GROUPS, PLASMA_ASSAY_WORDS, TISSUE_PANEL_WORDS, WES_ASSAY_WORDS

__all__ = ["predict", "load_model", "model_uri", "LoadedModel", "shipped_models", "OUTPUT_COLUMNS", "MAX_EXPLAIN"]

#: Columns of every prediction table, in order (``top{i}_*`` follow when ``explain=k``).
OUTPUT_COLUMNS = ("patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "time_class", "til_source",
                  "missing_inputs", "warnings", "model_version")
#: Largest ``explain``: one contribution per input column at most.
MAX_EXPLAIN = len(PREDICTORS)
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


def _used_inputs(fitted: IciModel) -> list[str]:
    """The model inputs a model uses (the TIL term included), in a stable order."""
    used = [u for u in (getattr(fitted.base, "used_inputs_", None) or list(INPUT_SOURCES)) if u in INPUT_SOURCES]
    if fitted.til_term.source != "none" and "til" not in used:
        used.append("til")
    return used


def _unknown(inputs: pd.DataFrame, used: list[str]) -> np.ndarray:
    """(patients x used inputs) True where the input is unknown (PD-L1: neither TPS nor band)."""
    unknown = inputs[used].isna().to_numpy().copy()
    if "pdl1" in used:
        unknown[:, used.index("pdl1")] &= inputs["pdl1_band"].isna().to_numpy()
    return unknown


def _not_given(unknown: np.ndarray, used: list[str], clean: pd.DataFrame) -> np.ndarray:
    """The unknown inputs the patient did not give: chemo-ICI leaves the anti-CTLA-4 input unknown, yet it is given."""
    if "ctla4" not in used:
        return unknown
    out = unknown.copy()
    out[:, used.index("ctla4")] &= clean["regimen"].isna().to_numpy()
    return out


def _missing_inputs(unknown: np.ndarray, used: list[str]) -> list[str]:
    """Per patient, the model's inputs that are unknown, named by their canonical columns."""
    names = [MISSING_INPUT_NAMES[u] for u in used]
    return _by_pattern(unknown, lambda row: "; ".join(n for n, miss in zip(names, row) if miss)).rows()


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


def _warnings(clean: pd.DataFrame, meta: ModelMetadata, unknown: np.ndarray) -> list[str]:
    train = meta.training
    n = len(clean)
    parts: list[_Texts] = []
    if meta.signal.status == "none":
        parts.append(_Texts(np.zeros(n, dtype=np.int64), ["this model carries no signal (see its model card): "
                                                          "every prediction is the training rate"]))
    drivers = clean[list(DRIVER_COLUMNS)].to_numpy(dtype=float) == 1
    if drivers.any():
        parts.append(_by_pattern(drivers, lambda row: "" if not row.any() else (
            f"driver-positive tumour ({', '.join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, row) if hit)}): "
            f"usually excluded from ICI monotherapy, {train.driver_positive_share:.0%} of training patients")))
    seen = set(train.regimens)
    if seen:
        reg = clean["regimen"].astype(object)
        parts.append(_by_value(reg, lambda r: "" if r in seen else
                               f"regimen {r} never seen in training (seen: {', '.join(sorted(seen))}): its effect "
                               "is unknown to the model, which reads the regimen as not given" + (
                                   "; smoking and sex are not used (they modify the benefit of ICI alone)"
                                   if r == "chemo_ici" else "")))
    kinds = set(train.tmb_assay_kinds)
    codes, assays = pd.factorize(clean["tmb_assay"].astype(object), use_na_sentinel=True)
    if len(assays):  # the assay rules run once per distinct assay
        kind = tmb_assay_kind(pd.DataFrame({"tmb_assay": np.asarray(assays, dtype=object)})).tolist()
        if kinds:
            parts.append(_Texts(codes, [f"TMB assay kind {k} ({_trim(a, 40)}) never seen in training: put on the "
                                        f"tissue-panel scale by {TMB_SCALE_SOURCES[k]}" if k not in kinds else ""
                                        for a, k in zip(assays, kind)]))
        parts.append(_Texts(codes, [_unrecognised_assay(a) for a in assays]))
    tc_only = (clean["pdl1_tps"].isna() & clean["pdl1_band"].isna() & clean["pdl1_sp142_tc"].notna()).to_numpy()
    if tc_only.any():
        parts.append(_Texts(np.where(tc_only, 0, -1), [
            "PD-L1 from the SP142 tumour-cell score, read as the TPS band it cannot fall below (SP142 stains fewer "
            "tumour cells than 22C3)"]))
    codes, named = pd.factorize(clean["pdl1_assay"].astype(object), use_na_sentinel=True)
    if len(named):
        kind = pdl1_assay_kind(pd.DataFrame({"pdl1_assay": np.asarray(named, dtype=object)})).tolist()
        parts.append(_Texts(codes, [f"PD-L1 assay {_trim(a, 40)!r} unknown to the harmonisation rules: its score is "
                                    "read as a 22C3-like TPS" if k == "unknown" else "" for a, k in zip(named, kind)]))
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
    n_used = unknown.shape[1]
    given = n_used - unknown.sum(axis=1)
    few = given < n_used / 2
    if few.any():
        parts.append(_Texts(np.where(few, given, -1), [
            f"only {k} of the model's {n_used} inputs given: the unknown ones are read as the training average, and "
            f"the {meta.uncertainty.level:.0%} interval (p_low to p_high) is wide" for k in range(n_used + 1)]))
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
    """Probability of durable clinical benefit for each patient, in input order, with its interval.

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
        From 0 to the number of input columns: add the ``explain`` inputs that moved each prediction
        most: ``top{i}_feature`` (the canonical input column), ``top{i}_value`` (the value as given),
        ``top{i}_effect`` (signed change in probability) and ``top{i}_shap`` (log-odds).

    Returns
    -------
    DataFrame
        ``patient_id``; ``p_durable_benefit`` (calibrated probability) and ``p_low`` / ``p_high`` (its
        90 % interval); ``benefit_group`` (low / intermediate / high likelihood of durable benefit,
        thresholds in the model card); ``time_class``; ``til_source`` (the TIL measure that set the
        TIL status); ``missing_inputs`` (the model's inputs not given); ``warnings``; ``model_version``.

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
    fitted = loaded.model
    inputs = fitted.inputs(clean)
    used = _used_inputs(fitted)
    unknown = _unknown(inputs, used)
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
        "missing_inputs": _missing_inputs(_not_given(unknown, used, clean), used),
        "warnings": _warnings(clean, meta, unknown),
        "model_version": loaded.version,
    })
    if explain:
        top = top_contributions(fitted, clean, int(explain))
        out = pd.concat([out, top.reset_index(drop=True)], axis=1)
    return out
