"""The patient report's content, without a browser: predict's numbers, the benefit group in words, the
TIME class 2x2, contributions in the inputs' own terms, escaping, literal ids in figures, the files written."""

from __future__ import annotations

import re
from html import unescape

import pandas as pd
import pytest

import icipredict
from icipredict.exceptions import InvalidPatientData, OutputRefused
from icipredict.model.metadata import BenefitThresholds
from icipredict.report.patient import MIN_EFFECT, REPORT_EXPLAIN, build_report, patient_report, report_for
from icipredict.report.content import benefit_groups_text
from icipredict.report.figures import figure_bytes, report_page_figure
from icipredict.report.html import report_fragment, report_page

PATIENT = {"patient_id": "R-1", "pdl1_tps": 60.0, "tmb": 16.5, "tmb_assay": "MSK-IMPACT", "regimen": "ici_mono",
           "til_density": 300.0, "mut_stk11": 1, "ecog": 1, "smoking": "former"}
#: The README's example: PD-L1 >= 50 %, TMB 14, ICI alone.
README_PATIENT = {"patient_id": "p1", "pdl1_band": ">=50", "tmb": 14, "regimen": "ici_mono"}
INTERNAL_NAMES = ("tmb_log", "pdl1_band_ord", "ctla4", "never_smoker", "cold_tumour", "positive_mutation")


@pytest.fixture(scope="module")
def model():
    return icipredict.load_model("public")


def _row(patient: dict, model) -> pd.Series:
    return icipredict.predict(patient, model=model, explain=REPORT_EXPLAIN).iloc[0]


def test_the_numbers_are_predicts(model):
    row = _row(PATIENT, model)
    report = report_for(model, PATIENT, "R-1")
    assert report.p == row["p_durable_benefit"] and report.p_text == f"{100 * row['p_durable_benefit']:.0f}%"
    assert report.interval_text == f"90% interval: {100 * row['p_low']:.0f}% to {100 * row['p_high']:.0f}%"
    html = report_fragment(report, charts=False)
    assert f'data-value="{float(row["p_durable_benefit"])!r}">{report.p_text}</span>' in html
    assert report.model_version == row["model_version"] == model.version


def test_benefit_group_is_a_likelihood_in_words_with_the_models_thresholds(model):
    row = _row(PATIENT, model)
    assert row["benefit_group"] == "high"
    report = build_report(row, model.metadata, PATIENT)
    assert report.group_text == "High likelihood of durable benefit"
    # the one text every place that shows a group in words reads: ranges and the observed rates with n
    assert report.groups_text == benefit_groups_text(model.metadata)
    for g in model.metadata.benefit_groups_cv:
        assert f"{g['benefit_group']} (probability " in report.groups_text
        assert f"{100 * g['observed_benefit_rate']:.0f}% of {g['n']} had durable benefit" in report.groups_text
    assert "low (probability below 20%)" in report.groups_text and "high (probability from 40%)" in report.groups_text
    other = model.metadata.model_copy(update={"benefit_thresholds": BenefitThresholds(low=0.1, high=0.6)})
    assert "low (probability below 10%)" in build_report(row, other).groups_text
    page = report_page(report).lower()
    assert not re.search(r"(low|intermediate|high)[ -]risk", page)


def test_the_readme_example_warning_does_not_contradict_its_number(model):
    row = _row(README_PATIENT, model)
    report = build_report(row, model.metadata, README_PATIENT)
    assert report.group == "high" and report.p >= 0.4
    text = " ".join(report.warnings).lower()
    assert "close to the training average" not in text and "low likelihood" not in text
    assert report.missing  # the interval is named, not a claim about where the number sits
    assert f"{100 * report.p_low:.0f}% to {100 * report.p_high:.0f}%" in report.missing_text


@pytest.mark.parametrize(("extra", "pair", "status"), [
    ({}, "PD-L1+/TIL+", "TIME class II (PD-L1+/TIL+)"),
    ({"til_density": None, "til_status": "negative"}, "PD-L1+/TIL-", "TIME class IV (PD-L1+/TIL-)"),
    ({"pdl1_tps": 0.0}, "PD-L1-/TIL+", "TIME class III (PD-L1-/TIL+)"),
], ids=["II", "IV-by-status", "III"])
def test_the_patients_time_cell_is_highlighted(model, extra, pair, status):
    patient = {k: v for k, v in {**PATIENT, **extra}.items() if v is not None}
    report = report_for(model, patient, "R-1")
    assert report.time_status_text == status
    html = report_fragment(report, charts=False)
    current = re.findall(r'<td data-pair="([^"]+)" class="this" aria-current="true">', html)
    assert current == [pair] and html.count('aria-current="true"') == 1
    assert "Numbering: this package's default (I PD-L1-/TIL-, II PD-L1+/TIL+" in unescape(html)


def test_an_unknown_til_status_says_so_and_outlines_the_pdl1_column(model):
    patient = {k: v for k, v in PATIENT.items() if k != "til_density"}
    report = report_for(model, patient, "R-1")
    assert report.time_status_text == "TIME class unknown (PD-L1+/TIL?): TIL not given"
    html = report_fragment(report, charts=False)
    assert 'aria-current="true"' not in html
    assert re.findall(r'<td data-pair="([^"]+)" class="maybe"', html) == ["PD-L1+/TIL+", "PD-L1+/TIL-"]
    assert report.til_source_text == "No TIL measure given: the TIL status is unknown."
    nothing = report_for(model, {"patient_id": "x"}, "x")
    assert nothing.time_status_text.endswith("PD-L1 and TIL not given")


def test_shipped_model_says_tils_were_not_measured_and_names_the_til_measure(model):
    report = report_for(model, PATIENT, "R-1")
    assert report.til_source == "til_density"
    assert report.til_source_text == "TIL status set by TIL density 300 cells/mm² (column til_density)."
    assert "TIL not measured in the training data; the TIL effect is a cited prior" in report.til_effect_text
    assert report.rates_text.startswith("Class-level durable-benefit rates not known")
    pdl1 = model.metadata.pdl1_status_rates  # what the training data know without TILs: PD-L1 alone
    assert set(pdl1) == {"PD-L1+", "PD-L1-"} and sum(v["n"] for v in pdl1.values()) > 300
    plus = pdl1["PD-L1+"]
    assert f"PD-L1+ {plus['durable_benefit']}/{plus['n']}" in report.rates_text
    assert {c.rate_text for c in report.cells} == {"rate not known"}


def test_a_model_whose_training_data_measure_tils_shows_the_class_rates_with_n(model):
    # what training writes for TIL data (metadata.time_class_rates, a learned TIL term), on the shipped metadata
    rates = {"PD-L1-/TIL-": {"n": 24, "durable_benefit": 3}, "PD-L1-/TIL+": {"n": 20, "durable_benefit": 4},
             "PD-L1+/TIL-": {"n": 16, "durable_benefit": 5}, "PD-L1+/TIL+": {"n": 35, "durable_benefit": 17}}
    term = model.metadata.til_term.model_copy(update={"source": "learned", "n_patients": 95, "n_events": 29})
    meta = model.metadata.model_copy(update={"time_class_rates": rates, "til_term": term})
    report = build_report(_row(PATIENT, model), meta, PATIENT)
    for cell in report.cells:
        assert (cell.n, cell.durable_benefit) == (rates[cell.pair]["n"], rates[cell.pair]["durable_benefit"])
    html = report_fragment(report, charts=False)
    assert re.search(r'data-pair="PD-L1\+/TIL\+" class="this" aria-current="true">.*?17 of 35 \(49%\) had durable '
                     r"benefit", html)
    assert report.rates_text.startswith("Rates per class: the 95 training patients")
    assert report.til_effect_text.startswith("The TIL effect was learned from 95 training patients")


def test_contributions_are_predicts_in_the_inputs_own_terms(model):
    row = _row(PATIENT, model)
    report = build_report(row, model.metadata, PATIENT)
    expected = [row[f"top{i}_feature"] for i in range(1, REPORT_EXPLAIN + 1)
                if abs(row[f"top{i}_effect"]) >= MIN_EFFECT]
    assert [c.feature for c in report.contributions] == expected
    labels = {c.feature: c.label for c in report.contributions}
    assert labels["pdl1_tps"] == "PD-L1 TPS 60%"
    assert labels["tmb"] == "TMB 16.5 mut/Mb (MSK-IMPACT)"
    assert labels["regimen"] == "regimen: ICI alone"
    assert labels["mut_stk11"] == "STK11: altered"
    assert not any(name in label for label in labels.values() for name in INTERNAL_NAMES)
    html = report_fragment(report, charts=False)
    assert re.findall(r'<tr data-feature="([^"]+)">', html) == expected


def test_every_value_is_escaped_in_the_html(model):
    evil = {"patient_id": "<script>alert('id')</script>", "tmb": 12.0, "tmb_assay": '"><img src=x onerror=alert(1)>'}
    report = report_for(model, evil, evil["patient_id"])
    page = report_page(report)
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;id&#x27;)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page  # the assay, beside the TMB


def test_ids_with_dollars_render_literally_in_the_figure(model):
    patient = {"patient_id": "$x^2$", "tmb": 12.0, "tmb_assay": "a$b panel", "pdl1_tps": 5.0}
    report = report_for(model, patient, "$x^2$")
    fig = report_page_figure(report)
    texts = [t for t in fig.findobj(lambda a: hasattr(a, "get_parse_math")) if "$" in t.get_text()]
    assert any(t.get_text() == "Patient $x^2$" for t in texts)
    assert texts and not any(t.get_parse_math() for t in texts)
    assert figure_bytes(fig).startswith(b"\x89PNG")  # an unbalanced "$" would have failed mathtext


def test_calibration_position_names_the_nearest_bin_or_says_it_is_beyond(model):
    row = _row(PATIENT, model)
    report = build_report(row, model.metadata)
    b = report.nearest_bin
    assert f"({int(b['n'])} patients, average prediction {100 * b['mean_predicted']:.0f}%)" in report.calibration_text
    far = build_report({**row, "p_durable_benefit": 0.97, "p_low": 0.9, "p_high": 0.99}, model.metadata)
    assert far.calibration_text.startswith("This estimate lies beyond most training predictions")
    assert "internal-external" in report.calibration_caption


def test_the_caveat_names_the_update_command(model):
    report = report_for(model, PATIENT, "R-1")
    assert "icipredict update --model MODEL --input local_outcomes.csv --output models/local" in report.update_text
    assert 'id="caveat"' in report_fragment(report, charts=False)


@pytest.mark.parametrize("suffix", [".html", ".png", ".pdf"], ids=str)
def test_patient_report_writes_each_format(tmp_path, model, suffix):
    source = tmp_path / "patients.csv"
    pd.DataFrame([PATIENT, {"patient_id": "R-2", "tmb": 3.0}]).to_csv(source, index=False)
    out = patient_report(model, source, "R-1", tmp_path / f"report{suffix}")
    data = out.read_bytes()
    magic = {".html": b"<!doctype html>", ".png": b"\x89PNG", ".pdf": b"%PDF"}[suffix]
    assert out == tmp_path / f"report{suffix}" and data.startswith(magic)
    if suffix == ".html":
        text = data.decode()
        charts = 2 + icipredict.load_model(model).has_curve  # contributions, calibration, and the PFS curve
        assert "<style>" in text and text.count('src="data:image/png;base64,') == charts
        assert all(alt.strip() for alt in re.findall(r'alt="([^"]*)"', text))
    else:  # the same report gives the same bytes
        again = patient_report(model, source, "R-1", tmp_path / f"again{suffix}")
        assert again.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def test_patient_report_refuses_a_bad_output_or_patient(tmp_path, model):
    source = tmp_path / "patients.csv"
    pd.DataFrame([PATIENT]).to_csv(source, index=False)
    before = source.read_bytes()
    with pytest.raises(OutputRefused, match=r"expected one of \.html, \.htm, \.png, \.pdf\. Got '\.txt' instead"):
        patient_report(model, source, "R-1", tmp_path / "report.txt")
    with pytest.raises(OutputRefused, match="is a directory"):
        patient_report(model, source, "R-1", tmp_path)
    assert source.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["patients.csv"]
    with pytest.raises(InvalidPatientData, match=r"patient 'nope', column 'patient_id': expected an id present"):
        patient_report(model, pd.DataFrame([PATIENT]), "nope", tmp_path / "r.html")


def test_explain_names_til_status_for_a_patient_without_a_til_measure(model):
    # with every input explained, the TIL term of a patient without a TIL measure is listed too (as
    # "til_status", not given), while another patient's TIL measure keeps the column in the frame
    both = pd.DataFrame([PATIENT, {"patient_id": "R-2", "pdl1_tps": 0.0, "tmb": 4.0}])
    out = icipredict.predict(both, model=model, explain=8)
    features = out.filter(like="_feature").iloc[1].tolist()
    assert "til_status" in features and all(isinstance(f, str) for f in features)
