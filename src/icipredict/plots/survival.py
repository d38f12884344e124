"""Time-to-event figures: predicted progression-free probability against Kaplan-Meier by risk group.

One panel per time (6 and 12 months by default): patients are split into groups of equal size by
their predicted S(t); each group's mean prediction is set against its Kaplan-Meier S(t) with the
95% log(-log) Greenwood interval (:func:`icipredict.evaluation.survival.calibration_by_group`).
Censored patients count with their follow-up. Every panel title carries n and the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from icipredict.evaluation.survival import calibration_by_group, check_survival
from icipredict.plots.style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_survival_calibration"]


def plot_survival_calibration(time, event, surv_at: Mapping[float, object], *, n_groups: int = 4,
                              label: str = "model", title: str = "Progression-free calibration") -> Figure:
    """Mean predicted S(t) against Kaplan-Meier S(t) by risk group, one panel per time.

    Parameters
    ----------
    time, event : arrays
        PFS in months and 1 = progressed or died, 0 = censored.
    surv_at : mapping of time (months) -> array
        Each patient's predicted progression-free probability at that time, e.g. ``{6: s6, 12: s12}``.
    n_groups : int, default=4
        Groups of equal size by predicted S(t), from the highest risk to the lowest.

    Examples
    --------
    >>> rng = np.random.default_rng(0); s6 = rng.uniform(0.2, 0.9, 200)
    >>> t = rng.exponential(-6 / np.log(s6)); e = np.ones(200)
    >>> fig = plot_survival_calibration(t, e, {6: s6, 12: s6 ** 2})
    >>> [ax.get_title() for ax in fig.axes], fig.get_suptitle()
    (['S(6 months) (n=200, events=200)', 'S(12 months) (n=200, events=200)'], 'Progression-free calibration: model')
    """
    t, e = check_survival(time, event)
    panels = sorted((float(k), np.asarray(v, dtype=float)) for k, v in surv_at.items())
    fig = new_figure((5.0 * len(panels), 5.2))
    axes = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)[0])
    for ax, (at, s) in zip(axes, panels):
        table = calibration_by_group(t, e, s, at, n_groups=n_groups)
        ok = table["observed"].notna()
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
        yerr = np.vstack([(table["observed"] - table["observed_low"])[ok], (table["observed_high"] - table["observed"])[ok]])
        ax.errorbar(table["mean_predicted"][ok], table["observed"][ok], yerr=np.clip(yerr, 0, None), fmt="o-",
                    capsize=3, lw=1.5, color=OKABE_ITO["blue"],
                    label=f"{len(table)} risk groups; bars: Kaplan-Meier 95% CI")
        for _, row in table.loc[ok].iterrows():
            ax.annotate(f"n={int(row['n'])}", (row["mean_predicted"], row["observed"]), textcoords="offset points",
                        xytext=(6, -10), fontsize="x-small")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=f"Mean predicted progression-free probability at {at:g} months",
               ylabel=f"Kaplan-Meier progression-free at {at:g} months", aspect="equal")
        ax.set_title(f"S({at:g} months) (n={t.size}, events={int(e.sum())})")
        ax.legend(loc="upper left", fontsize="x-small")
    fig.suptitle(f"{title}: {label}")
    return fig
