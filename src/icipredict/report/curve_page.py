"""The progression-free curve in the PNG and PDF report: a page of its own after the report's page.

:func:`curve_page_figure` draws the curve (:func:`icipredict.report.curve_figure.draw_pfs_curve`)
with its sentences (:class:`icipredict.report.curve.CurveSummary`) on a landscape A4 page, no text
under 9 points. A model without a curve gets a short strip saying so instead
(:func:`no_curve_figure`). :func:`report_bytes` writes the whole report: in a PDF each page is a
page; in a PNG the pages are stacked, the report's page first. The report's own page
(:func:`icipredict.report.figures.report_page_figure`) is drawn as it is, whatever its size.

>>> from icipredict.report.curve_page import report_bytes  # doctest: +SKIP
>>> Path("report.pdf").write_bytes(report_bytes(report, "pdf"))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Literal

from icipredict.report.curve_figure import MIN_FONT, draw_pfs_curve
from icipredict.report.figures import figure_bytes, report_page_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from icipredict.report.content import PatientReport

__all__ = ["curve_page_figure", "no_curve_figure", "report_pages", "report_bytes", "CURVE_PAGE"]

#: The curve's page: landscape A4, in inches.
CURVE_PAGE = (11.69, 8.27)
_DPI = 110  # the report page's PNG resolution (report.figures.figure_bytes)


def _header(fig: Figure, report: PatientReport, title: str, top: float) -> None:
    text = dict(parse_math=False, va="top")
    fig.text(0.03, top, f"Patient {report.patient_id}: {title}", fontsize=15, weight="bold", **text)
    fig.text(0.97, top, f"model {report.model_version}\nresearch use, not a medical device", fontsize=MIN_FONT,
             ha="right", color="#444444", **text)


def curve_page_figure(report: PatientReport) -> Figure:
    """The progression-free curve as a landscape A4 page: the curve and its legend left, its sentences right.

    Raises
    ------
    ValueError
        The report has no curve (its model has none): :func:`no_curve_figure` says so instead.
    """
    from matplotlib.figure import Figure

    c = report.curve
    if c is None:
        raise ValueError("curve_page_figure: expected a report with a progression-free curve. Got a report of a "
                         "model without one instead.")
    fig = Figure(figsize=CURVE_PAGE)
    _header(fig, report, c.title[:1].lower() + c.title[1:], 0.965)
    draw_pfs_curve(fig.add_axes((0.07, 0.30, 0.31, 0.58)), c, fontsize=MIN_FONT + 1, legend_width=26)
    fig.text(0.03, 0.20, "\n".join(textwrap.wrap(c.band_text, 78, subsequent_indent="   ")), fontsize=MIN_FONT,
             color="#333333", parse_math=False, va="top")
    paragraphs = "\n\n".join(textwrap.fill(line, 52) for line in c.sentences)
    fig.text(0.64, 0.88, paragraphs, fontsize=MIN_FONT + 1, linespacing=1.35, parse_math=False, va="top")
    return fig


def no_curve_figure(report: PatientReport) -> Figure:
    """A strip under the report's page: this model has no progression-free curve."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(CURVE_PAGE[0], 1.1))
    _header(fig, report, "how long benefit may last", 0.9)
    fig.text(0.03, 0.42, textwrap.fill(report.no_curve_text, 150), fontsize=MIN_FONT + 1, parse_math=False,
             va="top")
    return fig


def report_pages(report: PatientReport) -> list[Figure]:
    """The report's figures in reading order: its page, then the curve's page (or the no-curve strip)."""
    second = curve_page_figure(report) if report.curve is not None else no_curve_figure(report)
    return [report_page_figure(report), second]


def report_bytes(report: PatientReport, fmt: Literal["png", "pdf"] = "png") -> bytes:
    """The whole report as PNG (the pages stacked, on white, the report's page first) or PDF (a page each).

    The same report gives the same bytes (no dates or software versions in either format).
    """
    pages = report_pages(report)
    if fmt == "pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        buf = io.BytesIO()
        with PdfPages(buf, metadata={"CreationDate": None, "Producer": None, "Creator": None}) as pdf:
            for fig in pages:
                pdf.savefig(fig)
        return buf.getvalue()
    from PIL import Image  # matplotlib's own dependency

    images = [Image.open(io.BytesIO(figure_bytes(fig, "png", dpi=_DPI))).convert("RGB") for fig in pages]
    width = max(im.width for im in images)
    out = Image.new("RGB", (width, sum(im.height for im in images)), "white")
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height
    buf = io.BytesIO()
    out.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
