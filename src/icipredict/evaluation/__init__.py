"""Evaluation: metrics with confidence intervals, the model beside its baselines, saved models on new data.

* :mod:`~icipredict.evaluation.metrics`: pure numeric metrics (discrimination, calibration,
  clinical utility) with bootstrap confidence intervals;
* :mod:`~icipredict.evaluation.compare`: a model's predictions beside the PD-L1, TMB and LORIS
  baselines on the same patients, per cohort and pooled;
* :mod:`~icipredict.evaluation.saved`: :func:`evaluate`, a saved model on new labelled data (imported
  on first use, since it loads models).
"""

from icipredict.evaluation.compare import MODEL_COLUMN, compare_scores
from icipredict.evaluation.metrics import (
    average_precision,
    binary_metrics,
    bootstrap_ci,
    calibration_ci,
    calibration_curve_table,
    calibration_slope_intercept,
    decision_curve,
    dersimonian_laird,
    format_metrics_markdown,
    log_loss_each,
    metrics_table,
    paired_auc_difference,
    roc_auc,
    sensitivity_specificity,
)

__all__ = [
    "MODEL_COLUMN",
    "average_precision",
    "binary_metrics",
    "bootstrap_ci",
    "calibration_ci",
    "calibration_curve_table",
    "calibration_slope_intercept",
    "compare_scores",
    "decision_curve",
    "dersimonian_laird",
    "format_metrics_markdown",
    "log_loss_each",
    "metrics_table",
    "paired_auc_difference",
    "roc_auc",
    "sensitivity_specificity",
]
