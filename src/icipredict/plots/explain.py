"""Explanation figures: contributions per input (beeswarm), their mean size, and dependence plots.

Inputs are named in words with units (:data:`icipredict.table.labels.MODEL_INPUT_LABELS`), never by
internal names; the log-odds axis says what it means and carries a second axis in percentage
points around a reference probability (the training rate); patients whose input was not given are
drawn in grey and named so in the legend. The beeswarm lays its dots out deterministically (no
random jitter), so the same contributions give the same PNG bytes. TMB is drawn on its own scale
in mut/Mb (log axis) with the 10 mut/Mb cut-off, PD-L1 in TPS % with the 1 % and 50 % cut-offs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from icipredict.model.explain import global_importance
from icipredict.table.labels import MODEL_INPUT_LABELS
from icipredict.plots.evaluation import PDL1_HIGH
from icipredict.plots.style import MISSING_COLOUR, OKABE_ITO, new_figure, probability_points_axis
from icipredict.table.vocab import PDL1_POSITIVE_CUTOFF, TMB_HIGH_CUTOFF

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_beeswarm", "plot_importance_bar", "plot_dependence", "input_label", "LOG_ODDS_LABEL"]

#: What the log-odds axis means, said on the axis.
LOG_ODDS_LABEL = "contribution to the log-odds of durable benefit (0: no change from the average; +0.7: odds x2)"
_COLOURMAP = "viridis"  # perceptually uniform and readable with colour-vision deficiency


def input_label(name: str) -> str:
    """A model input in words with its unit (the name itself when unknown).

    >>> input_label("tmb")
    'TMB (mut/Mb, tissue-panel scale)'
    """
    return MODEL_INPUT_LABELS.get(name, name)


def _swarm_offsets(x: np.ndarray, width: float = 0.38, n_bins: int = 80) -> np.ndarray:
    """Vertical offsets that spread dots with close values, alternating up and down (deterministic)."""
    offsets = np.zeros(len(x))
    if len(x) < 2:
        return offsets
    lo, hi = float(np.min(x)), float(np.max(x))
    bins = np.floor((x - lo) / ((hi - lo) or 1.0) * (n_bins - 1)).astype(int)
    order = np.lexsort((x, bins))
    layer = np.zeros(len(x))
    start = 0
    sorted_bins = bins[order]
    for end in np.append(np.flatnonzero(np.diff(sorted_bins)) + 1, len(x)):
        k = np.arange(end - start)
        layer[order[start:end]] = np.ceil(k / 2) * np.where(k % 2 == 0, 1, -1)
        start = end
    peak = np.abs(layer).max()
    return layer / peak * width if peak else offsets


def _colour_values(v: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] between their 5th and 95th percentiles (as SHAP's beeswarm colours them)."""
    known = v[~np.isnan(v)]
    if not len(known):
        return v
    lo, hi = np.percentile(known, [5, 95])
    if hi <= lo:
        lo, hi = float(known.min()), float(known.max())
    return np.clip((v - lo) / ((hi - lo) or 1.0), 0, 1)


def plot_beeswarm(phi: pd.DataFrame, X: pd.DataFrame, base: np.ndarray | None = None, *, max_display: int = 15,
                  title: str = "", reference: float | None = None) -> Figure:
    """One dot per patient and input: its contribution (x), coloured by the input's value.

    Parameters
    ----------
    phi : DataFrame
        Contributions on the log-odds scale, one column per model input.
    X : DataFrame
        The model inputs' values (same rows), for the colours; NaN where not given (grey).
    base : array, optional
        Unused (kept for callers of the SHAP-based version).
    max_display : int
        Inputs shown, the largest mean absolute contribution first.
    reference : float, optional
        Probability around which the top axis reads in percentage points (the training rate).

    Examples
    --------
    >>> fig = plot_beeswarm(phi, X, reference=0.35)  # doctest: +SKIP
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    names = list(global_importance(phi).index[:max_display])
    fig = new_figure((8.5, 0.45 * len(names) + 2.2))
    ax = fig.add_subplot()
    cmap = ScalarMappable(Normalize(0, 1), _COLOURMAP).get_cmap()
    any_missing = False
    for row, name in enumerate(names[::-1]):
        x = phi[name].to_numpy(dtype=float)
        v = X[name].to_numpy(dtype=float) if name in X else np.full(len(x), np.nan)
        y = row + _swarm_offsets(x)
        missing = np.isnan(v)
        any_missing |= bool(missing.any())
        ax.scatter(x[missing], y[missing], s=9, color=MISSING_COLOUR, lw=0, rasterized=False)
        ax.scatter(x[~missing], y[~missing], s=9, c=cmap(_colour_values(v)[~missing]), lw=0)
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_yticks(range(len(names)), [input_label(n) for n in names[::-1]], parse_math=False)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlabel(LOG_ODDS_LABEL, fontsize="small")
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), _COLOURMAP), ax=ax, ticks=[0, 1], aspect=30, pad=0.01)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("input value (yes/no inputs: no = low, yes = high)", fontsize="small")
    if any_missing:
        fig.legend(handles=[Line2D([], [], marker="o", ls="", color=MISSING_COLOUR,
                                   label="grey: input not given (read as unknown)")],
                   fontsize="small", loc="outside lower left", frameon=False)
    if reference is not None:
        probability_points_axis(ax, reference, label=f"change in probability for a patient at the training rate "
                                                     f"of {100 * reference:.0f}% (percentage points)")
    if title:
        ax.set_title(title, parse_math=False)
    return fig


def plot_importance_bar(phi: pd.DataFrame, *, max_display: int = 15, title: str = "") -> Figure:
    """Mean absolute contribution per input, in log-odds, largest at the top.

    >>> fig = plot_importance_bar(phi)  # doctest: +SKIP
    """
    imp = global_importance(phi).head(max_display)[::-1]
    fig = new_figure((7.5, 0.35 * len(imp) + 1.3))
    ax = fig.add_subplot()
    ax.barh(range(len(imp)), imp.to_numpy(), color=OKABE_ITO["blue"])
    ax.set_yticks(range(len(imp)), [input_label(n) for n in imp.index], parse_math=False)
    ax.set_xlabel("mean |contribution| to the log-odds of durable benefit")
    ax.set_title(title or "Mean size of each input's contribution", parse_math=False)
    return fig


def _scale(feature: str, v: np.ndarray) -> tuple[np.ndarray, str, list[tuple[float, str]]]:
    """Values on the input's own scale, the axis label and the clinical cut-offs to draw."""
    if feature == "tmb":  # the model input is log(1 + TMB) on the tissue-panel scale
        return np.expm1(v), "TMB (mut/Mb, tissue-panel scale; log axis)", [
            (TMB_HIGH_CUTOFF, f"TMB-high cut-off ({TMB_HIGH_CUTOFF:g} mut/Mb)")]
    if feature == "pdl1":
        return v, "PD-L1 TPS (%)", [(PDL1_POSITIVE_CUTOFF, f"PD-L1 positive ({PDL1_POSITIVE_CUTOFF:g}%)"),
                                    (PDL1_HIGH, f"PD-L1 high ({PDL1_HIGH:g}%)")]
    return v, input_label(feature), []


def plot_dependence(phi: pd.DataFrame, X: pd.DataFrame, feature: str, *, title: str = "",
                    reference: float | None = None) -> Figure:
    """Contribution of one input against its value, on the input's own scale, with its cut-offs.

    Patients whose input was not given are drawn in grey at the left, under a "not given" tick.

    Examples
    --------
    >>> fig = plot_dependence(phi, X, "tmb", reference=0.35)  # doctest: +SKIP
    """
    fig = new_figure((6.5, 4.3))
    ax = fig.add_subplot()
    x, xlabel, cuts = _scale(feature, X[feature].to_numpy(dtype=float))
    y = phi[feature].to_numpy(dtype=float)
    known = ~np.isnan(x)
    ax.scatter(x[known], y[known], s=10, alpha=0.7, color=OKABE_ITO["blue"], lw=0, label=f"given (n={known.sum()})")
    if feature == "tmb":
        ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
        ticks = [t for t in (0, 1, 2, 5, 10, 20, 50, 100, 200, 500) if t <= max(np.nanmax(x) if known.any() else 1, 1)]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    if (~known).any():
        lo, hi = (float(np.nanmin(x)), float(np.nanmax(x))) if known.any() else (0.0, 1.0)
        if feature == "tmb":
            left, gap = -1.0, 0.0
        else:
            left, gap = lo - 0.15 * ((hi - lo) or 1.0), 0.1 * ((hi - lo) or 1.0)
        ax.scatter(np.full((~known).sum(), left), y[~known], s=10, alpha=0.7, color=MISSING_COLOUR, lw=0,
                   label=f"not given (n={(~known).sum()})")
        ticks = [t for t in ax.get_xticks() if left + gap < t <= max(hi, 1.0)]
        labels = [f"{t:g}" for t in ticks]
        ax.set_xticks([left, *ticks], ["not given", *labels])
    for i, (value, text) in enumerate(cuts):
        ax.axvline(value, color=(OKABE_ITO["vermillion"], OKABE_ITO["orange"])[i % 2], ls="--", lw=1, label=text)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("contribution (log-odds of durable benefit)")
    if reference is not None:
        probability_points_axis(ax, reference, which="y",
                                label=f"change in probability at {100 * reference:.0f}% (points)")
    ax.set_title(title or f"Contribution of {input_label(feature)}", parse_math=False)
    ax.legend(fontsize="small", loc="upper left")
    return fig
