"""The HTML patient report opened in a real headless Chromium: what a clinician sees is what ``predict`` says.

A screenshot is kept as a test artefact: ``test-artifacts/patient_report.png``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from browser_support import ARTIFACTS, chromium

import icipredict
from icipredict.report.patient import MIN_EFFECT, REPORT_EXPLAIN, patient_report

PATIENTS = pd.DataFrame([
    {"patient_id": "B-1", "pdl1_tps": 60.0, "tmb": 16.5, "tmb_assay": "MSK-IMPACT", "regimen": "ici_mono",
     "til_density": 300.0, "mut_stk11": 1, "ecog": 1, "smoking": "former", "age": 67, "sex": "female"},
    {"patient_id": "B-2", "pdl1_tps": 0.0, "tmb": 4.0},
])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), window="1280,2600") as driver:
        yield driver


def test_browser_shows_predicts_probability_time_cell_and_contributions(tmp_path, browser):
    from selenium.webdriver.common.by import By

    source = tmp_path / "patients.csv"
    PATIENTS.to_csv(source, index=False)
    out = patient_report("public", source, "B-1", tmp_path / "report.html")
    row = icipredict.predict(PATIENTS, model="public", explain=REPORT_EXPLAIN).iloc[0]

    browser.get(out.resolve().as_uri())
    p = float(row["p_durable_benefit"])
    shown = browser.find_element(By.ID, "probability")
    assert shown.text == f"{100 * p:.0f}%" and float(shown.get_attribute("data-value")) == p
    assert browser.find_element(By.ID, "interval").text == (
        f"90% interval: {100 * row['p_low']:.0f}% to {100 * row['p_high']:.0f}%")
    group = browser.find_element(By.ID, "group").text
    assert group == f"{row['benefit_group'].capitalize()} likelihood of durable benefit"

    cell = browser.find_element(By.CSS_SELECTOR, "#time-grid td[aria-current='true']")
    assert row["time_class"] == "II (PD-L1+/TIL+)" and cell.get_attribute("data-pair") == "PD-L1+/TIL+"
    assert "this patient" in cell.text and "II" in cell.text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#time-grid td.this")) == 1
    assert "til_density" in browser.find_element(By.ID, "til-source").text

    listed = [tr.get_attribute("data-feature")
              for tr in browser.find_elements(By.CSS_SELECTOR, "#contributions tbody tr")]
    expected = [row[f"top{i}_feature"] for i in range(1, REPORT_EXPLAIN + 1)
                if abs(row[f"top{i}_effect"]) >= MIN_EFFECT]
    assert listed == expected and {"pdl1_tps", "tmb", "regimen"} <= set(listed)
    first = browser.find_element(By.CSS_SELECTOR, "#contributions tbody tr").text
    assert first.startswith("PD-L1 TPS 60%")

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt.length])")
    assert len(images) == 2 and all(ok and alt > 20 for ok, alt in images)
    assert "icipredict update" in browser.find_element(By.ID, "caveat").text
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "patient_report.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot of the patient report: {shot}")
