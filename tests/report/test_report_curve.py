"""The progression-free curve as the report says and draws it: natural frequencies, sentences, the figure.

The curves are stand-ins with known numbers (``curve_support``), so the words are checked against
values computed here, not against the code's own output.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from curve_support import standin_curve, weibull, weibull_median
from figure_text import drawn_texts, overlapping_texts, small_texts, text_problems, texts_off_page

from icipredict.report.curve_figure import MIN_FONT, pfs_curve_figure
from icipredict.report.curve import NO_CURVE_TEXT, curve_summary, months_text, natural_frequency


@pytest.mark.parametrize(("p", "words"), [
    (0.5, "about 1 in 2"), (0.55, "about 1 in 2"), (0.45, "about 1 in 2"), (0.2, "about 1 in 5"),
    (0.1, "about 1 in 10"), (1 / 3, "about 1 in 3"), (0.34, "about 1 in 3"), (0.31, "about 3 in 10"),
    (0.3, "about 3 in 10"), (0.25, "about 1 in 4"), (0.7, "about 7 in 10"), (0.66, "about 7 in 10"),
    (0.15, "about 1 in 7"), (0.125, "about 1 in 8"), (0.11, "about 1 in 9"), (0.08, "about 1 in 10"),
    (0.075, "about 1 in 10"), (0.0749, "fewer than 1 in 10"), (0.0, "fewer than 1 in 10"),
    (0.925, "about 9 in 10"), (0.9251, "more than 9 in 10"), (1.0, "more than 9 in 10"),
    (0.85, "about 8 in 10"), (0.6, "about 6 in 10"), (0.4, "about 4 in 10"),
], ids=lambda v: str(v))
def test_natural_frequency_picks_the_nearest_simple_frequency(p, words):
    assert natural_frequency(p) == words


def test_natural_frequency_rounding_edges_survive_float_arithmetic():
    assert natural_frequency(0.1 + 0.2) == "about 3 in 10"  # 0.30000000000000004
    assert natural_frequency(1 - 0.925) == "about 1 in 10"  # 0.07499999999999996
    assert natural_frequency(0.65 - 0.1) == "about 1 in 2"  # a tie at 0.55 keeps the simpler words
    assert natural_frequency(float("nan")) == "" and natural_frequency(None) == ""


def test_natural_frequency_is_never_further_than_half_a_step_from_p():
    for p in np.linspace(0.075, 0.925, 851):
        words = natural_frequency(p).removeprefix("about ")
        n, k = (int(x) for x in words.split(" in "))
        assert abs(n / k - p) <= 0.05 + 1e-9, (p, words)


@pytest.mark.parametrize(("m", "text"), [(24.0, "24 months"), (7.25, "7.2 months"), (29.96, "30 months"),
                                         (0.04, "0 months"), (12.05, "12.1 months")], ids=str)
def test_months_text(m, text):
    assert months_text(m) == text


def test_summary_says_each_landmark_with_its_band_in_natural_frequencies():
    scale, shape, spread = 10.0, 1.2, 0.25
    curve, row = standin_curve(scale=scale, shape=shape, spread=spread)
    s = curve_summary(curve, row)
    s12, lo12, hi12 = (float(weibull(12, k * scale, shape)) for k in (1, 1 - spread, 1 + spread))
    assert [m.months for m in s.landmarks] == [3, 6, 12, 24]
    assert s.landmark(12).s == pytest.approx(s12) and s.landmark(12).low == pytest.approx(lo12)
    assert s.landmark_texts[2] == (
        f"About 3 in 10 patients like this one are progression-free at 12 months "
        f"({100 * s12:.0f}%; 90% interval {100 * lo12:.0f}% to {100 * hi12:.0f}%).")
    assert round(100 * s12) == 29
    median = weibull_median(scale, shape)
    assert s.median_text.startswith(f"Median progression-free survival: {median:.1f} months (90% interval "
                                    f"{weibull_median(scale * .75, shape):.1f} to {weibull_median(scale * 1.25, shape):.1f}"
                                    " months).")
    sec = 1 - weibull(24, scale, shape) / weibull(6, scale, shape)
    assert s.secondary_text.startswith("Of patients like this one who are progression-free at 6 months, about 9 in 10 "
                                       f"progress by 24 months ({100 * sec:.0f}%)")
    assert s.p_6m == row["p_durable_benefit"]


def test_summary_takes_the_landmarks_from_the_prediction_row():
    curve, row = standin_curve()
    row["p_pfs_12m"] = 0.5  # the row is what predict returns: the report prints it, not a re-read of the curve
    assert curve_summary(curve, row).landmark(12).s == 0.5


def test_summary_keeps_only_its_patient_rows():
    a, row = standin_curve("A", scale=10)
    b, _ = standin_curve("B", scale=40)

    s = curve_summary(pd.concat([b, a]), row)
    assert np.allclose(s.s, a["s"]) and s.patient_id == "A"


def test_median_not_reached_names_the_horizon():
    curve, row = standin_curve(scale=60, horizon=20)
    s = curve_summary(curve, row)
    assert s.median is None and s.horizon == 20
    assert s.median_text.startswith("Median progression-free survival not reached: the curve stays above 50% up to "
                                    "20 months, the longest time the training follow-up supports")
    assert s.landmark(24).s is None
    assert s.landmark_texts[3] == ("At 24 months: not estimated, beyond the 20 months of follow-up the model's "
                                   "training data support.")
    assert "not estimated" in s.secondary_text


def test_median_with_an_open_upper_end():
    curve, row = standin_curve(scale=36, shape=1.0, spread=0.4, horizon=30)
    assert math.isnan(row["median_pfs_high"]) and not math.isnan(row["median_pfs_months"])
    s = curve_summary(curve, row)
    assert "interval from" in s.median_text and "to beyond 30 months" in s.median_text
    assert s.median_label == "median 25 months (90% interval 15 to beyond 30)"
    assert round(row["median_pfs_months"], 1) == 25.0 and round(row["median_pfs_low"], 1) == 15.0


def test_no_curve_sentence_says_so():
    assert NO_CURVE_TEXT.startswith("This model has no progression-free curve")


CASES = {"typical": {}, "long_no_median": dict(scale=60, horizon=20), "short": dict(scale=5.5, shape=1.0),
         "open_median": dict(scale=36, shape=1.0, spread=0.4), "median_at_6": dict(scale=6 / math.log(2), shape=1.0)}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_curve_figure_text_is_large_enough_and_never_overlaps(case):
    curve, row = standin_curve(**CASES[case])
    fig = pfs_curve_figure(curve_summary(curve, row))
    small, overlapping, off_page = text_problems(fig, MIN_FONT)  # one render for the three checks
    assert small == []
    assert overlapping == []
    assert off_page == []


def test_curve_figure_draws_the_band_and_stops_at_the_horizon():
    curve, row = standin_curve(scale=60, horizon=20, times=np.arange(0, 30.1, 0.5))
    fig = pfs_curve_figure(curve_summary(curve, row))
    ax = fig.axes[0]
    line = next(l for l in ax.get_lines() if l.get_label().startswith("progression-free"))
    assert line.get_xdata().max() == 20  # NaN beyond the horizon: nothing drawn there
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("90% interval") for t in legend) and any("median not reached" in t for t in legend)
    assert any(t.startswith("6 months: durable benefit") for t in legend)


def _report_with_curve(**kw):
    from icipredict.report.content import build_report
    from icipredict.report.patient import add_curve

    curve, row = standin_curve("B-1", **kw)
    row.update({"benefit_group": "high", "time_class": "II (PD-L1+/TIL+)", "model_version": "stand-in"})
    return add_curve(build_report(row, None), row, curve), row


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_curve_page_text_is_large_enough_and_never_overlaps(case):
    from icipredict.report.curve_page import curve_page_figure

    report, _ = _report_with_curve(**CASES[case])
    fig = curve_page_figure(report)
    small, overlapping, off_page = text_problems(fig, MIN_FONT)  # one render for the three checks
    assert small == []
    assert overlapping == []
    assert off_page == []


def _png_size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.size


def test_report_png_stacks_the_curve_page_under_the_report_page_and_pdf_has_two_pages():
    from icipredict.report.curve_page import curve_page_figure, report_bytes
    from icipredict.report.figures import figure_bytes, report_page_figure

    report, _ = _report_with_curve()
    first = _png_size(figure_bytes(report_page_figure(report), "png"))
    second = _png_size(figure_bytes(curve_page_figure(report), "png"))
    png = report_bytes(report, "png")
    assert png.startswith(b"\x89PNG")
    assert _png_size(png) == (max(first[0], second[0]), first[1] + second[1])
    pdf = report_bytes(report, "pdf")
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 2
    assert report_bytes(report, "pdf") == pdf  # the same report, the same bytes
    assert report_bytes(report, "png") == png


def test_report_without_a_curve_says_so_in_every_format():
    from icipredict.report.content import build_report
    from icipredict.report.curve_page import no_curve_figure, report_pages
    from icipredict.report.curve_figure import MIN_FONT
    from icipredict.report.html import report_fragment

    _, row = _report_with_curve()
    report = build_report(row, None)
    assert report.curve is None
    strip = report_pages(report)[1]
    drawn = " ".join(" ".join(t.get_text().split()) for t in strip.texts)
    assert "This model has no progression-free curve" in drawn
    texts = drawn_texts(strip)
    assert small_texts(no_curve_figure(report), MIN_FONT) == [] and overlapping_texts(strip, texts=texts) == []
    assert texts_off_page(strip, texts) == []
    html = report_fragment(report, charts=False)
    assert 'data-has-curve="false"' in html and 'id="no-curve"' in html and "pfs-landmarks" not in html


def test_report_html_lists_the_landmarks_median_and_secondary_resistance():
    from icipredict.report.html import report_fragment

    report, row = _report_with_curve()
    html = report_fragment(report, charts=True)
    assert 'data-has-curve="true"' in html
    for months, column in ((3, "p_pfs_3m"), (6, "p_durable_benefit"), (12, "p_pfs_12m"), (24, "p_pfs_24m")):
        assert f'<tr data-months="{months}" data-value="{row[column]!r}">' in html
    assert f'id="median-pfs" data-value="{row["median_pfs_months"]!r}"' in html
    assert f'id="secondary-resistance" data-value="{row["p_secondary_resistance_24m"]!r}"' in html
    assert html.count("data:image/png;base64,") == 2  # the curve and the calibration (no contributions here)


# -- end to end, with a real curve model ---------------------------------------------------------------

@pytest.fixture(scope="module")
def curve_patients(tmp_path_factory):
    from icipredict.io.synthetic import synthetic_cohort

    path = tmp_path_factory.mktemp("curve-report") / "patients.csv"
    synthetic_cohort(5, seed=21, outcomes=False).to_csv(path, index=False)
    return path


def test_patient_report_of_a_curve_model_prints_predicts_curve(small_curve_model, curve_patients, tmp_path):
    import icipredict
    from icipredict.report.curve_page import curve_page_figure
    from icipredict.report.figures import figure_bytes, report_page_figure
    from icipredict.report.patient import patient_report, report_for

    model = icipredict.load_model(small_curve_model)
    pid = "SYN-000002"
    row = icipredict.predict(pd.read_csv(curve_patients), model=model).set_index("patient_id").loc[pid]
    report = report_for(model, curve_patients, pid)
    c = report.curve
    assert c is not None and c.horizon == model.model.baseline.horizon
    assert c.times.max() <= c.horizon and c.times.min() == 0 and c.s[0] == pytest.approx(1.0)
    assert np.all(np.diff(c.s) <= 1e-12)  # the drawn curve never rises
    for mark, (months, column) in zip(c.landmarks, [(3, "p_pfs_3m"), (6, "p_durable_benefit"), (12, "p_pfs_12m"),
                                                   (24, "p_pfs_24m")]):
        if months <= c.horizon:
            assert mark.s == pytest.approx(row[column], abs=1e-12) and mark.low <= mark.s <= mark.high
    assert c.p_6m == pytest.approx(row["p_durable_benefit"], abs=1e-12)
    if not np.isnan(row["median_pfs_months"]):
        assert c.median == pytest.approx(row["median_pfs_months"], abs=1e-9)
    html = patient_report(model, curve_patients, pid, tmp_path / "r.html").read_text()
    shown = re.search(r'<tr data-months="12" data-value="([^"]+)">', html)
    assert shown and float(shown.group(1)) == pytest.approx(row["p_pfs_12m"], abs=1e-12)
    png = patient_report(model, curve_patients, pid, tmp_path / "r.png")
    from PIL import Image

    pages = [_png_size(figure_bytes(f(report), "png")) for f in (report_page_figure, curve_page_figure)]
    with Image.open(png) as im:  # the report page, then the curve page
        assert im.size[1] == pages[0][1] + pages[1][1]
    pdf = patient_report(model, curve_patients, pid, tmp_path / "r.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 2


def test_patient_report_of_a_six_month_model_says_it_has_no_curve(small_model, curve_patients, tmp_path):
    from icipredict.report.patient import patient_report, report_for

    assert report_for(small_model, curve_patients, "SYN-000001").curve is None
    html = patient_report(small_model, curve_patients, "SYN-000001", tmp_path / "r.html").read_text()
    assert 'id="no-curve"' in html and "This model has no progression-free curve" in html


def test_natural_frequency_property_any_probability():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
    def check(p):
        words = natural_frequency(p)
        if p < 0.075:
            assert words == "fewer than 1 in 10"
        elif p > 0.925:
            assert words == "more than 9 in 10"
        else:
            n, k = (int(x) for x in words.removeprefix("about ").split(" in "))
            assert (n == 1 and 2 <= k <= 10) or (k == 10 and 1 <= n <= 9)
            # no simpler frequency is nearer: the chosen one is the nearest of all candidates
            candidates = [1 / j for j in range(2, 11)] + [m / 10 for m in range(1, 10)]
            assert abs(n / k - p) <= min(abs(c - p) for c in candidates) + 1e-9

    check()
