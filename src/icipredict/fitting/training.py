"""Config-driven training: ``train(config) -> TrainingResult``, a short sequence of named steps.

1. :func:`~icipredict.fitting.sources.load_sources` reads, checks and pools the cohorts, and the
   patients are labelled (not-evaluable ones counted and left out);
2. internal-external validation (:func:`~icipredict.fitting.selection.internal_external`), the headline:
   each study is predicted by a model selected, calibrated and fitted on the others;
3. stratified pooled cross-validation, secondary, with selection nested in each fold;
4. the final model: selected by leave-one-study-out on every training study
   (:func:`~icipredict.fitting.selection.select_model`), calibrated on its out-of-study predictions, the TIL
   term from its cited prior (updated where the data measure TILs), the intervals' components, and
   their check on the held-out studies (:mod:`icipredict.evaluation.uncertainty`);
5. external cohorts, which never reach fitting, selection or calibration, are scored;
6. the signal check, contributions, plots, metadata and the model card;
7. the bundle is written (never over a folder the package did not create, never into the shipped
   models) and the run is logged to MLflow.

No CLI, no global state.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict import __version__
from icipredict.fitting.folds import stratified_folds
from icipredict.clinical.assays import tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.clinical.evidence import TIL_HR_ASSUMPTION
from icipredict.clinical.til import TIL_MEASURES
from icipredict.clinical.time_class import describe_pair, time_status_pair
from icipredict.config import Config, config_to_dict, load_config
from icipredict.evaluation import (MODEL_COLUMN, calibration_curve_table, compare_scores, decision_curve,
                                   format_metrics_markdown, sensitivity_specificity)
from icipredict.evaluation.saved import comparison_frame, not_evaluable_counts
from icipredict.exceptions import InvalidConfig, InvalidPatientData, Problem
from icipredict.model.bundle import check_bundle_target, save_bundle
from icipredict.fitting.sources import LoadedSources, load_sources
from icipredict.model.metadata import (CohortCounts, DataSummary, EstimatorSpec, LabelRule, ModelMetadata, Signal,
                                 SurvivalCurve, TrainingProfile, ValueRange)
from icipredict.fitting.model_card import model_card
from icipredict.fitting.survival import fit_final_survival, internal_external_survival, select_survival
from icipredict.model.survival import check_outcomes
from icipredict.model.models import IciModel
from icipredict.fitting.figures import training_figures
from icipredict.progress import Progress, progress_iter
from icipredict.table.schema import COLUMNS, PREDICTORS
from icipredict.fitting.results import TrainingResult  # re-exported
from icipredict.fitting.selection import (Candidate, IECVResult, Selection, candidate_grid, fit_final, internal_external,
                                  select_model)
from icipredict.fitting.curve_validation import validate_curves
from icipredict.fitting.tracking import TRACKING_ORIGINS, log_training_run, open_store
from icipredict.evaluation.uncertainty import interval_checks
from icipredict.table.vocab import BENEFIT_GROUPS, DCB_MONTHS

__all__ = ["TrainingResult", "train", "label_patients", "training_profile", "Progress", "ESTIMATOR_FILES"]

#: Where each family's fitted state goes in a bundle (all pickle-free).
ESTIMATOR_FILES = {"spline_logistic": "estimator.json", "xgboost": "estimator.ubj", "random_forest": "estimator.skops",
                   "spline_cox": "estimator.json", "xgboost_cox": "estimator.ubj"}


@dataclass
class _Labelled:
    """Evaluable training patients, their 0/1 target, and the labels of every patient; for the time-to-event
    families also the patients with a PFS time and event flag (``pfs``) and how many of each kind."""

    rows: pd.DataFrame
    y: np.ndarray
    labels: pd.Series
    n_not_evaluable: dict[str, int]
    pfs: pd.DataFrame | None = None
    pfs_counts: dict[str, int] = field(default_factory=dict)


#: How patients with a durable-benefit label and no PFS are used by the time-to-event families.
DCB_ONLY_USE = ("excluded from the Cox fit (a yes/no at 6 months is interval information the partial likelihood "
                "cannot use without a time) and counted; scored with the 6-month metrics like every evaluable patient")


def _pfs_patients(patients: pd.DataFrame, labels: pd.Series, say: Callable[[str], None]) -> tuple[pd.DataFrame, dict]:
    """The patients a time-to-event model is fitted on, checked; the counts the model card reports.

    Raises InvalidPatientData for a bad PFS value (naming patient, column and value), and for a study whose
    PFS has no event or whose patients are all censored before 6 months.
    """
    has_time = patients["pfs_months"].notna().to_numpy()
    has_event = patients["pfs_event"].notna().to_numpy()
    ids = patients["patient_id"].astype(str).to_numpy()
    check_outcomes(patients["pfs_months"], patients["pfs_event"], ids)
    bad = np.flatnonzero(has_event & ~has_time)
    if bad.size:
        raise InvalidPatientData(
            f"PFS outcome: patient {ids[bad[0]]}: pfs_months expected a PFS time beside pfs_event. Got empty instead"
            + (f" (and {bad.size - 1} more)" if bad.size > 1 else "") + ".",
            [Problem(ids[i], "pfs_months", "a PFS time beside pfs_event", "empty") for i in bad])
    pfs = patients.loc[has_time].reset_index(drop=True)
    for study, part in pfs.groupby("cohort", sort=True):
        t, e = part["pfs_months"].to_numpy(float), part["pfs_event"].to_numpy(float)
        if e.sum() == 0:
            raise InvalidPatientData(f"study {study}: pfs_event expected some progression events among its "
                                     f"{len(part)} patients with PFS. Got none (everyone censored) instead; a "
                                     "time-to-event model cannot learn from it: remove the study or its PFS.")
        if (t < DCB_MONTHS).all() and (e == 0).any():
            raise InvalidPatientData(f"study {study}: pfs_months expected some patients followed progression-free "
                                     f"to {DCB_MONTHS:g} months. Got every patient progressed or censored before "
                                     f"{DCB_MONTHS:g} months ({len(part)} patients, {int((e == 0).sum())} censored, "
                                     f"longest follow-up {t.max():g}) instead: its follow-up cannot inform the curve "
                                     "at 6 months; remove the study or its PFS.")
    dcb_only = (~has_time) & (labels.to_numpy() != "not_evaluable")
    time, event = pfs["pfs_months"].to_numpy(float), pfs["pfs_event"].to_numpy(float)
    counts = {"n_patients": int(len(pfs)), "n_events": int(event.sum()), "n_censored": int((event == 0).sum()),
              "n_censored_before_6": int(((event == 0) & (time < DCB_MONTHS)).sum()),
              "n_dcb_only": int(dcb_only.sum()), "n_no_outcome": int(((~has_time) & ~dcb_only).sum())}
    say(f"{counts['n_patients']} patients with PFS ({counts['n_events']} progressed, {counts['n_censored']} censored, "
        f"{counts['n_censored_before_6']} of them before {DCB_MONTHS:g} months: all fitted with their follow-up); "
        f"{counts['n_dcb_only']} with a durable-benefit label and no PFS: {DCB_ONLY_USE}")
    return pfs, counts


def label_patients(patients: pd.DataFrame, config: Config) -> tuple[pd.Series, pd.Series]:
    """The three-way label and the 0/1 target (NaN when not evaluable)."""
    labels = benefit_label(patients, source=config.label.source, benefit_months=config.label.benefit_months)
    return labels, binary_target(labels)


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
        "til_measured_share": float(patients[list(TIL_MEASURES)].notna().any(axis=1).mean()),
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
    need = max(config.evaluation.cv_folds, 2)
    if len(np.unique(y)) < 2 or np.bincount(y).min() < need:
        raise InvalidPatientData(
            f"training data: expected at least {need} patients with durable benefit and {need} with primary "
            f"resistance. Got {int((y == 1).sum())} and {int((y == 0).sum())} instead "
            f"({int((~evaluable).sum())} not evaluable).")
    say(f"{len(rows)} evaluable patients ({int(y.sum())} durable benefit, {int((y == 0).sum())} primary "
        f"resistance), {int((~evaluable).sum())} not evaluable")
    return _Labelled(rows, y, labels, not_evaluable_counts(patients, target))


def _select_and_fit(rows: pd.DataFrame, y: np.ndarray, candidates: list[Candidate], config: Config,
                    say: Callable[[str], None] = lambda m: None, pfs: pd.DataFrame | None = None
                    ) -> tuple[Selection, IciModel]:
    if pfs is not None:  # the time-to-event families: fitted on everyone with PFS
        time, event = pfs["pfs_months"].to_numpy(float), pfs["pfs_event"].to_numpy(float)
        sel = select_survival(pfs, time, event, candidates, options=config.features,
                              calibrations=list(config.calibration.methods), min_group_n=config.selection.min_group_n,
                              folds=config.selection.folds, seed=config.seed, progress=say)
        model = fit_final_survival(sel, pfs, time, event, options=config.features, seed=config.seed,
                                   til_prior_on=config.til.prior != "none", til_min_patients=config.til.min_patients,
                                   level=config.uncertainty.level)
        return sel, model  # type: ignore[return-value]
    sel = select_model(rows, y, candidates, options=config.features, calibrations=list(config.calibration.methods),
                       min_group_n=config.selection.min_group_n, folds=config.selection.folds, seed=config.seed,
                       progress=say)
    model = fit_final(sel, rows, y, options=config.features, seed=config.seed,
                      til_prior_on=config.til.prior != "none", til_min_patients=config.til.min_patients,
                      level=config.uncertainty.level)
    return sel, model


def _internal_external(data: _Labelled, candidates: list[Candidate], config: Config,
                       say: Callable[[str], None]) -> IECVResult | None:
    if not config.evaluation.internal_external or data.rows["cohort"].nunique() < 2:
        return None
    if data.pfs is not None:
        return internal_external_survival(data.rows, data.y, data.pfs, candidates, options=config.features,
                                          calibrations=list(config.calibration.methods),
                                          min_group_n=config.selection.min_group_n, folds=config.selection.folds,
                                          seed=config.seed, til_prior_on=config.til.prior != "none",
                                          til_min_patients=config.til.min_patients, level=config.uncertainty.level,
                                          progress=say)
    return internal_external(data.rows, data.y, candidates, options=config.features,
                             calibrations=list(config.calibration.methods), min_group_n=config.selection.min_group_n,
                             folds=config.selection.folds, seed=config.seed, til_prior_on=config.til.prior != "none",
                             til_min_patients=config.til.min_patients, level=config.uncertainty.level,
                             progress=say)


def _cv_strata(y: np.ndarray, cohort: pd.Series, folds: int) -> np.ndarray:
    # stratify by outcome within cohort so that each fold mirrors the pooled mix
    strata = (cohort.astype(str) + ":" + pd.Series(y).astype(int).astype(str)).to_numpy()
    if pd.Series(strata).value_counts().min() < folds:
        return y  # a small cohort-class cell cannot be split; stratify by outcome only
    return strata


def _cross_validate(data: _Labelled, candidates: list[Candidate], config: Config, say: Callable[[str], None]):
    rows, y = data.rows, data.y
    folds = config.evaluation.cv_folds
    p = np.full(len(y), np.nan)
    fold = np.full(len(y), -1)
    models, test_ids = [], []
    if folds < 2:
        return p, fold, models, test_ids
    splits = progress_iter(say, stratified_folds(_cv_strata(y, rows["cohort"], folds), folds, config.seed),
                           "pooled cross-validation", unit="folds", total=folds)
    for k, (tr, te) in enumerate(splits, start=1):
        say(f"pooled cross-validation fold {k}/{folds}: selecting and fitting on {len(tr)}, testing on {len(te)}")
        pfs = None
        if data.pfs is not None:  # every PFS patient but the fold's test patients
            held = set(map(str, rows["patient_id"].iloc[te]))
            pfs = data.pfs.loc[~data.pfs["patient_id"].astype(str).isin(held)].reset_index(drop=True)
        _, m = _select_and_fit(rows.iloc[tr].reset_index(drop=True), y[tr], candidates, config, pfs=pfs)
        p[te] = m.predict_proba(rows.iloc[te])
        fold[te] = k
        models.append(m)
        test_ids.append(frozenset(map(str, rows["patient_id"].iloc[te])))
    return p, fold, models, test_ids


def _evaluate_external(final: IciModel, external: dict[str, pd.DataFrame], config: Config,
                       say: Callable[[str], None]) -> tuple[list[pd.DataFrame], dict[str, pd.DataFrame]]:
    tables, frames = [], {}
    for name, table in external.items():
        _, ety = label_patients(table, config)
        ok = ety.notna().to_numpy()
        if ok.sum() == 0 or ety[ok].nunique() < 2:
            say(f"external {name}: not enough evaluable patients with both outcomes; skipped")
            continue
        rows = table.loc[ok].reset_index(drop=True)
        p, low, high = final.interval(rows)
        frame = comparison_frame(rows, ety[ok].astype(int).to_numpy(), p, name).assign(p_low=low, p_high=high)
        frames[name] = frame
        tables.append(compare_scores(frame, baselines=list(config.evaluation.baselines), n_boot=config.evaluation.n_boot,
                                     seed=config.seed, n_not_evaluable={name: int((~ok).sum())}, progress=say)
                      .assign(scheme="external"))
        say(f"external {name}: {int(ok.sum())} evaluable patients scored")
    return tables, frames


def _signal(model: IciModel, metrics: pd.DataFrame, phi: pd.DataFrame) -> Signal:
    """Whether the model carries signal (issue: a constant model must never pass silently)."""
    reasons = []
    if model.calibrator.a <= 0:
        reasons.append("the out-of-study calibration slope is <= 0: the model's scores ranked held-out patients "
                       "the wrong way round, so every patient gets the observed rate")
    if float(np.nanmax(np.abs(phi.to_numpy()))) < 1e-9 if phi.size else True:
        reasons.append("every input's contribution is zero")
    # the headline: internal-external validation where it ran, else pooled cross-validation
    scheme = "iecv" if (metrics["scheme"] == "iecv").any() else "cv"
    head = metrics.query(f"scheme == '{scheme}' and subset == 'all' and model == 'model' and cohort == 'pooled'")
    if len(head) and pd.notna(head["roc_auc_low"].iloc[0]) and head["roc_auc_low"].iloc[0] <= 0.5:
        reasons.append(f"the {'internal-external' if scheme == 'iecv' else 'cross-validated'} AUC "
                       f"{head['roc_auc'].iloc[0]:.2f} (95% CI {head['roc_auc_low'].iloc[0]:.2f}-"
                       f"{head['roc_auc_high'].iloc[0]:.2f}) cannot be told from 0.5")
    return Signal(status="none" if reasons else "ok", reasons=reasons)


def _time_class_rates(rows: pd.DataFrame, y: np.ndarray, config: Config) -> dict[str, dict[str, int]]:
    """Durable benefit and n per (PD-L1, TIL) status pair, where the training data know both."""
    pair = time_status_pair(rows, pdl1_cutoff=config.features.pdl1_cutoff, til_cutoffs=config.features.til_cutoffs())
    known = pair.notna().all(axis=1).to_numpy()
    out = {}
    for p in (0, 1):
        for t in (0, 1):
            m = known & (pair["pdl1_positive"].to_numpy() == p) & (pair["til_positive"].to_numpy() == t)
            if m.any():
                out[describe_pair(p, t)] = {"n": int(m.sum()), "durable_benefit": int(y[m].sum())}
    return out


def _pdl1_status_rates(rows: pd.DataFrame, y: np.ndarray, config: Config) -> dict[str, dict[str, int]]:
    """Durable benefit and n per PD-L1 status at the TIME class cut-off, whatever the TIL status."""
    pair = time_status_pair(rows, pdl1_cutoff=config.features.pdl1_cutoff, til_cutoffs=config.features.til_cutoffs())
    status = pair["pdl1_positive"].to_numpy()
    return {f"PD-L1{'+' if p else '-'}": {"n": int((status == p).sum()), "durable_benefit": int(y[status == p].sum())}
            for p in (1, 0) if (status == p).any()}


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
                    "brier_null", "calibration_slope", "calibration_slope_low", "calibration_slope_high",
                    "calibration_intercept", "calibration_intercept_low", "calibration_intercept_high",
                    "mean_predicted", "prevalence", "log_loss", "auc_diff_vs_baseline", "auc_diff_low",
                    "auc_diff_high"]


def _records(table: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in table.to_dict(orient="records")]


def _metadata(config: Config, final: IciModel, sel: Selection, data: _Labelled, patients: pd.DataFrame,
              summary: DataSummary, metrics: pd.DataFrame, groups: pd.DataFrame, calibration: pd.DataFrame,
              signal: Signal, skipped: list[str]) -> ModelMetadata:
    labels = data.labels
    per_cohort = {}
    for c, part in patients.groupby("cohort", sort=True):
        lab = labels.loc[part.index]
        per_cohort[str(c)] = CohortCounts(n=len(part), durable_benefit=int((lab == "durable_benefit").sum()),
                                          primary_resistance=int((lab == "primary_resistance").sum()),
                                          not_evaluable=int((lab == "not_evaluable").sum()))
    table = metrics.reindex(columns=_SUMMARY_COLUMNS)
    profile = TrainingProfile(
        **training_profile(data.rows), n_evaluable=len(data.y), n_durable_benefit=int(data.y.sum()),
        labels={str(k): int(v) for k, v in labels.value_counts().items()}, per_cohort=per_cohort, data=summary,
        loco_skipped=skipped)
    family = sel.candidate.family
    spec = EstimatorSpec(name=family, file=ESTIMATOR_FILES[family], params=sel.candidate.settings,
                         label=sel.candidate.label, random_state=config.seed,
                         feature_names=list(getattr(final.base, "feature_names_", [])))
    loss = "integrated_brier" if "integrated_brier" in sel.scores.columns else "log_loss"
    scores = sel.scores.sort_values(loss).reset_index(drop=True)
    curve = None
    if final.has_curve:
        b = final.baseline
        beta, se = final.til_term.prior_beta, final.til_term.prior_se
        curve = SurvivalCurve(times=b.times.tolist(), cumhaz=b.cumhaz.tolist(), horizon=b.horizon,
                              min_at_risk=b.min_at_risk, **{k: v for k, v in data.pfs_counts.items() if k != "n_no_outcome"},
                              dcb_only_use=DCB_ONLY_USE,
                              til_conversion=TIL_HR_ASSUMPTION.format(beta=beta, se=se, hr=float(np.exp(beta))))
    return ModelMetadata(
        name=config.output.model_name, icipredict_version=__version__, estimator=spec,
        feature_options=config.features, calibrator=final.calibrator, til_term=final.til_term,
        uncertainty=final.uncertainty, signal=signal,
        label_rule=LabelRule(source=config.label.source, benefit_months=config.label.benefit_months),
        benefit_thresholds=config.benefit_groups, benefit_groups_cv=groups.to_dict(orient="records"),
        training=profile, config=_portable_config(config), metrics=_records(table),
        metrics_markdown=format_metrics_markdown(table.loc[table["subset"] == "all"]),
        calibration_cv=calibration.to_dict(orient="records"), selection=_records(scores),
        time_class_rates=_time_class_rates(data.rows, data.y, config),
        pdl1_status_rates=_pdl1_status_rates(data.rows, data.y, config), curve=curve)


# -- the run ------------------------------------------------------------------------------------------

def train(config: Config | str | Path | None = None, *, overrides: list[str] | tuple[str, ...] = (),
          progress: Callable[[str], None] | None = None, quiet: bool = False) -> TrainingResult:
    """Select, validate, fit, explain, save and track one model as the config says.

    Parameters
    ----------
    config : Config, path to a YAML file, or None for the built-in defaults (synthetic cohort)
    overrides : list of "key=value"
        Applied on top of the file (``--set`` on the command line).
    progress : callable, optional
        Receives one line per step; defaults to stderr unless ``quiet``. A
        :class:`~icipredict.progress.Progress` also draws progress bars.

    Raises
    ------
    InvalidConfig, InvalidPatientData
        A bad config or source table.
    OutputRefused
        ``output.model_dir`` exists (without ``output.replace``, or it is not an earlier bundle),
        or lies inside the shipped models: checked before any work.
    TrackingError
        The MLflow store cannot be reached or written: checked before any work.

    Examples
    --------
    >>> result = train(overrides=["tracking.enabled=false", "evaluation.n_boot=0"], quiet=True)  # doctest: +SKIP
    """
    config = _resolve_config(config, overrides)
    say = progress or Progress(quiet)
    out = _output_dir(config)
    if config.tracking.enabled:
        _, uri, origin = open_store(config.tracking.uri, config.tracking.experiment)
        say(f"tracking to {uri} ({TRACKING_ORIGINS[origin]})")
    sources: LoadedSources = load_sources(config, say)
    data = _label(sources.train, config, say)
    if config.model.survival:
        data.pfs, data.pfs_counts = _pfs_patients(sources.train, data.labels, say)
    rows, y = data.rows, data.y
    baselines, n_boot, seed = list(config.evaluation.baselines), config.evaluation.n_boot, config.seed
    candidates = candidate_grid(config.model.grids(), list(config.model.families))
    say(f"{len(candidates)} candidate models x {len(config.calibration.methods)} calibrations")

    iecv = _internal_external(data, candidates, config, say)
    cv_p, fold, fold_models, fold_test_ids = _cross_validate(data, candidates, config, say)
    pred = comparison_frame(rows, y, cv_p).assign(fold=fold)
    tables = []
    if iecv is not None:
        pred["iecv"], pred["iecv_low"], pred["iecv_high"] = (iecv.predictions["p"].to_numpy(),
                                                             iecv.predictions["p_low"].to_numpy(),
                                                             iecv.predictions["p_high"].to_numpy())
        held = pred.loc[pred["iecv"].notna()].drop(columns=[MODEL_COLUMN]).rename(columns={"iecv": MODEL_COLUMN})
        say(f"bootstrap confidence intervals ({n_boot} resamples), internal-external")
        tables.append(compare_scores(held, baselines=baselines, n_boot=n_boot, seed=seed,
                                     n_not_evaluable=data.n_not_evaluable, progress=say).assign(scheme="iecv"))
    if np.isfinite(cv_p).any():
        say(f"bootstrap confidence intervals ({n_boot} resamples), pooled cross-validation")
        tables.append(compare_scores(pred.loc[np.isfinite(cv_p)], baselines=baselines, n_boot=n_boot, seed=seed,
                                     n_not_evaluable=data.n_not_evaluable, progress=say).assign(scheme="cv"))

    say(f"selecting and fitting the final model on all {len(rows)} evaluable patients" if data.pfs is None else
        f"selecting and fitting the final model on all {len(data.pfs)} patients with PFS")
    sel, final = _select_and_fit(rows, y, candidates, config, say, pfs=data.pfs)
    say(f"selected {sel.candidate.label}, calibration '{sel.calibration}' ({sel.scheme})")
    if iecv is not None and iecv.models:
        final.uncertainty.checks = interval_checks(iecv.models, rows, y, config.uncertainty.level)
    ext_tables, ext_frames = _evaluate_external(final, sources.external, config, say)
    metrics = pd.concat(tables + ext_tables, ignore_index=True)

    headline = pred["iecv"].to_numpy() if iecv is not None else cv_p
    ok = np.isfinite(headline)
    groups = _benefit_group_table(y[ok], headline[ok], config)
    curves = {
        "calibration_cv": calibration_curve_table(y[ok], headline[ok], n_bins=10 if ok.sum() >= 200 else 5),
        "decision_cv": decision_curve(y[ok], headline[ok]),
        "thresholds_cv": sensitivity_specificity(y[ok], headline[ok], config.evaluation.thresholds),
        "benefit_groups_cv": groups,
        "selection": sel.scores,
    }
    validation = None
    if final.has_curve and data.pfs is not None and iecv is not None and iecv.models:
        validation = validate_curves(data.pfs, iecv.models, final, n_boot=n_boot, seed=seed, say=say)
        curves.update(validation.tables())
    phi, _ = final.contributions(rows)
    signal = _signal(final, metrics, phi)
    if signal.status != "ok":
        message = "THE MODEL CARRIES NO SIGNAL: " + "; ".join(signal.reasons)
        say(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    metadata = _metadata(config, final, sel, data, sources.train, sources.summary, metrics, groups,
                         curves["calibration_cv"], signal, iecv.skipped if iecv is not None else [])
    if validation is not None:
        metadata.curve_validation = validation.metadata()
    result = TrainingResult(model=final, metadata=metadata, metrics=metrics, predictions=pred, config=config,
                            selection=sel, iecv=iecv, contributions=(phi, final.inputs(rows)), external=ext_frames,
                            fold_models=fold_models, fold_test_ids=fold_test_ids, curves=curves,
                            curve_validation=validation)
    result.card = model_card(result)
    if config.output.plots:
        say("drawing plots")
        result.figures = training_figures(result)
    if out is not None:
        result.bundle_path = save_bundle(out, metadata, final.saved_state(), model_card=result.card,
                                         extra_files={f"plots/{k}": v for k, v in result.figures.items()},
                                         replace=config.output.replace)
        say(f"model written to {result.bundle_path}")
    if config.tracking.enabled:
        result.run_id = log_training_run(result, result.card, result.figures, progress=say)
    return result
