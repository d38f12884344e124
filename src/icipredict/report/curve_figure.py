"""A patient's progression-free curve with its band, the 6-month line and the median.

:func:`draw_pfs_curve` draws a :class:`icipredict.report.curve.CurveSummary` (its numbers and
sentences come from there) on an axes; :func:`pfs_curve_figure` is the figure the HTML report and
the calculator embed. Okabe-Ito colours; no colour carries meaning alone (the legend names every
line, the 6-month and follow-up lines differ in dash). No text is smaller than 9 points.
matplotlib is imported inside the functions.

>>> from icipredict.report.curve_figure import pfs_curve_figure  # doctest: +SKIP
>>> png = figure_bytes(pfs_curve_figure(summary))     # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from icipredict.plots.style import OKABE_ITO, new_figure
from icipredict.table.labels import percent
from icipredict.table.vocab import DCB_MONTHS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from icipredict.report.curve import CurveSummary

__all__ = ["draw_pfs_curve", "pfs_curve_figure", "MIN_FONT"]

#: The smallest text the curve draws (points).
MIN_FONT = 9.0
_CURVE = OKABE_ITO["blue"]
_MEDIAN = OKABE_ITO["vermillion"]
_BEYOND = "#e6e6e6"


def _x_limit(summary: CurveSummary) -> float:
    """The x axis reaches 24 months (the last landmark) or the horizon, whichever is later, and a little more."""
    return max(summary.horizon, 24.0) * 1.06


def draw_pfs_curve(ax: Axes, summary: CurveSummary, *, fontsize: float = 9, legend_width: int = 34) -> None:
    """The curve, its band, the landmarks with their percentages, the 6-month line, the median and the horizon.

    The legend sits right of the axes (``legend_width`` characters a line), so it never covers the
    curve; the landmark percentages sit above and right of their points, above the falling curve.
    """
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    fontsize = max(fontsize, MIN_FONT)
    s = summary
    wrap = lambda text: textwrap.fill(text, legend_width)  # noqa: E731
    right = _x_limit(s)
    if s.horizon < right:
        ax.axvspan(s.horizon, right, color=_BEYOND, lw=0, label=wrap(s.beyond_label))
    ax.fill_between(s.times, s.s_low, s.s_high, color=_CURVE, alpha=0.22, lw=0,
                    label=wrap(f"{s.level:.0%} interval"))
    ax.plot(s.times, s.s, color=_CURVE, lw=2.2, label=wrap("progression-free, patients like this one"))
    ax.axvline(DCB_MONTHS, color="#444444", ls="--", lw=1.1, label=wrap(s.six_month_label))
    ax.axhline(0.5, color="#767676", ls=":", lw=0.9)
    if s.median is not None:
        low = s.median_low if s.median_low is not None else s.median
        high = s.median_high if s.median_high is not None else s.horizon  # open upper end: drawn to the horizon
        ax.errorbar([s.median], [0.5], xerr=[[s.median - low], [high - s.median]], fmt="D", color=_MEDIAN,
                    ms=6, capsize=4, lw=1.6, label=wrap(s.median_label))
    else:
        ax.plot([], [], " ", label=wrap(s.median_label))
    for mark in s.landmarks:
        if mark.s is None:
            continue
        ax.plot([mark.months], [mark.s], "o", color=_CURVE, ms=5, mec="white", mew=0.8)
        ax.annotate(percent(mark.s), (mark.months, mark.s), xytext=(4, 5), textcoords="offset points",
                    fontsize=fontsize, ha="left", va="bottom", zorder=5,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    ax.set(xlim=(0, right), ylim=(0, 1.05))
    ax.xaxis.set_major_locator(MultipleLocator(6))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(labelsize=fontsize)
    ax.set_xlabel("months from the start of treatment", fontsize=fontsize)
    ax.set_ylabel("progression-free", fontsize=fontsize)
    ax.grid(axis="y", color="#e0e0e0", lw=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=fontsize, frameon=False, borderaxespad=0)


def pfs_curve_figure(summary: CurveSummary) -> Figure:
    """The curve on its own, legend at the right (the HTML report and the calculator embed it)."""
    fig = new_figure((8.4, 4.0))
    draw_pfs_curve(fig.add_subplot(), summary)
    return fig
