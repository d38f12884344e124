"""Figures for model evaluation: ROC, calibration, decision curves and per-cohort forest plots.

Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot, so no GUI backend
is needed and nothing leaks into a global figure registry. matplotlib is imported inside the
functions: ``import icipredict.plots`` stays cheap. Every title carries the number of patients.

>>> from icipredict.plots import plot_calibration, save_figure    # doctest: +SKIP
>>> save_figure(plot_calibration(y, p, label="model"), "calibration.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.evaluation import (
    calibration_curve_table,
    calibration_slope_intercept,
    decision_curve,
    roc_auc,
)
from icipredict.explain import global_importance

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from icipredict.training import TrainingResult

__all__ = ["plot_roc", "plot_calibration", "plot_decision_curve", "plot_metric_forest", "save_figure",
           "figure_png", "plot_beeswarm", "plot_importance_bar", "plot_dependence", "plot_patient_waterfall",
           "training_figures"]

_METRIC_LABELS = {
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision)", "brier": "Brier score",
    "calibration_slope": "Calibration slope", "calibration_intercept": "Calibration intercept",
}
# Reference value drawn on the forest plot: chance AUC, perfect slope, zero intercept.
_METRIC_REFERENCE = {"roc_auc": 0.5, "calibration_slope": 1.0, "calibration_intercept": 0.0}


def _new_figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _complete(y, score) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    keep = ~(np.isnan(y_arr) | np.isnan(s_arr))
    return y_arr[keep], s_arr[keep]


def _n_text(ns: list[int]) -> str:
    return f"n={ns[0]}" if len(set(ns)) == 1 else f"n={min(ns)}-{max(ns)}"


def plot_roc(curves: Mapping[str, tuple[object, object]], title: str = "ROC curve") -> Figure:
    """ROC curves of several scores, AUC and n in the legend.

    Parameters
    ----------
    curves : mapping of name -> (y, score)
        Patients with a NaN score are left out of that curve.
    title : str
        Figure title; the number of patients is appended.
    """
    from sklearn.metrics import roc_curve

    fig = _new_figure((5.5, 5))
    ax = fig.add_subplot()
    ns = []
    for name, (y, score) in curves.items():
        y_arr, s_arr = _complete(y, score)
        ns.append(int(y_arr.size))
        fpr, tpr, _ = roc_curve(y_arr, s_arr)
        ax.plot(fpr, tpr, lw=1.8, label=f"{name} (AUC {roc_auc(y_arr, s_arr):.2f}, n={y_arr.size})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity", ylabel="Sensitivity", aspect="equal")
    ax.set_title(f"{title} ({_n_text(ns or [0])})")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_calibration(
    y, p, *, label: str = "model", n_bins: int = 10, strategy: str = "quantile", title: str = "Calibration"
) -> Figure:
    """Observed rate against mean prediction per bin (Wilson 95% CI), with the predictions below.

    The legend gives the calibration slope and intercept (see
    :func:`icipredict.evaluation.calibration_slope_intercept`).
    """
    y_arr, p_arr = _complete(y, p)
    table = calibration_curve_table(y_arr, p_arr, n_bins=n_bins, strategy=strategy)
    slope, intercept = calibration_slope_intercept(y_arr, p_arr)
    fig = _new_figure((5.5, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    top.errorbar(
        table["mean_predicted"], table["observed"],
        # Wilson bounds at 0 % / 100 % can cross the point by rounding (1e-17): matplotlib rejects negative errors
        yerr=np.clip([table["observed"] - table["observed_low"], table["observed_high"] - table["observed"]], 0, None),
        fmt="o-", capsize=3, lw=1.5,
        label=f"{label} (slope {slope:.2f}, intercept {intercept:.2f})",
    )
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="Observed rate of durable benefit")
    top.set_title(f"{title}: {label} (n={y_arr.size}, events={int(y_arr.sum())})")
    top.legend(loc="upper left", fontsize="small")
    bins = np.linspace(0, 1, 41)
    bottom.hist([p_arr[y_arr == 1], p_arr[y_arr == 0]], bins=bins, stacked=True,
                label=["durable benefit", "primary resistance"], color=["tab:blue", "tab:orange"])
    bottom.set(xlabel="Predicted probability of durable benefit", ylabel="Patients")
    bottom.legend(fontsize="x-small")
    return fig


def plot_decision_curve(
    data: pd.DataFrame | Mapping[str, tuple[object, object]],
    *,
    title: str = "Decision curve",
    n: int | None = None,
    thresholds=np.arange(0.05, 0.96, 0.01),
) -> Figure:
    """Net benefit against threshold probability, with "treat all" and "treat none" references.

    Parameters
    ----------
    data : DataFrame from :func:`icipredict.evaluation.decision_curve`, or mapping name -> (y, p)
        With a mapping, each model's curve is computed here; "treat all" uses the first model's
        patients.
    n : int, optional
        Number of patients shown in the title when ``data`` is a precomputed table.
    """
    fig = _new_figure((6, 4.5))
    ax = fig.add_subplot()
    if isinstance(data, pd.DataFrame):
        tables, ns = {"model": data}, [n] if n is not None else []
    else:
        tables, ns = {}, []
        for name, (y, p) in data.items():
            y_arr, p_arr = _complete(y, p)
            tables[name] = decision_curve(y_arr, p_arr, thresholds)
            ns.append(int(y_arr.size))
    reference = next(iter(tables.values()))
    for name, table in tables.items():
        ax.plot(table["threshold"], table["net_benefit_model"], lw=1.8, label=name)
    ax.plot(reference["threshold"], reference["net_benefit_all"], color="grey", lw=1, label="treat all")
    ax.plot(reference["threshold"], reference["net_benefit_none"], color="black", lw=1, ls="--", label="treat none")
    top = max(float(np.nanmax(t["net_benefit_model"])) for t in tables.values())
    top = max(top, float(np.nanmax(reference["net_benefit_all"])), 0.01)
    ax.set(ylim=(-0.05 * top - 0.01, 1.1 * top), xlabel="Threshold probability of durable benefit", ylabel="Net benefit")
    ax.set_title(f"{title} ({_n_text(ns)})" if ns else title)
    ax.legend(fontsize="small")
    return fig


def plot_metric_forest(table: pd.DataFrame, metric: str = "roc_auc", *, title: str | None = None) -> Figure:
    """One point with its CI per (cohort, model) row of a :func:`icipredict.evaluation.metrics_table`."""
    if metric not in table.columns:
        raise ValueError(f"metric must be a column of table. Got {metric!r} instead.")
    rows = table.reset_index(drop=True)
    models = list(dict.fromkeys(rows["model"]))
    fig = _new_figure((6.5, 1.0 + 0.32 * len(rows)))
    ax = fig.add_subplot()
    from matplotlib import colormaps

    colours = colormaps["tab10"]
    positions = np.arange(len(rows))[::-1]
    for i, model in enumerate(models):
        mask = (rows["model"] == model).to_numpy()
        part = rows.loc[mask]
        x = part[metric].to_numpy(dtype=float)
        if {f"{metric}_low", f"{metric}_high"} <= set(rows.columns):
            err = np.vstack([x - part[f"{metric}_low"].to_numpy(dtype=float), part[f"{metric}_high"].to_numpy(dtype=float) - x])
        else:
            err = None
        ax.errorbar(x, positions[mask], xerr=err, fmt="o", capsize=3, color=colours(i % 10), label=model)
    ax.set_yticks(positions, [f"{c} · {m} (n={int(k)})" for c, m, k in zip(rows["cohort"], rows["model"], rows["n"])])
    if metric in _METRIC_REFERENCE:
        ax.axvline(_METRIC_REFERENCE[metric], color="grey", ls="--", lw=1)
    ax.set_xlabel(_METRIC_LABELS.get(metric, metric))
    pooled = rows.loc[rows["cohort"] == "pooled", "n"]
    n_total = int(pooled.max()) if len(pooled) else int(rows["n"].max())
    ax.set_title(title or f"{_METRIC_LABELS.get(metric, metric)} by cohort (pooled n={n_total})")
    ax.legend(fontsize="small", loc="best")
    return fig


def save_figure(fig: Figure, path: str | PathLike[str]) -> Path:
    """Write ``fig`` as PNG (120 dpi, tight bounding box), creating the parent folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
    return path


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` as :func:`save_figure` writes them (deterministic for the same figure)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


# -- SHAP plots ---------------------------------------------------------------------------------------

def _explanation(phi: pd.DataFrame, X: pd.DataFrame, base: np.ndarray):
    import shap

    return shap.Explanation(values=phi.to_numpy(), base_values=np.asarray(base, dtype=float),
                            data=X.to_numpy(dtype=float), feature_names=list(phi.columns))


def _figure():
    # pyplot picks a non-interactive backend by itself on a headless machine
    import matplotlib.pyplot as plt

    return plt


def plot_beeswarm(phi: pd.DataFrame, X: pd.DataFrame, base: np.ndarray, *, max_display: int = 15,
                  title: str = "") -> "Figure":
    """SHAP beeswarm (one dot per patient and feature, coloured by the feature value)."""
    import shap

    plt = _figure()
    plt.figure(figsize=(8, 6))
    state = np.random.get_state()
    np.random.seed(0)  # shap jitters the dots with numpy's global generator: the same figure every time
    try:
        shap.plots.beeswarm(_explanation(phi, X, base), max_display=max_display, show=False)
    finally:
        np.random.set_state(state)
    fig = plt.gcf()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_importance_bar(phi: pd.DataFrame, *, max_display: int = 15, title: str = "") -> "Figure":
    """Mean |SHAP| per feature."""
    plt = _figure()
    imp = global_importance(phi).head(max_display)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(imp) + 1.2))
    ax.barh(imp.index, imp.to_numpy(), color="#3b6ea5")
    ax.set_xlabel("mean |SHAP value|")
    ax.set_title(title or "Global feature importance")
    fig.tight_layout()
    return fig


def plot_dependence(phi: pd.DataFrame, X: pd.DataFrame, feature: str, *, title: str = "") -> "Figure":
    """SHAP value of one feature against its value (missing values shown at the left edge)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = X[feature].to_numpy(dtype=float)
    y = phi[feature].to_numpy()
    known = ~np.isnan(x)
    ax.scatter(x[known], y[known], s=10, alpha=0.6, color="#3b6ea5", label=f"measured (n={known.sum()})")
    if (~known).any():
        left = np.nanmin(x) - 0.05 * (np.nanmax(x) - np.nanmin(x) + 1) if known.any() else 0.0
        ax.scatter(np.full((~known).sum(), left), y[~known], s=10, alpha=0.6, color="#b55",
                   label=f"missing (n={(~known).sum()})")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(feature)
    ax.set_ylabel(f"SHAP value of {feature}")
    ax.set_title(title or f"Dependence on {feature}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_patient_waterfall(contrib: pd.Series, values: pd.Series, base: float, *, scale: str,
                           max_display: int = 10, ax=None):
    """Horizontal waterfall of one patient's contributions on ``scale``."""
    plt = _figure()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    order = contrib.abs().sort_values(ascending=False).index
    shown = list(order[:max_display])
    rest = float(contrib.drop(index=shown).sum())
    labels, deltas = [], []
    for f in shown:
        v = values.get(f, np.nan)
        labels.append(f"{f} = {'missing' if pd.isna(v) else f'{v:.3g}'}")
        deltas.append(float(contrib[f]))
    if len(order) > max_display:
        labels.append(f"{len(order) - max_display} other features")
        deltas.append(rest)
    labels, deltas = labels[::-1], deltas[::-1]
    start = base + np.concatenate([[0.0], np.cumsum(deltas)[:-1]])
    colours = ["#2a7" if d > 0 else "#c44" for d in deltas]
    ax.barh(range(len(deltas)), deltas, left=start, color=colours)
    ax.set_yticks(range(len(deltas)), labels, fontsize=8)
    ax.axvline(base, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"contribution ({scale}); baseline {base:.2f}, patient {base + sum(deltas):.2f}")
    ax.set_title("What moved this prediction (green: towards benefit)")
    return ax


# -- the figures of a training run ---------------------------------------------------------------------

def _headline(pred: pd.DataFrame) -> tuple[str, str]:
    if "iecv" in pred and pred["iecv"].notna().any():
        return "iecv", "internal-external (each study held out)"
    return "model", "cross-validated"


def training_figures(result: "TrainingResult") -> dict[str, bytes]:
    """PNG bytes of every plot of a training run, by file name (written beside the bundle and to MLflow)."""
    import matplotlib.pyplot as plt

    pred = result.predictions
    column, scheme = _headline(pred)
    held = pred[column].notna().to_numpy()
    y = pred["y"].to_numpy(float)[held]
    p = pred[column].to_numpy(float)[held]
    curves = {f"model ({scheme})": (y, p)}
    for b in result.config.evaluation.baselines:
        known = pred.loc[held, b].notna().to_numpy()
        if known.sum() >= 10 and len(set(y[known])) == 2:  # LORIS needs five inputs, often absent
            curves[f"{b} alone (n={int(known.sum())})"] = (y[known], pred.loc[held, b].to_numpy(float)[known])
    figs = {
        "roc.png": plot_roc(curves, title=f"ROC, {scheme}, model beside baselines"),
        "calibration.png": plot_calibration(y, p, label=f"model ({scheme})", title=f"Calibration, {scheme}"),
        "decision_curve.png": plot_decision_curve({f"model ({scheme})": (y, p)}, title=f"Decision curve, {scheme}"),
        "auc_forest.png": plot_metric_forest(result.metrics.query("subset == 'all'"), "roc_auc",
                                             title="ROC AUC by scheme and cohort"),
    }
    if column == "iecv" and pred["model"].notna().any():
        m = pred["model"].notna().to_numpy()
        figs["calibration_cv.png"] = plot_calibration(pred["y"].to_numpy(float)[m], pred["model"].to_numpy(float)[m],
                                                      label="model (pooled folds)",
                                                      title="Calibration, pooled cross-validation")
    for name, frame in result.external.items():
        figs[f"calibration_external_{name}.png"] = plot_calibration(
            frame["y"].to_numpy(float), frame["model"].to_numpy(float), label="model",
            title=f"Calibration, external cohort {name}")
    if result.contributions is not None and result.config.explain.enabled:
        phi, inputs = result.contributions
        phi = phi.loc[:, phi.abs().max(axis=0) > 0]
        X = inputs.reindex(columns=phi.columns)
        base = np.zeros(len(phi))
        cfg = result.config.explain
        figs["shap_beeswarm.png"] = plot_beeswarm(phi, X, base, max_display=cfg.max_display,
                                                  title=f"Contributions per input, n={len(phi)}")
        figs["shap_importance.png"] = plot_importance_bar(phi, max_display=cfg.max_display,
                                                          title=f"Mean |contribution| (log-odds), n={len(phi)}")
        for f in cfg.dependence:
            if f in phi.columns:
                figs[f"shap_dependence_{f}.png"] = plot_dependence(phi, X, f)
    out = {}
    for name, fig in figs.items():
        out[name] = figure_png(fig)
        plt.close(fig)
    return out


def plot_update_calibration(y, comparison: pd.DataFrame, curves: Mapping[str, pd.DataFrame]) -> Figure:
    """Calibration on the local data before and after a local update (cross-validated), with AUC and slope."""
    fig = _new_figure((6.0, 5.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for (name, table), colour in zip(curves.items(), ("#E69F00", "#0072B2")):
        row = comparison.loc[comparison["model"] == name].iloc[0]
        err = np.vstack([table["observed"] - table["observed_low"], table["observed_high"] - table["observed"]])
        ax.errorbar(table["mean_predicted"], table["observed"], yerr=np.clip(err, 0, None), fmt="o-", capsize=3,
                    color=colour, label=f"{name}: AUC {row['roc_auc']:.2f}, slope {row['calibration_slope']:.2f}, "
                                        f"CITL {row['calibration_intercept']:+.2f}")
    y = np.asarray(y, dtype=float)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted probability of durable benefit",
           ylabel="observed rate (95% CI)")
    ax.set_title(f"Local data before and after updating (n={y.size}, {int(y.sum())} with durable benefit)")
    ax.legend(fontsize="small", loc="upper left")
    return fig
