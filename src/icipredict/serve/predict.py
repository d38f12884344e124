"""Prediction: ``predict(patients, model="public", explain=0)`` and the model loader.

The same function backs the Python API, ``icipredict predict``, the MLflow pyfunc (and so the
REST endpoint and Spark UDF) and the calculator page. Loading a model directory never imports
mlflow; MLflow URIs (``runs:/``, ``models:/``, ...) are resolved through :mod:`icipredict.fitting.tracking`.
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

from icipredict.clinical.assays import TMB_SCALE_SOURCES, band_codes, pdl1_assay_kinds, tmb_assay_kinds
from icipredict.clinical.biomarkers import pdl1_positive_values
from icipredict.clinical.columns import Distinct, Table, floats, n_rows, texts
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.til import TIL_MEASURES, til_status_values
from icipredict.clinical.time_class import time_class_codes, time_class_labels
from icipredict.exceptions import InputWarning, ModelLoadError, trim
from icipredict.model.explain import top_contributions
from icipredict.model.features import INPUT_SOURCES, MISSING_INPUT_NAMES, columns_used, model_input_values
from icipredict.model.bundle import bundle_digest, find_bundle, read_bundle, shipped_model_path, shipped_models
from icipredict.model.metadata import ModelMetadata
from icipredict.model.models import SPLINE_FAMILIES, IciModel, base_from_saved
from icipredict.model.survival import Baseline
from icipredict.table.schema import COLUMNS, PREDICTORS, ValidationReport, check_record, checked_columns
from icipredict.serve.requests import (DEFAULT_MAX_ROWS, MAX_EXPLAIN, MAX_ROWS_ENV, _is_list, explain_error,
                                       is_explain, patients_frame, request_limit)
from icipredict.serve.store import download_bundle
from icipredict.serve.words import (INPUT_COLUMNS_TEXT, inputs_used_text, regimen_warning, unknown_columns,
                                    unknown_columns_note)
from icipredict.table.vocab import (BENEFIT_GROUPS, CURVE_COLUMNS, DCB_MONTHS, OUTPUT_COLUMNS, PLASMA_ASSAY_WORDS,
                                    TISSUE_PANEL_WORDS, WES_ASSAY_WORDS)

__all__ = ["predict", "predict_curve", "DEFAULT_CURVE_TIMES", "load_model", "model_uri", "LoadedModel", "shipped_models",
           "OUTPUT_COLUMNS", "MAX_EXPLAIN", "is_explain", "explain_error", "request_limit", "patients_frame",
           "MAX_ROWS_ENV", "DEFAULT_MAX_ROWS", "unknown_columns_note", "INPUT_COLUMNS_TEXT", "inputs_used_text",
           "regimen_warning"]

#: The times (months) :func:`predict_curve` reports by default.
DEFAULT_CURVE_TIMES: tuple[float, ...] = (3.0, 6.0, 12.0, 24.0)
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

    @property
    def has_curve(self) -> bool:
        """True for a time-to-event model: it predicts each patient's PFS curve (False for a 6-month model,
        whose curve columns are empty)."""
        return self.model.has_curve

    def curve(self, patients, times=DEFAULT_CURVE_TIMES) -> pd.DataFrame:
        """:func:`predict_curve` with this model."""
        return predict_curve(patients, model=self, times=times)


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
    baseline = None
    if meta.curve is not None:
        baseline = Baseline(np.asarray(meta.curve.times, dtype=float), np.asarray(meta.curve.cumhaz, dtype=float),
                            meta.curve.horizon, meta.curve.min_at_risk)
    fitted = IciModel(meta.estimator.name, base, meta.calibrator, meta.til_term, meta.uncertainty,
                      meta.feature_options, baseline=baseline)
    loaded = LoadedModel(fitted, meta, path, f"{meta.name}-{bundle_digest(path)[:12]}")
    with _CACHE_LOCK:
        _CACHE[key] = loaded
    return loaded


@dataclass
class _Clean:
    """The checked patient table as its canonical columns (arrays by name), and as a frame when one is needed."""

    table: dict[str, object]
    frame: pd.DataFrame | None = None

    def as_frame(self) -> pd.DataFrame:
        if self.frame is None:
            self.frame = pd.DataFrame(self.table)
        return self.frame

    def ids(self):
        ids = self.table["patient_id"]
        if isinstance(ids, pd.api.extensions.ExtensionArray) or len(ids) <= _FEW:
            return ids  # a few object ids are converted by the output frame itself, faster
        return pd.array(ids, dtype="str")


def _columns_of(frame: pd.DataFrame) -> dict[str, object]:
    """The canonical columns of a checked frame, as arrays."""
    table: dict[str, object] = {}
    for name in COLUMNS:
        if name not in frame.columns:
            continue
        col = frame[name]
        table[name] = floats(frame, name) if col.dtype.kind in "biuf" else col.array
    table["patient_id"] = frame["patient_id"].astype(str).array
    return table


def _clean(patients) -> _Clean:
    """The checked columns: a :class:`ValidationReport` is trusted as it is, anything else is checked.

    One patient as a dict (or a list of one dict) is checked without building a table; a DataFrame
    is checked without framing the clean copy (:func:`icipredict.table.schema.checked_columns`).
    """
    if isinstance(patients, ValidationReport):
        return _Clean(_columns_of(patients.frame), patients.frame)
    one = _one_record(patients)
    checked = check_record(one) if one is not None else None
    frame = patients_frame(patients) if checked is None else None
    columns, renamed = checked if checked is not None else checked_columns(frame)
    if renamed:
        warnings.warn(InputWarning("columns read by another name: " + ", ".join(
            f"{trim(k)!r} as {v}" for k, v in renamed.items())), stacklevel=3)
    unknown = unknown_columns(one if one is not None and checked is not None else frame.columns)
    if unknown:
        warnings.warn(InputWarning(unknown_columns_note(unknown)), stacklevel=3)
    return _Clean(columns)


def _one_record(patients) -> Mapping | None:
    """The patient when ``patients`` is one patient as a dict of scalars (or a list holding one such dict)."""
    if isinstance(patients, list) and len(patients) == 1:
        patients = patients[0]
    if isinstance(patients, Mapping) and not any(_is_list(v) for v in patients.values()):
        return patients
    return None


@dataclass
class _Texts:
    """Per-row texts as codes into a list of distinct texts (-1: no text): rows share their formatting."""

    codes: np.ndarray
    texts: list[str]

    def rows(self) -> list[str]:
        table = np.array([*self.texts, ""], dtype=object)
        return list(table[np.where(self.codes < 0, len(self.texts), self.codes)])

    def column(self):
        """The texts as a string column (each distinct text converted once)."""
        return _strings([*self.texts, ""], np.where(self.codes < 0, len(self.texts), self.codes))


def _strings(texts: list[str], codes: np.ndarray):
    """A column of ``texts[code]`` per row: a string array taken from the distinct texts (no Python string per
    row); for a few rows, an object array, which the output frame converts faster."""
    if len(codes) <= _FEW:
        return np.array(texts, dtype=object)[codes]
    return pd.array(texts, dtype="str").take(codes)


_FEW = 64


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


def _unknown(inputs, used: list[str], bands: np.ndarray | None = None) -> np.ndarray:
    """(patients x used inputs) True where the input is unknown (PD-L1: neither TPS nor band). ``inputs``: a
    frame of model inputs or the same columns as arrays; ``bands``: their band codes when known."""
    n = len(np.asarray(inputs["til"]))
    unknown = np.zeros((n, len(used)), dtype=bool)
    for j, name in enumerate(used):
        unknown[:, j] = np.isnan(np.asarray(inputs[name], dtype=float))
    if "pdl1" in used:
        no_band = bands < 0 if bands is not None else pd.isna(np.asarray(inputs["pdl1_band"], dtype=object))
        unknown[:, used.index("pdl1")] &= no_band
    return unknown


def _not_given(unknown: np.ndarray, used: list[str], clean: Table) -> np.ndarray:
    """The unknown inputs the patient did not give: chemo-ICI leaves the anti-CTLA-4 input unknown, yet it is given."""
    if "ctla4" not in used:
        return unknown
    out = unknown.copy()
    out[:, used.index("ctla4")] &= texts(clean, "regimen", strip=False).isna()
    return out


def _not_used_texts(table: Table, fitted: IciModel, used: list[str], til_source: np.ndarray) -> _Texts:
    """Per patient, the predictor columns given with a value that the model does not read for that patient
    (:func:`icipredict.model.features.columns_used`), in table order: ``inputs_not_used``."""
    n = n_rows(table)
    reads = columns_used(table, used, family=fitted.family, til_source=til_source)
    names: list[str] = []
    hits: list[np.ndarray] = []
    for name in PREDICTORS:
        read = reads.get(name, False)
        if name not in table or read is True:  # absent, or read for every patient
            continue
        col = table[name]
        known = ~np.isnan(col) if getattr(col, "dtype", None) is not None and col.dtype.kind == "f" else ~pd.isna(col)
        known = np.asarray(known, dtype=bool)
        if read is not False:
            known = known & ~np.asarray(read, dtype=bool)
        if known.any():
            names.append(name)
            hits.append(known)
    if not names:
        return _Texts(np.full(n, -1, dtype=np.int64), [])
    return _by_pattern(np.column_stack(hits), lambda row: "; ".join(c for c, hit in zip(names, row) if hit))


def _missing_inputs(unknown: np.ndarray, used: list[str]) -> list[str]:
    """Per patient, the model's inputs that are unknown, named by their canonical columns."""
    return _missing_texts(unknown, used).rows()


def _missing_texts(unknown: np.ndarray, used: list[str]) -> _Texts:
    names = [MISSING_INPUT_NAMES[u] for u in used]
    return _by_pattern(unknown, lambda row: "; ".join(n for n, miss in zip(names, row) if miss))


def _by_value(values: Distinct, text_of) -> _Texts:
    """Texts from a column: each distinct value formatted once; none where the value is missing."""
    return _Texts(np.asarray(values.codes, dtype=np.int64), [text_of(u) for u in values.values])


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


def _join(parts: list[_Texts], n: int) -> _Texts:
    """Row-wise "; ".join of the non-empty texts of several parts, in order: the rows are grouped by their
    combination of texts first, and each distinct combination is joined once."""
    used: list[_Texts] = []
    combination: np.ndarray | None = None  # per row, its combination's index
    members: list[np.ndarray] = []  # per used part, each combination's code in it (-1: no text)
    for part in parts:
        empty = np.array([t == "" for t in part.texts] + [True])
        codes = np.asarray(part.codes, dtype=np.int64)
        codes = np.where(empty[codes], -1, codes)  # code -1 picks the last entry: no text
        if (codes < 0).all():
            continue
        width = len(part.texts) + 1
        if combination is None:
            uniq, combination = _unique_codes(codes + 1, width)
            members = [uniq - 1]
        else:
            uniq, combination = _unique_codes(combination * width + (codes + 1), len(members[0]) * width)
            before, code = np.divmod(uniq, width)
            members = [m[before] for m in members] + [code - 1]
        used.append(part)
    if combination is None:
        return _Texts(np.full(n, -1, dtype=np.int64), [])
    texts = ["; ".join(part.texts[c] for part, c in zip(used, combo) if c >= 0)
             for combo in zip(*(m.tolist() for m in members))]
    return _Texts(np.asarray(combination, dtype=np.int64), texts)


def _warnings(clean: Table, meta: ModelMetadata, unknown: np.ndarray, used: list[str] | None = None) -> list[str]:
    return _warning_texts(clean, meta, unknown, used).rows()


def _curve_texts(curve: dict[str, np.ndarray], horizon: float) -> _Texts:
    """Why a curve column is empty: the median (or its band's upper end) not reached by the horizon, or 24
    months beyond it."""
    no_median = np.isnan(curve["median_pfs_months"])
    no_high = np.isnan(curve["median_pfs_high"]) & ~no_median
    beyond = f"{horizon:.1f} months, the longest time the training follow-up supports"
    texts_ = [f"the PFS curve stays above 0.5 up to {beyond}: median_pfs_months, median_pfs_low and median_pfs_high are empty",
              f"the upper end of the PFS curve's band stays above 0.5 up to {beyond}: median_pfs_high is empty"]
    codes = np.where(no_median, 0, np.where(no_high, 1, -1))
    if horizon < 24.0:
        texts_ = [t + f"; 24 months lies beyond {beyond}: p_pfs_24m and p_secondary_resistance_24m are empty"
                  for t in texts_] + [f"24 months lies beyond {beyond}: p_pfs_24m and p_secondary_resistance_24m "
                                      "are empty"]
        codes = np.where(codes < 0, 2, codes)
    return _Texts(codes.astype(np.int64), texts_)


def _warning_texts(clean: Table, meta: ModelMetadata, unknown: np.ndarray, used: list[str] | None = None,
                   curve: dict[str, np.ndarray] | None = None) -> _Texts:
    train = meta.training
    n = n_rows(clean)
    parts: list[_Texts] = []
    if meta.signal.status == "none":
        parts.append(_Texts(np.zeros(n, dtype=np.int64), ["this model carries no signal (see its model card): "
                                                          "every prediction is the training rate"]))
    drivers = np.column_stack([floats(clean, c) for c in DRIVER_COLUMNS]) == 1
    if drivers.any():
        parts.append(_by_pattern(drivers, lambda row: "" if not row.any() else (
            f"driver-positive tumour ({', '.join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, row) if hit)}): "
            f"usually excluded from ICI monotherapy, {train.driver_positive_share:.0%} of training patients")))
    seen = set(train.regimens)
    if seen:
        parts.append(_by_value(texts(clean, "regimen", strip=False), lambda r: regimen_warning(r, seen, used)))
    kinds = set(train.tmb_assay_kinds)
    assays = texts(clean, "tmb_assay", strip=False)
    if len(assays.values):  # the assay rules run once per distinct assay
        kind = tmb_assay_kinds(assays).tolist()
        codes = np.asarray(assays.codes, dtype=np.int64)
        if kinds:
            parts.append(_Texts(codes, [f"TMB assay kind {k} ({trim(a, 40)}) never seen in training: put on the "
                                        f"tissue-panel scale by {TMB_SCALE_SOURCES[k]}" if k not in kinds else ""
                                        for a, k in zip(assays.values, kind)]))
        parts.append(_Texts(codes, [_unrecognised_assay(a) for a in assays.values]))
    tc_only = np.isnan(floats(clean, "pdl1_tps")) & texts(clean, "pdl1_band").isna() & ~np.isnan(
        floats(clean, "pdl1_sp142_tc"))
    if tc_only.any():
        parts.append(_Texts(np.where(tc_only, 0, -1), [
            "PD-L1 from the SP142 tumour-cell score, read as the TPS band it cannot fall below (SP142 stains fewer "
            "tumour cells than 22C3)"]))
    named = texts(clean, "pdl1_assay", strip=False)
    if len(named.values):
        kind = pdl1_assay_kinds(named).tolist()
        parts.append(_Texts(np.asarray(named.codes, dtype=np.int64), [
            f"PD-L1 assay {trim(a, 40)!r} unknown to the harmonisation rules: its score is read as a 22C3-like TPS"
            if k == "unknown" else "" for a, k in zip(named.values, kind)]))
    for col, r in train.ranges.items():
        v = floats(clean, col)
        with np.errstate(invalid="ignore"):
            out = (v < r.min) | (v > r.max)
        if out.any():
            rows = np.flatnonzero(out)  # only the values outside the range are formatted, each once
            bits, first, inverse = np.unique(v[rows].view(np.int64), return_index=True, return_inverse=True)
            codes = np.full(n, -1, dtype=np.int64)
            codes[rows] = inverse.reshape(-1)
            parts.append(_Texts(codes, [f"{col} {v[rows[i]]:g} outside the training range {r.min:g}-{r.max:g}"
                                        for i in first]))
    n_used = unknown.shape[1]
    given = n_used - unknown.sum(axis=1)
    few = given < n_used / 2
    if few.any():
        parts.append(_Texts(np.where(few, given, -1), [
            f"only {inputs_used_text(k, n_used)}: the unknown ones are read as the training average, and the "
            f"{meta.uncertainty.level:.0%} interval is wide" for k in range(n_used + 1)]))
    if curve is not None and meta.curve is not None:
        parts.append(_curve_texts(curve, meta.curve.horizon))
    return _join(parts, n)


def _unrecognised_assay(assay: object) -> str:
    """A TMB assay named by none of the known words is read as a tissue panel: say so."""
    text = str(assay).lower()
    known = (*PLASMA_ASSAY_WORDS, *WES_ASSAY_WORDS, *TISSUE_PANEL_WORDS)
    if any(word in text for word in known):
        return ""
    return (f"TMB assay {trim(assay, 40)!r} not recognised as a tissue panel, exome or plasma assay: read as a "
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
        TIL status); ``missing_inputs`` (the model's inputs not given); ``inputs_not_used`` (the columns given
        with a value that the model did not use for this patient, ``"; "``-separated); ``warnings``;
        ``model_version``. Columns the package does not know at all are named once, in an
        :class:`InputWarning`.

    Raises
    ------
    InvalidPatientData
        The table breaks the schema (the message names the patient and column).

    Examples
    --------
    >>> predict({"patient_id": "p1", "pdl1_tps": 80, "tmb": 20})  # doctest: +SKIP
    """
    if not is_explain(explain):
        raise ValueError(explain_error("explain", trim(repr(explain))))
    loaded = load_model(model)
    return _predict_clean(loaded, _clean(patients), int(explain))


_TIL_SOURCE_NAMES = [*TIL_MEASURES, ""]


def _predict_clean(loaded: LoadedModel, clean: _Clean, explain: int) -> pd.DataFrame:
    """The prediction table of checked patients: every rule runs once, on arrays."""
    table = clean.table
    meta = loaded.metadata
    fitted = loaded.model
    opts = meta.feature_options
    cutoffs = opts.til_cutoffs()
    bands = band_codes(table)
    til = til_status_values(table, cutoffs)
    shared = fitted.options.til_cutoffs() == cutoffs  # the model reads TIL status as the table shows it
    inputs = model_input_values(table, fitted.options, til=til.positive if shared else None, bands=bands)
    used = _used_inputs(fitted)
    unknown = _unknown(inputs, used, bands)
    frame = clean.as_frame() if fitted.family not in SPLINE_FAMILIES else None
    if fitted.has_curve:  # one curve: S(6) and its interval, and the curve columns, from one linear predictor
        lp, half = fitted.score_interval(frame, inputs=inputs)
        curve = fitted.curve_values(lp, half)
        h6 = float(fitted.baseline.at([DCB_MONTHS])[0])
        p, low, high = (np.exp(-h6 * np.exp(v)) for v in (lp, lp + half, lp - half))
    else:
        p, low, high = fitted.interval(frame, inputs=inputs)
        curve = None
    thr = meta.benefit_thresholds
    group = np.where(p < thr.low, 0, np.where(p >= thr.high, 2, 1))
    pdl1 = pdl1_positive_values(table, opts.pdl1_cutoff, bands)
    time_codes = time_class_codes(pdl1, til.positive)
    out = pd.DataFrame({
        "patient_id": clean.ids(),
        "p_durable_benefit": p,
        "p_low": low,
        "p_high": high,
        "benefit_group": _strings(list(BENEFIT_GROUPS), group),
        "time_class": _strings(time_class_labels(meta.time_numbering), time_codes),
        "til_source": _strings(_TIL_SOURCE_NAMES, til.source),
        "missing_inputs": _missing_texts(_not_given(unknown, used, table), used).column(),
        "inputs_not_used": _not_used_texts(table, fitted, used, til.source if shared else til_status_values(
            table, fitted.options.til_cutoffs()).source).column(),
        "warnings": _warning_texts(table, meta, unknown, used, curve).column(),
        "model_version": loaded.version,
        **{name: (curve[name] if curve is not None else np.full(len(p), np.nan)) for name in CURVE_COLUMNS},
    })
    if explain:
        top = top_contributions(fitted, clean.as_frame(), explain)
        out = pd.concat([out, top.reset_index(drop=True)], axis=1)
    return out


def _curve_times(times) -> np.ndarray:
    """``times`` as positive finite months, or a ValueError naming the value."""
    values = np.atleast_1d(np.asarray(times if not isinstance(times, (int, float)) else [times], dtype=object))
    out = []
    for v in values:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = np.nan
        if not np.isfinite(x) or x < 0 or isinstance(v, bool):
            raise ValueError(f"times: expected months as numbers >= 0. Got {trim(repr(v))} instead.")
        out.append(x)
    if not out:
        raise ValueError("times: expected at least one time in months. Got none instead.")
    return np.asarray(out, dtype=float)


def predict_curve(patients: pd.DataFrame | Mapping | Sequence[Mapping] | ValidationReport,
                  model: str | os.PathLike | LoadedModel = "public",
                  times: Sequence[float] = DEFAULT_CURVE_TIMES) -> pd.DataFrame:
    """Each patient's progression-free survival curve and its 90 % band, at ``times`` (months).

    Parameters
    ----------
    patients : as for :func:`predict`
    model : a time-to-event model (shipped name, bundle directory or MLflow model URI)
    times : months at which to read the curve (default 3, 6, 12 and 24)

    Returns
    -------
    DataFrame
        One row per patient and time, patients in input order: ``patient_id``, ``time_months``, ``s``
        (the probability of being progression-free at that time; at 6 months it is ``p_durable_benefit``),
        ``s_low`` and ``s_high`` (its band, at the model's level, from the same sources as ``p_low`` /
        ``p_high``). A time beyond the longest the training follow-up supports gives empty values and an
        :class:`InputWarning`.

    Raises
    ------
    ValueError
        The model has no curve (a 6-month model), or a time is not a number >= 0.
    InvalidPatientData
        The table breaks the schema.

    Examples
    --------
    >>> predict_curve({"patient_id": "p1", "pdl1_tps": 80, "tmb": 20}, times=[6, 12])  # doctest: +SKIP
    """
    grid = _curve_times(times)
    loaded = load_model(model)
    fitted = loaded.model
    if not fitted.has_curve:
        raise ValueError(f"model {loaded.version}: expected a time-to-event model with a PFS curve. Got a "
                         f"{fitted.family} model, which predicts the 6-month probability only (its curve columns "
                         "are empty): train one with model.families=[spline_cox, xgboost_cox].")
    horizon = fitted.baseline.horizon
    beyond = grid[grid > horizon + 1e-12]
    if beyond.size:
        shown = ", ".join(f"{t:g}" for t in beyond[:5]) + (f" and {beyond.size - 5} more" if beyond.size > 5 else "")
        one = beyond.size == 1
        warnings.warn(InputWarning(f"time{'' if one else 's'} {shown} months lie{'s' if one else ''} beyond {horizon:.1f} "
                                   "months, the longest time the training follow-up supports: "
                                   f"{'its' if one else 'their'} values are empty"), stacklevel=2)
    clean = _clean(patients)
    table = clean.table
    inputs = model_input_values(table, fitted.options, bands=band_codes(table))
    frame = clean.as_frame() if fitted.family not in SPLINE_FAMILIES else None
    return fitted.curve(frame, grid, inputs=inputs, ids=np.asarray(clean.ids(), dtype=object))
