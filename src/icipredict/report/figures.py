"""The patient report's figures: contributions in percentage points, the calibration position, the TIME 2x2.

Each figure draws a :class:`icipredict.report.patient.PatientReport` (its sentences come from there), as a
:class:`matplotlib.figure.Figure` built without pyplot, so the calculator page can draw them in
its request threads. Colours are the Okabe-Ito colour-blind-safe palette, and no colour carries
meaning alone: bars carry their signed value, the patient's TIME cell the words "this patient".
Every text drawn from user data is drawn with ``parse_math=False``, so an id like ``$x^2$`` reads
literally. matplotlib is imported inside the functions.

>>> from icipredict.report.figures import figure_bytes, report_page_figure  # doctest: +SKIP
>>> png = figure_bytes(report_page_figure(report), "png")                  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Literal

from icipredict.exceptions import trim
from icipredict.plots.evaluation import calibration_yerr
from icipredict.plots.style import OKABE_ITO, new_figure
from icipredict.plots.style import figure_bytes as _figure_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from icipredict.report.content import PatientReport

__all__ = ["contributions_figure", "calibration_figure", "draw_contributions", "draw_calibration",
           "draw_time_class", "report_page_figure", "figure_bytes", "RAISES", "LOWERS", "MIN_FONT_PT"]

#: Bar colours: raises / lowers the probability of durable benefit (Okabe-Ito blue / vermillion).
RAISES, LOWERS = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
_GROUP_SHADES = (OKABE_ITO["vermillion"], OKABE_ITO["yellow"], OKABE_ITO["green"])
_PATIENT_CELL = "#d7ebf7"  # a light tint of Okabe-Ito sky blue: black text keeps > 15:1 contrast
_CELL = "#f2f2f2"
#: Smallest text of the report's figures, in points at their saved size.
MIN_FONT_PT = 9.0


def figure_bytes(fig: Figure, fmt: Literal["png", "pdf"] = "png", dpi: int = 110) -> bytes:
    """A report figure as PNG or PDF bytes at its own page size (:func:`icipredict.plots.style.figure_bytes`).

    >>> figure_bytes(contributions_figure(report))[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    return _figure_bytes(fig, fmt, dpi=dpi, tight=False)


# -- contributions --------------------------------------------------------------------------------

def draw_contributions(ax: Axes, report: PatientReport, *, fontsize: float = 9, title: bool = True,
                       legend: bool = True) -> None:
    """Horizontal bars of the report's contributions in percentage points, largest at the top; without
    ``legend`` the axis label says what the colours mean."""
    from matplotlib.patches import Patch

    small = max(fontsize - 1, MIN_FONT_PT)

    items = report.contributions[::-1]
    if not items:
        ax.text(0.5, 0.5, report.no_contributions_text, ha="center", va="center",
                transform=ax.transAxes, fontsize=fontsize, parse_math=False)
        ax.set_axis_off()
        return
    values = [100 * c.effect for c in items]
    ax.barh(range(len(items)), values, color=[RAISES if v > 0 else LOWERS for v in values], height=0.6)
    ax.set_yticks(range(len(items)), [textwrap.shorten(c.label, 44, placeholder="...") for c in items],
                  fontsize=fontsize, parse_math=False)
    span = max(max(abs(v) for v in values), 2.0)  # a 0.1-point effect must not fill the panel
    ax.set_xlim(-1.45 * span, 1.45 * span)
    for i, (v, c) in enumerate(zip(values, items)):
        ax.text(v + (0.04 if v >= 0 else -0.04) * span, i, c.points_text, va="center",
                ha="left" if v >= 0 else "right", fontsize=small, parse_math=False)
    ax.axvline(0, color="black", lw=0.8)
    ax.tick_params(axis="x", labelsize=small)
    if legend:
        ax.set_xlabel("change in the probability of durable benefit (percentage points)", fontsize=fontsize)
        ax.legend(handles=[Patch(color=RAISES, label="raises it"), Patch(color=LOWERS, label="lowers it")],
                  fontsize=small, loc="lower right", frameon=False)
    else:
        ax.set_xlabel("change in the probability of durable benefit\n(percentage points; blue bars raise it, "
                      "vermillion bars lower it)", fontsize=fontsize)
    if title:
        ax.set_title("What moved this estimate", fontsize=fontsize + 1, loc="left")


def contributions_figure(report: PatientReport) -> Figure:
    """The contributions bar chart on its own (the HTML report embeds it)."""
    fig = new_figure((6.4, 0.42 * max(len(report.contributions), 2) + 1.3))
    draw_contributions(fig.add_subplot(), report, title=False)  # the HTML section has the heading
    return fig


# -- calibration position ---------------------------------------------------------------------------

def draw_calibration(ax: Axes, report: PatientReport, *, fontsize: float = 9, title: bool = True) -> None:
    """The model's calibration curve, the benefit groups as shaded columns, the patient as a line and band."""
    from matplotlib.ticker import PercentFormatter

    small = max(fontsize - 1, MIN_FONT_PT)
    low, high = report.thresholds
    for k, ((a, b), colour, name) in enumerate(zip(((0, low), (low, high), (high, 1)), _GROUP_SHADES,
                                                   ("low", "intermediate", "high"))):
        ax.axvspan(a, b, color=colour, alpha=0.14, lw=0)
        # the middle name one line lower: a narrow middle group would put the names side by side
        ax.text((a + b) / 2, 0.97 - 0.07 * (k == 1), name, ha="center", va="top", fontsize=small, color="#333333")
    ax.plot([0, 1], [0, 1], ls="--", color="#767676", lw=0.9, label="perfect calibration")
    c = report.calibration
    if not c.empty:
        ax.errorbar(c["mean_predicted"], c["observed"], yerr=calibration_yerr(c), fmt="o-", color=OKABE_ITO["blue"],
                    ms=4, lw=1.2, capsize=2, label=f"training patients ({int(c['n'].sum())})")
    if report.p_low is not None and report.p_high is not None:
        ax.axvspan(report.p_low, report.p_high, facecolor="none", edgecolor="#555555", hatch="///", lw=0,
                   label=f"{report.level:.0%} interval")
    ax.axvline(report.p, color="black", lw=2, label=f"this patient: {report.p_text}")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.tick_params(labelsize=small)
    ax.set_xlabel("predicted probability of durable benefit", fontsize=fontsize)
    ax.set_ylabel("observed rate in training patients", fontsize=fontsize)
    ax.legend(fontsize=small, loc="lower right", framealpha=0.9)
    if title:
        ax.set_title("Where this estimate sits on the calibration curve", fontsize=fontsize + 1, loc="left")


def calibration_figure(report: PatientReport) -> Figure:
    """The calibration position on its own (the HTML report embeds it)."""
    fig = new_figure((5.2, 4.2))
    draw_calibration(fig.add_subplot(), report, title=False)
    return fig


# -- TIME class 2x2 -----------------------------------------------------------------------------------

def draw_time_class(ax: Axes, report: PatientReport, *, fontsize: float = 9, title: bool = True) -> None:
    """The four TIME classes (PD-L1 across, TIL up), the patient's cell outlined and named."""
    from matplotlib.patches import Rectangle

    small = max(fontsize - 1, MIN_FONT_PT)

    for cell in report.cells:
        x, y = cell.pdl1, cell.til
        here = report.patient_cell(cell) == "this"
        ax.add_patch(Rectangle((x, y), 1, 1, facecolor=_PATIENT_CELL if here else _CELL, edgecolor="white", lw=2))
        text = f"{cell.label}\n{cell.pair}\n" + textwrap.fill(cell.rate_text, 22)
        ax.text(x + 0.5, y + 0.58, text, ha="center", va="center", fontsize=small, parse_math=False)
        if here:
            ax.add_patch(Rectangle((x + 0.03, y + 0.03), 0.94, 0.94, fill=False, edgecolor="black", lw=3))
            ax.text(x + 0.5, y + 0.08, "this patient", ha="center", fontsize=small, weight="bold")
    # one status known: the patient lies in one of two cells, both outlined dashed
    if any(report.patient_cell(cell) == "maybe" for cell in report.cells):
        if report.pdl1_status is not None:
            box, where = (report.pdl1_status, 0, 1, 2), "this column"
        else:
            box, where = (0, report.til_status, 2, 1), "this row"
        ax.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="black", lw=2.5, ls="--"))
        ax.text(box[0] + box[2] / 2, box[1] + 0.08, f"this patient: {where}", ha="center", fontsize=small,
                weight="bold")
    ax.set(xlim=(0, 2), ylim=(0, 2), aspect="equal")
    ax.set_xticks([0.5, 1.5], ["PD-L1 negative", "PD-L1 positive"], fontsize=small)
    ax.set_yticks([0.5, 1.5], ["TIL low", "TIL high"], fontsize=small, rotation=90, va="center")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(textwrap.fill(report.time_status_text, 40), fontsize=fontsize + 1, loc="left", parse_math=False)


# -- the one-page report -------------------------------------------------------------------------------

_PAGE_WIDTH = 8.27  # A4 portrait, inches
_PAGE_HEIGHT = 11.69
_MARGIN = 0.45
_GAP = 0.12


class _Flow:
    """Text and panels placed top to bottom on a page of fixed width, each measured once drawn, so that nothing
    overlaps: positions are kept in inches from the top and turned into figure fractions."""

    def __init__(self, fig: Figure, height: float):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        self.fig, self.height, self.y = fig, height, _MARGIN
        self.renderer = fig.canvas.get_renderer()

    def _frac(self, x: float, y: float) -> tuple[float, float]:
        return x / _PAGE_WIDTH, 1 - y / self.height

    def text(self, text: str, *, x: float = _MARGIN, size: float = MIN_FONT_PT, advance: bool = True,
             y: float | None = None, wrap: float | None = None, **kwargs) -> float:
        """Draw ``text`` with its top at ``y`` (default: the cursor), wrapped to ``wrap`` inches when given (the
        lines are shortened until the drawn text fits); returns its height in inches."""
        top = self.y if y is None else y
        chars = int(wrap * 72 / (0.5 * size)) if wrap else 0
        while True:
            shown = "\n".join(textwrap.fill(part, chars, subsequent_indent="   ") if chars else part
                              for part in text.split("\n"))
            artist = self.fig.text(*self._frac(x, top), shown, fontsize=size, va="top", parse_math=False, **kwargs)
            box = artist.get_window_extent(self.renderer)
            if not wrap or box.width / self.fig.dpi <= wrap or chars <= 20:
                break
            artist.remove()
            chars -= 3
        height = box.height / self.fig.dpi
        if advance:
            self.y = top + height + _GAP
        return height

    def axes(self, x: float, width: float, height: float, top: float | None = None):
        """An axes whose box (without its labels) spans ``width`` x ``height`` inches from ``top``."""
        top = self.y if top is None else top
        left, bottom = self._frac(x, top + height)
        return self.fig.add_axes((left, bottom, width / _PAGE_WIDTH, height / self.height))

    def below(self, *artists) -> None:
        """Move the cursor below everything drawn so far in these axes (tick labels, axis labels, titles)."""
        # get_tightbbox places the ticks and their labels itself: no draw of the whole page is needed (the
        # same extents, the same bytes, a third less time per page)
        bottoms = [a.get_tightbbox(self.renderer).y0 for a in artists]
        self.y = max(self.y, (self.fig.bbox.height - min(bottoms)) / self.fig.dpi + _GAP)


HEADER_ID_CHARS = 28  # "Patient " and 28 characters fit the portrait page's header line beside the model line


def _page(report: PatientReport, height: float) -> tuple[Figure, float]:
    """The report drawn on a page ``height`` inches tall; returns the figure and the height its content used."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(_PAGE_WIDTH, height))
    flow = _Flow(fig, height)
    width = _PAGE_WIDTH - 2 * _MARGIN
    version = flow.text(f"model {report.model_version}\nresearch use, not a medical device",
                        x=_PAGE_WIDTH - _MARGIN, ha="right", color="#444444", advance=False)
    # a long id is shortened as messages shorten values: it would push the whole page down
    head = flow.text(f"Patient {trim(report.patient_id, HEADER_ID_CHARS)}", size=15, weight="bold", advance=False, wrap=width - 2.6)
    flow.y += max(head, version) + _GAP
    top = flow.y
    big = flow.text(report.p_text, size=40, weight="bold", advance=False)
    beside = _MARGIN + 1.9  # right of the big number
    flow.text(report.outcome_text, x=beside, size=11, wrap=_PAGE_WIDTH - _MARGIN - beside)
    flow.text(report.interval_text, x=beside, size=11)
    flow.text(report.group_text, x=beside, size=12, weight="bold")
    flow.y = max(flow.y, top + big + _GAP)
    flow.text(report.groups_text, wrap=width)

    # the TIME class grid and the calibration position, side by side
    titles = [flow.text(report.time_status_text, size=11, advance=False, wrap=3.7),
              flow.text("Where this estimate sits on the calibration curve", x=_MARGIN + 4.0, size=11,
                        advance=False, wrap=width - 4.0)]
    flow.y += max(titles) + _GAP
    grid = flow.axes(_MARGIN + 0.35, 3.1, 3.1)
    draw_time_class(grid, report, fontsize=MIN_FONT_PT, title=False)
    calibration = flow.axes(_MARGIN + 4.5, width - 4.5, 3.1)
    draw_calibration(calibration, report, fontsize=MIN_FONT_PT + 1, title=False)
    flow.below(grid, calibration)
    flow.text("\n".join([report.numbering_text, report.til_source_text, report.til_effect_text,
                         report.rates_text]), wrap=width)
    flow.text(report.calibration_text, wrap=width)

    # the contributions across the page: long labels on the left, the bars and their values on the right
    flow.text("What moved this estimate", size=11)
    n = max(len(report.contributions), 1)
    bars = flow.axes(_MARGIN + 3.0, width - 3.0, 0.34 * n + 0.2)
    draw_contributions(bars, report, fontsize=MIN_FONT_PT, title=False, legend=False)
    flow.below(bars)

    missing = "; ".join(f"{words} ({column})" for column, words in report.missing) or "none"
    flow.text(f"Inputs not given: {missing}. {report.missing_text}", wrap=width)
    if report.not_used:
        unused = "; ".join(f"{words} ({column})" for column, words in report.not_used)
        flow.text(f"Inputs given, not used: {unused}. {report.not_used_text}", wrap=width)
    flow.text("\n".join(["Warnings: " + ("none" if not report.warnings else ""),
                         *[f" - {w}" for w in report.warnings]]), wrap=width)
    flow.text(f"{report.caveat_title} {report.update_text}", wrap=width, weight="bold")
    return fig, flow.y + _MARGIN - _GAP


#: Characters of a patient id shown in a PNG/PDF report's header (a longer id ends in "...").


def report_page_figure(report: PatientReport) -> Figure:
    """The whole report as one page, A4 portrait (taller when the warnings need it): every text at least
    :data:`MIN_FONT_PT` points at the saved size, and no two texts overlap (each block is measured once drawn
    and the next one starts below it)."""
    fig, used = _page(report, _PAGE_HEIGHT)
    if used > _PAGE_HEIGHT:  # long warnings: the same layout on a taller page
        fig, _ = _page(report, used)
    return fig
