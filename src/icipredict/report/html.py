"""The patient report as HTML: a fragment (the calculator page's result) and a self-contained page.

The fragment is plain HTML with every value escaped, the charts embedded as PNG ``data:`` URIs with
text alternatives, and the same facts in tables beside them (screen readers and copy-paste get the
numbers, not a picture of them). Its styles live in ``web/static/report.css``: the calculator page
links that file, :func:`report_page` inlines it. No template engine: the report needs no web
framework. Element ids are a contract the browser tests read: ``probability`` (with
``data-value``, ``predict``'s unrounded probability), ``interval``, ``group``, ``time-grid``
(``data-pair`` per cell, ``aria-current`` on the patient's), ``contributions`` (``data-feature``
per row, the canonical input column), ``missing-inputs``, ``inputs-not-used``, ``warnings``, ``caveat``.

>>> from icipredict.report.html import report_page  # doctest: +SKIP
>>> Path("report.html").write_text(report_page(report))  # doctest: +SKIP
"""

from __future__ import annotations

import base64
from html import escape
from importlib import resources
from typing import TYPE_CHECKING

from icipredict.exceptions import trim
from icipredict.report.figures import calibration_figure, contributions_figure, figure_bytes
from icipredict.table.labels import percent

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.report.content import PatientReport

__all__ = ["report_fragment", "report_page", "report_css"]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def report_css() -> str:
    """The report's style sheet (``web/static/report.css``)."""
    return resources.files("icipredict").joinpath("web", "static", "report.css").read_text(encoding="utf-8")


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _headline(r: PatientReport) -> str:
    interval = f'<p id="interval" class="interval">{_e(r.interval_text)}</p>' if r.interval_text else ""
    group = (f'<p id="group" class="group group-{_e(r.group)}">{_e(r.group_text)}</p>'
             f'<p id="thresholds" class="thresholds">{_e(r.groups_text)}</p>'
             if r.group else "")
    return (f'<div class="icp-headline"><p class="probability"><span id="probability" class="big" '
            f'data-value="{r.p!r}">{_e(r.p_text)}</span> <span class="big-label">{_e(r.outcome_text)}</span></p>'
            f"{interval}{group}</div>")


def _time_grid(r: PatientReport) -> str:
    rows = []
    for til in (1, 0):
        cells = [f'<th scope="row">{"TIL high" if til else "TIL low"}</th>']
        for cell in (c for c in r.cells if c.til == til):
            css = r.patient_cell(cell)
            mark = ('<span class="you">this patient</span>' if css == "this"
                    else '<span class="you">this patient: one of these two</span>' if css == "maybe" else "")
            current = ' aria-current="true"' if css == "this" else ""
            cells.append(f'<td data-pair="{_e(cell.pair)}" class="{css}"{current}>'
                         f'<span class="cls">{_e(cell.label)}</span> <span class="pair">{_e(cell.pair)}</span>'
                         f'<span class="rate">{_e(cell.rate_text)}</span>{mark}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="time-grid" class="time-grid"><caption>TIME classes (tumour immune microenvironment)</caption>'
            '<thead><tr><td></td><th scope="col">PD-L1 negative</th><th scope="col">PD-L1 positive</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _time_section(r: PatientReport) -> str:
    return (f'<section class="icp-part" aria-labelledby="time-title"><h3 id="time-title">{_e(r.time_status_text)}</h3>'
            f"{_time_grid(r)}"
            f'<p id="time-numbering" class="note">{_e(r.numbering_text)}</p>'
            f'<p id="til-source" class="note">{_e(r.til_source_text)}</p>'
            f'<p id="time-rates" class="note">{_e(r.rates_text)} {_e(r.til_effect_text)}</p></section>')


def _contribution_section(r: PatientReport, chart: bytes | None) -> str:
    if not r.contributions:
        body = f'<p id="contributions">{_e(r.no_contributions_text)}</p>'
    else:
        summary = "; ".join(f"{c.label} {c.points_text}" for c in r.contributions)
        img = (f'<img class="chart" src="{_png_uri(chart)}" alt="{_e("Bar chart, percentage points: " + summary)}">'
               if chart else "")
        rows = "".join(
            f'<tr data-feature="{_e(c.feature)}"><td>{_e(c.label)}</td><td><code>{_e(c.feature)}</code></td>'
            f'<td class="num">{c.points_text}</td><td class="num">{c.shap:+.3f}</td></tr>'
            for c in r.contributions)
        body = (f'{img}<table id="contributions"><caption>Inputs that moved this estimate most</caption><thead><tr>'
                '<th scope="col">Input as given</th><th scope="col">Column</th>'
                '<th scope="col">Change in probability (points)</th><th scope="col">Log-odds</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>"
                '<p class="note">Points: how far the probability would move back if that input were not given. '
                "Log-odds: the additive contributions (with the model's baseline they sum to this estimate).</p>")
    return ('<section class="icp-part" aria-labelledby="contrib-title"><h3 id="contrib-title">What moved this '
            f"estimate</h3>{body}</section>")


def _calibration_section(r: PatientReport, chart: bytes | None) -> str:
    alt = f"Calibration curve; this patient at {r.p_text}. {r.calibration_text}"
    img = (f'<img class="chart" src="{_png_uri(chart)}" alt="{_e(alt)}">'
           if chart else "")
    return (f'<section class="icp-part" aria-labelledby="cal-title"><h3 id="cal-title">How far to trust the number</h3>'
            f'{img}<p id="calibration-position">{_e(r.calibration_text)}</p>'
            f'<p class="note">{_e(r.calibration_caption)}</p></section>')


def _curve_section(r: PatientReport, chart: bytes | None) -> str:
    """The progression-free curve: figure, landmarks table, median and acquired resistance; or why there is none.

    Ids: ``pfs-curve`` (the section, ``data-has-curve``), ``pfs-landmarks`` (``data-months`` and
    ``data-value`` per row, ``predict``'s unrounded S(t)), ``median-pfs`` and
    ``secondary-resistance`` (``data-value``, empty when not estimated), ``no-curve``.
    """
    c = r.curve
    head = '<section id="pfs-curve" class="icp-part icp-curve" aria-labelledby="curve-title" data-has-curve="{}">'
    if c is None:
        return (head.format("false") + '<h3 id="curve-title">How long benefit may last</h3>'
                f'<p id="no-curve" class="note">{_e(r.no_curve_text)}</p></section>')
    img = f'<img class="chart" src="{_png_uri(chart)}" alt="{_e(c.alt_text)}">' if chart else ""
    rows = "".join(
        f'<tr data-months="{m.months:g}" data-value="{"" if m.s is None else repr(m.s)}"><th scope="row">'
        f'{m.months:g} months</th><td class="num">{"" if m.s is None else percent(m.s)}</td>'
        f'<td class="num">{_e(c.interval_text(m.low, m.high).removeprefix(f"{c.level:.0%} interval "))}</td>'
        f"<td>{_e(text)}</td></tr>"
        for m, text in zip(c.landmarks, c.landmark_texts))

    def value(x: float | None) -> str:
        return "" if x is None else repr(x)

    return (head.format("true") + f'<h3 id="curve-title">{_e(c.title)}</h3>{img}'
            '<table id="pfs-landmarks"><caption>Progression-free at each time</caption><thead><tr>'
            '<th scope="col">Time</th><th scope="col">Progression-free</th>'
            f'<th scope="col">{c.level:.0%} interval</th><th scope="col">In words</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
            f'<p id="median-pfs" data-value="{value(c.median)}">{_e(c.median_text)}</p>'
            f'<p id="secondary-resistance" data-value="{value(c.secondary_24m)}">{_e(c.secondary_text)}</p>'
            f'<p class="note">{_e(c.band_text)}</p></section>')


def _missing_and_warnings(r: PatientReport) -> str:
    if r.missing:
        items = "".join(f"<li>{_e(words)} <code>{_e(column)}</code></li>" for column, words in r.missing)
        missing = f'<ul id="missing-inputs" class="missing">{items}</ul>'
    else:
        missing = '<p id="missing-inputs">none</p>'
    out = (f'<section class="icp-part" aria-labelledby="missing-title"><h3 id="missing-title">Inputs not given</h3>'
           f'{missing}<p class="note">{_e(r.missing_text)}</p></section>')
    if r.not_used:
        items = "".join(f"<li>{_e(words)} <code>{_e(column)}</code></li>" for column, words in r.not_used)
        out += (f'<section class="icp-part" aria-labelledby="unused-title"><h3 id="unused-title">Inputs given, not '
                f'used</h3><ul id="inputs-not-used" class="missing">{items}</ul>'
                f'<p class="note">{_e(r.not_used_text)}</p></section>')
    if r.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in r.warnings)
        out += (f'<section class="icp-part" aria-labelledby="warn-title"><h3 id="warn-title">Warnings</h3>'
                f'<ul id="warnings" class="warnings">{items}</ul></section>')
    return out


def report_fragment(report: PatientReport, *, charts: bool = True) -> str:
    """The report as an HTML ``<section id="result">``, for a page that links ``report.css``.

    Parameters
    ----------
    report : PatientReport
    charts : bool
        Embed the contribution and calibration charts as PNG (the tables carry the same numbers).

    Examples
    --------
    >>> html = report_fragment(report, charts=False)  # doctest: +SKIP
    >>> 'id="probability"' in html                    # doctest: +SKIP
    True
    """
    bars = calibration = None
    if charts:
        bars = figure_bytes(contributions_figure(report), dpi=100) if report.contributions else None
        calibration = figure_bytes(calibration_figure(report), dpi=100)
    curve = _curve_chart(report) if charts else None
    return (f'<section id="result" class="result icp-report" aria-labelledby="result-title">'
            f'<h2 id="result-title">Patient <span id="result-patient">{_e(report.patient_id)}</span></h2>'
            f"{_headline(report)}{_curve_section(report, curve)}"
            f'<div class="icp-grid">{_time_section(report)}{_contribution_section(report, bars)}'
            f"{_calibration_section(report, calibration)}{_missing_and_warnings(report)}</div>"
            f'<p id="caveat" class="caveat"><strong>{_e(report.caveat_title)}</strong> {_e(report.update_text)}</p>'
            f'<p class="disclaimer-inline">Model {_e(report.model_version)}. Decision support for research, not a '
            "medical device.</p></section>")


def _curve_chart(report: PatientReport) -> bytes | None:
    if report.curve is None:
        return None
    from icipredict.report.curve_figure import pfs_curve_figure
    from icipredict.report.figures import figure_bytes

    return figure_bytes(pfs_curve_figure(report.curve), dpi=100)


def report_page(report: PatientReport) -> str:
    """The report as one self-contained HTML page (styles inlined, charts embedded).

    >>> page = report_page(report)  # doctest: +SKIP
    """
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>icipredict report: patient {_e(trim(report.patient_id))} ({_e(percent(report.p))})</title>"
            f"<style>{report_css()}</style></head><body class=\"icp-page\"><main>"
            f"{report_fragment(report)}</main></body></html>\n")
