"""A bundle saved before the layout move loads after it and predicts exactly what it predicted then.

``tests/fixtures/main_bundle`` was written by the code of main before the move (commit f84fb2a):
``bundle/`` is a spline-logistic model trained on 240 synthetic patients (two centres, 50 bootstrap
resamples, figures left out), ``patients.csv`` 60 synthetic patients (``synthetic_cohort(60,
seed=21, outcomes=False)``), ``predictions.csv`` that code's ``predict(patients, model=bundle,
explain=3)`` written with ``to_csv(index=False)``, kept as ``predictions_main.csv``. The bundle format and
the predictions must not change with the module layout. Issue 21 then changed the output on purpose: the
``inputs_not_used`` column after ``missing_inputs``, top values as given (``0``, not ``0.0``) and the words of
the few-inputs warning; ``predictions.csv`` is that output, and every other cell is still main's, byte for byte.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

import icipredict
from icipredict.table.vocab import CURVE_COLUMNS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "main_bundle"


def test_the_bundle_of_main_loads_with_its_checksums_verified():
    model = icipredict.load_model(str(FIXTURE / "bundle"))
    assert model.metadata.name == "fixture"
    assert model.version.startswith("fixture-")


def test_the_bundle_of_main_gives_byte_identical_predictions():
    patients = pd.read_csv(FIXTURE / "patients.csv", dtype={"patient_id": str})
    got = io.StringIO()
    out = icipredict.predict(patients, model=str(FIXTURE / "bundle"), explain=3)
    # a bundle without a PFS curve: the curve columns (issue 22) are there and empty; every other column as before
    assert out[list(CURVE_COLUMNS)].isna().all().all()
    out.drop(columns=list(CURVE_COLUMNS)).to_csv(got, index=False)
    expected = (FIXTURE / "predictions.csv").read_text(encoding="utf-8")
    assert got.getvalue().splitlines() == expected.splitlines()
    assert got.getvalue() == expected


def test_only_issue_21s_changes_separate_the_predictions_from_mains():
    main = pd.read_csv(FIXTURE / "predictions_main.csv", dtype=str, keep_default_na=False)
    now = pd.read_csv(FIXTURE / "predictions.csv", dtype=str, keep_default_na=False)
    assert list(now.columns) == [*main.columns[:8], "inputs_not_used", *main.columns[8:]]
    for col in main.columns:
        if col.endswith("_value"):  # the same number, written as given
            same = [m == n or float(m) == float(n) and "." not in n for m, n in zip(main[col], now[col])]
            assert all(same), col
        elif col == "warnings":
            reworded = main[col].str.replace(r"only (\d+) of the model's (\d+) inputs given", r"only \1 of the \2 inputs "
                                             "this model uses given", regex=True).str.replace(
                " (p_low to p_high)", "", regex=False)
            assert reworded.tolist() == now[col].tolist()
        else:
            assert main[col].tolist() == now[col].tolist(), col
