"""The progression-free curve through ``icipredict serve`` in a subprocess: the calculator in a real headless
Chromium (one patient's curve, the many-patient table's curve columns) and ``/invocations`` over HTTP.

The server runs a real spline Cox bundle (``small_curve_model``); every number the page or the
response shows is checked against :func:`icipredict.predict` / :func:`icipredict.predict_curve`
in this process. Screenshots: ``test-artifacts/calculator_curve.png`` and
``test-artifacts/calculator_curve_table.png``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from browser_support import ARTIFACTS, chromium, wait_replaced
from process_support import CLI, http_json, serve

import icipredict
from icipredict.io.synthetic import synthetic_cohort
from icipredict.report.curve import LANDMARKS
from icipredict.table.vocab import CURVE_COLUMNS

TYPED = {"pdl1_tps": "60", "tmb": "14.5", "age": "67", "ecog": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, small_curve_model):
    log = tmp_path_factory.mktemp("curve-serve") / "serve.log"
    with serve(lambda port: [*CLI, "serve", "--model", str(small_curve_model), "--port", str(port)], log,
               name="icipredict serve (curve model)") as served:
        yield served


@pytest.fixture(scope="module")
def model(small_curve_model):
    return icipredict.load_model(small_curve_model)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium-profile"), window="1280,2400") as driver:
        yield driver


def _records(frame):
    return [{k: v for k, v in r.items() if v is not None and not (isinstance(v, float) and math.isnan(v))}
            for r in frame.to_dict(orient="records")]


def test_calculator_draws_one_patients_curve_with_predicts_numbers(server, browser, model):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "f-patient_id").send_keys("CURVE-1")
    for name, value in TYPED.items():
        browser.find_element(By.ID, f"f-{name}").send_keys(value)
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "submit").click()
    wait_replaced(browser, old, 30)

    row = icipredict.predict({"patient_id": "CURVE-1", **{k: float(v) for k, v in TYPED.items()}}, model=model).iloc[0]
    section = browser.find_element(By.ID, "pfs-curve")
    assert section.get_attribute("data-has-curve") == "true"
    rows = browser.find_elements(By.CSS_SELECTOR, "#pfs-landmarks tbody tr")
    assert [float(r.get_attribute("data-months")) for r in rows] == [m for m, _ in LANDMARKS]
    for r, (months, column) in zip(rows, LANDMARKS):
        value = r.get_attribute("data-value")
        if months > model.model.baseline.horizon:
            assert value == "" and "not estimated" in r.text
        else:
            assert float(value) == pytest.approx(float(row[column]), abs=1e-12)
            assert f"{100 * row[column]:.0f}%" in r.text and "patients like this one" in r.text
    median = browser.find_element(By.ID, "median-pfs")
    if np.isnan(row["median_pfs_months"]):
        assert median.get_attribute("data-value") == "" and "not reached" in median.text
    else:
        assert float(median.get_attribute("data-value")) == pytest.approx(row["median_pfs_months"], abs=1e-12)
        assert f"{row['median_pfs_months']:.1f} months" in median.text or "months" in median.text
    sec = browser.find_element(By.ID, "secondary-resistance")
    assert float(sec.get_attribute("data-value")) == pytest.approx(row["p_secondary_resistance_24m"], abs=1e-12)
    img = section.find_element(By.CSS_SELECTOR, "img.chart")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 600", img)
    assert "Progression-free survival curve" in img.get_attribute("alt")
    browser.execute_script("arguments[0].scrollIntoView()", section)
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "calculator_curve.png"))


def test_calculator_table_shows_the_curve_columns(server, browser, model, tmp_path):
    from selenium.webdriver.common.by import By

    table = tmp_path / "patients.csv"
    patients = synthetic_cohort(6, seed=11, outcomes=False)
    patients.to_csv(table, index=False)
    browser.get(server.url + "/")
    browser.find_element(By.ID, "u-table").send_keys(str(table))
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "upload-show").click()
    wait_replaced(browser, old, 30)
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#batch-table thead th")]
    assert set(CURVE_COLUMNS) <= set(headers)
    expected = icipredict.predict(patients, model=model)
    first = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#batch-table tbody tr:first-child td")]
    shown = dict(zip(headers, first))
    assert shown["p_pfs_12m"] == f"{expected['p_pfs_12m'].iloc[0]:.3f}"
    m = expected["median_pfs_months"].iloc[0]
    assert shown["median_pfs_months"] == ("" if np.isnan(m) else f"{m:.4g}")
    browser.execute_script("document.getElementById('batch').scrollIntoView();"
                           "document.querySelector('#batch .table-wrap').scrollLeft = 1e6")  # the curve columns
    assert browser.save_screenshot(str(ARTIFACTS / "calculator_curve_table.png"))


def test_invocations_curve_times_match_predict_curve(server, model):
    patients = synthetic_cohort(8, seed=4, outcomes=False)
    horizon = model.model.baseline.horizon
    beyond = float(math.ceil(horizon + 6))
    status, body = http_json(server.url + "/invocations", {"dataframe_records": _records(patients),
                                                          "params": {"curve_times": [3, 6, 12, beyond]}})
    assert status == 200, body
    answer = json.loads(body)
    expected = icipredict.predict_curve(patients, model=model, times=[3, 6, 12, 24])
    got = answer["curve"]
    assert len(got) == 4 * len(patients) and list(got[0]) == ["patient_id", "time_months", "s", "s_low", "s_high"]
    within = [r for r in got if r["time_months"] <= 12]
    exp = expected.loc[expected["time_months"] <= 12]
    assert [r["s"] for r in within] == exp["s"].tolist()
    assert all(r["s"] is None and r["s_low"] is None for r in got if r["time_months"] == beyond)
    assert answer["warnings"] == [f"time {beyond:g} months lies beyond {horizon:.1f} months, the longest time the "
                                  "training follow-up supports: its values are empty"]
    six = [r["s"] for r in got if r["time_months"] == 6]
    assert six == [p["p_durable_benefit"] for p in answer["predictions"]]
    assert set(CURVE_COLUMNS) <= set(answer["predictions"][0])


def test_invocations_curve_times_in_the_query_string_for_a_csv_body(server):
    import urllib.request

    csv = "patient_id,pdl1_tps\nq1,50\nq2,0\n".encode()
    req = urllib.request.Request(server.url + "/invocations?curve_times=6,12", data=csv,
                                 headers={"Content-Type": "text/csv"})
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.loads(r.read())
    assert [(c["patient_id"], c["time_months"]) for c in answer["curve"]] == [("q1", 6), ("q1", 12), ("q2", 6),
                                                                            ("q2", 12)]


@pytest.mark.parametrize(("params", "message"), [
    ({"curve_times": [3, "six"]}, "params.curve_times: expected a list of months as numbers >= 0 (e.g. [3, 6, 12, "
                                  "24]). Got 'six' instead."),
    ({"curve_times": [-1]}, "Got -1 instead."),
    ({"curve_times": []}, "Got nothing instead."),
    ({"curve_times": "3,6"}, "params.curve_times: expected months as numbers >= 0 separated by commas"),
    ({"curve_times": {"a": 1}}, "params.curve_times: expected a list of months"),
    ({"curve_times": [True]}, "Got True instead."),
    ({"curve_times": 6}, ""),
    ({"curve_times": True}, "Got True instead."),
], ids=["word", "negative", "empty", "text_is_read", "object", "bool", "one_number_is_read", "bool_alone"])
def test_invocations_refuse_bad_curve_times(server, params, message):
    status, body = http_json(server.url + "/invocations", {"inputs": [{"patient_id": "a"}], "params": params})
    if params["curve_times"] in ("3,6", 6):  # a comma text is accepted as in the query string, one number as one time
        assert status == 200 and len(json.loads(body)["curve"]) == (2 if params["curve_times"] == "3,6" else 1), body
        return
    assert status == 400, body
    assert message in json.loads(body)["message"]


def test_a_model_without_a_curve_says_so_on_the_page_and_refuses_curve_times(small_model):
    from icipredict.web.app import create_app

    client = create_app(small_model).test_client()
    page = client.post("/", data={"patient_id": "old-1", "pdl1_tps": "60"}).get_data(as_text=True)
    assert 'data-has-curve="false"' in page and "This model has no progression-free curve" in page
    assert "pfs-landmarks" not in page
    r = client.post("/invocations", json={"inputs": [{"patient_id": "a"}], "params": {"curve_times": [6]}})
    assert r.status_code == 400 and "has no progression-free curve" in r.get_json()["message"]
    r = client.post("/invocations", json={"inputs": [{"patient_id": "a"}]})
    assert r.status_code == 200 and "curve" not in r.get_json()


def test_invocations_refuse_a_repeated_curve_times_query(server):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server.url + "/invocations?curve_times=6&curve_times=12",
                                 data=b"patient_id,pdl1_tps\nq1,50\n", headers={"Content-Type": "text/csv"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400
    assert "expected curve_times once, as one comma-separated list" in json.loads(err.value.read())["message"]
