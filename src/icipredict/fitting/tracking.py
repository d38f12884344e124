"""MLflow tracking: the only module that writes to MLflow (imported inside the functions); reading a
bundle back from a store is :mod:`icipredict.serve.store`.

One run per training: the resolved config as params, data fingerprints and counts (never rows or
identifiers), metrics per fold, cohort and scheme with their CIs, the plots, the model card, and the
model as a pyfunc logged from code (``icipredict/serve/pyfunc_model.py``) whose only artefact is the
pickle-free bundle. The tracking URI comes from the config when it sets one, else from
``MLFLOW_TRACKING_URI``, else the local default ``sqlite:///mlflow.db``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.config import config_to_dict
from icipredict.evaluation import roc_auc
from icipredict.exceptions import IcipredictError, OutputRefused
from icipredict.model.bundle import save_bundle
from icipredict.io.synthetic import synthetic_cohort
from icipredict.io.output import refuse_model_folder
from icipredict.table.schema import COLUMNS
from icipredict.serve.store import (DEFAULT_TRACKING_URI, TRACKING_ORIGINS, download_bundle,  # re-exported
                                    remember_origin, resolve_tracking_uri)
from icipredict.serve.store import mlflow_module as _mlflow
from icipredict.table.vocab import OUTPUT_COLUMNS, OUTPUT_NUMBER_PREFIXES

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.fitting.results import TrainingResult, UpdateResult

__all__ = ["TrackingError", "resolve_tracking_uri", "check_store", "TRACKING_ORIGINS", "open_store", "log_training_run", "log_update_run", "download_bundle", "pyfunc_signature",
           "save_mlflow_model", "DEFAULT_TRACKING_URI", "PYFUNC_FILE", "PYFUNC_REQUIREMENTS", "pyfunc_requirements"]

#: The models-from-code file of the pyfunc.
PYFUNC_FILE = "pyfunc_model.py"
#: What every served model needs besides icipredict itself; ``pyfunc_requirements`` adds its estimator's library.
PYFUNC_REQUIREMENTS = ["pandas", "numpy", "scipy", "pyyaml", "pydantic"]
#: The library that reads each stored estimator format (``model.json``'s ``estimator.file``); JSON needs none.
_ESTIMATOR_REQUIREMENTS = {".ubj": ["xgboost"], ".skops": ["scikit-learn", "skops"]}


class TrackingError(IcipredictError, OSError):
    """The MLflow tracking store could not be reached or written."""


def _key(*parts: str) -> str:
    # MLflow keys allow alphanumerics, _ - . / and space
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", ".".join(str(p) for p in parts if p != ""))


def _flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, item in enumerate(v):
                out.update(_flatten(item, f"{key}.{i}."))
        else:
            out[key] = json.dumps(v) if isinstance(v, (list, dict)) else str(v)
    return {k: v[:6000] for k, v in out.items()}


_METRIC_COLUMNS = ("n", "n_pos", "n_not_evaluable", "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low",
                   "pr_auc_high", "brier", "brier_low", "brier_high", "brier_null", "calibration_slope",
                   "calibration_intercept", "mean_predicted", "auc_diff_vs_baseline", "auc_diff_low", "auc_diff_high")


def _metrics_dict(metrics: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in metrics.to_dict(orient="records"):
        subset = "" if row["subset"] == "all" else row["subset"].replace(" available", "_subset")
        for col in _METRIC_COLUMNS:
            v = row.get(col)
            if v is not None and not (isinstance(v, float) and np.isnan(v)):
                out[_key(row["scheme"], subset, row["cohort"], row["model"], col)] = float(v)
    # headline numbers for the runs table of `mlflow ui`: internal-external, else pooled folds
    for scheme in ("iecv", "cv"):
        head = metrics.query(f"scheme == '{scheme}' and subset == 'all' and model == 'model'")
        if len(head):
            break
    pooled = head.loc[head["cohort"] == "pooled"] if (head["cohort"] == "pooled").any() else head
    if len(pooled):
        for col in ("roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept"):
            v = pooled[col].iloc[0]
            if pd.notna(v):
                out[col] = float(v)
    return out


#: Held-out curve metrics logged for each (study, model): the point and its 95% CI.
_CURVE_COLUMNS = ("n", "n_events", "harrell_c", "uno_c", "td_auc_6m", "td_auc_12m", "brier_6m", "brier_12m", "ibs",
                  "ibs_minus_km_null", "ibs_minus_pdl1_cox", "mean_predicted_6m", "km_6m", "mean_predicted_12m", "km_12m",
                  "calibration_slope_6m", "calibration_slope_12m")


def _curve_metrics_dict(table: pd.DataFrame | None) -> dict[str, float]:
    """``iecv.<study>.<model>.curve.<metric>`` (with ``_low``/``_high``), and the pooled model's headline."""
    out: dict[str, float] = {}
    if table is None or not len(table):
        return out
    for row in table.to_dict(orient="records"):
        for col in _CURVE_COLUMNS:
            for key in (col, f"{col}_low", f"{col}_high"):
                v = row.get(key)
                if v is not None and not (isinstance(v, float) and np.isnan(v)):
                    out[_key("iecv", row["cohort"], row["model"], "curve", key)] = float(v)
    head = table.loc[(table["cohort"] == "pooled") & (table["model"] == "model")]
    for col in ("harrell_c", "uno_c", "td_auc_6m", "td_auc_12m", "ibs"):
        if len(head) and pd.notna(head[col].iloc[0]):
            out[f"pfs_{col}"] = float(head[col].iloc[0])
    return out


def _fold_aucs(pred: pd.DataFrame) -> list[float]:
    aucs = []
    for k in sorted(pred.loc[pred["fold"] > 0, "fold"].unique()):
        part = pred.loc[pred["fold"] == k]
        aucs.append(float(roc_auc(part["y"].to_numpy(float), part["model"].to_numpy(float)))
                    if part["y"].nunique() == 2 else float("nan"))
    return aucs


def pyfunc_signature():
    """Signature of the pyfunc: every canonical input column, all optional to MLflow.

    The input columns are declared with MLflow's ``AnyType`` so that MLflow passes the values
    through unchanged and the package's own checks (the same as the CLI's and the Python API's)
    decide: ``"pdl1_tps": "50%"`` is accepted as in a CSV, and a bad value is refused naming the
    patient and column. A typed signature made MLflow refuse the whole request first, without
    naming anyone, and quote the request's rows in its message. ``patient_id`` is optional to
    MLflow for the same reason: the package's own check names the missing column. The outputs are
    :data:`icipredict.table.vocab.OUTPUT_COLUMNS` (what ``predict`` returns): the probabilities (``p_*``)
    and the median PFS months (``median_*``) as doubles, the rest as text.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    inputs = [ColSpec(AnyType(), name, required=False)
              for name, spec in COLUMNS.items() if spec.role in ("id", "predictor")]
    outputs = [ColSpec("double" if name.startswith(OUTPUT_NUMBER_PREFIXES) else "string", name)
               for name in OUTPUT_COLUMNS]
    # curve_times (months; empty: no curve) makes the pyfunc answer predict_curve's rows instead
    params = ParamSchema([ParamSpec("explain", "long", 0), ParamSpec("curve_times", "double", [], shape=(-1,))])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)


def _input_example() -> pd.DataFrame:
    # synthetic patients only: no real patient ever reaches the tracking store
    ex = synthetic_cohort(n=20, seed=1, outcomes=False).head(2)
    keep = [c for c in ex.columns if c in COLUMNS and COLUMNS[c].role in ("id", "predictor")]
    ex = ex[keep].copy()
    for c in ex.columns:
        if COLUMNS[c].kind in ("float", "int", "binary"):
            ex[c] = ex[c].astype(float)
        elif c != "patient_id":
            ex[c] = ex[c].astype(object).where(ex[c].notna(), None)
    return ex


def _pyfunc_file() -> str:
    return str(files("icipredict") / "serve" / PYFUNC_FILE)


def pyfunc_requirements(bundle: str | Path) -> list[str]:
    """The pip requirements of a bundle's MLflow model: ``PYFUNC_REQUIREMENTS`` and its estimator's library.

    A spline model needs neither XGBoost nor scikit-learn, and MLflow checks each listed package's installed
    version when it logs a model (importing it when its distribution has another name, as ``xgboost-cpu``).

    >>> pyfunc_requirements(shipped_models_dir() / "public" / "artifacts" / "bundle")  # doctest: +SKIP
    ['pandas', 'numpy', 'scipy', 'pyyaml', 'pydantic']
    """
    estimator = json.loads((Path(bundle) / "model.json").read_text(encoding="utf-8"))["estimator"]
    return [*PYFUNC_REQUIREMENTS, *_ESTIMATOR_REQUIREMENTS.get(Path(estimator["file"]).suffix, [])]


def _pyfunc_args(bundle: str | Path) -> dict:
    """What every saved or logged pyfunc is made of: the code file, the bundle as its only artefact, the signature."""
    return {"python_model": _pyfunc_file(), "artifacts": {"bundle": str(bundle)}, "signature": pyfunc_signature(),
            "input_example": _input_example(), "pip_requirements": pyfunc_requirements(bundle)}


def save_mlflow_model(bundle: str | Path, out: str | Path) -> Path:
    """Write an MLflow model directory around a bundle (its ``artifacts/bundle``), served through the pyfunc.

    This is how a shipped model is made servable with ``mlflow models serve`` without a tracking
    run. ``out`` must not exist.
    """
    mlflow = _mlflow()
    out = Path(out)
    if out.exists():
        raise OutputRefused(f"{str(out)!r} already exists; expected a new directory for the MLflow model.")
    import yaml

    mlflow.pyfunc.save_model(str(out), **_pyfunc_args(bundle))
    # MLflow records where the code and the bundle came from on this machine; loading uses only the
    # copies inside the model directory, so keep the directory free of build-machine paths
    mlmodel = out / "MLmodel"
    spec = yaml.safe_load(mlmodel.read_text())
    flavor = spec["flavors"]["python_function"]
    flavor["model_code_path"] = PYFUNC_FILE
    for artifact in flavor.get("artifacts", {}).values():
        artifact["uri"] = artifact["path"]
    mlmodel.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


#: Environment variable: seconds to wait for a SQLite store another process holds locked (MLflow's own wait).
STORE_WAIT_ENV = "ICIPREDICT_STORE_WAIT"
_STORE_WAIT_DEFAULT = 20.0


def _store_wait() -> float:
    raw = os.environ.get(STORE_WAIT_ENV, "")
    try:
        wait = float(raw) if raw.strip() else _STORE_WAIT_DEFAULT
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= 3600:
        raise TrackingError(f"{STORE_WAIT_ENV}: expected seconds from 0 to 3600. Got {raw[:40]!r} instead.")
    return wait


def check_store(configured: str | None) -> str:
    """The store a run would log to (its URI), checked without MLflow: for a local SQLite store, that its folder
    exists, that it lies outside every model folder (the database and the ``mlruns`` artefacts beside it would
    make the bundle refuse to load) and that no other process holds it locked beyond the wait. Commands call it
    before any work."""
    uri, _ = resolve_tracking_uri(configured)
    _check_store(uri)
    return uri


def _check_store(uri: str) -> None:
    """A local SQLite store: its folder exists, outside every model folder, and no other process holds it locked
    beyond the wait."""
    if not uri.startswith("sqlite:///"):
        return
    db = Path(uri[len("sqlite:///"):])
    refuse_model_folder(db, [], flag=f"tracking.uri {uri!r}: the store")  # the store and its mlruns/ beside it
    parent = db.parent if str(db.parent) else Path(".")
    if not parent.exists():
        raise TrackingError(f"tracking.uri {uri!r}: directory {str(parent)!r} does not exist; create it or "
                            "set tracking.uri (e.g. --set tracking.uri=sqlite:///mlflow.db).")
    if not db.is_file():
        return
    import sqlite3

    wait = _store_wait()
    try:
        con = sqlite3.connect(db, timeout=wait)
        try:
            con.execute("BEGIN IMMEDIATE")  # the write lock a run needs, released at once
            con.rollback()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise TrackingError(f"tracking.uri {uri!r}: the store is locked or unreadable ({exc}; waited {wait:g} s, "
                            f"set {STORE_WAIT_ENV} to wait longer). Close the other process or set "
                            "tracking.enabled=false.") from None


def _ensure_experiment(mlflow, uri: str, name: str) -> None:
    """Create a new experiment of a local SQLite store with its artefacts beside the database.

    MLflow's default artefact root for a database store is ``./mlruns`` of the *working directory*, so
    runs of different stores (a temporary one included) would mix their models and plots there.
    """
    if not uri.startswith("sqlite:///") or mlflow.get_experiment_by_name(name) is not None:
        return
    db = Path(uri[len("sqlite:///"):])
    folder = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    try:
        mlflow.create_experiment(name, artifact_location=(db.resolve().parent / "mlruns" / folder).as_uri())
    except Exception:  # created meanwhile by another process: set_experiment picks it up
        if mlflow.get_experiment_by_name(name) is None:
            raise


def open_store(configured: str | None, experiment: str):
    """Connect to the MLflow store a run would use and select its experiment: ``(mlflow, uri, origin)``.

    Training calls it before any work, so that an unreachable or locked store fails in seconds, not
    after the model is fitted.

    Raises
    ------
    TrackingError
        The store cannot be reached or opened.
    """
    mlflow = _mlflow()
    uri, origin = resolve_tracking_uri(configured)
    _check_store(uri)
    try:
        mlflow.set_tracking_uri(uri)
        remember_origin(uri, origin)
        _ensure_experiment(mlflow, uri, experiment)
        mlflow.set_experiment(experiment)
    except Exception as exc:
        raise TrackingError(f"tracking.uri {uri!r}: cannot open the MLflow store ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:300]}). Check the URI or set tracking.enabled=false.") from None
    return mlflow, uri, origin


@contextmanager
def _store_errors(uri: str, hint: str = ""):
    """A failure of the MLflow store (or of the files under it) while logging a run, as a TrackingError naming the
    store; ``hint`` follows the message. Other errors pass unchanged."""
    try:
        yield
    except TrackingError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("mlflow", "sqlalchemy", "sqlite3")) or isinstance(exc, OSError):
            raise TrackingError(f"tracking.uri {uri!r}: the MLflow store rejected the run ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:300]}).{hint}") from None
        raise


def log_training_run(result: "TrainingResult", card: str, figures: Mapping[str, bytes], *,
                     progress: Callable[[str], None] = lambda m: None) -> str:
    """Log a training result to MLflow and return its run id.

    ``figures`` maps plot file names to PNG bytes (the same plots written beside the bundle).

    Raises
    ------
    TrackingError
        The store cannot be reached, is locked beyond the retry time, or rejects the run.
    """
    cfg = result.config
    mlflow, uri, origin = open_store(cfg.tracking.uri, cfg.tracking.experiment)
    with _store_errors(uri, " Check that the store is reachable and not locked, or set tracking.enabled=false."):
        with mlflow.start_run(run_name=cfg.tracking.run_name) as run, tempfile.TemporaryDirectory() as tmp:
            folder, plot_dir = Path(tmp) / "run", Path(tmp) / "plots"
            folder.mkdir()
            plot_dir.mkdir()
            progress(f"logging to MLflow store {uri} ({TRACKING_ORIGINS[origin]}), run {run.info.run_id}")
            mlflow.log_params(_flatten(config_to_dict(cfg)))
            meta = result.metadata
            train = meta.training
            mlflow.set_tags({"icipredict.version": meta.icipredict_version, "model.family": meta.estimator.name,
                             "model.selected": meta.estimator.label[:250],
                             "cohorts": ",".join(train.cohorts), "label.source": cfg.label.source,
                             "tracking_uri.origin": origin})
            bundle = result.bundle_path
            if bundle is None:
                bundle = save_bundle(Path(tmp) / "bundle", meta, result.model.saved_state(), model_card=card,
                                     extra_files={f"plots/{k}": v for k, v in figures.items()})
            progress("logging the model (pyfunc)")
            # The model before the metrics: MLflow links a run's existing metrics to a model it logs by reading
            # each metric's history (hundreds of queries); metrics logged with the model's id are linked at once.
            info = mlflow.pyfunc.log_model(name="model", registered_model_name=cfg.tracking.registered_model,
                                           **_pyfunc_args(bundle))
            counts = {"data.n_evaluable": train.n_evaluable, "data.n_durable_benefit": train.n_durable_benefit,
                      "data.duplicates_removed": train.data.duplicates_removed}
            for c, d in train.per_cohort.items():
                for k, v in d.model_dump().items():
                    counts[_key("data", c, k)] = v
            mlflow.log_metrics({**_metrics_dict(result.metrics), **_curve_metrics_dict(result.curves.get("curve_metrics_iecv")),
                                **{k: float(v) for k, v in counts.items()}}, model_id=info.model_id)
            for k, auc in enumerate(_fold_aucs(result.predictions), start=1):
                if not np.isnan(auc):
                    mlflow.log_metric("cv.fold_roc_auc", auc, step=k)
            for name, src in train.data.sources.items():
                mlflow.set_tag(_key("data", name, "fingerprint"), src.fingerprint)
            (folder / "model_card.md").write_text(card)
            (folder / "metrics.csv").write_text(result.metrics.to_csv(index=False))
            for name, table in result.curves.items():
                (folder / f"{name}.csv").write_text(table.to_csv(index=False))
            import yaml

            (folder / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=True))
            for f in sorted(folder.iterdir()):
                mlflow.log_artifact(str(f))
            for name, data in figures.items():
                (plot_dir / name).write_bytes(data)
            mlflow.log_artifacts(str(plot_dir), artifact_path="plots")
            mlflow.set_tag("model_uri", info.model_uri)
            return run.info.run_id


def log_update_run(result: "UpdateResult", *, configured_uri: str | None = None, experiment: str = "icipredict-updates",
                   progress: Callable[[str], None] = lambda m: None) -> str:
    """Log a local update to MLflow (parent, method, before/after metrics, card, plot, the model); return the run id.

    Nothing about a patient is logged: counts, metrics and the local data's fingerprint only.
    """
    mlflow, uri, origin = open_store(configured_uri, experiment)
    meta = result.metadata
    with _store_errors(uri):
        with mlflow.start_run(run_name=f"update {meta.parent.name} ({result.method})") as run, \
                tempfile.TemporaryDirectory() as tmp:
            progress(f"logging to MLflow store {uri} ({TRACKING_ORIGINS[origin]}), run {run.info.run_id}")
            mlflow.log_params({"parent.name": meta.parent.name, "parent.version": meta.parent.version,
                               "method": result.method, "reason": result.reason[:6000]})
            mlflow.set_tags({"icipredict.version": meta.icipredict_version, "data.fingerprint": meta.parent.fingerprint})
            metrics = {"data.n_evaluable": meta.parent.n_patients, "data.n_durable_benefit": meta.parent.n_events}
            for row in result.comparison.to_dict(orient="records"):
                who = "before" if row["model"] == "original" else "after"
                for col in ("roc_auc", "calibration_slope", "calibration_intercept", "brier"):
                    if row.get(col) is not None and np.isfinite(row[col]):
                        metrics[f"{who}.{col}"] = float(row[col])
            mlflow.log_metrics(metrics)
            folder = Path(tmp)
            (folder / "model_card.md").write_text(result.card)
            (folder / "comparison.csv").write_text(result.comparison.to_csv(index=False))
            for f in sorted(folder.iterdir()):
                mlflow.log_artifact(str(f))
            for name, data in result.figures.items():
                (folder / name).write_bytes(data)
                mlflow.log_artifact(str(folder / name), artifact_path="plots")
            bundle = result.bundle_path or save_bundle(folder / "bundle", meta, result.model.saved_state(),
                                                       model_card=result.card)
            info = mlflow.pyfunc.log_model(name="model", **_pyfunc_args(bundle))
            mlflow.set_tag("model_uri", info.model_uri)
            return run.info.run_id
