"""Every figure of a training run, drawn with :mod:`icipredict.plots` from a :class:`TrainingResult`.

Training writes the bytes beside the bundle (``plots/*.png``) and to MLflow.
"""

from __future__ import annotations

import numpy as np

from icipredict.fitting.results import TrainingResult
from icipredict.plots import (BASELINE_WORDS, SCHEME_WORDS, decision_strategies, figure_png, plot_beeswarm,
                              plot_calibration, plot_decision_strategies, plot_dependence, plot_importance_bar,
                              plot_metric_forest, plot_roc)

__all__ = ["training_figures", "headline_scheme"]


def headline_scheme(pred) -> tuple[str, str]:
    """The column of the headline predictions and its scheme in words.

    >>> import pandas as pd
    >>> headline_scheme(pd.DataFrame({"iecv": [0.3], "model": [0.2]}))
    ('iecv', 'internal-external')
    """
    if "iecv" in pred and pred["iecv"].notna().any():
        return "iecv", SCHEME_WORDS["iecv"]
    return "model", SCHEME_WORDS["cv"]


def _forest_rows(metrics):
    """The forest plot's rows: every scheme's model rows; each baseline once per cohort and scheme family.

    The baselines are fixed rules, so their pooled-fold rows repeat their internal-external rows
    exactly (the same patients, the same bootstrap): they are drawn once, under internal-external.
    """
    rows = metrics.query("subset == 'all'")
    if {"scheme", "model"} <= set(rows.columns) and (rows["scheme"] == "iecv").any():
        rows = rows.loc[~((rows["scheme"] == "cv") & (rows["model"] != "model"))]
    return rows


def training_figures(result: "TrainingResult") -> dict[str, bytes]:
    """PNG bytes of every plot of a training run, by file name (written beside the bundle and to MLflow).

    ``roc.png``, ``calibration.png`` (the headline: internal-external when each study was held out),
    ``calibration_cv.png`` (pooled folds), ``calibration_external_<cohort>.png`` (one per external
    cohort), ``decision_curve.png``, ``auc_forest.png``, ``shap_beeswarm.png``,
    ``shap_importance.png`` and ``shap_dependence_<input>.png``. The same result gives the same bytes.

    Examples
    --------
    >>> figures = training_figures(train(overrides=["tracking.enabled=false"]))  # doctest: +SKIP
    >>> sorted(figures)[:2]  # doctest: +SKIP
    ['auc_forest.png', 'calibration.png']
    """
    pred = result.predictions
    column, scheme = headline_scheme(pred)
    held = pred[column].notna().to_numpy()
    y = pred["y"].to_numpy(float)[held]
    p = pred[column].to_numpy(float)[held]
    curves = {"model": (y, p)}
    for b in result.config.evaluation.baselines:
        known = pred.loc[held, b].notna().to_numpy()
        if known.sum() >= 10 and len(set(y[known])) == 2:  # LORIS needs five inputs, often absent
            curves[BASELINE_WORDS.get(b, b)] = (y[known], pred.loc[held, b].to_numpy(float)[known])
    marker = {b: pred.loc[held, b].to_numpy(float) if b in pred else None for b in ("pdl1", "tmb")}
    figs = {
        "roc.png": plot_roc(curves, title=f"ROC, {scheme}"),
        "calibration.png": plot_calibration(y, p, label="model", title=f"Calibration, {scheme}"),
        "decision_curve.png": plot_decision_strategies(
            decision_strategies(y, p, pdl1=marker["pdl1"], tmb=marker["tmb"]), title=f"Decision curve, {scheme}"),
        "auc_forest.png": plot_metric_forest(_forest_rows(result.metrics), "roc_auc",
                                             title="ROC AUC by validation scheme and cohort"),
    }
    if column == "iecv" and pred["model"].notna().any():
        m = pred["model"].notna().to_numpy()
        figs["calibration_cv.png"] = plot_calibration(pred["y"].to_numpy(float)[m], pred["model"].to_numpy(float)[m],
                                                      label="model", title=f"Calibration, {SCHEME_WORDS['cv']}")
    for name, frame in result.external.items():
        figs[f"calibration_external_{name}.png"] = plot_calibration(
            frame["y"].to_numpy(float), frame["model"].to_numpy(float), label="model",
            title=f"Calibration, {SCHEME_WORDS['external']}: {name}")
    if result.contributions is not None and result.config.explain.enabled:
        phi, inputs = result.contributions
        phi = phi.loc[:, phi.abs().max(axis=0) > 0]
        X = inputs.reindex(columns=phi.columns)
        training = result.metadata.training
        rate = training.n_durable_benefit / training.n_evaluable if training.n_evaluable else float(np.mean(y))
        cfg = result.config.explain
        figs["shap_beeswarm.png"] = plot_beeswarm(phi, X, max_display=cfg.max_display, reference=rate,
                                                  title=f"Contribution of each input, {len(phi)} training patients")
        figs["shap_importance.png"] = plot_importance_bar(phi, max_display=cfg.max_display,
                                                          title=f"Mean size of each input's contribution, "
                                                                f"{len(phi)} training patients")
        for f in cfg.dependence:
            if f in phi.columns:
                figs[f"shap_dependence_{f}.png"] = plot_dependence(phi, X, f, reference=rate)
    return {name: figure_png(fig) for name, fig in figs.items()}
