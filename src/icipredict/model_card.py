"""The model card: what a model was trained on, how well it did, what it is for and its limits.

Written beside every saved bundle and logged with every MLflow run. It holds counts and metrics
only, never a patient row or identifier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from icipredict.evaluation import format_metrics_markdown

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.training import TrainingResult

__all__ = ["model_card", "SOURCE_NOTES"]

#: Provenance and licence of the public cohorts this package knows how to read.
SOURCE_NOTES: dict[str, str] = {
    "nsclc_pd1_msk_2018": "Rizvi et al., J Clin Oncol 2018 (MSK, anti-PD-(L)1); cBioPortal, ODC ODbL 1.0",
    "lung_msk_mind_2020": "Vanguri et al., Nature Cancer 2022 (MSK-MIND); cBioPortal, ODC ODbL 1.0",
    "nsclc_mskcc_2018": "Hellmann et al., Cancer Cell 2018 (nivolumab + ipilimumab); cBioPortal, ODC ODbL 1.0",
    "nsclc_mskcc_2015": "Rizvi et al., Science 2015 (pembrolizumab); cBioPortal, ODC ODbL 1.0",
    "chowell_train": "Chowell et al., Nat Biotech 2022, via LORIS (Chang et al., Nature Cancer 2024); GPL-3.0",
    "chowell_test": "Chowell et al., Nat Biotech 2022, via LORIS (Chang et al., Nature Cancer 2024); GPL-3.0",
    "msk1": "MSK1 table of LORIS (Chang et al., Nature Cancer 2024); GPL-3.0",
    "dijon": "Fumet et al., Br J Cancer 2020 (Dijon); no licence stated, research use only",
    "synthetic": "icipredict synthetic generator (no real patients)",
}


def _scheme_table(metrics, scheme: str, subset: str = "all") -> str:
    part = metrics.loc[(metrics["scheme"] == scheme) & (metrics["subset"] == subset)]
    if part.empty:
        return "_not run_"
    return format_metrics_markdown(part)


def model_card(result: "TrainingResult") -> str:
    """Markdown model card of a training result."""
    meta, cfg, m = result.metadata, result.config, result.metrics
    train = meta.training
    lines = [
        f"# Model card: {meta.name}",
        "",
        "Decision support for research, not a medical device. Predicts, before a patient with advanced NSCLC "
        "starts an immune checkpoint inhibitor, the probability of durable clinical benefit (progression-free "
        f"for at least {cfg.label.benefit_months:g} months) versus primary resistance.",
        "",
        "## Model",
        f"- estimator: {cfg.model.name} (tuned: {cfg.model.search or 'no'}; "
        f"monotone constraints: {cfg.model.monotone if cfg.model.name == 'xgboost' else 'n/a'})",
        f"- calibration: {cfg.calibration.method}, fitted on {cfg.calibration.inner_folds}-fold out-of-fold "
        "scores of the training patients",
        f"- PD-L1 TPS hidden for {cfg.model.band_only_share:.0%} of training rows (band kept) so the model "
        "also works when only the PD-L1 band is reported",
        f"- benefit groups (likelihood of durable benefit): low < {cfg.benefit_groups.low:g} <= intermediate < "
        f"{cfg.benefit_groups.high:g} <= high",
        f"- seed: {cfg.seed}; icipredict {meta.icipredict_version}",
        "",
        "## Training data",
        f"- {train.n_evaluable} evaluable patients ({train.n_durable_benefit} durable benefit), "
        f"cohorts: {', '.join(train.cohorts)}",
        f"- duplicates removed when pooling: {train.data.duplicates_removed}",
        "",
        "| cohort | patients | durable benefit | primary resistance | not evaluable | source and licence |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for c, d in train.per_cohort.items():
        lines.append(f"| {c} | {d.n} | {d.durable_benefit} | {d.primary_resistance} | "
                     f"{d.not_evaluable} | {SOURCE_NOTES.get(c, 'user supplied')} |")
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
        "## Performance (model = this model; pdl1, tmb raw scores; loris = Chang et al. 2024 formula)",
        "",
        f"### Stratified {cfg.evaluation.cv_folds}-fold cross-validation (tuning and calibration nested)",
        _scheme_table(m, "cv"),
        "",
        "### Leave-one-cohort-out (each cohort predicted by a model that never saw it)",
        _scheme_table(m, "loco"),
        "",
        "### External cohorts (never used in training, tuning or calibration)",
        _scheme_table(m, "external"),
        "",
        "95% CIs: stratified percentile bootstrap "
        f"({cfg.evaluation.n_boot} resamples). n = evaluable patients; Events = durable benefit.",
        "",
        "## Intended use",
        "Research on ICI response prediction in advanced NSCLC; ranking and calibrated risk estimates to be read "
        "with the inputs that were missing and the warnings printed with each prediction.",
        "",
        "## Limits",
        "- Trained on retrospective cohorts; performance elsewhere is estimated by leave-one-cohort-out, "
        "not guaranteed.",
        "- Patients with EGFR/ALK/ROS1/RET/ERBB2 drivers, regimens or TMB assays absent from training, and "
        "values outside the training range get a warning: the model extrapolates for them.",
        "- Not a device; do not use to withhold treatment.",
    ]
    return "\n".join(lines) + "\n"
