"""``mlflow models serve`` on a logged icipredict model: same numbers and same validation as Python."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from process_support import http_json, run_cli, serve
from serving_support import README, get_tracked_run, json_records, readme_block, synthetic_patients

pytestmark = pytest.mark.slow

MAX_ROWS = 100
MAX_BYTES = 1_000_000
STARTUP_SECONDS = 90


def _post(url: str, body: dict, timeout: float = 60.0) -> tuple[int, dict | str]:
    """POST ``body``; the answer as JSON (as text when an error answer is not JSON)."""
    status, raw = http_json(url, body, timeout)
    if 200 <= status < 300:  # urllib raises on every other status: an error answer
        return status, json.loads(raw)
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture(scope="module")
def run(tmp_path_factory, new_store):
    return get_tracked_run(tmp_path_factory, new_store)


def _serve(model_uri: str, log: Path, env: dict):
    """``mlflow models serve`` of ``model_uri``; yields its base URL once /ping answers."""
    return _serve_command(lambda port: [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
                                        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)], log, env)


@contextlib.contextmanager
def _serve_command(command: Callable[[int], list[str]], log: Path, env: dict):
    """A server started by ``command(port)`` in its own process group; yields its base URL once /ping answers."""
    with serve(command, log, env, name="mlflow models serve", startup_seconds=STARTUP_SECONDS) as served:
        yield served.url


@pytest.fixture(scope="module")
def server(run, tmp_path_factory):
    """A logged run served with a request limit of 100 patients and 1 MB."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with _serve(run.model_uri, log, {"MLFLOW_TRACKING_URI": run.tracking_uri,
                                     "ICIPREDICT_MAX_REQUEST_ROWS": str(MAX_ROWS),
                                     "ICIPREDICT_MAX_REQUEST_BYTES": str(MAX_BYTES)}) as url:
        yield url


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return synthetic_patients(20, seed=11)


@pytest.fixture(scope="module")
def python_predictions(run, patients) -> pd.DataFrame:
    import mlflow

    import icipredict

    mlflow.set_tracking_uri(run.tracking_uri)  # another test may have pointed mlflow elsewhere
    return icipredict.predict(patients, model=run.model_uri)


def test_rest_matches_python_and_cli(server, run, patients, python_predictions, tmp_path):
    status, body = _post(f"{server}/invocations", {"dataframe_records": json_records(patients)})
    assert status == 200, body
    rest = pd.DataFrame(body["predictions"])
    assert list(rest.columns) == list(python_predictions.columns)
    assert rest["patient_id"].tolist() == patients["patient_id"].tolist()

    csv = tmp_path / "patients.csv"
    patients.to_csv(csv, index=False)
    out = tmp_path / "predictions.csv"
    proc = run_cli(["predict", "--model", run.model_uri, "--input", str(csv), "--output", str(out), "--quiet"],
                   env={**os.environ, "MLFLOW_TRACKING_URI": run.tracking_uri}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(out, keep_default_na=False)
    assert cli["patient_id"].tolist() == patients["patient_id"].tolist()

    py = python_predictions["p_durable_benefit"].to_numpy(float)
    diff_rest = np.abs(rest["p_durable_benefit"].to_numpy(float) - py).max()
    diff_cli = np.abs(cli["p_durable_benefit"].to_numpy(float) - py).max()
    print(f"max |REST - Python| = {diff_rest:.3g}, max |CLI - Python| = {diff_cli:.3g}")
    assert diff_rest < 1e-6 and diff_cli < 1e-6
    for col in ("benefit_group", "time_class", "missing_inputs", "warnings", "model_version"):
        assert rest[col].fillna("").tolist() == python_predictions[col].tolist(), col
        assert cli[col].tolist() == python_predictions[col].tolist(), col


def test_rest_explain_param(server, patients):
    status, body = _post(f"{server}/invocations",
                         {"dataframe_records": json_records(patients.head(4)), "params": {"explain": 3}})
    assert status == 200, body
    rest = pd.DataFrame(body["predictions"])
    for i in (1, 2, 3):
        for part in ("feature", "value", "shap"):
            assert f"top{i}_{part}" in rest.columns
    assert "top4_feature" not in rest.columns
    assert rest["top1_feature"].notna().all()
    assert (rest["top1_shap"].abs() >= rest["top3_shap"].abs()).all()


def test_rest_invalid_value_is_400_naming_patient_and_column(server, patients):
    records = json_records(patients.head(3))
    bad_id = records[1]["patient_id"]
    records[1]["pdl1_tps"] = 160.0
    status, body = _post(f"{server}/invocations", {"dataframe_records": records})
    assert status == 400, body
    message = body["message"] if isinstance(body, dict) else body
    assert bad_id in message and "pdl1_tps" in message and "160" in message, message


def test_rest_oversized_payload_is_rejected(server):
    big = synthetic_patients(MAX_ROWS + 1, seed=12)
    status, body = _post(f"{server}/invocations", {"dataframe_records": json_records(big)})
    assert 400 <= status < 500, body
    message = body["message"] if isinstance(body, dict) else body
    assert f"{MAX_ROWS + 1} patients" in message and f"limit of {MAX_ROWS}" in message, message


def _post_raw(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_mlflow_server_refuses_a_body_over_the_byte_limit(server):
    """MLflow reads the whole body before the model: the pyfunc's guard answers 413 instead of scoring it."""
    body = json.dumps({"dataframe_records": [{"patient_id": "a", "tmb": 10, "note": "x" * (MAX_BYTES + 10)}]}).encode()
    status, answer = _post_raw(f"{server}/invocations", body)
    assert status == 413, answer
    assert f"the request body is {len(body):,} bytes; expected at most {MAX_BYTES:,} (ICIPREDICT_MAX_REQUEST_BYTES)" \
        in answer["message"]
    ok, _ = _post_raw(f"{server}/invocations", json.dumps({"dataframe_records": [{"patient_id": "a", "tmb": 10}]}).encode())
    assert ok == 200  # a body under the limit is still scored


def test_mlflow_server_refuses_json_nested_too_deep(server):
    """100,000 nested arrays: a 400 naming the depth limit, not MLflow's 500 from a RecursionError."""
    status, answer = _post_raw(f"{server}/invocations", b"[" * 100_000 + b"]" * 100_000)
    assert status == 400, answer
    assert "the JSON body nests 100000 levels deep; expected at most 8 (ICIPREDICT_MAX_JSON_DEPTH" in answer["message"]


def _readme_lines() -> tuple[str, str]:
    serve_line, curl_line = [ln for ln in readme_block("tests/serve/test_rest.py").splitlines() if ln.strip()]
    return serve_line, curl_line


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    """The README's serve line, run as written (only the port changes): the shipped model, served from an empty
    store, for the module (its base URL once /ping answers)."""
    tmp = tmp_path_factory.mktemp("shipped")
    serve_line, _ = _readme_lines()
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # this python, this mlflow
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'empty.db'}"}  # an empty store: no run to lean on
    with _serve_command(lambda port: ["bash", "-c", serve_line.replace(" -p 5000", f" -p {port}")],
                        tmp / "serve-readme.log", env) as url:
        yield url


def test_shipped_model_serves_without_a_training_run(shipped_server, patients):
    """``mlflow models serve -m "$(python -c 'import icipredict; print(icipredict.model_uri())')"``."""
    import icipredict

    assert _readme_lines()[0].startswith(
        """mlflow models serve -m "$(python -c 'import icipredict; print(icipredict.model_uri())')" """)
    expected = icipredict.predict(patients, model="public")
    status, body = _post(f"{shipped_server}/invocations", {"dataframe_records": json_records(patients)})
    assert status == 200, body
    rest = pd.DataFrame(body["predictions"])
    assert list(rest.columns) == list(expected.columns)
    assert rest["patient_id"].tolist() == expected["patient_id"].tolist()
    assert np.abs(rest["p_durable_benefit"].to_numpy(float) - expected["p_durable_benefit"].to_numpy(float)).max() < 1e-9
    assert rest["model_version"].tolist() == expected["model_version"].tolist()


# -- the README's example, verbatim ------------------------------------------------------------------

def _documented_keys(n_top: int) -> list[str]:
    """The answer's keys as the README lists them after the REST example, ``top{i}_*`` expanded."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = text.split("the same values as `predict`:", 1)[1].split("of each contribution.", 1)[0]
    names = re.findall(r"`([a-z0-9_{}]+)`", sentence)
    flat = [n for n in names if "{i}" not in n and n != "explain"]
    return flat + [n.replace("{i}", str(i)) for i in range(1, n_top + 1) for n in names if "{i}" in n]


def test_readme_rest_example_verbatim(shipped_server):
    """The README's two shell lines, run as written (only the port changes), answer what predict answers."""
    import icipredict

    serve_line, curl_line = _readme_lines()
    assert serve_line.startswith("mlflow models serve ") and " -p 5000" in serve_line
    assert curl_line.startswith("curl ") and "localhost:5000/invocations" in curl_line
    args = shlex.split(curl_line)
    body = json.loads(args[args.index("-d") + 1])
    url = shipped_server  # the serve line, as written
    port = url.rsplit(":", 1)[1]
    if shutil.which("curl"):
        proc = subprocess.run(["bash", "-c", curl_line.replace("localhost:5000", f"localhost:{port}")],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        answer = json.loads(proc.stdout)
    else:  # the same request without curl
        status, answer = _post(f"{url}/invocations", body)
        assert status == 200, answer
    explain = body["params"]["explain"]
    expected = icipredict.predict(body["dataframe_records"], model="public", explain=explain)
    got = pd.DataFrame(answer["predictions"])
    assert list(got.columns) == list(expected.columns) == _documented_keys(explain)
    for col in expected.columns:
        if pd.api.types.is_float_dtype(expected[col]):
            assert np.allclose(got[col].to_numpy(float), expected[col].to_numpy(float), atol=1e-9, equal_nan=True), col
        else:
            assert got[col].fillna("").astype(str).tolist() == expected[col].fillna("").astype(str).tolist(), col


# -- Hardening II through the real server: the package's checks run before MLflow's ------------------

SENTINEL = "SENTINEL-PATIENT-ROW"


@pytest.mark.parametrize(("records", "params", "status", "needles"), [
    pytest.param([{"patient_id": "a", "pdl1_tps": "50%", "tmb": 12}], None, 200, ["p_durable_benefit"],
                 id="percent-string-accepted"),
    pytest.param([{"patient_id": "a", "tmb_assay": SENTINEL}], {"explain": -1}, 400,
                 ["params.explain: expected an integer from 0 to", "Got '-1' instead"], id="explain-negative"),
    pytest.param([{"patient_id": "a", "tmb_assay": SENTINEL}, {"patient_id": "b", "age": "65%"}], None, 400,
                 ["patient 'b', column 'age'", "accepted only in percentage columns"], id="bad-value-named"),
    pytest.param([{"tmb": 3.0, "tmb_assay": SENTINEL}], None, 400, ["no 'patient_id' column"], id="missing-id"),
])
def test_rest_checks_run_before_mlflow_and_never_quote_rows(server, records, params, status, needles,
                                                             tmp_path_factory):
    body = {"dataframe_records": records, **({"params": params} if params else {})}
    got, answer = _post(f"{server}/invocations", body)
    assert got == status, answer
    text = json.dumps(answer)
    for needle in needles:
        assert needle in text, text
    if status == 400:
        assert SENTINEL not in text and "stack_trace" not in answer and "Traceback" not in text
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("serve*/serve.log"))
    assert logs and all(SENTINEL not in log.read_text(errors="replace") for log in logs)


def _strict_json(text: str):
    """JSON as the standard has it: a bare NaN or Infinity (which Python's json reads) is refused."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_mlflow_server_answers_empty_values_as_json_null(shipped_server):
    """A time beyond the horizon and a median not reached are empty: ``null``, as ``icipredict serve`` answers,
    not MLflow's bare ``NaN`` that JSON parsers refuse."""
    import icipredict

    record = {"patient_id": "a", "pdl1_tps": 90, "tmb": 40, "ecog": 0}
    for params, column in (({"curve_times": [6, 36]}, "s"), (None, "median_pfs_months")):
        status, raw = http_json(f"{shipped_server}/invocations",
                                {"dataframe_records": [record], **({"params": params} if params else {})}, 60.0)
        assert status == 200
        rows = _strict_json(raw.decode())["predictions"]
        if params:
            expected = icipredict.predict_curve([record], model="public", times=[6, 36])
            assert rows[0][column] == pytest.approx(float(expected[column].iloc[0]), abs=1e-12)
            assert rows[1][column] is None and np.isnan(expected[column].iloc[1])
        else:
            expected = icipredict.predict([record], model="public")
            assert np.isnan(expected[column].iloc[0]) and rows[0][column] is None


@pytest.mark.parametrize("params", [{"curve_times": "3,6"}, {"curve_times": [6, "x"]}, {"explain": "abc"}])
def test_mlflow_server_param_type_errors_never_quote_rows(shipped_server, params):
    """MLflow's own check of a parameter's type wraps its error around the request's rows; the answer keeps
    the reason only."""
    status, raw = http_json(f"{shipped_server}/invocations",
                            {"dataframe_records": [{"patient_id": "a", "tmb_assay": SENTINEL}], "params": params}, 60.0)
    text = raw.decode(errors="replace")
    assert status == 400, text
    answer = _strict_json(text)
    assert SENTINEL not in text and "Failed to predict data" not in text and answer["message"].strip(), text
