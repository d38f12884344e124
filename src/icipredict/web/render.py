"""What the calculator shows and offers for download: one patient's result with the patient report,
and an uploaded table's results (the first rows on the page, every row as CSV and JSON).
"""

from __future__ import annotations

import base64
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from icipredict.exceptions import InputWarning
from icipredict.io.output import neutralise_formulas
from icipredict.model.metadata import ModelMetadata
from icipredict.model.groups import benefit_group_meanings, benefit_groups_text
from icipredict.report.content import build_report
from icipredict.report.html import report_fragment
from icipredict.report.patient import add_curve
from icipredict.serve.predict import predict_curve

__all__ = ["render_result", "result_csv", "batch_result", "result_records", "curve_answer"]

_SHOWN_ROWS = 200  # an uploaded table's rows shown on the page; the CSV has them all
_DATA_URI_LIMIT = 2 * 2**20  # browsers refuse longer data: links


# -- results -----------------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _cell(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)


def render_result(row: Mapping[str, Any], metadata: ModelMetadata | None = None,
                  patient: Mapping[str, Any] | None = None, *, curve: pd.DataFrame | None = None,
                  horizon: float | None = None) -> Markup:
    """The HTML of one patient's result: the patient report's fragment (:mod:`icipredict.report.html`).

    The same report ``icipredict explain --input X --patient ID --output report.html`` writes: the probability with its 90 %
    interval, the benefit group in words with its thresholds, the TIME class 2x2, the inputs that
    moved the estimate in percentage points, the calibration position, the missing inputs, the
    warnings and the caveat to recalibrate locally. Needs no application context.

    Parameters
    ----------
    row : mapping
        One row of :func:`icipredict.predict`'s output (with ``explain=k`` for the contributions).
    metadata : ModelMetadata, optional
        The model's metadata (thresholds, calibration curve, TIME numbering and rates).
    patient : mapping, optional
        The patient's canonical values (the TMB assay is shown beside the TMB).
    curve, horizon : DataFrame and float, optional
        The patient's progression-free curve and the model's horizon
        (:func:`icipredict.report.patient.patient_curve`), for a model with a curve.

    Returns
    -------
    Markup

    Examples
    --------
    >>> import icipredict
    >>> model = icipredict.load_model("public")
    >>> row = icipredict.predict({"patient_id": "p1", "tmb": 12}, model=model, explain=3).iloc[0]
    >>> 'id="probability"' in render_result(row, model.metadata)
    True
    """
    return Markup(report_fragment(add_curve(build_report(row, metadata, patient), row, curve, horizon=horizon)))


def result_csv(result: pd.DataFrame) -> str:
    """The CSV a user downloads, with the CLI's protection: no text cell can start a spreadsheet formula."""
    return neutralise_formulas(result).to_csv(index=False)


#: The columns the uploaded table shows first, so that a row's group, warnings and inputs are read without
#: scrolling sideways; the others follow in ``predict``'s order (the model version is said once above it).
_FIRST_COLUMNS = ("patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "warnings", "missing_inputs",
                  "inputs_not_used")


def batch_result(result: pd.DataFrame, metadata: ModelMetadata | None = None) -> dict[str, Any]:
    """What the page shows of an uploaded table's predictions: the first rows, one cell per column (every row has
    its warnings cell), the benefit groups' meaning, and the whole CSV as a download link."""
    csv = result_csv(result)
    order = [c for c in _FIRST_COLUMNS if c in result] + [c for c in result.columns
                                                          if c not in _FIRST_COLUMNS and c != "model_version"]
    shown = result.head(_SHOWN_ROWS)[order]
    rows = [[(f"{v:.3f}" if c.startswith("p_") and not _missing(v) else _cell(v)) for c, v in zip(order, r)]
            for r in shown.itertuples(index=False)]
    uri = ("data:text/csv;charset=utf-8;base64," + base64.b64encode(csv.encode()).decode()
           if len(csv) <= _DATA_URI_LIMIT else None)
    return {"columns": order, "rows": rows, "n": len(result), "csv_uri": uri,
            "groups_text": benefit_groups_text(metadata), "group_meanings": benefit_group_meanings(metadata)}


def curve_answer(model: Any, frame: pd.DataFrame, times: tuple[float, ...]) -> dict[str, Any]:
    """The ``/invocations`` answer's ``curve`` (one record per patient and time; null beyond the horizon) and, when
    a time lies beyond the horizon, ``warnings`` saying so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        curve = predict_curve(frame, model=model, times=times)
    said = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, InputWarning)))
    return {"curve": result_records(curve), **({"warnings": said} if said else {})}


def result_records(result: pd.DataFrame) -> list[dict[str, Any]]:
    """``predict``'s rows as JSON-ready dicts: NaN as None, numpy scalars as Python ones."""
    obj = result.astype(object).where(result.notna(), None)
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in rec.items()}
            for rec in obj.to_dict(orient="records")]
