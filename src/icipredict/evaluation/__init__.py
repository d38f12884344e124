"""Evaluation: metrics with confidence intervals, the model beside its baselines, saved models on new data.

* :mod:`~icipredict.evaluation.discrimination`, :mod:`~icipredict.evaluation.calibration`,
  :mod:`~icipredict.evaluation.utility`, :mod:`~icipredict.evaluation.bootstrap`: pure numeric metrics
  by job, and their confidence intervals;
* :mod:`~icipredict.evaluation.metrics`: the per-cohort summaries (:func:`metrics_table`, ...);
* :mod:`~icipredict.evaluation.uncertainty`: how the per-patient intervals behave on held-out studies;
* :mod:`~icipredict.evaluation.compare`: a model's predictions beside the PD-L1, TMB and LORIS
  baselines on the same patients, per cohort and pooled;
* :mod:`~icipredict.evaluation.saved`: :func:`evaluate`, a saved model on new labelled data (imported
  on first use, since it loads models).

Layer 8 of docs/architecture.md: may import ``exceptions``, ``progress``, ``table``, ``clinical``, ``io``,
``model``, ``config`` and ``serve`` (a saved model is loaded and run as ``predict`` runs it).
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
