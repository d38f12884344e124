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

from icipredict.table.labels import percent
from icipredict.plots.evaluation import calibration_yerr
from icipredict.plots.style import OKABE_ITO, new_figure
from icipredict.plots.style import figure_bytes as _figure_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from icipredict.report.content import PatientReport

__all__ = ["contributions_figure", "calibration_figure", "draw_contributions", "draw_calibration",
           "draw_time_class", "report_page_figure", "figure_bytes", "RAISES", "LOWERS"]

#: Bar colours: raises / lowers the probability of durable benefit (Okabe-Ito blue / vermillion).
RAISES, LOWERS = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
_GROUP_SHADES = (OKABE_ITO["vermillion"], OKABE_ITO["yellow"], OKABE_ITO["green"])
_PATIENT_CELL = "#d7ebf7"  # a light tint of Okabe-Ito sky blue: black text keeps > 15:1 contrast
_CELL = "#f2f2f2"


def figure_bytes(fig: Figure, fmt: Literal["png", "pdf"] = "png", dpi: int = 110) -> bytes:
    """A report figure as PNG or PDF bytes at its own page size (:func:`icipredict.plots.style.figure_bytes`).

    >>> figure_bytes(contributions_figure(report))[:4]  # doctest: +SKIP
    b'\\x89PNG'
    """
    return _figure_bytes(fig, fmt, dpi=dpi, tight=False)


# -- contributions --------------------------------------------------------------------------------

def draw_contributions(ax: Axes, report: PatientReport, *, fontsize: float = 9, title: bool = True) -> None:
    """Horizontal bars of the report's contributions in percentage points, largest at the top."""
    from matplotlib.patches import Patch

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
                ha="left" if v >= 0 else "right", fontsize=fontsize - 1, parse_math=False)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("change in the probability of durable benefit (percentage points)", fontsize=fontsize)
    ax.tick_params(axis="x", labelsize=fontsize - 1)
    ax.legend(handles=[Patch(color=RAISES, label="raises it"), Patch(color=LOWERS, label="lowers it")],
              fontsize=fontsize - 1, loc="lower right", frameon=False)
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

    low, high = report.thresholds
    for (a, b), colour, name in zip(((0, low), (low, high), (high, 1)), _GROUP_SHADES,
                                    ("low", "intermediate", "high")):
        ax.axvspan(a, b, color=colour, alpha=0.14, lw=0)
        ax.text((a + b) / 2, 0.97, name, ha="center", va="top", fontsize=fontsize - 1.5, color="#333333")
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
    ax.tick_params(labelsize=fontsize - 1)
    ax.set_xlabel("predicted probability of durable benefit", fontsize=fontsize)
    ax.set_ylabel("observed rate in training patients", fontsize=fontsize)
    ax.legend(fontsize=fontsize - 1.5, loc="lower right", framealpha=0.9)
    if title:
        ax.set_title("Where this estimate sits on the calibration curve", fontsize=fontsize + 1, loc="left")


def calibration_figure(report: PatientReport) -> Figure:
    """The calibration position on its own (the HTML report embeds it)."""
    fig = new_figure((5.2, 4.2))
    draw_calibration(fig.add_subplot(), report, title=False)
    return fig


# -- TIME class 2x2 -----------------------------------------------------------------------------------

def draw_time_class(ax: Axes, report: PatientReport, *, fontsize: float = 9) -> None:
    """The four TIME classes (PD-L1 across, TIL up), the patient's cell outlined and named."""
    from matplotlib.patches import Rectangle

    for cell in report.cells:
        x, y = cell.pdl1, cell.til
        here = report.patient_cell(cell) == "this"
        ax.add_patch(Rectangle((x, y), 1, 1, facecolor=_PATIENT_CELL if here else _CELL, edgecolor="white", lw=2))
        text = f"{cell.label}\n{cell.pair}\n" + textwrap.fill(cell.rate_text, 22)
        ax.text(x + 0.5, y + 0.55, text, ha="center", va="center", fontsize=fontsize - 1, parse_math=False)
        if here:
            ax.add_patch(Rectangle((x + 0.03, y + 0.03), 0.94, 0.94, fill=False, edgecolor="black", lw=3))
            ax.text(x + 0.5, y + 0.1, "this patient", ha="center", fontsize=fontsize - 1, weight="bold")
    # one status known: the patient lies in one of two cells, both outlined dashed
    if any(report.patient_cell(cell) == "maybe" for cell in report.cells):
        if report.pdl1_status is not None:
            box, where = (report.pdl1_status, 0, 1, 2), "this column"
        else:
            box, where = (0, report.til_status, 2, 1), "this row"
        ax.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor="black", lw=2.5, ls="--"))
        ax.text(box[0] + box[2] / 2, box[1] + 0.1, f"this patient: {where}", ha="center", fontsize=fontsize - 1,
                weight="bold")
    ax.set(xlim=(0, 2), ylim=(0, 2), aspect="equal")
    ax.set_xticks([0.5, 1.5], ["PD-L1 negative", "PD-L1 positive"], fontsize=fontsize - 1)
    ax.set_yticks([0.5, 1.5], ["TIL low", "TIL high"], fontsize=fontsize - 1, rotation=90, va="center")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    ax.set_title(textwrap.fill(report.time_status_text, 40), fontsize=fontsize + 1, loc="left", parse_math=False)


# -- the one-page report -------------------------------------------------------------------------------

def _wrapped(lines: list[str], width: int) -> str:
    return "\n".join(textwrap.fill(line, width, subsequent_indent="   ") for line in lines)


def report_page_figure(report: PatientReport) -> Figure:
    """The whole report as one landscape A4 page (PNG or PDF)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.69, 8.27))
    text = dict(parse_math=False, va="top")
    fig.text(0.03, 0.975, f"Patient {report.patient_id}", fontsize=15, weight="bold", **text)
    fig.text(0.97, 0.975, f"model {report.model_version}\nresearch use, not a medical device", fontsize=8,
             ha="right", color="#444444", **text)
    fig.text(0.03, 0.935, report.p_text, fontsize=40, weight="bold", **text)
    fig.text(0.17, 0.93, textwrap.fill(report.outcome_text, 62), fontsize=11, **text)
    fig.text(0.17, 0.885, report.interval_text, fontsize=11, **text)
    fig.text(0.17, 0.86, report.group_text, fontsize=12, weight="bold", **text)
    fig.text(0.55, 0.87, _wrapped([report.groups_text], 82), fontsize=8, **text)
    draw_time_class(fig.add_axes((0.04, 0.36, 0.22, 0.38)), report, fontsize=8)
    fig.text(0.03, 0.33, _wrapped([report.numbering_text, report.til_source_text, report.til_effect_text,
                                   report.rates_text], 52), fontsize=7, **text)
    draw_contributions(fig.add_axes((0.47, 0.42, 0.19, 0.34)), report, fontsize=8)
    draw_calibration(fig.add_axes((0.72, 0.42, 0.25, 0.34)), report, fontsize=8)
    fig.text(0.72, 0.345, _wrapped([report.calibration_text], 56), fontsize=7.5, **text)
    missing = "; ".join(f"{words} ({column})" for column, words in report.missing) or "none"
    lines = [f"Inputs not given: {missing}. {report.missing_text}",
             "Warnings: " + ("none" if not report.warnings else ""), *[f" - {w}" for w in report.warnings]]
    fig.text(0.34, 0.3, _wrapped(lines, 125), fontsize=8, **text)
    fig.text(0.03, 0.06, _wrapped([f"{report.caveat_title} {report.update_text}"], 150),
             fontsize=8, weight="bold", **text)
    return fig
