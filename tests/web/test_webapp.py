"""The calculator app through Flask's test client, on the shipped model: same numbers as ``predict``."""

from __future__ import annotations

import base64
import hashlib
import io
from html import escape as html_escape
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import icipredict
from icipredict.io.output import TableWriter
from icipredict.io.synthetic import synthetic_cohort
from icipredict.table.schema import COLUMNS
from icipredict.web.app import create_app, host_warning

PREDICTORS = [n for n, s in COLUMNS.items() if s.role == "predictor"]
ONE_PATIENT = {"patient_id": "W-001", "pdl1_tps": "60", "tmb": "14.5", "tmb_assay": "MSK-IMPACT panel",
               "regimen": "chemo_ici", "sex": "female", "age": "67", "smoking": "former", "ecog": "1",
               "histology": "adenocarcinoma", "mut_kras": "1", "mut_stk11": "0", "albumin": "3.8", "nlr": "4.2",
               "met_liver": "0"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The process's cwd for this module: a fresh folder, so that any file written to it is seen."""
    folder = tmp_path_factory.mktemp("cwd")
    before = os.getcwd()
    os.chdir(folder)
    yield folder
    os.chdir(before)


@pytest.fixture(scope="module")
def model():
    return icipredict.load_model("public")


@pytest.fixture(scope="module")
def client(workdir, model):
    return create_app(model).test_client()


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return synthetic_cohort(20, seed=3, outcomes=False)


def _field_block(html: str, name: str) -> str:
    """The HTML of one form field, from its container to the next field's."""
    start = html.index(f'id="field-{name}"')
    end = html.find('<div class="field', start + 1)
    return html[start:end if end > 0 else None]


def _probability(html: str) -> float:
    return float(re.search(r'id="probability"[^>]*data-value="([^"]+)"', html).group(1))


def _expected_records(df: pd.DataFrame) -> list[dict]:
    """``predict``'s rows as JSON would carry them: NaN as null, numpy scalars as Python ones."""
    def plain(v):
        if isinstance(v, np.generic):
            v = v.item()
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
    return [{k: plain(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def _json_rows(df: pd.DataFrame) -> list[dict]:
    """Records as a client would send them: missing values left out."""
    return [{k: v for k, v in rec.items() if v is not None} for rec in _expected_records(df)]


def _post_json(client, body, **kw):
    return client.post("/invocations", data=json.dumps(body), content_type="application/json", **kw)


# -- the form -----------------------------------------------------------------------------------------

def test_form_renders_every_predictor_with_label_unit_and_range(client):
    html = client.get("/").get_data(as_text=True)
    assert "Decision support for research, not a medical device" in html
    for name in PREDICTORS:
        spec = COLUMNS[name]
        block = _field_block(html, name)
        assert f'<label for="f-{name}">' in block and f'id="f-{name}" name="{name}"' in block, name
        if spec.unit:
            assert spec.unit in block, f"{name}: unit {spec.unit!r} not shown"
        if spec.kind in ("float", "int") and spec.high is not None:
            assert f"{spec.high:g}" in block, f"{name}: range not shown"
        for category in spec.categories:
            assert f'<option value="{html_escape(category)}"' in block, (name, category)
        if spec.kind == "binary":
            assert all(f'<option value="{v}"' in block for v in ("", "0", "1")), name


def test_form_groups_inputs_into_sections(client):
    html = client.get("/").get_data(as_text=True)
    starts = {s: html.index(f'id="section-{s}"') for s in ("biomarkers", "til", "mutations", "clinical")}
    order = sorted(starts, key=starts.get)

    def section_of(name):
        pos = html.index(f'id="field-{name}"')
        return max((s for s in order if starts[s] < pos), key=starts.get)

    assert {section_of(n) for n in ("pdl1_tps", "pdl1_band", "tmb", "tmb_assay")} == {"biomarkers"}
    assert {section_of(n) for n in ("til_pct", "til_density", "til_status")} == {"til"}
    assert {section_of(n) for n in PREDICTORS if n.startswith("mut_")} == {"mutations"}
    assert {section_of(n) for n in ("age", "ecog", "regimen", "albumin", "nlr")} == {"clinical"}


def test_one_patient_form_gives_predicts_probability(client, model):
    response = client.post("/", data=ONE_PATIENT)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    numeric = {k: (float(v) if re.fullmatch(r"[\d.]+", v) else v) for k, v in ONE_PATIENT.items()}
    expected = icipredict.predict(numeric, model=model, explain=3).iloc[0]
    p = float(expected["p_durable_benefit"])
    assert abs(_probability(html) - p) <= 1e-9
    assert f">{100 * p:.0f}%</span>" in html
    group = expected.get("benefit_group", expected.get("risk_group"))
    assert f"{group.capitalize()} likelihood of durable benefit" in html
    assert str(expected["time_class"]) in html
    assert 'id="contributions"' in html
    assert 'value="14.5"' in _field_block(html, "tmb")  # the form keeps what was typed
    assert '<option value="chemo_ici" selected>' in _field_block(html, "regimen")


def test_empty_form_predicts_with_default_id_and_lists_missing_inputs(client, model):
    html = client.post("/", data={}).get_data(as_text=True)
    expected = icipredict.predict({"patient_id": "patient"}, model=model)
    assert abs(_probability(html) - float(expected["p_durable_benefit"].iloc[0])) <= 1e-9
    assert '<span id="result-patient">patient</span>' in html
    assert 'id="missing-inputs"' in html and 'id="warnings"' in html


@pytest.mark.parametrize(("column", "value", "said"), [
    ("pdl1_tps", "150", "Got 150 instead"),
    ("albumin", "38", "Got 38 (this looks like g/L"),
    ("ecog", "2.5", "Got 2.5 instead"),
    ("sex", "x", "Got &#39;x&#39; instead"),
], ids=["pdl1-over-100", "albumin-in-g-per-L", "ecog-not-integer", "unknown-category"])
def test_invalid_value_is_shown_next_to_its_field(client, column, value, said):
    response = client.post("/", data={**ONE_PATIENT, column: value})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and 'id="result"' not in html
    block = _field_block(html, column)
    assert f'id="error-{column}"' in block and f"column &#39;{column}&#39;" in block and said in block
    assert 'aria-invalid="true"' in block
    assert f'value="{value}"' in block or f'<option value="{value}" selected>' in block
    assert 'class="error"' not in _field_block(html, "tmb")
    assert 'value="14.5"' in _field_block(html, "tmb")  # the other values stay


def test_two_invalid_values_each_stay_with_their_field(client):
    html = client.post("/", data={**ONE_PATIENT, "pdl1_tps": "150", "albumin": "38"}).get_data(as_text=True)
    assert "Got 150 instead" in _field_block(html, "pdl1_tps") and "Got 150" not in _field_block(html, "albumin")
    assert "Got 38" in _field_block(html, "albumin") and "Got 38" not in _field_block(html, "pdl1_tps")
    assert html.count('href="#f-') == 2  # the summary links to both fields


# -- upload ---------------------------------------------------------------------------------------------

def _upload(client, content: bytes, name: str, **form):
    return client.post("/upload", data={"table": (io.BytesIO(content), name), **form},
                       content_type="multipart/form-data")


def test_upload_csv_gives_predicts_numbers(client, model, patients):
    expected = icipredict.predict(patients, model=model)
    content = patients.to_csv(index=False).encode()
    shown = _upload(client, content, "cohort.csv", action="show")
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert re.findall(r"<td>(SYN-\d+)</td>", html) == patients["patient_id"].tolist()
    # each row shows p_durable_benefit, p_low and p_high, in that order
    shown_p = re.findall(r"<td>([01]\.\d{3})</td>", html)[0::3][:20]
    assert [f"{p:.3f}" for p in expected["p_durable_benefit"]] == shown_p
    csv_from_link = base64.b64decode(re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html).group(1))

    download = _upload(client, content, "cohort.csv", action="download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.data == csv_from_link
    got = pd.read_csv(io.BytesIO(download.data), keep_default_na=False)
    assert list(got.columns) == list(expected.columns)
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    assert np.abs(got["p_durable_benefit"].to_numpy(float) - expected["p_durable_benefit"].to_numpy(float)).max() <= 1e-9
    for col in ("benefit_group", "time_class", "missing_inputs", "warnings"):
        if col in expected:
            assert got[col].tolist() == expected[col].tolist(), col


def test_upload_with_explain_adds_contribution_columns(client, patients):
    download = _upload(client, patients.to_csv(index=False).encode(), "c.csv", action="download", explain="2")
    got = pd.read_csv(io.BytesIO(download.data))
    assert {"top1_feature", "top2_feature"} <= set(got.columns) and "top3_feature" not in got.columns


def test_upload_download_neutralises_formulas_as_the_cli_does(client, model, tmp_path):
    """An id a spreadsheet would run as a formula comes back as text, byte for byte the CLI's CSV."""
    patients = pd.DataFrame({"patient_id": ['=HYPERLINK("x")', "@SUM(1)", "ok"], "tmb": [12.0, 3.0, 20.0]})
    expected = icipredict.predict(patients, model=model)
    with TableWriter(tmp_path / "cli.csv") as writer:
        writer.write(expected)
        writer.commit()
    content = patients.to_csv(index=False).encode()
    download = _upload(client, content, "formulas.csv", action="download")
    assert download.status_code == 200
    assert download.data == (tmp_path / "cli.csv").read_bytes()
    got = pd.read_csv(io.BytesIO(download.data), keep_default_na=False)
    assert got["patient_id"].tolist() == ["'=HYPERLINK(\"x\")", "'@SUM(1)", "ok"]
    html = _upload(client, content, "formulas.csv", action="show").get_data(as_text=True)
    link = base64.b64decode(re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', html).group(1))
    assert link == download.data


def test_upload_invalid_table_names_patient_column_and_value(client, patients):
    bad = patients.copy()
    bad.loc[4, "albumin"] = 38
    response = _upload(client, bad.to_csv(index=False).encode(), "bad.csv")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "patient &#39;SYN-000005&#39;, column &#39;albumin&#39;" in html and "Got 38" in html
    assert "Traceback" not in html


@pytest.mark.parametrize(("content", "name", "said"), [
    (b"", "empty.csv", "the file is empty"),
    (b"patient_id,age\np1,64\n", None, "Choose a patient table"),
    ("patient_id,histology\np1,adénocarcinome\n".encode("latin-1"), "latin.csv", "not valid UTF-8"),
], ids=["empty-file", "no-file", "latin-1"])
def test_upload_unreadable_table_is_explained(client, content, name, said):
    data = {"action": "show"} if name is None else {"table": (io.BytesIO(content), name)}
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert said in response.get_data(as_text=True)


def test_upload_xlsx_without_openpyxl_says_so(client):
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("openpyxl is installed: the .xlsx upload is read, not refused")
    html = _upload(client, b"PK\x03\x04" + b"\x00" * 64, "cohort.xlsx").get_data(as_text=True)
    assert "needs the optional package openpyxl, which is not installed" in html and "pip install openpyxl" in html


def test_upload_xlsx_with_openpyxl_matches_csv(client, model, patients):
    pytest.importorskip("openpyxl")
    buffer = io.BytesIO()
    patients.to_excel(buffer, index=False)
    got = pd.read_csv(io.BytesIO(_upload(client, buffer.getvalue(), "c.xlsx", action="download").data))
    assert np.allclose(got["p_durable_benefit"], icipredict.predict(patients, model=model)["p_durable_benefit"],
                       atol=1e-9)


# -- /invocations -----------------------------------------------------------------------------------------

def _request(kind: str, df: pd.DataFrame) -> dict:
    rows = _json_rows(df)
    columns = list(df.columns)
    plain = _expected_records(df)
    if kind == "dataframe_split":
        return {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in plain]}}
    if kind == "inputs_columns":
        return {"inputs": {c: [r[c] for r in plain] for c in columns}}
    return {kind: rows}


@pytest.mark.parametrize("kind", ["dataframe_records", "dataframe_split", "instances", "inputs", "inputs_columns"])
def test_invocations_give_exactly_predicts_records(client, model, patients, kind):
    response = _post_json(client, _request(kind, patients))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == _expected_records(icipredict.predict(patients, model=model))


def test_invocations_explain_param(client, model, patients):
    response = _post_json(client, {"dataframe_records": _json_rows(patients.head(5)), "params": {"explain": 3}})
    assert response.status_code == 200
    assert response.get_json()["predictions"] == _expected_records(
        icipredict.predict(patients.head(5), model=model, explain=3))


def test_invocations_csv_body(client, model, patients):
    response = client.post("/invocations", data=patients.to_csv(index=False), content_type="text/csv")
    got = pd.DataFrame(response.get_json()["predictions"])
    assert np.abs(got["p_durable_benefit"] - icipredict.predict(patients, model=model)["p_durable_benefit"]).max() <= 1e-9


@pytest.mark.parametrize(("body", "said"), [
    ("{bad json", r"not valid JSON \(Expecting property name"),
    ("[1, 2]", r"exactly one of dataframe_records.*Got a JSON array instead"),
    ('{"records": []}', r"Got the keys \['records'\] instead"),
    ('{"dataframe_records": [], "instances": []}', r"exactly one of"),
    ('{"dataframe_records": []}', r"at least one patient"),
    ('{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": -1}}', r"params.explain: expected an integer from 0 to \d+ .*Got -1 instead"),
    ('{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": "3"}}', r"params.explain.*Got \"3\" instead"),
    ('{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": 999}}', r"params.explain.*Got 999 instead"),
    ('{"dataframe_records": [{"patient_id": "a"}], "params": {"explain": true}}', r"params.explain.*Got true instead"),
    ('{"dataframe_records": [{"patient_id": "a"}], "params": {"top": 3}}', r"params: expected only 'explain'"),
    ('{"dataframe_records": [{"patient_id": "a", "tmb": [1, 2]}]}', r"patient 'a', column 'tmb': expected a number, a string or null. Got a JSON array"),
    ('{"dataframe_split": {"columns": ["patient_id", "tmb"], "data": [["a"]]}}', r"data\[0\]: expected a list of 2 values.*Got 1 values"),
    ('{"dataframe_records": [{"patient_id": "a", "pdl1_tps": 150}]}', r"patient 'a', column 'pdl1_tps': expected .* Got 150 instead"),
], ids=["bad-json", "not-an-object", "unknown-key", "two-formats", "no-patients", "explain-negative", "explain-string",
        "explain-too-large", "explain-bool", "unknown-param", "nested-value", "ragged-split", "out-of-range"])
def test_invocations_bad_request_is_400_with_clear_message(client, body, said):
    response = client.post("/invocations", data=body, content_type="application/json")
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert re.search(said, answer["message"]), answer["message"]


def test_invocations_never_echo_a_huge_value(client):
    huge = "9" * 5000
    response = _post_json(client, {"dataframe_records": [{"patient_id": "p" * 500, "tmb": huge, "age": 30}]})
    message = response.get_json()["message"]
    assert response.status_code == 400 and "column 'tmb'" in message
    assert huge[:100] not in message and "p" * 100 not in message and len(message) < 600


def test_request_limits_rows_and_bytes(workdir, model, patients):
    small = create_app(model, max_rows=5, max_bytes=20_000).test_client()
    rows = _post_json(small, {"dataframe_records": _json_rows(patients.head(6))})
    assert rows.status_code == 400
    assert re.search(r"too many patients in one request: expected at most 5 \(ICIPREDICT_MAX_REQUEST_ROWS\)\. "
                     r"Got 6 instead", rows.get_json()["message"])
    assert _post_json(small, {"dataframe_records": _json_rows(patients.head(5))}).status_code == 200
    big = _post_json(small, {"dataframe_records": [{"patient_id": "a", "tmb_assay": "x" * 30_000}]})
    assert big.status_code == 400 and big.get_json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert re.search(r"too large: expected at most 20000 bytes .*Got \d+ bytes instead", big.get_json()["message"])
    upload = _upload(small, patients.to_csv(index=False).encode(), "c.csv")
    assert upload.status_code == 400 and "expected at most 5 (ICIPREDICT_MAX_REQUEST_ROWS). Got 20 instead" in \
        upload.get_data(as_text=True)


def test_limit_from_environment(monkeypatch, workdir, model):
    monkeypatch.setenv("ICIPREDICT_MAX_REQUEST_ROWS", "2")
    limited = create_app(model).test_client()
    response = _post_json(limited, {"instances": [{"patient_id": str(i)} for i in range(3)]})
    assert response.status_code == 400 and "expected at most 2" in response.get_json()["message"]
    monkeypatch.setenv("ICIPREDICT_MAX_REQUEST_ROWS", "many")
    with pytest.raises(icipredict.InvalidConfig, match="ICIPREDICT_MAX_REQUEST_ROWS: expected a positive integer. "
                                                       "Got 'many' instead"):
        create_app(model)


def test_ping_and_version(client, model):
    assert client.get("/ping").status_code == 200
    assert client.get("/version").get_json()["model_version"] == model.version


def test_host_warning_for_non_loopback_hosts():
    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None and host_warning("::1") is None
    assert "reachable from the network" in host_warning("0.0.0.0")
    assert "reachable from the network" in host_warning("192.168.1.20")


def test_unexpected_error_is_logged_without_its_message(model, caplog):
    from flask import request

    app = create_app(model)

    @app.post("/invocations-broken")
    def broken():  # a real route that fails the way a bug would, quoting patient data in its message
        patient = request.get_data(as_text=True)
        raise RuntimeError(f"patient {patient}")

    with caplog.at_level("ERROR"):
        response = app.test_client().post("/invocations-broken", data="SECRET-9 has tmb 123.456")
    assert response.status_code == 500 and "SECRET-9" not in response.get_data(as_text=True)
    assert "RuntimeError" in caplog.text and "in broken" in caplog.text
    assert "SECRET-9" not in caplog.text and "123.456" not in caplog.text


# -- nothing on disk -----------------------------------------------------------------------------------------

def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def test_nothing_is_written_to_disk(client, workdir, patients, tmp_path, monkeypatch):
    """Form, errors, a >500 KB upload (werkzeug would spool it to a temp file) and JSON: no file appears."""
    spool = tmp_path / "tempdir"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    before = _snapshot(workdir)
    big = synthetic_cohort(4000, seed=5, outcomes=False).to_csv(index=False).encode()
    assert len(big) > 500 * 1024
    assert client.post("/", data=ONE_PATIENT).status_code == 200
    assert client.post("/", data={**ONE_PATIENT, "pdl1_tps": "150"}).status_code == 400
    assert _upload(client, big, "big.csv", action="show").status_code == 200
    assert _upload(client, big, "big.csv", action="download").status_code == 200
    assert _post_json(client, {"dataframe_records": _json_rows(patients)}).status_code == 200
    assert os.getcwd() == str(workdir)
    assert _snapshot(workdir) == before
    assert list(spool.iterdir()) == []
