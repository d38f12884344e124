"""The model card: what a model was trained on, how it was chosen, how well it did, its limits.

Written beside every saved bundle and logged with every MLflow run. It holds counts and metrics
only, never a patient row or identifier. The headline is internal-external validation (each study
predicted by a model that never saw it); pooled folds are secondary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.clinical.assays import TMB_SCALE_SOURCES, TMB_TO_PANEL_SCALE
from icipredict.clinical.evidence import RAKAEE_2023, REFERENCE_DCB_TIL_LOW, pooled_log_hr
from icipredict.clinical.til import DEFAULT_TIL_CUTOFFS
from icipredict.evaluation import format_metrics_markdown
from icipredict.evaluation.curves import format_curve_markdown
from icipredict.table.vocab import DCB_MONTHS
from icipredict.model.groups import benefit_groups_text
from icipredict.table.labels import MODEL_INPUT_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.fitting.results import TrainingResult

__all__ = ["model_card", "SOURCE_NOTES"]

#: Provenance and licence of the public cohorts this package knows how to read.
SOURCE_NOTES: dict[str, str] = {
    "nsclc_pd1_msk_2018": "Rizvi et al., J Clin Oncol 2018 (MSK, anti-PD-(L)1); cBioPortal, ODC ODbL 1.0",
    "lung_msk_mind_2020": "Vanguri et al., Nature Cancer 2022 (MSK-MIND); cBioPortal, ODC ODbL 1.0",
    "nsclc_mskcc_2018": "Hellmann et al., Cancer Cell 2018 (nivolumab + ipilimumab); cBioPortal, ODC ODbL 1.0",
    "nsclc_mskcc_2015": "Rizvi et al., Science 2015 (pembrolizumab); cBioPortal, ODC ODbL 1.0",
    "chowell_train": "Chowell et al., Nat Biotech 2022, via LORIS (Chang et al., Nature Cancer 2024); GPL-3.0; MSK",
    "chowell_test": "Chowell et al., Nat Biotech 2022, via LORIS (Chang et al., Nature Cancer 2024); GPL-3.0; MSK",
    "msk1": "MSK1 table of LORIS (Chang et al., Nature Cancer 2024); GPL-3.0; MSK",
    "dijon": "Fumet et al., Br J Cancer 2018 (Dijon); no licence stated, research use only",
}
_COLUMNS = ("roc_auc", "calibration_slope", "calibration_intercept", "brier", "brier_null")


def _table(metrics: pd.DataFrame, scheme: str, subset: str = "all", columns=_COLUMNS) -> str:
    part = metrics.loc[(metrics["scheme"] == scheme) & (metrics["subset"] == subset)]
    if part.empty:
        return "_not run_"
    return format_metrics_markdown(part, columns=columns)


def _criteria(frame: pd.DataFrame) -> tuple[str, str, str, str]:
    """The loss and the ranking measure selection used: (column, name) each; the time-to-event families
    are scored on the integrated Brier score and the within-study concordance."""
    if "integrated_brier" in frame.columns:
        return "integrated_brier", "integrated Brier", "c_index", "C"
    return "log_loss", "log-loss", "auc", "AUC"


def _selection_table(scores: list[dict], top: int = 3) -> list[str]:
    frame = pd.DataFrame(scores)
    if frame.empty:
        return ["_no candidates were scored_"]
    loss, loss_name, rank, rank_name = _criteria(frame)
    lines = [f"| family | candidate (best of the family first) | calibration | {loss_name} | {rank_name} | slope |",
             "|---|---|---|---:|---:|---:|"]
    for family, part in frame.sort_values(loss).groupby("family", sort=False):
        for _, r in part.head(top).iterrows():
            mark = " **(selected)**" if r.get("selected") else ""
            lines.append(f"| {family} | {r['label']}{mark} | {r['calibration']} | {r[loss]:.4f} | "
                         f"{r[rank]:.3f} | {r['slope']:.2f} |")
    return lines


def _family_summary(scores: list[dict]) -> str:
    frame = pd.DataFrame(scores)
    if frame.empty or frame["family"].nunique() < 2:
        return ""
    loss, loss_name, rank, rank_name = _criteria(frame)
    best = frame.sort_values(loss).groupby("family").first()
    order = best.sort_values(loss)
    first, second = order.index[0], order.index[1]
    return (f"Best of each family by out-of-study {loss_name}: {first} {order.loc[first, loss]:.4f} ({rank_name} "
            f"{order.loc[first, rank]:.3f}) against {second} {order.loc[second, loss]:.4f} ({rank_name} "
            f"{order.loc[second, rank]:.3f}): {first} better by {order.loc[second, loss] - order.loc[first, loss]:.4f} "
            f"in {loss_name}.")


def _curve_lines(meta) -> list[str]:
    """What the PFS curve of a time-to-event model rests on (empty for a 6-month model)."""
    c = meta.curve
    if c is None:
        return []
    return [
        "## The PFS curve",
        f"Each patient's progression-free survival curve S(t) = exp(-H0(t) exp(lp)): a Cox model "
        f"({meta.estimator.name}) with a Breslow baseline H0; p_durable_benefit is S({DCB_MONTHS:g}), so that "
        "p_pfs_3m >= p_durable_benefit >= p_pfs_12m >= p_pfs_24m for every patient, and "
        "p_secondary_resistance_24m = 1 - S(24) / S(6). The 90% band of every value is the curve at the linear "
        "predictor's interval (the same sources as p_low / p_high).",
        "",
        f"- fitted on {c.n_patients} patients with PFS: {c.n_events} progressed or died, {c.n_censored} censored "
        f"(counted with their follow-up; {c.n_censored_before_6} of them censored before {DCB_MONTHS:g} months, "
        "whom the 6-month yes/no leaves out)",
        f"- {c.n_dcb_only} patients with a durable-benefit label and no PFS: {c.dcb_only_use}",
        f"- horizon: {c.horizon:.1f} months, the last event time with at least {c.min_at_risk} training patients at "
        "risk; beyond it the curve is not reported (empty, with a warning), nor a median it does not reach",
        "- assumption: proportional hazards (each input multiplies the hazard by the same factor at every time)",
        f"- TIL: {c.til_conversion}",
        "",
    ]


def _curve_validation_lines(meta) -> list[str]:
    """The curve on held-out studies beside Kaplan-Meier and PD-L1 alone, and the proportional-hazards check."""
    v = meta.curve_validation
    if v is None:
        return []
    lines = [
        "### The curve on held-out studies",
        "Each training study's patients with PFS (censored ones with their follow-up) predicted by a model selected "
        "and fitted on the other studies, beside the Kaplan-Meier curve of those studies (no predictors) and a Cox "
        f"model on PD-L1 alone fitted on the same patients. 95% bootstrap intervals ({v.n_boot} resamples). Uno's C "
        "and the Brier scores weight patients by the inverse of the held-out study's own censoring distribution; "
        "the integrated Brier score runs monthly from 1 month to the last month with at least 10 patients still at "
        "risk (at most 24).",
        "",
        *format_curve_markdown(v.metrics),
        "",
    ]
    cal = pd.DataFrame(v.calibration)
    if len(cal):
        pooled = cal.loc[cal["cohort"] == "pooled"]
        lines += ["Mean predicted progression-free probability against Kaplan-Meier (95% CI) by risk quarter, "
                  "held-out studies pooled:", "",
                  "| months | risk group | n | events | mean predicted | Kaplan-Meier |", "|---:|---:|---:|---:|---:|---|"]
        for _, r in pooled.iterrows():
            km = "NA" if pd.isna(r["observed"]) else f"{r['observed']:.3f} ({r['observed_low']:.3f}-{r['observed_high']:.3f})"
            lines.append(f"| {r['time_months']:g} | {int(r['group'])} | {int(r['n'])} | {int(r['n_events'])} | "
                         f"{r['mean_predicted']:.3f} | {km} |")
        lines.append("")
    lines += ["### Proportional hazards", v.proportional_hazards_summary, ""]
    ph = pd.DataFrame(v.proportional_hazards)
    if len(ph):
        lines += ["| input | design column | coefficient | chi-square (1 df) | p |", "|---|---|---:|---:|---:|"]
        lines += [f"| {r['input']} | {r['term']} | {r['coef']:.3f} | {r['statistic']:.2f} | {r['p_value']:.3f} |"
                  for _, r in ph.iterrows()]
        lines.append("")
    return lines


def _til_lines(meta) -> list[str]:
    t = meta.til_term
    log_hr, se = pooled_log_hr()
    cohorts = "; ".join(f"{k} n={v['n']}: HR {v['hr']} (P = {v['p']})" for k, v in RAKAEE_2023.items())
    if meta.curve is not None:
        lines = [
            f"Linear predictor (log relative hazard of progression) + beta x (TIL positive - {t.centre:g}); 0 when "
            "no TIL measure is given.",
            "",
            f"- beta = {t.beta:.3f} (SE {t.se:.3f}; HR {np.exp(t.beta):.2f}), source: {t.source}; {t.note}.",
            f"- Prior: Rakaee et al., JAMA Oncol 2023 (PMC9673028), anti-PD-(L)1 monotherapy, TIL-high = "
            f">= 250 TIL cells/mm2 on H&E, adjusted PFS hazard ratios "
            + "; ".join(f"{k} n={v['n']}: HR {v['hr']} (P = {v['p']})" for k, v in RAKAEE_2023.items())
            + f". SEs from the P values, inverse-variance pooled: log HR {log_hr:.3f} (SE {se:.3f}).",
            "- Conversion: none. " + meta.curve.til_conversion,
            "- Assumptions: proportional hazards; no PD-L1 x TIL interaction; every TIL measure, cut at its own "
            f"threshold, carries the same effect; TIL-high patients are {t.centre:.0%} of a cohort.",
            "- TIL measures and cut-offs: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_TIL_CUTOFFS.items())
            + " (sources in icipredict.clinical.til).",
        ]
        return lines + _time_class_lines(meta)
    lines = [
        f"Log-odds of durable benefit + beta x (TIL positive - {t.centre:g}); 0 when no TIL measure is given.",
        "",
        f"- beta = {t.beta:.3f} (SE {t.se:.3f}), source: {t.source}; {t.note}.",
        f"- Prior: Rakaee et al., JAMA Oncol 2023 (PMC9673028), anti-PD-(L)1 monotherapy, TIL-high = "
        f">= 250 TIL cells/mm2 on H&E, adjusted PFS hazard ratios {cohorts}. SEs from the P values, "
        f"inverse-variance pooled: log HR {log_hr:.3f} (SE {se:.3f}).",
        f"- Conversion to the log-odds of PFS >= 6 months: proportional hazards to 6 months, S_high = "
        f"S_low ** HR with S_low = {REFERENCE_DCB_TIL_LOW:g} (TIL-low 6-month PFS; the licensed studies' durable-"
        f"benefit rate is 0.35): log OR {t.prior_beta:.3f}, SE {t.prior_se:.3f} (delta method).",
        "- Assumptions: proportional hazards to 6 months; the paper's adjusted HR transfers to a model that also "
        "holds PD-L1 and TMB; no PD-L1 x TIL interaction (TILs predicted response in PD-L1-negative tumours "
        "too); every TIL measure, cut at its own threshold, carries the same effect; TIL-high patients are "
        f"{t.centre:.0%} of a cohort (their share in Rakaee's cohorts was not retrievable).",
        "- TIL measures and cut-offs: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_TIL_CUTOFFS.items())
        + " (sources in icipredict.clinical.til).",
    ]
    return lines + _time_class_lines(meta)


def _time_class_lines(meta) -> list[str]:
    lines: list[str] = []
    if meta.time_class_rates:
        lines += ["", "Durable benefit by (PD-L1, TIL) in the training data:", "",
                  "| class | n | durable benefit |", "|---|---:|---:|"]
        lines += [f"| {k} | {v['n']} | {v['durable_benefit']} |" for k, v in meta.time_class_rates.items()]
    else:
        lines += ["", "The training data measure no TILs: the TIL term is the cited prior alone."]
    return lines


def _input_words(key: str) -> str:
    """A model input named by its display name: ``pdl1 (TPS hidden, band kept)`` -> ``PD-L1 TPS (%) (TPS hidden...``."""
    name, _, rest = key.partition(" (")
    return MODEL_INPUT_LABELS.get(name, name) + (f" ({rest}" if rest else "")


def _interval_lines(meta) -> list[str]:
    u = meta.uncertainty
    scale = ("the linear predictor (log relative hazard; every S(t) band is the curve at its ends)"
             if meta.curve is not None else "the log-odds scale")
    lines = [f"`p_low` / `p_high` form a {u.level:.0%} interval on {scale} made of: the coefficients' "
             f"sandwich covariance ({u.parameter}); each unknown input (its spread among training patients who had "
             f"it; PD-L1 known only as a band: the spread within the band); the between-centre SD of "
             f"calibration-in-the-large tau = {u.tau:.3f} ({u.tau_source}); the TIL term's SE.", ""]
    checks = u.checks
    if checks.get("unknown_inputs"):
        lines += [f"Checked on the held-out studies ({checks.get('scheme', '')}): hiding an input the patient has, "
                  "the share of predictions made with it that fall in the interval of that input alone "
                  f"(nominal {checks['level']:.0%}):", "", "| hidden input | patients | coverage |",
                  "|---|---:|---:|"]
        lines += [f"| {_input_words(k)} | {v['n']} | {v['coverage']:.2f} |"
                  for k, v in checks["unknown_inputs"].items()]
        lines += ["", "The centre: each held-out study's calibration-in-the-large against the outer model's "
                  "tau interval:", "", "| study | n | CITL | tau | within |", "|---|---:|---:|---:|---|"]
        lines += [f"| {c['study']} | {c['n']} | {c['citl']:.2f} | {c['tau']:.2f} | {'yes' if c['within'] else 'no'} |"
                  for c in checks["centre"]]
    else:
        lines.append("Not checked: internal-external validation needs at least two training studies.")
    return lines


def model_card(result: "TrainingResult") -> str:
    """Markdown model card of a training result."""
    meta, cfg, m = result.metadata, result.config, result.metrics
    train = meta.training
    sel = result.selection
    signal = meta.signal
    lines = [f"# Model card: {meta.name}", ""]
    if signal.status != "ok":
        lines += ["**WARNING: this model carries no signal.** " + "; ".join(signal.reasons) + ". Do not use it.",
                  ""]
    lines += [
        "Decision support for research, not a medical device. Predicts, before a patient with advanced NSCLC "
        "starts an immune checkpoint inhibitor, the probability of durable clinical benefit (progression-free "
        f"for at least {cfg.label.benefit_months:g} months) versus primary resistance, with a "
        f"{meta.uncertainty.level:.0%} interval.",
        "",
        "## Model",
        f"- selected: {meta.estimator.label}; calibration '{meta.calibrator.method}' (a = {meta.calibrator.a:.3f}, "
        f"b = {meta.calibrator.b:.3f}); selection by {sel.scheme if sel else 'n/a'}",
        ("- selection rule: integrated Brier score (PFS, inverse-probability-of-censoring weights) within one SE of "
         "the best, then Harrell's C (within study) within 0.01, then an out-of-study Cox slope >= 0.9, then the "
         "simplest (icipredict.fitting.survival)" if meta.curve is not None else
         "- selection rule: log-loss within one SE of the best, then AUC within 0.01, then an out-of-study slope "
         ">= 0.9, then the simplest (icipredict.fitting.selection)"),
        f"- TIL term: beta = {meta.til_term.beta:.3f} (SE {meta.til_term.se:.3f}, {meta.til_term.source})",
        f"- {benefit_groups_text(meta)}",
        f"- signal check: {signal.status}",
        f"- seed: {cfg.seed}; icipredict {meta.icipredict_version}",
        "",
        "### Model families compared (out-of-study predictions of the training studies)",
        "",
        *_selection_table(meta.selection),
        "",
        _family_summary(meta.selection),
        "",
        *_curve_lines(meta),
        *_curve_validation_lines(meta),
        "## Training data",
        f"- {train.n_evaluable} evaluable patients ({train.n_durable_benefit} durable benefit), "
        f"cohorts: {', '.join(train.cohorts)}",
        f"- duplicates removed when pooling: {train.data.duplicates_removed}",
        "",
        "| cohort | patients | durable benefit | primary resistance | not evaluable | source and licence |",
        "|---|---:|---:|---:|---:|---|",
    ]
    synthetic = {k for k, v in train.data.sources.items() if v.format == "synthetic"}
    for c, d in train.per_cohort.items():
        note = "icipredict synthetic generator (no real patients)" if c in synthetic else SOURCE_NOTES.get(c, "user supplied")
        lines.append(f"| {c} | {d.n} | {d.durable_benefit} | {d.primary_resistance} | {d.not_evaluable} | {note} |")
    lines += [
        "",
        f"Regimens seen: {', '.join(train.regimens) or 'none recorded'}. TMB assay kinds seen: "
        f"{', '.join(train.tmb_assay_kinds) or 'none recorded'}. Driver-positive share: "
        f"{train.driver_positive_share:.1%}. TIL measured in {train.til_measured_share:.1%}.",
        "",
        "## Label rule",
        f"Label source `{cfg.label.source}`: durable benefit = PFS >= {cfg.label.benefit_months:g} months; primary "
        "resistance = progression before that; censored earlier = not evaluable (excluded, counted). "
        "SITC consensus (Kluger et al., JITC 2020).",
        "",
        "## Assays on one scale",
        "TMB is multiplied onto the tissue-panel scale: " + "; ".join(
            f"{k} x {TMB_TO_PANEL_SCALE[k]:.3g} ({v})" for k, v in TMB_SCALE_SOURCES.items())
        + ". An SP142 tumour-cell score gives the PD-L1 band it cannot fall below (TC3 >=50, TC1-2 1-49, TC0 <1); "
        "immune-cell scores are not used.",
        "",
        "## Performance (model = this model; pdl1, tmb raw scores; loris = Chang et al. 2024 formula)",
        "",
        "### Internal-external validation: each study predicted by a model selected, calibrated and fitted "
        "on the others (the headline)",
        _table(m, "iecv"),
        "",
        "Same patients as each baseline (paired bootstrap AUC difference, model minus baseline):",
        "",
        _table(m, "iecv", "pdl1 available", ("roc_auc", "auc_diff_vs_baseline")),
        "",
        _table(m, "iecv", "tmb available", ("roc_auc", "auc_diff_vs_baseline")),
        "",
        f"### Stratified {cfg.evaluation.cv_folds}-fold pooled cross-validation (secondary; selection nested)",
        _table(m, "cv"),
        "",
        "### Cohorts never used for fitting, selection or calibration",
        "The LORIS/Chowell tables come from the same centre (MSK) and years as the training studies and may "
        "share patients: a second look at the same centre, not external evidence.",
        "",
        _table(m, "external"),
        "",
        _table(m, "external", "loris available", ("roc_auc", "calibration_slope", "calibration_intercept",
                                                  "auc_diff_vs_baseline")),
        "",
        "95% CIs: AUC and Brier by stratified percentile bootstrap "
        f"({cfg.evaluation.n_boot} resamples); calibration slope and calibration-in-the-large (intercept with "
        "the prediction as offset) by Wald intervals. n = evaluable patients; Events = durable benefit.",
        "",
        "## The TIL term",
        *_til_lines(meta),
        "",
        "## Per-patient intervals",
        *_interval_lines(meta),
        "",
        "## Intended use",
        "Research on ICI benefit prediction in advanced NSCLC; calibrated estimates with their interval, read "
        "with the missing inputs and warnings printed with each prediction. Recalibrate on local outcomes "
        "(`icipredict update`) before reading absolute risks at another centre.",
        "",
        "## Limits",
        "- Trained on retrospective cohorts from one centre (MSK); internal-external validation across its "
        "studies estimates, but does not guarantee, performance elsewhere.",
        "- No training patient received chemo-ICI: for them the regimen is read as not given (warned).",
        "- Patients with EGFR/ALK/ROS1/RET/ERBB2 drivers, TMB assays absent from training, and values outside "
        "the training range get a warning: the model extrapolates for them.",
        "- Not a device; do not use to withhold treatment.",
    ]
    return "\n".join(str(x) for x in lines) + "\n"
