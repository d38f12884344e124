"""The one-patient report a clinician reads in 30 seconds: what it says, and writing it.

``icipredict explain --model M --input X --patient ID --output report.html|.png|.pdf``. The report
gives the probability of durable clinical benefit as a big number with its 90 % interval; the
benefit group in words with the thresholds behind it; the TIME class 2x2 with the patient's cell
highlighted, the numbering in use, the class-level rates the model knows and the TIL measure that
set the TIL status; the inputs that moved the estimate, in their own terms and in percentage
points; where the patient sits on the model's internal-external calibration curve; the missing
inputs; the warnings; and the caveat to recalibrate on local outcomes first.

:func:`report_for` predicts one patient of a table and builds the report's content
(:func:`icipredict.report.content.build_report`: every sentence written once); :func:`patient_report`
writes it as HTML (:mod:`icipredict.report.html`, also the calculator page's result) or as a
one-page figure (:mod:`icipredict.report.figures`, PNG or PDF).

>>> from icipredict.report.patient import patient_report                    # doctest: +SKIP
>>> patient_report("public", "patients.csv", "P-0001", "report.html")  # doctest: +SKIP
PosixPath('report.html')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, trim
from icipredict.io import read_patients
from icipredict.io.output import atomic_path, check_output, refuse_model_folder
from icipredict.model.bundle import model_folders
from icipredict.table.labels import is_missing
from icipredict.report.curve import curve_summary, report_curve_times
from icipredict.report.content import (MIN_EFFECT, REPORT_EXPLAIN, Contribution, PatientReport, TimeCell,
                                       build_report)
from icipredict.report.curve_page import report_bytes
from icipredict.report.html import report_page
from icipredict.table.schema import ValidationReport, validate_patients
from icipredict.serve.predict import LoadedModel, load_model, patients_frame, predict

__all__ = ["PatientReport", "Contribution", "TimeCell", "build_report", "report_for", "patient_report", "write_report",
           "patient_curve", "curve_horizon", "add_curve", "REPORT_SUFFIXES", "REPORT_EXPLAIN", "MIN_EFFECT"]

#: Output suffixes :func:`patient_report` writes.
REPORT_SUFFIXES: tuple[str, ...] = (".html", ".htm", ".png", ".pdf")


def report_for(model: str | os.PathLike | LoadedModel, patients: Any, patient_id: str, *,
               input_format: str = "auto", explain: int = REPORT_EXPLAIN) -> PatientReport:
    """Predict one patient of a table and build the report's content.

    Parameters
    ----------
    model : str, path or LoadedModel
        Anything :func:`icipredict.load_model` accepts.
    patients : DataFrame, dict or path
        A patient table (or a file / study folder :func:`icipredict.io.read_patients` reads).
    patient_id : str
        The patient to report on.

    Raises
    ------
    InvalidPatientData
        The table breaks the schema, or has no patient ``patient_id``.

    Examples
    --------
    >>> report_for("public", {"patient_id": "p1", "pdl1_tps": 60}, "p1").p_text  # doctest: +SKIP
    '41%'
    """
    loaded = load_model(model)
    if isinstance(patients, (str, os.PathLike)):
        patients = read_patients(patients, format=input_format)
    clean = validate_patients(patients_frame(patients)).frame
    hit = np.flatnonzero(clean["patient_id"].astype(str).to_numpy() == str(patient_id))
    if len(hit) == 0:
        sample = ", ".join(trim(x, 40) for x in clean["patient_id"].astype(str).head(5))
        raise InvalidPatientData(f"patient {trim(patient_id)!r}, column 'patient_id': expected an id present in the "
                                 f"input. Got no such patient instead (first ids: {sample}).")
    one = clean.iloc[hit[:1]].reset_index(drop=True)
    row = predict(ValidationReport(one), model=loaded, explain=explain).iloc[0]  # checked above: not again
    values = {k: v for k, v in one.iloc[0].items() if not is_missing(v)}
    curve, horizon = patient_curve(loaded, ValidationReport(one))
    return add_curve(build_report(row, loaded.metadata, values), row, curve, horizon=horizon)


def add_curve(report: PatientReport, row: Any, curve: pd.DataFrame | None, *,
              horizon: float | None = None) -> PatientReport:
    """``report`` with the patient's progression-free curve (rows of :func:`icipredict.predict_curve`) and its
    words; unchanged when ``curve`` is None (the model has no curve, and the report says so).

    Examples
    --------
    >>> curve, horizon = patient_curve(model, {"patient_id": "p1"})     # doctest: +SKIP
    >>> add_curve(build_report(row, model.metadata), row, curve, horizon=horizon).curve.median_text  # doctest: +SKIP
    """
    if curve is not None:
        report.curve = curve_summary(curve, row, horizon=horizon, level=report.level)
    return report


def curve_horizon(model: LoadedModel) -> float | None:
    """The longest time (months) the model's training follow-up supports; None for a model without a curve."""
    if not getattr(model, "has_curve", False):
        return None
    return float(model.model.baseline.horizon)


def patient_curve(model: LoadedModel, patients: Any) -> tuple[pd.DataFrame | None, float | None]:
    """The curve the report draws, read every quarter month up to the horizon (and at the landmarks), with the
    horizon; ``(None, None)`` for a model without a curve (the report then says so).

    Examples
    --------
    >>> curve, horizon = patient_curve(load_model("public"), {"patient_id": "p1"})  # doctest: +SKIP
    """
    horizon = curve_horizon(model)
    if horizon is None:
        return None, None
    return model.curve(patients, times=report_curve_times(horizon)), horizon


def patient_report(model: str | os.PathLike | LoadedModel, source: Any, patient_id: str, out: str | os.PathLike,
                   *, input_format: str = "auto") -> Path:
    """Write the one-patient report as ``.html`` (self-contained), ``.png`` or ``.pdf``; return its path.

    Parameters
    ----------
    model : str, path or LoadedModel
        Anything :func:`icipredict.load_model` accepts.
    source : DataFrame, dict or path
        The patient table (canonical CSV/Parquet, cBioPortal folder, ...).
    patient_id : str
        The patient to report on.
    out : path
        The report file; its suffix decides the format. Never one of the inputs.

    Raises
    ------
    OutputRefused
        ``out`` has another suffix, is a folder or an input, is in (or holds) the model's folder, or its
        folder cannot take a file.
    InvalidPatientData
        The table breaks the schema, or has no such patient.

    Examples
    --------
    >>> patient_report("public", "patients.csv", "P-0001", "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    out = Path(out)
    sources = [source] if isinstance(source, (str, os.PathLike)) else []
    refuse_model_folder(out, model_folders([model]), flag="out")  # before a folder is made inside a model
    out.parent.mkdir(parents=True, exist_ok=True)
    check_output(out, sources, flag="out", suffixes=REPORT_SUFFIXES, models=model_folders([model]))
    return write_report(report_for(model, source, patient_id, input_format=input_format), out)


def write_report(report: PatientReport, out: str | os.PathLike) -> Path:
    """Write a built report to ``out``, checked already (:func:`patient_report` checks it): its suffix decides the
    format; an interrupted write leaves no half report."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        data = report_page(report).encode("utf-8")
    else:
        data = report_bytes(report, "pdf" if suffix == ".pdf" else "png")
    with atomic_path(out) as tmp:  # an interrupted run never leaves half a report
        tmp.write_bytes(data)
    return out
