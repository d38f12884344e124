"""Config-driven training and evaluation: ``train(config) -> TrainingResult``.

One call loads and checks the cohorts, labels them, estimates performance by stratified
cross-validation (tuning and calibration nested inside each training fold) and, with several
cohorts, by leave-one-cohort-out; scores the PD-L1, TMB and LORIS baselines on the same patients;
fits the final model on every evaluable training patient; evaluates external cohorts; computes
SHAP values; writes the model bundle; and logs the run to MLflow through :mod:`icipredict.tracking`.
No CLI, no global state.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.config import Config, config_to_dict, load_config
from icipredict.evaluation import (calibration_curve_table, decision_curve, format_metrics_markdown,
                                   metrics_table, sensitivity_specificity)
from icipredict.exceptions import InvalidConfig, InvalidPatientData
from icipredict.models import BASELINES, IciModel, baseline_scores
from icipredict.schema import COLUMNS, PREDICTORS, check_patients

__all__ = ["TrainingResult", "train", "evaluate", "load_sources", "make_model_from_config", "label_patients",
           "compare_scores", "training_profile", "Progress"]

MODEL_COLUMN = "model"


class Progress:
    """Progress lines on stderr (``quiet=True`` silences them)."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[icipredict] {message}", file=self.stream, flush=True)


@dataclass
class TrainingResult:
    """What a training run produced (patient-level predictions stay in memory, never logged)."""

    model: IciModel
    metadata: dict
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    config: Config
    bundle_path: Path | None = None
    run_id: str | None = None
    shap: tuple[pd.DataFrame, pd.DataFrame, np.ndarray] | None = None
    fold_models: list[IciModel] = field(default_factory=list)
    fold_test_ids: list[frozenset] = field(default_factory=list)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)


# -- data -------------------------------------------------------------------------------------

def load_sources(config: Config, progress: Callable[[str], None] = lambda m: None
                 ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict]:
    """Read, check and pool the sources of a config.

    Returns ``(train, external, summary)``: the pooled training table (deduplicated by patient id,
    first source wins), one table per external source, and counts for the report.
    """
    from icipredict.io import read_patients
    from icipredict.io.synthetic import synthetic_cohort

    train_parts, external, summary = [], {}, {"sources": {}}
    for src in config.data.sources:
        if src.format == "synthetic":
            raw = synthetic_cohort(n=src.n, seed=config.seed if src.seed is None else src.seed, cohort=src.name)
        else:
            path = config.source_path(src)
            if not path.exists():
                raise InvalidConfig(f"config key 'data.sources' ({src.name}): path {str(path)!r} does not exist. "
                                    "Set data.root or the source path (e.g. --set data.root=/path/to/data).")
            raw = read_patients(path, format=src.format, cohort=src.name)
        raw = raw.copy()
        raw["cohort"] = src.name
        try:
            clean = check_patients(raw, lenient=config.data.lenient)
        except InvalidPatientData as exc:
            raise InvalidPatientData(f"source {src.name!r}: {exc}", exc.problems) from None
        progress(f"loaded {src.name}: {len(clean)} patients ({src.role})")
        summary["sources"][src.name] = {"n": int(len(clean)), "role": src.role, "format": src.format,
                                        "fingerprint": fingerprint(clean)}
        if src.role == "train":
            train_parts.append(clean)
        else:
            external[src.name] = clean
    pooled = pd.concat(train_parts, ignore_index=True)
    dup = pooled["patient_id"].duplicated(keep="first")
    summary["duplicates_removed"] = int(dup.sum())
    if dup.any():
        progress(f"removed {int(dup.sum())} duplicate patient(s) shared between training sources (first kept)")
    pooled = pooled.loc[~dup].reset_index(drop=True)
    for name, table in external.items():
        overlap = table["patient_id"].isin(set(pooled["patient_id"]))
        if overlap.any():
            external[name] = table.loc[~overlap].reset_index(drop=True)
            summary["sources"][name]["removed_overlap_with_training"] = int(overlap.sum())
            progress(f"external {name}: removed {int(overlap.sum())} patient(s) also in training")
    return pooled, external, summary


def fingerprint(table: pd.DataFrame) -> str:
    """SHA-256 of a table's content without identifiers (which rows, not who they are)."""
    body = table.drop(columns=["patient_id"], errors="ignore")
    body = body.reindex(sorted(body.columns), axis=1).astype(str)
    digest = hashlib.sha256()
    digest.update(",".join(body.columns).encode())
    digest.update(pd.util.hash_pandas_object(body, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def label_patients(patients: pd.DataFrame, config: Config) -> tuple[pd.Series, pd.Series]:
    """The three-way label and the 0/1 target (NaN when not evaluable)."""
    labels = benefit_label(patients, source=config.label.source, benefit_months=config.label.benefit_months)
    return labels, binary_target(labels)


def make_model_from_config(config: Config) -> IciModel:
    f = config.features
    return IciModel(
        estimator=config.model.name, params=dict(config.model.params), search=dict(config.model.search),
        calibration=config.calibration.method, inner_folds=config.calibration.inner_folds,
        feature_options={"pdl1_cutoff": f.pdl1_cutoff, "til_pct_cutoff": f.til_pct_cutoff,
                         "til_density_cutoff": f.til_density_cutoff, "exclude": list(f.exclude)},
        band_only_share=config.model.band_only_share, mask_share=config.model.mask_share,
        monotone=config.model.monotone, random_state=config.seed,
    )


# -- evaluation ---------------------------------------------------------------------------------

def compare_scores(frame: pd.DataFrame, *, baselines: list[str], n_boot: int, seed: int,
                   n_not_evaluable: dict[str, int] | None = None) -> pd.DataFrame:
    """The model beside each baseline, per cohort and pooled.

    ``subset == "all"``: every score on the patients where it exists. ``subset == "<baseline>
    available"``: the model and that baseline on exactly the same patients, so their AUCs compare.
    """
    from icipredict.evaluation import paired_auc_difference

    scores = {MODEL_COLUMN: MODEL_COLUMN, **{b: b for b in baselines}}
    probability = [MODEL_COLUMN, "loris"]
    parts = [metrics_table(frame, scores=scores, probability_scores=probability, n_boot=n_boot, seed=seed,
                           n_not_evaluable=n_not_evaluable).assign(subset="all")]
    for b in baselines:
        sub = frame.loc[frame[b].notna()]
        if sub.empty or sub["y"].nunique() < 2:
            continue
        table = metrics_table(sub, scores={MODEL_COLUMN: MODEL_COLUMN, b: b}, probability_scores=probability,
                              n_boot=n_boot, seed=seed).assign(subset=f"{b} available")
        diffs = {}
        for cohort, part in [*sub.groupby("cohort"), ("pooled", sub)]:
            if part["y"].nunique() == 2 and len(part) >= 10:
                diffs[str(cohort)] = paired_auc_difference(part["y"].to_numpy(float), part[MODEL_COLUMN].to_numpy(float),
                                                           part[b].to_numpy(float), n_boot=n_boot, seed=seed)
        for key, col in ((0, "auc_diff_vs_baseline"), (1, "auc_diff_low"), (2, "auc_diff_high")):
            table[col] = [diffs.get(c, (np.nan,) * 3)[key] if m == MODEL_COLUMN else np.nan
                          for c, m in zip(table["cohort"], table["model"])]
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    if frame["cohort"].nunique() == 1:  # the pooled row would repeat the cohort's own
        out = out.loc[out["cohort"] != "pooled"]
    # a score nobody had (LORIS without albumin and NLR) has no row rather than an empty one
    return out.loc[out["n"] > 0].reset_index(drop=True)


def _fold_labels(y: np.ndarray, cohort: pd.Series) -> np.ndarray:
    # stratify by outcome within cohort so that each fold mirrors the pooled mix
    return (cohort.astype(str) + ":" + pd.Series(y).astype(int).astype(str)).to_numpy()


def _cross_validate(model: IciModel, patients: pd.DataFrame, y: np.ndarray, config: Config,
                    progress: Callable[[str], None]) -> tuple[np.ndarray, np.ndarray, list, list]:
    strata = _fold_labels(y, patients["cohort"])
    counts = pd.Series(strata).value_counts()
    if counts.min() < config.evaluation.cv_folds:
        strata = y  # a small cohort-class cell cannot be split; stratify by outcome only
    cv = StratifiedKFold(n_splits=config.evaluation.cv_folds, shuffle=True, random_state=config.seed)
    oof = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    models, test_ids = [], []
    for k, (tr, te) in enumerate(cv.split(patients, strata), start=1):
        progress(f"cross-validation fold {k}/{config.evaluation.cv_folds}: fitting on {len(tr)}, testing on {len(te)}")
        m = model.__class__(**model.get_params()).fit(patients.iloc[tr], y[tr])
        oof[te] = m.predict_proba(patients.iloc[te])[:, 1]
        fold[te] = k
        models.append(m)
        test_ids.append(frozenset(map(str, patients["patient_id"].iloc[te])))
    return oof, fold, models, test_ids


def _leave_one_cohort_out(model: IciModel, patients: pd.DataFrame, y: np.ndarray,
                          progress: Callable[[str], None]) -> tuple[np.ndarray, list[str]]:
    pred = np.full(len(y), np.nan)
    skipped = []
    cohorts = sorted(patients["cohort"].unique())
    for i, c in enumerate(cohorts, start=1):
        test = (patients["cohort"] == c).to_numpy()
        yt = y[~test]
        if min(np.bincount(yt, minlength=2)) < 10 or len(set(y[test])) < 2:
            skipped.append(c)
            continue
        progress(f"leave-one-cohort-out {i}/{len(cohorts)}: testing on {c} (n={int(test.sum())})")
        m = model.__class__(**model.get_params()).fit(patients.loc[~test], yt)
        pred[test] = m.predict_proba(patients.loc[test])[:, 1]
    return pred, skipped


def training_profile(patients: pd.DataFrame) -> dict[str, Any]:
    """What the training population looked like, for out-of-distribution warnings at prediction."""
    ranges = {}
    for name in PREDICTORS:
        spec = COLUMNS[name]
        if spec.kind in ("float", "int"):
            v = patients[name].dropna().astype(float)
            if len(v):
                ranges[name] = {"min": float(v.min()), "max": float(v.max()),
                                "p01": float(v.quantile(0.01)), "p99": float(v.quantile(0.99)),
                                "missing_share": float(patients[name].isna().mean())}
    regimens = sorted(str(r) for r in patients["regimen"].dropna().unique())
    from icipredict.clinical.biomarkers import tmb_assay_kind
    from icipredict.clinical.mutations import DRIVER_COLUMNS

    kinds = sorted(tmb_assay_kind(patients).dropna().unique())
    drivers = patients[list(DRIVER_COLUMNS)].astype(float)
    return {
        "n": int(len(patients)), "ranges": ranges, "regimens": regimens, "tmb_assay_kinds": kinds,
        "driver_positive_share": float((drivers == 1).any(axis=1).mean()),
        "cohorts": sorted(str(c) for c in patients["cohort"].dropna().unique()),
        "til_measured_share": float(patients[["til_pct", "til_density", "til_status"]].notna().any(axis=1).mean()),
    }


def _not_evaluable_counts(patients: pd.DataFrame, y: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in y.isna().groupby(patients["cohort"]).sum().items()}


# -- the run --------------------------------------------------------------------------------------

def train(config: Config | str | Path | None = None, *, overrides: list[str] | tuple[str, ...] = (),
          progress: Callable[[str], None] | None = None, quiet: bool = False) -> TrainingResult:
    """Train, evaluate, explain, save and track one model as the config says.

    Parameters
    ----------
    config : Config, path to a YAML file, or None for the built-in defaults (synthetic cohort)
    overrides : list of "key=value"
        Applied on top of the file (``--set`` on the command line).
    progress : callable, optional
        Receives one line per step; defaults to stderr unless ``quiet``.

    Examples
    --------
    >>> result = train(overrides=["tracking.enabled=false", "data.sources.0.n=300",
    ...                           "evaluation.n_boot=0", "explain.enabled=false"], quiet=True)  # doctest: +SKIP
    """
    if not isinstance(config, Config):
        config = load_config(config, overrides=overrides)
    elif overrides:
        raise InvalidConfig("overrides: give them with a config path, or apply them to the Config yourself.")
    say = progress or Progress(quiet)
    patients, external, data_summary = load_sources(config, say)
    labels, target = label_patients(patients, config)
    evaluable = target.notna().to_numpy()
    n_not_evaluable = _not_evaluable_counts(patients, target)
    train_rows = patients.loc[evaluable].reset_index(drop=True)
    y = target[evaluable].astype(int).to_numpy()
    if len(np.unique(y)) < 2 or np.bincount(y).min() < config.evaluation.cv_folds:
        raise InvalidPatientData(
            f"training data: expected at least {config.evaluation.cv_folds} patients with durable benefit and "
            f"{config.evaluation.cv_folds} with primary resistance. Got {int((y == 1).sum())} and "
            f"{int((y == 0).sum())} instead ({int((~evaluable).sum())} not evaluable).")
    say(f"{len(train_rows)} evaluable patients ({int(y.sum())} durable benefit, {int((y == 0).sum())} primary "
        f"resistance), {int((~evaluable).sum())} not evaluable")

    template = make_model_from_config(config)
    oof, fold, fold_models, fold_test_ids = _cross_validate(template, train_rows, y, config, say)
    base = baseline_scores(train_rows)
    pred = pd.DataFrame({"cohort": train_rows["cohort"].astype(str).to_numpy(), "y": y, "fold": fold,
                         MODEL_COLUMN: oof})
    for b in BASELINES:
        pred[b] = base[b].to_numpy()
    baselines = list(config.evaluation.baselines)
    n_boot, seed = config.evaluation.n_boot, config.seed
    say(f"bootstrap confidence intervals ({n_boot} resamples) for cross-validation")
    tables = [compare_scores(pred, baselines=baselines, n_boot=n_boot, seed=seed,
                             n_not_evaluable=n_not_evaluable).assign(scheme="cv")]
    cohorts = sorted(train_rows["cohort"].astype(str).unique())
    loco_skipped: list[str] = []
    if config.evaluation.leave_one_cohort_out and len(cohorts) > 1:
        loco, loco_skipped = _leave_one_cohort_out(template, train_rows, y, say)
        pred["loco"] = loco
        lpred = pred.loc[~np.isnan(loco)].drop(columns=[MODEL_COLUMN]).rename(columns={"loco": MODEL_COLUMN})
        if len(lpred):
            tables.append(compare_scores(lpred, baselines=baselines, n_boot=n_boot, seed=seed,
                                         n_not_evaluable=n_not_evaluable).assign(scheme="loco"))

    say(f"fitting the final model on all {len(train_rows)} evaluable patients")
    final = make_model_from_config(config).fit(train_rows, y)

    ext_pred = []
    for name, table in external.items():
        _, ety = label_patients(table, config)
        ok = ety.notna().to_numpy()
        if ok.sum() == 0 or ety[ok].nunique() < 2:
            say(f"external {name}: not enough evaluable patients with both outcomes; skipped")
            continue
        rows = table.loc[ok].reset_index(drop=True)
        eb = baseline_scores(rows)
        frame = pd.DataFrame({"cohort": name, "y": ety[ok].astype(int).to_numpy(),
                              MODEL_COLUMN: final.predict_proba(rows)[:, 1]})
        for b in BASELINES:
            frame[b] = eb[b].to_numpy()
        ext_pred.append(frame)
        tables.append(compare_scores(frame, baselines=baselines, n_boot=n_boot, seed=seed,
                                     n_not_evaluable={name: int((~ok).sum())}).assign(scheme="external"))
        say(f"external {name}: {int(ok.sum())} evaluable patients scored")
    metrics = pd.concat(tables, ignore_index=True)

    curves = {
        "calibration_cv": calibration_curve_table(y, oof, n_bins=10 if len(y) >= 200 else 5),
        "decision_cv": decision_curve(y, oof),
        "thresholds_cv": sensitivity_specificity(y, oof, config.evaluation.thresholds),
    }
    risk = _risk_group_table(y, oof, config)
    curves["risk_groups_cv"] = risk

    shap_result = None
    if config.explain.enabled:
        say("SHAP values of the final model on the training patients")
        sample = train_rows
        if len(sample) > config.explain.max_patients:
            sample = sample.sample(config.explain.max_patients, random_state=seed).sort_index()
        phi, shap_base, scale = final.contributions(sample)
        shap_result = (phi, final.features(sample), shap_base)
        curves["shap_scale"] = pd.DataFrame({"scale": [scale]})

    metadata = _metadata(config, final, train_rows, y, labels, patients, data_summary, metrics, risk,
                         loco_skipped)
    metadata["calibration_cv"] = curves["calibration_cv"].to_dict(orient="records")
    result = TrainingResult(model=final, metadata=metadata, metrics=metrics, predictions=pred, config=config,
                            shap=shap_result, fold_models=fold_models, fold_test_ids=fold_test_ids, curves=curves)
    from icipredict.model_card import model_card

    card = model_card(result)
    if config.output.model_dir:
        from icipredict.io.bundle import save_bundle

        out = Path(config.output.model_dir)
        if not out.is_absolute():
            # relative to the config file, so a config names its output the same from any directory
            out = (Path(config.base_dir) / out).resolve() if config.base_dir else out.resolve()
        result.bundle_path = save_bundle(final, out, metadata, model_card=card)
        say(f"model written to {result.bundle_path}")
    if config.tracking.enabled:
        from icipredict.tracking import log_training_run

        result.run_id = log_training_run(result, card, progress=say)
    return result


def _risk_group_table(y: np.ndarray, p: np.ndarray, config: Config) -> pd.DataFrame:
    low, high = config.risk_groups.low, config.risk_groups.high
    group = np.where(p < low, "low", np.where(p >= high, "high", "intermediate"))
    rows = []
    for g in ("low", "intermediate", "high"):
        m = group == g
        rows.append({"risk_group": g, "n": int(m.sum()), "observed_benefit_rate": float(y[m].mean()) if m.any()
                     else np.nan, "mean_predicted": float(p[m].mean()) if m.any() else np.nan})
    return pd.DataFrame(rows)


def _portable_config(config: Config) -> dict:
    """The config as it shapes the model: without where it was written, tracked or read from."""
    d = config_to_dict(config)
    d.pop("tracking", None)
    d["output"].pop("model_dir", None)
    d["data"].pop("root", None)
    return d


def _metadata(config: Config, final: IciModel, rows: pd.DataFrame, y: np.ndarray, labels: pd.Series,
              patients: pd.DataFrame, data_summary: dict, metrics: pd.DataFrame, risk: pd.DataFrame,
              loco_skipped: list[str]) -> dict:
    from icipredict import __version__

    label_counts = labels.value_counts().to_dict()
    per_cohort = {}
    for c, part in patients.groupby("cohort", sort=True):
        lab = labels.loc[part.index]
        per_cohort[str(c)] = {"n": int(len(part)), "durable_benefit": int((lab == "durable_benefit").sum()),
                              "primary_resistance": int((lab == "primary_resistance").sum()),
                              "not_evaluable": int((lab == "not_evaluable").sum())}
    summary_cols = ["scheme", "subset", "cohort", "model", "n", "n_pos", "n_not_evaluable", "roc_auc", "roc_auc_low",
                    "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high", "brier", "brier_low", "brier_high",
                    "brier_null", "calibration_slope", "calibration_intercept", "mean_predicted", "prevalence",
                    "auc_diff_vs_baseline", "auc_diff_low", "auc_diff_high"]
    table = metrics.reindex(columns=summary_cols)
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in table.to_dict(orient="records")]
    return {
        "name": config.output.model_name,
        "icipredict_version": __version__,
        "config": _portable_config(config),
        "label_rule": {"source": config.label.source, "benefit_months": config.label.benefit_months,
                       "positive_class": "durable_benefit"},
        "risk_thresholds": {"low": config.risk_groups.low, "high": config.risk_groups.high},
        "risk_groups_cv": risk.to_dict(orient="records"),
        "time_numbering": "seed",
        "training": {**training_profile(rows), "n_evaluable": int(len(y)), "n_durable_benefit": int(y.sum()),
                     "labels": {str(k): int(v) for k, v in label_counts.items()}, "per_cohort": per_cohort,
                     "data": data_summary, "loco_skipped": loco_skipped},
        "metrics": records,
        "metrics_markdown": format_metrics_markdown(table.loc[table["subset"] == "all"]),
    }


# -- evaluate a saved model on new data -------------------------------------------------------------

def evaluate(model, data: pd.DataFrame | str | Path, *, cohort_column: str = "cohort", format: str = "auto",
             label_source: str = "derived", benefit_months: float = 6.0, n_boot: int = 1000, seed: int = 0,
             baselines: tuple[str, ...] = BASELINES) -> pd.DataFrame:
    """Metrics of a trained model on labelled patients, per cohort and pooled, beside the baselines.

    ``model`` is anything :func:`icipredict.load_model` accepts. Patients whose outcome is not
    evaluable are excluded and counted.
    """
    from icipredict.io import read_patients
    from icipredict.serving import load_model

    loaded = load_model(model)
    table = read_patients(data, format=format) if not isinstance(data, pd.DataFrame) else data.copy()
    if cohort_column != "cohort" and cohort_column in table.columns:
        table["cohort"] = table[cohort_column]
    clean = check_patients(table)
    if clean["cohort"].isna().all():
        clean["cohort"] = "input"
    clean["cohort"] = clean["cohort"].fillna("unknown")
    labels = benefit_label(clean, source=label_source, benefit_months=benefit_months)
    target = binary_target(labels)
    ok = target.notna().to_numpy()
    if ok.sum() == 0 or target[ok].nunique() < 2:
        raise InvalidPatientData(
            "evaluation data: expected evaluable patients with both outcomes (durable benefit and primary "
            f"resistance, from pfs_months/pfs_event/best_response). Got {int(ok.sum())} evaluable patients "
            f"and classes {sorted(target[ok].unique().tolist())} instead.")
    rows = clean.loc[ok].reset_index(drop=True)
    frame = pd.DataFrame({"cohort": rows["cohort"].astype(str), "y": target[ok].astype(int).to_numpy(),
                          MODEL_COLUMN: loaded.predict_proba(rows)})
    base = baseline_scores(rows)
    for b in baselines:
        frame[b] = base[b].to_numpy()
    return compare_scores(frame, baselines=list(baselines), n_boot=n_boot, seed=seed,
                          n_not_evaluable=_not_evaluable_counts(clean, target))
