"""MLflow tracking: the only module that imports mlflow.

One run per training: the resolved config as params, data fingerprints and counts (never rows or
identifiers), metrics per fold, cohort and scheme with their CIs, ROC / calibration / decision /
forest / SHAP plots, the model card, and the model as a pyfunc whose ``predict`` is
:func:`icipredict.serving.predict`. The pyfunc is logged "from code" (no cloudpickle): its code is
``icipredict/pyfunc_entry.py`` and its only artefact is the pickle-free model bundle.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.exceptions import IcipredictError, ModelLoadError

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.training import TrainingResult

__all__ = ["log_training_run", "download_bundle", "TrackingError", "make_pyfunc", "pyfunc_signature",
           "MAX_REQUEST_ROWS"]

#: Largest request the pyfunc scores at once; bigger REST payloads get a 400 (Spark batches are smaller).
MAX_REQUEST_ROWS = int(os.environ.get("ICIPREDICT_MAX_REQUEST_ROWS", "50000"))


class TrackingError(IcipredictError, OSError):
    """The MLflow tracking store could not be reached or written."""


def _mlflow():
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)

    return mlflow


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


def _metrics_dict(result: "TrainingResult") -> dict[str, float]:
    out: dict[str, float] = {}
    for row in result.metrics.to_dict(orient="records"):
        subset = "" if row["subset"] == "all" else row["subset"].replace(" available", "_subset")
        for col in _METRIC_COLUMNS:
            v = row.get(col)
            if v is not None and not (isinstance(v, float) and np.isnan(v)):
                out[_key(row["scheme"], subset, row["cohort"], row["model"], col)] = float(v)
    # headline numbers for the runs table of `mlflow ui`
    cv = result.metrics.query("scheme == 'cv' and subset == 'all' and model == 'model'")
    pooled = cv.loc[cv["cohort"] == "pooled"] if (cv["cohort"] == "pooled").any() else cv
    if len(pooled):
        for col in ("roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept"):
            v = pooled[col].iloc[0]
            if pd.notna(v):
                out[col] = float(v)
    return out


def _fold_aucs(result: "TrainingResult") -> list[float]:
    from icipredict.evaluation import roc_auc

    pred = result.predictions
    aucs = []
    for k in sorted(pred["fold"].unique()):
        part = pred.loc[pred["fold"] == k]
        aucs.append(float(roc_auc(part["y"].to_numpy(float), part["model"].to_numpy(float)))
                    if part["y"].nunique() == 2 else float("nan"))
    return aucs


def _write_plots(result: "TrainingResult", folder: Path) -> list[Path]:
    from icipredict import explain, plots

    pred = result.predictions
    y = pred["y"].to_numpy(float)
    files = []
    curves = {"model (CV)": (y, pred["model"].to_numpy(float))}
    for b in result.config.evaluation.baselines:
        known = pred[b].notna().to_numpy()
        if known.sum() >= 10 and len(set(y[known])) == 2:  # LORIS needs five inputs, often absent
            curves[f"{b} (n={int(known.sum())})"] = (y[known], pred[b].to_numpy(float)[known])
    figs = {
        "roc_cv.png": plots.plot_roc(curves, title="ROC, cross-validated, model beside baselines"),
        "calibration_cv.png": plots.plot_calibration(y, pred["model"].to_numpy(float), label="model (CV)",
                                                    title="Calibration, cross-validated"),
        "decision_curve_cv.png": plots.plot_decision_curve({"model (CV)": curves["model (CV)"]},
                                                           title="Decision curve, cross-validated"),
        "auc_forest.png": plots.plot_metric_forest(result.metrics.query("subset == 'all'"), "roc_auc",
                                                   title="ROC AUC by scheme and cohort"),
    }
    if "loco" in pred and pred["loco"].notna().any():
        m = pred["loco"].notna()
        figs["calibration_loco.png"] = plots.plot_calibration(y[m], pred.loc[m, "loco"].to_numpy(float),
                                                              label="model (LOCO)",
                                                              title="Calibration, leave-one-cohort-out")
    if result.shap is not None:
        phi, X, base = result.shap
        cfg = result.config.explain
        figs["shap_beeswarm.png"] = explain.plot_beeswarm(phi, X, base, max_display=cfg.max_display,
                                                          title=f"SHAP values, n={len(phi)}")
        figs["shap_importance.png"] = explain.plot_importance_bar(phi, max_display=cfg.max_display,
                                                                  title=f"Mean |SHAP|, n={len(phi)}")
        for f in cfg.dependence:
            if f in phi.columns:
                figs[f"shap_dependence_{f}.png"] = explain.plot_dependence(phi, X, f)
    import matplotlib.pyplot as plt

    for name, fig in figs.items():
        plots.save_figure(fig, folder / name)
        plt.close(fig)
        files.append(folder / name)
    return files


def pyfunc_signature():
    """Signature of the pyfunc: every canonical column optional, patient_id required."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    from icipredict.schema import COLUMNS

    inputs = []
    for name, spec in COLUMNS.items():
        if spec.role not in ("id", "predictor"):
            continue
        kind = "double" if spec.kind in ("float", "int", "binary") else "string"
        inputs.append(ColSpec(kind, name, required=(name == "patient_id")))
    outputs = [ColSpec("string", "patient_id"), ColSpec("double", "p_durable_benefit"), ColSpec("string", "risk_group"),
               ColSpec("string", "time_class"), ColSpec("string", "missing_inputs"), ColSpec("string", "warnings"),
               ColSpec("string", "model_version")]
    params = ParamSchema([ParamSpec("explain", "long", 0)])
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)


def _input_example() -> pd.DataFrame:
    # synthetic patients only: no real patient ever reaches the tracking store
    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.schema import COLUMNS

    ex = synthetic_cohort(n=20, seed=1, outcomes=False).head(2)
    keep = [c for c in ex.columns if c in COLUMNS and COLUMNS[c].role in ("id", "predictor")]
    ex = ex[keep].copy()
    for c in ex.columns:
        if COLUMNS[c].kind in ("float", "int", "binary"):
            ex[c] = ex[c].astype(float)
        elif c != "patient_id":
            ex[c] = ex[c].astype(object).where(ex[c].notna(), None)
    return ex


class _PyfuncBase:
    """Mixin body of the pyfunc (the MLflow base class is attached in :func:`make_pyfunc`)."""

    def load_context(self, context):
        from icipredict.serving import load_model

        self._model = load_model(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):
        from icipredict.exceptions import InvalidPatientData
        from icipredict.serving import predict

        if hasattr(model_input, "__len__") and len(model_input) > MAX_REQUEST_ROWS:
            raise _invalid_request(f"request of {len(model_input)} patients exceeds the limit of {MAX_REQUEST_ROWS} "
                                   "per call (ICIPREDICT_MAX_REQUEST_ROWS); send smaller batches.")
        if isinstance(model_input, pd.DataFrame):
            model_input = model_input.copy()
            model_input.columns = [str(c) for c in model_input.columns]
            for c in model_input.columns:  # the signature hands over NaN for absent optional columns
                if model_input[c].dtype == object:
                    model_input[c] = model_input[c].where(model_input[c].notna(), None)
        explain = int((params or {}).get("explain", 0) or 0)
        try:
            out = predict(model_input, model=self._model, explain=explain)
        except InvalidPatientData as exc:
            raise _invalid_request(str(exc)) from None
        return out


def _invalid_request(message: str):
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


def make_pyfunc():
    """The pyfunc instance (used by ``icipredict/pyfunc_entry.py``)."""
    from mlflow.pyfunc import PythonModel

    cls = type("IcipredictPyfunc", (_PyfuncBase, PythonModel), {})
    return cls()



def _check_store(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        parent = db.parent if str(db.parent) else Path(".")
        if not parent.exists():
            raise TrackingError(f"tracking.uri {uri!r}: directory {str(parent)!r} does not exist; create it or "
                                "set tracking.uri (e.g. --set tracking.uri=sqlite:///mlflow.db).")


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


def log_training_run(result: "TrainingResult", card: str, *, progress: Callable[[str], None] = lambda m: None) -> str:
    """Log a training run to MLflow and return its run id.

    Raises
    ------
    TrackingError
        The store cannot be reached, is locked beyond the retry time, or rejects the run.
    """
    mlflow = _mlflow()
    cfg = result.config
    _check_store(cfg.tracking.uri)
    try:
        mlflow.set_tracking_uri(cfg.tracking.uri)
        _ensure_experiment(mlflow, cfg.tracking.uri, cfg.tracking.experiment)
        mlflow.set_experiment(cfg.tracking.experiment)
    except Exception as exc:
        raise TrackingError(f"tracking.uri {cfg.tracking.uri!r}: cannot open the MLflow store ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:300]}). Check the URI or set tracking.enabled=false.") from None
    from icipredict.config import config_to_dict

    try:
        with mlflow.start_run(run_name=cfg.tracking.run_name) as run, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            progress(f"logging to MLflow ({cfg.tracking.uri}), run {run.info.run_id}")
            mlflow.log_params(_flatten(config_to_dict(cfg)))
            meta = result.metadata
            train = meta["training"]
            mlflow.set_tags({"icipredict.version": meta["icipredict_version"], "model.name": cfg.model.name,
                             "cohorts": ",".join(train["cohorts"]), "label.source": cfg.label.source})
            counts = {"data.n_evaluable": train["n_evaluable"], "data.n_durable_benefit": train["n_durable_benefit"],
                      "data.duplicates_removed": train["data"].get("duplicates_removed", 0)}
            for c, d in train["per_cohort"].items():
                for k, v in d.items():
                    counts[_key("data", c, k)] = v
            mlflow.log_metrics({**_metrics_dict(result), **{k: float(v) for k, v in counts.items()}})
            for k, auc in enumerate(_fold_aucs(result), start=1):
                if not np.isnan(auc):
                    mlflow.log_metric("cv.fold_roc_auc", auc, step=k)
            for name, src in train["data"]["sources"].items():
                mlflow.set_tag(_key("data", name, "fingerprint"), src["fingerprint"])
            (folder / "model_card.md").write_text(card)
            (folder / "metrics.csv").write_text(result.metrics.to_csv(index=False))
            for name, table in result.curves.items():
                (folder / f"{name}.csv").write_text(table.to_csv(index=False))
            import yaml

            (folder / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=True))
            plot_dir = folder / "plots"
            plot_dir.mkdir()
            progress("writing plots")
            _write_plots(result, plot_dir)
            for f in sorted(folder.iterdir()):
                if f.is_file():
                    mlflow.log_artifact(str(f))
            mlflow.log_artifacts(str(plot_dir), artifact_path="plots")
            bundle = result.bundle_path
            if bundle is None:
                from icipredict.io.bundle import save_bundle

                bundle = save_bundle(result.model, folder / "bundle", meta, model_card=card)
            progress("logging the model (pyfunc)")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
                artifacts={"bundle": str(bundle)},
                signature=pyfunc_signature(),
                input_example=_input_example(),
                registered_model_name=cfg.tracking.registered_model,
                pip_requirements=["pandas", "numpy", "scikit-learn", "xgboost", "skops", "pyyaml", "pydantic"],
            )
            mlflow.set_tag("model_uri", info.model_uri)
            return run.info.run_id
    except TrackingError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("mlflow", "sqlalchemy", "sqlite3")) or isinstance(exc, OSError):
            raise TrackingError(f"tracking.uri {cfg.tracking.uri!r}: the MLflow store rejected the run "
                                f"({type(exc).__name__}: {str(exc).splitlines()[0][:300]}). Check that the store is "
                                "reachable and not locked, or set tracking.enabled=false.") from None
        raise


def download_bundle(uri: str) -> Path:
    """Local path of the model bundle inside an MLflow model (``runs:/<id>/model``, ``models:/...``)."""
    mlflow = _mlflow()
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:
        raise ModelLoadError(f"model {uri!r}: could not download it from MLflow ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:300]}). Is MLFLOW_TRACKING_URI set to the right store?") from None
    from icipredict.serving import find_bundle

    found = find_bundle(local)
    if found is not None:
        return found
    raise ModelLoadError(f"model {uri!r}: no icipredict bundle inside (looked for artifacts/bundle/model.json).")
