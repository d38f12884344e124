"""The MLflow pyfunc with ``params.curve_times``: the progression-free curve through MLflow's own loading and
parameter checks (in process) and through ``mlflow models serve`` (REST), on the shipped curve model.

With ``curve_times`` the pyfunc answers :func:`icipredict.predict_curve`'s rows (one per patient and
time) instead of the prediction rows; without it, the prediction rows as before.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
import pytest
from process_support import http_json, serve

import icipredict
from icipredict.exceptions import InputWarning

PATIENTS = pd.DataFrame([{"patient_id": "a", "pdl1_tps": 60.0, "tmb": 12.0}, {"patient_id": "b", "tmb": 3.0},
                         {"patient_id": "c", "pdl1_band": ">=50", "ecog": 1}])


@pytest.fixture(scope="module")
def pyfunc():
    import mlflow

    return mlflow.pyfunc.load_model(icipredict.model_uri())


@pytest.fixture(scope="module")
def horizon():
    return icipredict.load_model("public").model.baseline.horizon


def test_pyfunc_curve_times_answer_predict_curves_rows(pyfunc, horizon):
    beyond = float(math.ceil(horizon + 6))
    with pytest.warns(InputWarning, match="lies beyond"):
        got = pyfunc.predict(PATIENTS, params={"curve_times": [3, 6, 12, beyond]})
    expected = icipredict.predict_curve(PATIENTS, model="public", times=[3, 6, 12, beyond])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))
    assert got.loc[got["time_months"] == beyond, ["s", "s_low", "s_high"]].isna().all().all()
    six = got.loc[got["time_months"] == 6, "s"].to_numpy()
    np.testing.assert_allclose(six, icipredict.predict(PATIENTS)["p_durable_benefit"], rtol=0, atol=1e-12)
    assert list(pyfunc.predict(PATIENTS).columns) == list(icipredict.predict(PATIENTS).columns)  # no params: as before


def test_pyfunc_refuses_a_negative_time_naming_it(pyfunc):
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match=r"params\.curve_times: expected a list of months as numbers >= 0 .* "
                                              r"Got -1\.0 instead\."):
        pyfunc.predict(PATIENTS, params={"curve_times": [3, -1]})


def test_rest_curve_times_through_mlflow_models_serve(tmp_path, horizon):
    log = tmp_path / "serve.log"
    command = lambda port: [sys.executable, "-m", "mlflow", "models", "serve", "-m", icipredict.model_uri(),  # noqa: E731
                            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    records = [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))}
               for r in PATIENTS.to_dict(orient="records")]
    with serve(command, log, {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty.db'}"},
               name="mlflow models serve (public)", startup_seconds=90) as served:
        status, body = http_json(served.url + "/invocations",
                                 {"dataframe_records": records, "params": {"curve_times": [6, 12]}})
        assert status == 200, body
        rows = json.loads(body)["predictions"]
        expected = icipredict.predict_curve(PATIENTS, model="public", times=[6, 12])
        assert [(r["patient_id"], r["time_months"]) for r in rows] == list(zip(expected["patient_id"],
                                                                               expected["time_months"]))
        assert [r["s"] for r in rows] == expected["s"].tolist()
        status, body = http_json(served.url + "/invocations",
                                 {"dataframe_records": records, "params": {"curve_times": [-2]}})
        assert status == 400 and "Got -2.0 instead." in json.loads(body)["message"]
