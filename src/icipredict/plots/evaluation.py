"""Evaluation figures: ROC, calibration, decision curves with the clinical strategies, forest plots.

Every title or legend carries the number of patients once; every forest-plot row names its
validation scheme; the decision curve sets the model beside "treat all", "treat none" and the two
biomarker rules in clinical use (PD-L1 >= 50 %, TMB >= 10 mut/Mb).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.evaluation import calibration_curve_table, calibration_slope_intercept, decision_curve, roc_auc
from icipredict.plots.style import MARKERS, OKABE_ITO, SERIES, new_figure
from icipredict.table.vocab import PDL1_BAND_RANGES, TMB_HIGH_CUTOFF

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_roc", "plot_calibration", "plot_decision_curve", "decision_strategies", "plot_decision_strategies",
           "plot_metric_forest", "plot_update_calibration", "SCHEME_WORDS", "BASELINE_WORDS", "STRATEGY_PDL1",
           "STRATEGY_TMB", "calibration_bins", "calibration_yerr"]

_METRIC_LABELS = {
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC (average precision)", "brier": "Brier score",
    "calibration_slope": "Calibration slope", "calibration_intercept": "Calibration intercept",
}
# Reference value drawn on the forest plot: chance AUC, perfect slope, zero intercept.
_METRIC_REFERENCE = {"roc_auc": 0.5, "calibration_slope": 1.0, "calibration_intercept": 0.0}
#: Validation scheme (the ``scheme`` column of the training metrics) in words, as every forest row names it.
SCHEME_WORDS: dict[str, str] = {"iecv": "internal-external", "cv": "pooled folds", "external": "external"}
#: The published baselines (:data:`icipredict.table.vocab.BASELINES`) in words, as the ROC legend names them.
BASELINE_WORDS: dict[str, str] = {"pdl1": "PD-L1 TPS alone", "tmb": "TMB alone", "loris": "LORIS score"}
#: PD-L1 cut-off of the "PD-L1 high" rule (KEYNOTE-024) and the TMB-high cut-off (KEYNOTE-158).
PDL1_HIGH = PDL1_BAND_RANGES[">=50"][0]
STRATEGY_PDL1 = f"PD-L1 >= {PDL1_HIGH:g}%"
STRATEGY_TMB = f"TMB >= {TMB_HIGH_CUTOFF:g} mut/Mb"


def calibration_yerr(table: pd.DataFrame) -> np.ndarray:
    """The 95% CI of each bin's observed rate as ``errorbar(yerr=...)`` takes it: distances down and up.

    Wilson bounds at 0 % / 100 % can cross the point by rounding (1e-17): matplotlib rejects negative
    errors, so they are clipped at 0.

    >>> calibration_yerr(pd.DataFrame({"observed": [0.0, 0.5], "observed_low": [1e-17, 0.25],
    ...                                "observed_high": [0.2, 0.75]})).tolist()
    [[0.0, 0.25], [0.2, 0.25]]
    """
    return np.clip([table["observed"] - table["observed_low"], table["observed_high"] - table["observed"]], 0, None)


def _complete(y, score) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float).ravel()
    s_arr = np.asarray(score, dtype=float).ravel()
    keep = ~(np.isnan(y_arr) | np.isnan(s_arr))
    return y_arr[keep], s_arr[keep]


def _n_text(ns: list[int]) -> str:
    return f"n={ns[0]}" if len(set(ns)) == 1 else f"n={min(ns)}-{max(ns)}"


def calibration_bins(n: int) -> int:
    """Bins of a calibration plot: 10 from 200 patients, else 5 (about 20 or more patients per bin).

    >>> calibration_bins(533), calibration_bins(84)
    (10, 5)
    """
    return 10 if n >= 200 else 5


def plot_roc(curves: Mapping[str, tuple[object, object]], title: str = "ROC curve") -> Figure:
    """ROC curves of several scores; each legend entry gives its AUC and n, the title the range of n.

    Parameters
    ----------
    curves : mapping of name -> (y, score)
        Patients with a NaN score are left out of that curve.
    title : str
        Figure title; the number of patients is appended.

    Examples
    --------
    >>> fig = plot_roc({"model": ([0, 1, 1, 0], [0.2, 0.8, 0.6, 0.3])})
    >>> fig.axes[0].get_title()
    'ROC curve (n=4)'
    """
    from sklearn.metrics import roc_curve

    fig = new_figure((5.5, 5))
    ax = fig.add_subplot()
    ns = []
    for i, (name, (y, score)) in enumerate(curves.items()):
        y_arr, s_arr = _complete(y, score)
        ns.append(int(y_arr.size))
        fpr, tpr, _ = roc_curve(y_arr, s_arr)
        ax.plot(fpr, tpr, lw=1.8, color=SERIES[i % len(SERIES)], ls=("-", "--", "-.", ":")[i % 4],
                label=f"{name} (AUC {roc_auc(y_arr, s_arr):.2f}, n={y_arr.size})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 - specificity", ylabel="Sensitivity", aspect="equal")
    ax.set_title(f"{title} ({_n_text(ns or [0])})")
    ax.legend(loc="lower right", fontsize="small")
    return fig


def plot_calibration(
    y, p, *, label: str = "model", n_bins: int | None = None, strategy: str = "quantile", title: str = "Calibration"
) -> Figure:
    """Observed rate against mean prediction per bin (Wilson 95% CI), with the predictions below.

    The title gives n and the number of events; the legend the calibration slope and intercept
    (:func:`icipredict.evaluation.calibration_slope_intercept`). ``n_bins`` defaults to
    :func:`calibration_bins`.

    Examples
    --------
    >>> fig = plot_calibration([0, 1, 1, 0, 1, 0] * 10, [0.2, 0.8, 0.6, 0.3, 0.5, 0.4] * 10)
    >>> fig.axes[0].get_title()
    'Calibration: model (n=60, events=30)'
    """
    y_arr, p_arr = _complete(y, p)
    table = calibration_curve_table(y_arr, p_arr, n_bins=n_bins or calibration_bins(y_arr.size), strategy=strategy)
    slope, intercept = calibration_slope_intercept(y_arr, p_arr)
    fig = new_figure((5.5, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    top.errorbar(
        table["mean_predicted"], table["observed"],
        yerr=calibration_yerr(table),
        fmt="o-", capsize=3, lw=1.5, color=OKABE_ITO["blue"],
        label=f"{label} (slope {slope:.2f}, intercept {intercept:.2f}); bars: 95% CI",
    )
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="Observed rate of durable benefit")
    top.set_title(f"{title}: {label} (n={y_arr.size}, events={int(y_arr.sum())})")
    top.legend(loc="upper left", fontsize="small")
    bins = np.linspace(0, 1, 41)
    bottom.hist([p_arr[y_arr == 1], p_arr[y_arr == 0]], bins=bins, stacked=True,
                label=["durable benefit", "primary resistance"], color=[OKABE_ITO["blue"], OKABE_ITO["orange"]])
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

    Examples
    --------
    >>> fig = plot_decision_curve({"model": ([0, 1, 1, 0], [0.2, 0.8, 0.6, 0.3])})
    """
    if isinstance(data, pd.DataFrame):
        tables, ns = {"model": data}, [n] if n is not None else []
    else:
        tables, ns = {}, []
        for name, (y, p) in data.items():
            y_arr, p_arr = _complete(y, p)
            tables[name] = decision_curve(y_arr, p_arr, thresholds)
            ns.append(int(y_arr.size))
    reference = next(iter(tables.values()))
    wide = pd.DataFrame({"threshold": reference["threshold"],
                         **{name: t["net_benefit_model"].to_numpy() for name, t in tables.items()},
                         "treat all": reference["net_benefit_all"], "treat none": reference["net_benefit_none"]})
    return plot_decision_strategies(wide, title=f"{title} ({_n_text(ns)})" if ns else title)


def decision_strategies(y, p, *, pdl1=None, tmb=None, thresholds=np.arange(0.05, 0.96, 0.01)) -> pd.DataFrame:
    """Net benefit of treating by the model and by the clinical rules, per threshold probability.

    "Treating" means giving the ICI expecting durable benefit. Net benefit = TP/n - FP/n * t/(1-t)
    (Vickers & Elkin 2006), on the patients with a model probability. The rules treat a patient
    whose marker is at or above its cut-off; a patient whose marker is unknown is not treated by
    that rule (a rule cannot act on a value it lacks).

    Parameters
    ----------
    y : array of 0/1
    p : array of probabilities (NaN: patient left out)
    pdl1, tmb : arrays, optional
        PD-L1 TPS (%) and TMB (mut/Mb) as given; NaN where unknown.

    Returns
    -------
    DataFrame
        ``threshold``, ``model``, ``treat all``, ``treat none`` and, when given,
        :data:`STRATEGY_PDL1` and :data:`STRATEGY_TMB`; ``attrs["n"]`` the patients and
        ``attrs["unknown"]`` the unknown markers per rule.

    Examples
    --------
    >>> t = decision_strategies([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.1], pdl1=[80, 60, 10, 0], thresholds=[0.5])
    >>> t.iloc[0].round(3).to_dict()
    {'threshold': 0.5, 'model': 0.5, 'treat all': 0.0, 'treat none': 0.0, 'PD-L1 >= 50%': 0.0}
    """
    y_arr = np.asarray(y, dtype=float).ravel()
    p_arr = np.asarray(p, dtype=float).ravel()
    keep = ~(np.isnan(y_arr) | np.isnan(p_arr))
    base = decision_curve(y_arr[keep], p_arr[keep], thresholds)
    out = pd.DataFrame({"threshold": base["threshold"], "model": base["net_benefit_model"],
                        "treat all": base["net_benefit_all"], "treat none": base["net_benefit_none"]})
    unknown = {}
    for name, marker, cut in ((STRATEGY_PDL1, pdl1, PDL1_HIGH), (STRATEGY_TMB, tmb, TMB_HIGH_CUTOFF)):
        if marker is None:
            continue
        values = np.asarray(marker, dtype=float).ravel()[keep]
        with np.errstate(invalid="ignore"):
            treated = (values >= cut).astype(float)  # NaN >= cut is False: unknown is not treated
        # a 0/1 "probability" is treated at every threshold in (0, 1) exactly when flagged
        out[name] = decision_curve(y_arr[keep], treated, thresholds)["net_benefit_model"].to_numpy()
        unknown[name] = int(np.isnan(values).sum())
    out.attrs.update(n=int(keep.sum()), unknown=unknown)
    return out


def plot_decision_strategies(table: pd.DataFrame, *, title: str = "Decision curve") -> Figure:
    """Draw every strategy column of a :func:`decision_strategies` table against the threshold.

    Examples
    --------
    >>> fig = plot_decision_strategies(decision_strategies([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.1]))
    """
    fig = new_figure((6.5, 4.8))
    ax = fig.add_subplot()
    styles = {"treat all": dict(color="grey", lw=1), "treat none": dict(color="black", lw=1, ls="--")}
    names = [c for c in table.columns if c != "threshold"]
    models = [c for c in names if c not in styles]
    for i, name in enumerate(models):
        ax.plot(table["threshold"], table[name], lw=2.2 if i == 0 else 1.6, color=SERIES[i % len(SERIES)],
                ls=("-", "-.", ":", (0, (5, 1)))[i % 4], label=name)
    for name, style in styles.items():
        if name in table:
            ax.plot(table["threshold"], table[name], label=name, **style)
    top = max(float(np.nanmax(table[c])) for c in names)
    top = max(top, 0.01)
    ax.set(ylim=(-0.05 * top - 0.01, 1.1 * top), xlabel="Threshold probability of durable benefit",
           ylabel="Net benefit")
    n = table.attrs.get("n")
    ax.set_title(f"{title} (n={n})" if n is not None else title)
    ax.legend(fontsize="small", loc="upper right")
    unknown = table.attrs.get("unknown") or {}
    if any(unknown.values()):
        note = "; ".join(f"{k}: {v} unknown" for k, v in unknown.items())
        fig.text(0.01, 0.0,
                 f"Rules treat a patient at or above the cut-off; an unknown marker is not treated ({note}).",
                 fontsize="x-small", va="bottom", parse_math=False)
        fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    return fig


def _row_label(row: pd.Series) -> str:
    scheme = SCHEME_WORDS.get(str(row.get("scheme")), str(row.get("scheme"))) if "scheme" in row else ""
    where = f"{scheme}: {row['cohort']}" if scheme else str(row["cohort"])
    return f"{where} · {row['model']} (n={int(row['n'])})"


def plot_metric_forest(table: pd.DataFrame, metric: str = "roc_auc", *, title: str | None = None) -> Figure:
    """One point with its CI per (scheme, cohort, model) row of a metrics table.

    Every row is labelled "<scheme>: <cohort> · <model> (n=...)" (:data:`SCHEME_WORDS`; no scheme
    when the table has no ``scheme`` column), so no two rows carry the same label; schemes are
    separated by a line. Models differ by colour and marker.

    Examples
    --------
    >>> from icipredict.evaluation import metrics_table  # doctest: +SKIP
    >>> plot_metric_forest(metrics_table(df, scores=["p"]), "roc_auc")  # doctest: +SKIP
    """
    if metric not in table.columns:
        raise ValueError(f"metric must be a column of table. Got {metric!r} instead.")
    rows = table.reset_index(drop=True)
    models = list(dict.fromkeys(rows["model"]))
    fig = new_figure((7.5, 1.2 + 0.3 * len(rows)))
    ax = fig.add_subplot()
    positions = np.arange(len(rows))[::-1]
    for i, model in enumerate(models):
        mask = (rows["model"] == model).to_numpy()
        part = rows.loc[mask]
        x = part[metric].to_numpy(dtype=float)
        if {f"{metric}_low", f"{metric}_high"} <= set(rows.columns):
            err = np.clip(np.vstack([x - part[f"{metric}_low"].to_numpy(dtype=float),
                                     part[f"{metric}_high"].to_numpy(dtype=float) - x]), 0, None)
        else:
            err = None
        ax.errorbar(x, positions[mask], xerr=err, fmt=MARKERS[i % len(MARKERS)], capsize=3,
                    color=SERIES[i % len(SERIES)], label=model)
    ax.set_yticks(positions, [_row_label(r) for _, r in rows.iterrows()], fontsize="small", parse_math=False)
    if "scheme" in rows:
        change = np.flatnonzero(rows["scheme"].to_numpy()[1:] != rows["scheme"].to_numpy()[:-1])
        for c in change:
            ax.axhline(positions[c] - 0.5, color="black", lw=0.8)
    if metric in _METRIC_REFERENCE:
        ax.axvline(_METRIC_REFERENCE[metric], color="grey", ls="--", lw=1)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(_METRIC_LABELS.get(metric, metric) + " (95% CI)")
    pooled = rows.loc[rows["cohort"] == "pooled", "n"]
    n_total = int(pooled.max()) if len(pooled) else int(rows["n"].max())
    ax.set_title(title or f"{_METRIC_LABELS.get(metric, metric)} by cohort (pooled n={n_total})")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), title="score")
    return fig


def plot_update_calibration(y, comparison: pd.DataFrame, curves: Mapping[str, pd.DataFrame]) -> Figure:
    """Calibration on the local data before and after a local update (cross-validated), with AUC and slope.

    Parameters
    ----------
    y : array of 0/1
        The local outcomes (for n and events in the title).
    comparison : DataFrame
        One row per model name with ``roc_auc``, ``calibration_slope`` and ``calibration_intercept``.
    curves : mapping of name -> calibration table
        :func:`icipredict.evaluation.calibration_curve_table` per model, "before" first.

    Examples
    --------
    >>> fig = plot_update_calibration(y, result.comparison, result.curves)  # doctest: +SKIP
    """
    fig = new_figure((6.0, 5.0))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    # one curve per compared model (a curve model's update also carries S(12) tables, drawn elsewhere)
    for i, name in enumerate(n for n in comparison["model"] if n in curves):
        table = curves[name]
        row = comparison.loc[comparison["model"] == name].iloc[0]
        ax.errorbar(table["mean_predicted"], table["observed"], yerr=calibration_yerr(table),
                    fmt=f"{MARKERS[i % len(MARKERS)]}-", capsize=3,
                    color=(OKABE_ITO["orange"], OKABE_ITO["blue"])[i % 2],
                    label=f"{name}: AUC {row['roc_auc']:.2f}, slope {row['calibration_slope']:.2f}, "
                          f"CITL {row['calibration_intercept']:+.2f}")
    y = np.asarray(y, dtype=float)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted probability of durable benefit",
           ylabel="observed rate (95% CI)")
    ax.set_title(f"Local data before and after updating (n={y.size}, {int(y.sum())} with durable benefit)")
    ax.legend(fontsize="small", loc="upper left")
    return fig
