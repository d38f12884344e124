"""MLflow "models from code" file: the pyfunc whose ``predict`` is :func:`icipredict.predict`.

MLflow executes this file when it loads a logged or shipped icipredict model; nothing is unpickled.
The weights come from the ``bundle`` artefact (a verified, pickle-free bundle), loaded in
``load_context``. REST (``mlflow models serve``) and Spark (``mlflow.pyfunc.spark_udf``) therefore
give exactly the numbers and the validation of the Python API: the signature declares the input
columns with MLflow's ``AnyType``, so the package's own checks run first (``"pdl1_tps": "50%"`` is
accepted as in a CSV), and every refusal is a 400 naming the patient and column, never quoting
the request. The package never imports this file.
"""

from __future__ import annotations

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from icipredict.exceptions import InvalidPatientData
from icipredict.serve.curve_times import parse_curve_times
from icipredict.serve.predict import (MAX_ROWS_ENV, explain_error, is_explain, load_model, predict, predict_curve,
                                      request_limit)
from icipredict.serve.scoring_guard import guard_scoring_server


class PatientDataError(MlflowException):
    """An HTTP 400 whose message stays exactly as written.

    MLflow's scoring server rewrites the message of any ``MlflowException`` raised by ``predict``
    to ``"Failed to predict data '<the whole request>'..."``, which would copy every patient row
    into the response and the logs. This message names the patient and column only (values are
    trimmed), so later rewrites are ignored; no stack trace is attached.
    """

    def __init__(self, message: str):
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._fixed_message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_fixed_message"):
            self._fixed_message = value


def _invalid(message: str) -> MlflowException:
    return PatientDataError(message)


def _explain(params) -> int:
    k = (params or {}).get("explain", 0)
    k = 0 if k is None else k
    if not is_explain(k):
        raise _invalid(explain_error("params.explain", repr(str(k)[:80])))
    return int(k)


def _curve_times(params) -> tuple[float, ...] | None:
    """``params.curve_times`` (declared as a list of doubles, default empty: no curve) as months, or None."""
    times = (params or {}).get("curve_times")
    values = [] if times is None else list(getattr(times, "tolist", lambda: times)())
    if not values:
        return None
    try:
        return parse_curve_times(values, "params.curve_times")
    except ValueError as exc:
        raise _invalid(str(exc)) from None


class IcipredictModel(PythonModel):
    """Patient table in, the prediction table of :func:`icipredict.predict` out; with ``params.curve_times``, the
    progression-free curve of :func:`icipredict.predict_curve` instead (one row per patient and time)."""

    def load_context(self, context) -> None:
        self._model = load_model(context.artifacts["bundle"])
        # the largest request scored at once; bigger REST payloads get a 400 (Spark batches are smaller)
        self._max_rows = request_limit()
        # under `mlflow models serve`: the byte and nesting limits checked before MLflow parses a body
        guard_scoring_server()

    # MLflow infers no schema from a DataFrame hint, so the declared signature (AnyType columns, see above) stays
    # in force; without a hint MLflow advises one at every load and log, under its own warning filter
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        if hasattr(model_input, "__len__") and len(model_input) > self._max_rows:
            raise _invalid(f"request of {len(model_input)} patients exceeds the limit of {self._max_rows} per call "
                           f"({MAX_ROWS_ENV}); send smaller batches.")
        if isinstance(model_input, pd.DataFrame):
            model_input = model_input.copy()
            model_input.columns = [str(c) for c in model_input.columns]
            for c in model_input.columns:  # the signature hands over NaN for absent optional columns
                if model_input[c].dtype == object:
                    model_input[c] = model_input[c].where(model_input[c].notna(), None)
        explain = _explain(params)
        times = _curve_times(params)
        if times is not None and not self._model.has_curve:
            raise _invalid(f"params.curve_times: model {self._model.version} has no progression-free curve (it "
                           "predicts durable benefit at 6 months only); expected a request without curve_times. Got "
                           "curve_times instead.")
        try:
            if times is not None:  # the curve's rows answer: a time beyond the horizon gets empty values
                return predict_curve(model_input, model=self._model, times=times)
            return predict(model_input, model=self._model, explain=explain)
        except InvalidPatientData as exc:
            raise _invalid(str(exc)) from None


set_model(IcipredictModel())
