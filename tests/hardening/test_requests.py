"""Hardening III: every request limit holds on every entry point, and a request is never answered
silently wrong.

The calculator's routes run in-process (Flask's test client) and, for what only a real server
shows (a chunked body without Content-Length), through ``icipredict serve`` in a subprocess with
``ICIPREDICT_MAX_REQUEST_BYTES=20000``. Excel "zip bombs" are built here: a real workbook whose
sheet XML is replaced by many identical rows, which pack about a thousand times.
"""

from __future__ import annotations

import http.client
import io
import json
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from process_support import CLI, run_cli, serve

import icipredict
from icipredict.exceptions import InvalidPatientData
from icipredict.io import read_patients
from icipredict.io.limits import Limits
from icipredict.web.app import create_app
from icipredict.web.requests import json_depth

LIMIT = 20_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def client(small_model):
    return create_app(small_model, max_rows=5, max_bytes=LIMIT).test_client()


@pytest.fixture(scope="module")
def roomy(small_model):
    """The default byte limit (128 MiB)."""
    return create_app(small_model, max_rows=5).test_client()


def _post(client, body: bytes | str, content_type: str = "application/json"):
    return client.post("/invocations", data=body, content_type=content_type)


def _message(response) -> str:
    return response.get_json()["message"]


# -- JSON ids, nesting and declared types ------------------------------------------------------------

@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity"])
def test_json_id_that_no_one_can_match_back_is_a_400_naming_the_row(client, literal):
    body = '{"dataframe_records": [{"patient_id": "a", "tmb": 3}, {"patient_id": %s, "tmb": 4}]}' % literal
    response = _post(client, body)
    assert response.status_code == 400
    assert "patient 'row 2', column 'patient_id'" in _message(response)
    assert "finite number" in _message(response)


def test_python_api_refuses_non_finite_ids(small_model):
    for bad in (float("inf"), float("nan")):
        with pytest.raises(InvalidPatientData, match=r"'row 2', column 'patient_id'"):
            icipredict.predict({"patient_id": ["a", bad]}, model=small_model)


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000,
                                  b'{"dataframe_records": [{"patient_id": "a", "tmb": ' + b"[" * 20 + b"1"
                                  + b"]" * 20 + b"}]}",
                                  b'{"params": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001],
                         ids=["arrays-100000-deep", "a-list-in-a-cell", "objects-50000-deep"])
def test_json_nested_deeper_than_a_record_needs_is_a_400(roomy, body):
    response = _post(roomy, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert "ICIPREDICT_MAX_JSON_DEPTH" in _message(response)


def test_json_depth_skips_strings():
    assert json_depth(b'{"dataframe_records": [{"patient_id": "[[[{{\\"[["}]}') == 3
    assert json_depth(b"[]") == 1 and json_depth(b"12") == 0


def test_form_route_refuses_a_json_body(client):
    response = client.post("/", data=json.dumps({"patient_id": "x", "tmb": 5}), content_type="application/json")
    assert response.status_code == 415
    assert "Got &#39;application/json&#39; instead" in response.get_data(as_text=True)


def test_text_csv_with_a_json_body_is_a_400(client):
    response = _post(client, json.dumps({"dataframe_records": [{"patient_id": "a"}]}), "text/csv")
    assert response.status_code == 400 and "declared text/csv but holds JSON" in _message(response)


def test_unknown_content_type_is_a_415(client):
    response = _post(client, "patient_id\na\n", "text/plain")
    assert response.status_code == 415 and "expected application/json or text/csv" in _message(response)


def test_declared_length_over_the_limit_is_a_413(client):
    response = _post(client, json.dumps({"dataframe_records": [{"patient_id": "a", "tmb_assay": "x" * LIMIT}]}))
    assert response.status_code == 413 and "ICIPREDICT_MAX_REQUEST_BYTES" in _message(response)


# -- Excel: packing ratio, rows counted while reading --------------------------------------------------

def _xlsx_bomb(path: Path, rows: int) -> Path:
    """A real workbook (openpyxl) whose sheet holds ``rows`` identical rows: it packs about 1000 times."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["patient_id", "tmb"])
    small = io.BytesIO()
    book.save(small)
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
             b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
             b'patient_id</t></is></c><c r="B1" t="inlineStr"><is><t>tmb</t></is></c></row>'
             + b"<row><c><v>7</v></c><c><v>5</v></c></row>" * rows + b"</sheetData></worksheet>")
    with zipfile.ZipFile(small) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = sheet if item.filename == "xl/worksheets/sheet1.xml" else src.read(item.filename)
            dst.writestr(item.filename, data)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return _xlsx_bomb(tmp_path_factory.mktemp("xlsx") / "bomb.xlsx", 300_000)  # 12 MB of XML in ~20 KB


def test_excel_bomb_refused_from_its_listing_on_every_path(bomb, roomy):
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InvalidPatientData, match=r"unpacks to .* times\); expected at most 100 times "
                                                 r"\(ICIPREDICT_MAX_EXCEL_RATIO\)"):
        read_patients(bomb)
    proc = run_cli(["validate", "--input", str(bomb)], timeout=120)
    assert proc.returncode == 2 and "ICIPREDICT_MAX_EXCEL_RATIO" in proc.stderr and "Traceback" not in proc.stderr
    started = time.monotonic()
    response = roomy.post("/upload", data={"table": (io.BytesIO(bomb.read_bytes()), "bomb.xlsx"), "explain": "0"},
                          content_type="multipart/form-data")
    assert response.status_code == 400 and "ICIPREDICT_MAX_EXCEL_RATIO" in response.get_data(as_text=True)
    assert time.monotonic() - started < 20  # refused from the zip listing, nothing unpacked


def test_excel_rows_counted_while_reading(bomb, small_model, monkeypatch):
    monkeypatch.setenv("ICIPREDICT_MAX_EXCEL_RATIO", "100000")  # let the packing pass: the row limit must hold
    limited = create_app(small_model, max_rows=5).test_client()
    started = time.monotonic()
    response = limited.post("/upload", data={"table": (io.BytesIO(bomb.read_bytes()), "bomb.xlsx"), "explain": "0"},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "expected at most 5 (ICIPREDICT_MAX_REQUEST_ROWS). Got more rows instead (stopped reading at row 7)" \
        in response.get_data(as_text=True)
    assert time.monotonic() - started < 20  # stopped at row 7 (the message says so), not after 300,000


def test_limits_are_read_in_one_place(monkeypatch):
    monkeypatch.setenv("ICIPREDICT_MAX_JSON_DEPTH", "5")
    monkeypatch.setenv("ICIPREDICT_MAX_EXCEL_RATIO", "7")
    assert Limits.read(rows=3) == Limits(rows=3, bytes=128 * 2**20, depth=5, excel_ratio=7, columns=10_000)
    monkeypatch.setenv("ICIPREDICT_MAX_JSON_DEPTH", "deep")
    with pytest.raises(icipredict.InvalidConfig, match="ICIPREDICT_MAX_JSON_DEPTH: expected a positive integer"):
        Limits.read()


# -- a real server: a chunked body (no Content-Length) ---------------------------------------------------

@pytest.fixture(scope="module")
def server(small_model, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve(lambda port: [*CLI, "serve", "--model", str(small_model), "--port", str(port)], log,
               env={"ICIPREDICT_MAX_REQUEST_BYTES": str(LIMIT)}, name="icipredict serve") as served:
        yield served


def _chunked(url: str, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for start in range(0, len(body), 4096):
            part = body[start:start + 4096]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer and close before the whole body is sent
    response = conn.getresponse()
    return response.status, response.read()


def _records(n: int) -> bytes:
    return json.dumps({"dataframe_records": [{"patient_id": f"p{i:05d}", "tmb": 5, "pdl1_tps": 50}
                                             for i in range(n)]}).encode()


def test_chunked_body_over_the_limit_is_a_413_never_a_partial_answer(server):
    body = _records(800)
    assert len(body) > LIMIT
    status, answer = _chunked(server.url, "/invocations", body)
    assert status == 413, answer[:300]
    assert b"ICIPREDICT_MAX_REQUEST_BYTES" in answer and b"predictions" not in answer
    status, answer = _chunked(server.url, "/upload", b"--x\r\n" + b"y" * (2 * LIMIT), "multipart/form-data; "
                              "boundary=x")
    assert status == 413


def test_chunked_body_under_the_limit_is_read_whole(server):
    body = _records(100)
    assert len(body) < LIMIT
    status, answer = _chunked(server.url, "/invocations", body)
    assert status == 200
    ids = [r["patient_id"] for r in json.loads(answer)["predictions"]]
    assert ids == [f"p{i:05d}" for i in range(100)]


def test_csv_body_with_unknown_rows_reads_like_a_file(server):
    frame = pd.DataFrame({"patient_id": ["a", "b"], "tmb": [3, 30]})
    status, answer = _chunked(server.url, "/invocations", frame.to_csv(index=False).encode(), "text/csv")
    assert status == 200 and [r["patient_id"] for r in json.loads(answer)["predictions"]] == ["a", "b"]
