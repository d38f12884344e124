"""The one-page report figure: no two texts overlap and no text is under 9 pt at the saved size (issue 21,
item 13). Measured with matplotlib's own rendered text extents."""

from __future__ import annotations

import itertools

import pytest

import icipredict
from icipredict.report.figures import MIN_FONT_PT, figure_bytes, report_page_figure
from icipredict.report.patient import report_for

PATIENTS = {
    "full": {"patient_id": "R-1", "pdl1_tps": 60.0, "tmb": 16.5, "tmb_assay": "MSK-IMPACT", "regimen": "ici_mono",
             "smoking": "former", "ecog": 1, "mut_stk11": 1, "mut_keap1": 0, "mut_egfr": 0, "mut_kras": 1,
             "prior_systemic_therapy": 0, "til_density": 400.0, "age": 67},
    "til-unknown-chemo": {"patient_id": "R-2", "pdl1_tps": 5.0, "regimen": "chemo_ici", "smoking": "never",
                          "mut_egfr": 1, "albumin": 5.95, "tmb": 30.0, "tmb_assay": "plasma bTMB",
                          "pdl1_assay": "E1L3N"},
    "nothing-given": {"patient_id": "a-very-long-patient-identifier-0000000001"},
}


def _texts(fig):
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # tick labels outside the view limits exist but are not drawn: only the drawn ticks count
    ticks, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks.update((id(tick.label1), id(tick.label2)))
            for tick in axis._update_ticks():  # noqa: SLF001 - the ticks matplotlib draws
                drawn.update((id(tick.label1), id(tick.label2)))
    shown = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and (t.axes is None or t.axes.get_visible()) and (id(t) not in ticks or id(t) in drawn)]
    return [(t, t.get_window_extent(renderer)) for t in shown]


@pytest.fixture(scope="module")
def model():
    return icipredict.load_model("public")


@pytest.mark.parametrize("name", list(PATIENTS))
def test_no_two_texts_overlap_and_none_is_under_9_pt(model, name):
    patient = PATIENTS[name]
    fig = report_page_figure(report_for(model, patient, patient["patient_id"]))
    texts = _texts(fig)
    assert len(texts) > 30
    small = [(t.get_text()[:40], t.get_fontsize()) for t, _ in texts if t.get_fontsize() < MIN_FONT_PT]
    assert not small, small
    page = fig.bbox
    for t, box in texts:  # every text on the page
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5 and box.y0 >= page.y0 - 0.5 \
            and box.y1 <= page.y1 + 0.5, t.get_text()[:60]
    overlapping = [(a.get_text()[:50], b.get_text()[:50]) for (a, p), (b, q) in itertools.combinations(texts, 2)
                   if p.overlaps(q) and p.intersection(p, q).width > 0.5 and p.intersection(p, q).height > 0.5]
    assert not overlapping, overlapping
    assert figure_bytes(fig).startswith(b"\x89PNG")


def test_the_check_finds_an_overlap_when_there_is_one(model):
    """The overlap check can fail: a figure with two texts drawn on the same spot is caught."""
    fig = report_page_figure(report_for(model, PATIENTS["full"], "R-1"))
    fig.text(0.1, 0.5, "one text", fontsize=12)
    fig.text(0.1, 0.5, "another text", fontsize=12)
    texts = _texts(fig)
    assert any(p.overlaps(q) for (a, p), (b, q) in itertools.combinations(texts, 2)
               if {a.get_text(), b.get_text()} == {"one text", "another text"})
