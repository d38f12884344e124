"""Config-driven training: ``train(config) -> TrainingResult``, a short sequence of named steps.

1. :func:`~icipredict.io.sources.load_sources` reads, checks and pools the cohorts;
2. :func:`label_patients` labels them (not-evaluable patients are counted and left out);
3. cross-validation and leave-one-cohort-out estimate performance (tuning and calibration nested);
4. the final model is fitted on every evaluable training patient;
5. external cohorts, which never reach fitting, tuning or calibration, are evaluated;
6. SHAP values, plots, metadata and the model card are made;
7. the bundle is written (never over a folder the package did not create, never into the shipped
   models) and the run is logged to MLflow.

No CLI, no global state.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from icipredict import __version__
from icipredict.clinical.biomarkers import tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.config import Config, config_to_dict, load_config
from icipredict.evaluation import (MODEL_COLUMN, calibration_curve_table, compare_scores, decision_curve,
                                   format_metrics_markdown, sensitivity_specificity)
from icipredict.evaluation.saved import not_evaluable_counts
from icipredict.exceptions import InvalidConfig, InvalidPatientData
from icipredict.explain import contributions
from icipredict.io.bundle import check_bundle_target, save_bundle
from icipredict.io.sources import LoadedSources, load_sources
from icipredict.metadata import CohortCounts, DataSummary, LabelRule, ModelMetadata, TrainingProfile, ValueRange
from icipredict.model_card import model_card
from icipredict.models import IciModel, baseline_scores
from icipredict.plots import training_figures
from icipredict.schema import COLUMNS, PREDICTORS
from icipredict.tracking import log_training_run, open_store
from icipredict.vocab import BASELINES, BENEFIT_GROUPS

__all__ = ["TrainingResult", "train", "make_model_from_config", "label_patients", "training_profile", "Progress"]


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
    metadata: ModelMetadata
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    config: Config
    bundle_path: Path | None = None
    run_id: str | None = None
    shap: tuple[pd.DataFrame, pd.DataFrame, np.ndarray] | None = None
    fold_models: list[IciModel] = field(default_factory=list)
    fold_test_ids: list[frozenset] = field(default_factory=list)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    card: str = ""
    figures: dict[str, bytes] = field(default_factory=dict)


@dataclass
class _Labelled:
    """Evaluable training patients, their 0/1 target, and the labels of every patient."""

    rows: pd.DataFrame
    y: np.ndarray
    labels: pd.Series
    n_not_evaluable: dict[str, int]


def label_patients(patients: pd.DataFrame, config: Config) -> tuple[pd.Series, pd.Series]:
    """The three-way label and the 0/1 target (NaN when not evaluable)."""
    labels = benefit_label(patients, source=config.label.source, benefit_months=config.label.benefit_months)
    return labels, binary_target(labels)


def make_model_from_config(config: Config) -> IciModel:
    """The (unfitted) model a config describes."""
    return IciModel(
        estimator=config.model.name, params=dict(config.model.params), search=dict(config.model.search),
        calibration=config.calibration.method, inner_folds=config.calibration.inner_folds,
        feature_options=config.features.model_copy(), band_only_share=config.model.band_only_share,
        mask_share=config.model.mask_share, monotone=config.model.monotone, random_state=config.seed,
    )


def training_profile(patients: pd.DataFrame) -> dict:
    """What the training population looked like, for out-of-distribution warnings at prediction."""
    ranges = {}
    for name in PREDICTORS:
        if COLUMNS[name].kind in ("float", "int"):
            v = patients[name].dropna().astype(float)
            if len(v):
                ranges[name] = ValueRange(min=float(v.min()), max=float(v.max()), p01=float(v.quantile(0.01)),
                                          p99=float(v.quantile(0.99)),
                                          missing_share=float(patients[name].isna().mean()))
    drivers = patients[list(DRIVER_COLUMNS)].astype(float)
    return {
        "n": int(len(patients)), "ranges": ranges,
        "regimens": sorted(str(r) for r in patients["regimen"].dropna().unique()),
        "tmb_assay_kinds": sorted(tmb_assay_kind(patients).dropna().unique()),
        "driver_positive_share": float((drivers == 1).any(axis=1).mean()),
        "cohorts": sorted(str(c) for c in patients["cohort"].dropna().unique()),
        "til_measured_share": float(patients[["til_pct", "til_density", "til_status"]].notna().any(axis=1).mean()),
    }


# -- steps ------------------------------------------------------------------------------------------

def _resolve_config(config: Config | str | Path | None, overrides) -> Config:
    if isinstance(config, Config):
        if overrides:
            raise InvalidConfig("overrides: give them with a config path, or apply them to the Config yourself.")
        return config
    return load_config(config, overrides=overrides)


def _output_dir(config: Config) -> Path | None:
    """Where the bundle goes (relative paths start at the config file), checked before any work."""
    if not config.output.model_dir:
        return None
    out = Path(config.output.model_dir)
    if not out.is_absolute():
        out = (Path(config.base_dir) / out) if config.base_dir else out
    out = out.resolve()
    check_bundle_target(out, replace=config.output.replace)
    return out


def _label(patients: pd.DataFrame, config: Config, say: Callable[[str], None]) -> _Labelled:
    labels, target = label_patients(patients, config)
    evaluable = target.notna().to_numpy()
    rows = patients.loc[evaluable].reset_index(drop=True)
    y = target[evaluable].astype(int).to_numpy()
    folds = config.evaluation.cv_folds
    if len(np.unique(y)) < 2 or np.bincount(y).min() < folds:
        raise InvalidPatientData(
            f"training data: expected at least {folds} patients with durable benefit and {folds} with primary "
            f"resistance. Got {int((y == 1).sum())} and {int((y == 0).sum())} instead "
            f"({int((~evaluable).sum())} not evaluable).")
    say(f"{len(rows)} evaluable patients ({int(y.sum())} durable benefit, {int((y == 0).sum())} primary "
        f"resistance), {int((~evaluable).sum())} not evaluable")
    return _Labelled(rows, y, labels, not_evaluable_counts(patients, target))


def _cv_strata(y: np.ndarray, cohort: pd.Series, folds: int) -> np.ndarray:
    # stratify by outcome within cohort so that each fold mirrors the pooled mix
    strata = (cohort.astype(str) + ":" + pd.Series(y).astype(int).astype(str)).to_numpy()
    if pd.Series(strata).value_counts().min() < folds:
        return y  # a small cohort-class cell cannot be split; stratify by outcome only
    return strata


def _cross_validate(template: IciModel, data: _Labelled, config: Config, say: Callable[[str], None]):
    rows, y = data.rows, data.y
    folds = config.evaluation.cv_folds
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    oof, fold = np.full(len(y), np.nan), np.full(len(y), -1)
    models, test_ids = [], []
    for k, (tr, te) in enumerate(cv.split(rows, _cv_strata(y, rows["cohort"], folds)), start=1):
        say(f"cross-validation fold {k}/{folds}: fitting on {len(tr)}, testing on {len(te)}")
        m = clone(template).fit(rows.iloc[tr], y[tr])
        oof[te] = m.predict_proba(rows.iloc[te])[:, 1]
        fold[te] = k
        models.append(m)
        test_ids.append(frozenset(map(str, rows["patient_id"].iloc[te])))
    return oof, fold, models, test_ids


def _leave_one_cohort_out(template: IciModel, data: _Labelled, say: Callable[[str], None]):
    rows, y = data.rows, data.y
    pred, skipped = np.full(len(y), np.nan), []
    cohorts = sorted(rows["cohort"].unique())
    for i, c in enumerate(cohorts, start=1):
        test = (rows["cohort"] == c).to_numpy()
        if min(np.bincount(y[~test], minlength=2)) < 10 or len(set(y[test])) < 2:
            skipped.append(c)
            continue
        say(f"leave-one-cohort-out {i}/{len(cohorts)}: testing on {c} (n={int(test.sum())})")
        m = clone(template).fit(rows.loc[~test], y[~test])
        pred[test] = m.predict_proba(rows.loc[test])[:, 1]
    return pred, skipped


def _comparison_frame(rows: pd.DataFrame, y: np.ndarray, p: np.ndarray, cohort=None) -> pd.DataFrame:
    frame = pd.DataFrame({"cohort": rows["cohort"].astype(str).to_numpy() if cohort is None else cohort,
                          "y": y, MODEL_COLUMN: p})
    base = baseline_scores(rows)
    for b in BASELINES:
        frame[b] = base[b].to_numpy()
    return frame


def _evaluate_external(final: IciModel, external: dict[str, pd.DataFrame], config: Config,
                       say: Callable[[str], None]) -> list[pd.DataFrame]:
    tables = []
    for name, table in external.items():
        _, ety = label_patients(table, config)
        ok = ety.notna().to_numpy()
        if ok.sum() == 0 or ety[ok].nunique() < 2:
            say(f"external {name}: not enough evaluable patients with both outcomes; skipped")
            continue
        rows = table.loc[ok].reset_index(drop=True)
        frame = _comparison_frame(rows, ety[ok].astype(int).to_numpy(), final.predict_proba(rows)[:, 1], name)
        tables.append(compare_scores(frame, baselines=list(config.evaluation.baselines), n_boot=config.evaluation.n_boot,
                                     seed=config.seed, n_not_evaluable={name: int((~ok).sum())})
                      .assign(scheme="external"))
        say(f"external {name}: {int(ok.sum())} evaluable patients scored")
    return tables


def _benefit_group_table(y: np.ndarray, p: np.ndarray, config: Config) -> pd.DataFrame:
    thr = config.benefit_groups
    low, intermediate, high = BENEFIT_GROUPS
    group = np.where(p < thr.low, low, np.where(p >= thr.high, high, intermediate))
    rows = []
    for g in BENEFIT_GROUPS:
        m = group == g
        rows.append({"benefit_group": g, "n": int(m.sum()),
                     "observed_benefit_rate": float(y[m].mean()) if m.any() else np.nan,
                     "mean_predicted": float(p[m].mean()) if m.any() else np.nan})
    return pd.DataFrame(rows)


def _portable_config(config: Config) -> dict:
    """The config as it shapes the model: without where it was written, tracked or read from."""
    d = config_to_dict(config)
    d.pop("tracking", None)
    d["output"].pop("model_dir", None)
    d["output"].pop("replace", None)
    d["data"].pop("root", None)
    return d


_SUMMARY_COLUMNS = ["scheme", "subset", "cohort", "model", "n", "n_pos", "n_not_evaluable", "roc_auc", "roc_auc_low",
                    "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high", "brier", "brier_low", "brier_high",
                    "brier_null", "calibration_slope", "calibration_intercept", "mean_predicted", "prevalence",
                    "auc_diff_vs_baseline", "auc_diff_low", "auc_diff_high"]


def _metadata(config: Config, final: IciModel, data: _Labelled, patients: pd.DataFrame, summary: DataSummary,
              metrics: pd.DataFrame, groups: pd.DataFrame, calibration: pd.DataFrame,
              loco_skipped: list[str]) -> ModelMetadata:
    labels = data.labels
    per_cohort = {}
    for c, part in patients.groupby("cohort", sort=True):
        lab = labels.loc[part.index]
        per_cohort[str(c)] = CohortCounts(n=len(part), durable_benefit=int((lab == "durable_benefit").sum()),
                                          primary_resistance=int((lab == "primary_resistance").sum()),
                                          not_evaluable=int((lab == "not_evaluable").sum()))
    table = metrics.reindex(columns=_SUMMARY_COLUMNS)
    records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
               for r in table.to_dict(orient="records")]
    profile = TrainingProfile(
        **training_profile(data.rows), n_evaluable=len(data.y), n_durable_benefit=int(data.y.sum()),
        labels={str(k): int(v) for k, v in labels.value_counts().items()}, per_cohort=per_cohort, data=summary,
        loco_skipped=loco_skipped)
    return ModelMetadata(
        name=config.output.model_name, icipredict_version=__version__,
        estimator=final.spec("estimator.ubj" if final.estimator == "xgboost" else "estimator.skops"),
        feature_names=final.feature_names_, feature_options=final.feature_options or config.features,
        calibrator=final.calibrator_, label_rule=LabelRule(source=config.label.source,
                                                           benefit_months=config.label.benefit_months),
        benefit_thresholds=config.benefit_groups, benefit_groups_cv=groups.to_dict(orient="records"),
        training=profile, config=_portable_config(config), metrics=records,
        metrics_markdown=format_metrics_markdown(table.loc[table["subset"] == "all"]),
        calibration_cv=calibration.to_dict(orient="records"))


# -- the run ------------------------------------------------------------------------------------------

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

    Raises
    ------
    InvalidConfig, InvalidPatientData
        A bad config or source table.
    OutputRefused
        ``output.model_dir`` exists (without ``output.replace``, or it is not an earlier bundle),
        or lies inside the shipped models: checked before any work.
    TrackingError
        The MLflow store cannot be reached or written.

    Examples
    --------
    >>> result = train(overrides=["tracking.enabled=false", "data.sources.0.n=300",
    ...                           "evaluation.n_boot=0", "explain.enabled=false"], quiet=True)  # doctest: +SKIP
    """
    config = _resolve_config(config, overrides)
    say = progress or Progress(quiet)
    out = _output_dir(config)
    if config.tracking.enabled:
        _, uri, origin = open_store(config.tracking.uri, config.tracking.experiment)
        say(f"tracking to {uri} (from {origin})")
    sources: LoadedSources = load_sources(config, say)
    data = _label(sources.train, config, say)
    rows, y = data.rows, data.y
    baselines, n_boot, seed = list(config.evaluation.baselines), config.evaluation.n_boot, config.seed

    template = make_model_from_config(config)
    oof, fold, fold_models, fold_test_ids = _cross_validate(template, data, config, say)
    pred = _comparison_frame(rows, y, oof).assign(fold=fold)
    say(f"bootstrap confidence intervals ({n_boot} resamples) for cross-validation")
    tables = [compare_scores(pred, baselines=baselines, n_boot=n_boot, seed=seed,
                             n_not_evaluable=data.n_not_evaluable).assign(scheme="cv")]
    loco_skipped: list[str] = []
    if config.evaluation.leave_one_cohort_out and rows["cohort"].nunique() > 1:
        loco, loco_skipped = _leave_one_cohort_out(template, data, say)
        pred["loco"] = loco
        lpred = pred.loc[~np.isnan(loco)].drop(columns=[MODEL_COLUMN]).rename(columns={"loco": MODEL_COLUMN})
        if len(lpred):
            tables.append(compare_scores(lpred, baselines=baselines, n_boot=n_boot, seed=seed,
                                         n_not_evaluable=data.n_not_evaluable).assign(scheme="loco"))

    say(f"fitting the final model on all {len(rows)} evaluable patients")
    final = clone(template).fit(rows, y)
    tables += _evaluate_external(final, sources.external, config, say)
    metrics = pd.concat(tables, ignore_index=True)

    groups = _benefit_group_table(y, oof, config)
    curves = {
        "calibration_cv": calibration_curve_table(y, oof, n_bins=10 if len(y) >= 200 else 5),
        "decision_cv": decision_curve(y, oof),
        "thresholds_cv": sensitivity_specificity(y, oof, config.evaluation.thresholds),
        "benefit_groups_cv": groups,
    }
    shap_result = None
    if config.explain.enabled:
        say("SHAP values of the final model on the training patients")
        sample = rows
        if len(sample) > config.explain.max_patients:
            sample = sample.sample(config.explain.max_patients, random_state=seed).sort_index()
        phi, shap_base, scale = contributions(final, sample)
        shap_result = (phi, final.features(sample), shap_base)
        curves["shap_scale"] = pd.DataFrame({"scale": [scale]})

    metadata = _metadata(config, final, data, sources.train, sources.summary, metrics, groups,
                         curves["calibration_cv"], loco_skipped)
    result = TrainingResult(model=final, metadata=metadata, metrics=metrics, predictions=pred, config=config,
                            shap=shap_result, fold_models=fold_models, fold_test_ids=fold_test_ids, curves=curves)
    result.card = model_card(result)
    say("drawing plots")
    result.figures = training_figures(result)
    if out is not None:
        result.bundle_path = save_bundle(out, metadata, final.estimator_, model_card=result.card,
                                         extra_files={f"plots/{k}": v for k, v in result.figures.items()},
                                         replace=config.output.replace)
        say(f"model written to {result.bundle_path}")
    if config.tracking.enabled:
        result.run_id = log_training_run(result, result.card, result.figures, progress=say)
    return result
