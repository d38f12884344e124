"""``icipredict serve`` in a subprocess, driven by a real headless Chromium and by plain HTTP.

The browser is Debian's chromium + chromedriver (``apt-get install chromium chromium-driver``); when
absent the browser tests skip with the reason, unless ``ICIPREDICT_REQUIRE_BROWSER=1`` (CI) makes
that a failure. A screenshot of the result page is kept under ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from browser_support import ARTIFACTS, chromium, wait_replaced
from process_support import CLI, http_json, run_cli, serve

import icipredict
from icipredict.io.synthetic import synthetic_cohort

STARTUP_SECONDS = 60
SECRET_ID = "ZZ-SECRET-4711"  # must never appear in the server's output
#: Typed into text boxes, and chosen in select boxes.
TYPED = {"pdl1_tps": "60", "tmb": "14.5", "age": "67", "ecog": "1", "albumin": "3.8"}
CHOSEN = {"regimen": "chemo_ici", "sex": "female", "histology": "adenocarcinoma", "mut_kras": "1"}


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    cwd: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``icipredict serve`` on a free loopback port, in its own process group and an empty cwd."""
    cwd = tmp_path_factory.mktemp("serve-cwd")
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with serve(lambda port: [*CLI, "serve", "--model", "public", "--host", "127.0.0.1", "--port", str(port)], log,
               cwd=cwd, name="icipredict serve", startup_seconds=STARTUP_SECONDS) as served:
        yield Server(served.url, served.proc, log, cwd)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), window="1280,1800") as driver:
        yield driver


def _fill(driver, typed: dict[str, str], chosen: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in typed.items():
        box = driver.find_element(By.ID, f"f-{name}")
        box.clear()
        box.send_keys(value)
    for name, value in chosen.items():
        Select(driver.find_element(By.ID, f"f-{name}")).select_by_value(value)


def _submit(driver) -> None:
    from selenium.webdriver.common.by import By

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "submit").click()
    wait_replaced(driver, old, 30)


def _patient(patient_id: str) -> dict:
    """The form's patient as a Python caller would write it, numbers as numbers."""
    return {"patient_id": patient_id, **{k: float(v) for k, v in TYPED.items()}, **CHOSEN, "mut_kras": 1}


def test_browser_form_shows_the_probability_predict_gives(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    assert "not a medical device" in browser.find_element(By.ID, "disclaimer").text
    browser.find_element(By.ID, "f-patient_id").send_keys("E2E-1")
    _fill(browser, TYPED, CHOSEN)
    _submit(browser)
    expected = icipredict.predict(_patient("E2E-1"), model="public").iloc[0]
    p = float(expected["p_durable_benefit"])
    shown = browser.find_element(By.ID, "probability")
    assert shown.text == f"{100 * p:.0f}%"
    assert abs(float(shown.get_attribute("data-value")) - p) <= 1e-9
    group = expected.get("benefit_group", expected.get("risk_group"))
    assert browser.find_element(By.ID, "group").text.startswith(f"{group.capitalize()} likelihood")
    assert browser.find_element(By.ID, "result-patient").text == "E2E-1"
    assert browser.find_element(By.ID, "f-tmb").get_attribute("value") == "14.5"  # the form keeps its values
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "web_result.png"
    assert browser.save_screenshot(str(shot))
    print(f"screenshot of the result page: {shot}")


def test_browser_shows_an_invalid_value_next_to_its_field(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    _fill(browser, {**TYPED, "pdl1_tps": "150"}, CHOSEN)
    _submit(browser)
    field = browser.find_element(By.ID, "field-pdl1_tps")
    error = field.find_element(By.CLASS_NAME, "error")  # inside the field's own container
    assert "column 'pdl1_tps'" in error.text and "Got 150 instead" in error.text
    box = field.find_element(By.ID, "f-pdl1_tps")
    assert box.get_attribute("aria-invalid") == "true" and box.get_attribute("value") == "150"
    assert "error-pdl1_tps" in box.get_attribute("aria-describedby")
    assert not browser.find_elements(By.ID, "result")
    assert not browser.find_element(By.ID, "field-tmb").find_elements(By.CLASS_NAME, "error")
    browser.save_screenshot(str(ARTIFACTS / "web_error.png"))


def test_browser_upload_shows_the_table_where_the_user_looks(server, browser, tmp_path):
    """Issue 21 items 1, 9 and 12: after an upload the predictions are in view, the top-contributions setting
    is kept, every row has its warnings and the inputs it did not use, and the groups' meaning is shown (the
    report's own text)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from icipredict.exceptions import InputWarning
    from icipredict.report.content import benefit_group_meanings, benefit_groups_text

    patients = synthetic_cohort(12, seed=9, outcomes=False)
    patients.loc[0, "regimen"] = "chemo_ici"
    patients["ward"] = "B"  # a column the package does not know: named once, above the table
    path = tmp_path / "upload.csv"
    patients.to_csv(path, index=False)
    with pytest.warns(InputWarning, match="ward"):
        expected = icipredict.predict(patients, model="public", explain=3)

    browser.get(server.url + "/")
    Select(browser.find_element(By.ID, "u-explain")).select_by_value("3")
    browser.find_element(By.ID, "u-table").send_keys(str(path))
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "upload-show").click()
    wait_replaced(browser, old, 60)
    table = WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "batch-table")))

    top, height = browser.execute_script("return [arguments[0].getBoundingClientRect().top, window.innerHeight]", table)
    assert 0 <= top < height / 2, f"the predictions start {top:.0f} px down a {height} px window"
    assert Select(browser.find_element(By.ID, "u-explain")).first_selected_option.get_attribute("value") == "3"

    heads = [th.get_attribute("data-col") for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert heads.index("warnings") < 8 and heads.index("inputs_not_used") < 8  # read without scrolling sideways
    assert "top3_feature" in heads and "top4_feature" not in heads
    rows = [[td.get_attribute("textContent") for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert len(rows) == len(expected)
    for col in ("patient_id", "benefit_group", "warnings", "inputs_not_used"):
        assert [r[heads.index(col)] for r in rows] == expected[col].fillna("").tolist(), col
    assert "chemo_ici" in rows[0][heads.index("warnings")]

    meanings = benefit_group_meanings(icipredict.load_model("public").metadata)
    assert browser.find_element(By.ID, "batch-groups").text == benefit_groups_text(
        icipredict.load_model("public").metadata)
    cells = table.find_elements(By.CSS_SELECTOR, f"tbody td:nth-child({heads.index('benefit_group') + 1})")
    assert [c.get_attribute("title") for c in cells] == [meanings[g] for g in expected["benefit_group"]]
    assert "ward" in browser.find_element(By.ID, "unknown-columns").text
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "web_upload.png"))


def test_invocations_over_http_match_predict(server):
    patients = synthetic_cohort(20, seed=3, outcomes=False)
    records = [{k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and np.isnan(v))}
               for r in patients.to_dict(orient="records")]
    status, body = http_json(server.url + "/invocations", {"dataframe_records": records, "params": {"explain": 2}})
    assert status == 200, body
    got = json.loads(body)["predictions"]
    expected = icipredict.predict(patients, model="public", explain=2)
    assert [r["patient_id"] for r in got] == expected["patient_id"].tolist()
    assert list(got[0]) == list(expected.columns)
    assert [r["p_durable_benefit"] for r in got] == expected["p_durable_benefit"].tolist()
    status, body = http_json(server.url + "/invocations", {"dataframe_records": [{"patient_id": "b", "albumin": 38}]})
    assert status == 400 and "column 'albumin'" in json.loads(body)["message"]
    status, body = http_json(server.url + "/version")
    assert status == 200 and json.loads(body)["model_version"] == icipredict.load_model("public").version


def test_ctrl_c_stops_cleanly_and_nothing_reaches_logs_or_disk(server):
    secret = {"patient_id": SECRET_ID, "tmb": 123.456, "tmb_assay": "SECRET-ASSAY"}
    assert http_json(server.url + "/invocations", {"dataframe_records": [secret]})[0] == 200
    assert http_json(server.url + "/invocations", {"dataframe_records": [{**secret, "pdl1_tps": 777}]})[0] == 400
    form = urllib.parse.urlencode({"patient_id": SECRET_ID, "albumin": "38", "tmb_assay": "SECRET-ASSAY"}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(server.url + "/", data=form), timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and SECRET_ID in exc.read().decode()  # the page shows it; the log must not
    assert http_json(server.url + f"/?patient_id={SECRET_ID}")[0] == 200  # a query string is not logged either
    os.killpg(server.proc.pid, signal.SIGINT)
    try:  # a loaded 2-core CI machine (two test workers spawning CLIs) can take a while to schedule the exit
        code = server.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"icipredict serve still runs 60 s after Ctrl-C; its output:\n{server.log.read_text()[-3000:]}")
    assert code == 0
    log = server.log.read_text()
    assert "server stopped" in log and "Traceback" not in log
    assert "POST /invocations 400" in log and "GET / 200" in log
    for secret_text in (SECRET_ID, "123.456", "SECRET-ASSAY", "777"):
        assert secret_text not in log, f"{secret_text} leaked into the server output"
    assert list(server.cwd.iterdir()) == []


def test_serve_fails_fast_when_the_model_cannot_load(tmp_path):
    proc = run_cli(["serve", "--model", str(tmp_path / "no-model"), "--port", "0"], timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("icipredict: error:") and "Traceback" not in proc.stderr


def test_help_does_not_import_flask():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "icipredict.cli", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "serve" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    heavy = {m for m in imported if m.split(".")[0] in ("flask", "werkzeug", "selenium") or m == "icipredict.web.app"}
    assert imported and not heavy, sorted(heavy)
