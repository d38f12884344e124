"""``icipredict predict --curve-times ... --curve-output ...`` with a real curve model: in real subprocesses for
the whole-file curve, an argument refusal, a model without a curve and the help; the other calls in-process
(``cli.main``, the same code path without a fresh Python's seconds of imports).

The curve file is checked against the prediction file the same run writes (S(6) is
``p_durable_benefit``), times beyond the model's horizon against the horizon read from the bundle,
and every refusal against its message and exit code, with no output left behind.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from process_support import run_cli_in_process, run_cli_many

import icipredict
from icipredict.io.synthetic import synthetic_cohort


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    path = tmp_path_factory.mktemp("curve-cli") / "patients.csv"
    synthetic_cohort(12, seed=5, outcomes=False).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def runs(small_curve_model, small_model, patients):
    """Every CLI call of this module: SUBPROCESS two at a time (each spends most of its time importing), the
    others in-process."""
    folder = patients.parent
    model = str(small_curve_model)
    horizon = icipredict.load_model(model).model.baseline.horizon
    beyond = float(np.ceil(horizon + 6))
    base = ["predict", "--model", model, "--input", str(patients)]
    jobs = {
        "whole": [*base, "--output", str(folder / "pred.csv"), "--curve-times", f"3,6,12,{beyond:g}",
                  "--curve-output", str(folder / "curve.csv")],
        "chunks": [*base, "--output", str(folder / "pred_chunks.csv"), "--chunk-size", "5", "--curve-times",
                   f"3,6,12,{beyond:g}", "--curve-output", str(folder / "curve_chunks.parquet"), "--quiet"],
        "default_times": [*base, "--output", str(folder / "pred_default.csv"), "--curve-output",
                          str(folder / "curve_default.csv")],
        "word": [*base, "--output", str(folder / "no1.csv"), "--curve-times", "3,six",
                 "--curve-output", str(folder / "no1_curve.csv")],
        "negative": [*base, "--output", str(folder / "no2.csv"), "--curve-times", "3,-1",
                     "--curve-output", str(folder / "no2_curve.csv")],
        "empty_item": [*base, "--output", str(folder / "no3.csv"), "--curve-times", "3,,6",
                       "--curve-output", str(folder / "no3_curve.csv")],
        "alone": [*base, "--output", str(folder / "no4.csv"), "--curve-times", "3,6"],
        "no_curve_model": ["predict", "--model", str(small_model), "--input", str(patients), "--output",
                           str(folder / "no5.csv"), "--curve-output", str(folder / "no5_curve.csv")],
        "same_path": [*base, "--output", str(folder / "same.csv"), "--curve-output", str(folder / "same.csv")],
        "help": ["predict", "--help"],
    }
    in_process = {key: subprocess.CompletedProcess(args, *run_cli_in_process(args))
                  for key, args in jobs.items() if key not in SUBPROCESS}
    return in_process | run_cli_many({key: jobs[key] for key in SUBPROCESS}), folder, horizon, beyond


#: The calls run in real subprocesses: a curve written, an argument refusal, a model refused, the help.
SUBPROCESS = ("whole", "word", "no_curve_model", "help")


def test_curve_file_has_one_row_per_patient_and_time_and_agrees_with_predictions(runs):
    results, folder, horizon, beyond = runs
    r = results["whole"]
    assert r.returncode == 0, r.stderr
    pred = pd.read_csv(folder / "pred.csv")
    curve = pd.read_csv(folder / "curve.csv")
    assert list(curve.columns) == ["patient_id", "time_months", "s", "s_low", "s_high"]
    assert len(curve) == 4 * len(pred) == 48
    assert curve["patient_id"].tolist() == np.repeat(pred["patient_id"], 4).tolist()
    six = curve.loc[curve["time_months"] == 6].reset_index(drop=True)
    np.testing.assert_allclose(six["s"], pred["p_durable_benefit"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(six["s_low"], pred["p_low"], rtol=0, atol=1e-9)
    for months, column in ((3, "p_pfs_3m"), (12, "p_pfs_12m")):
        at = curve.loc[curve["time_months"] == months, "s"].to_numpy()
        np.testing.assert_allclose(at, pred[column], rtol=0, atol=1e-9)
    known = curve.loc[curve["time_months"] <= horizon]
    assert (known["s_low"] <= known["s"]).all() and (known["s"] <= known["s_high"]).all()
    far = curve.loc[curve["time_months"] == beyond]
    assert far[["s", "s_low", "s_high"]].isna().all().all() and len(far) == 12
    assert f"time {beyond:g} months lies beyond {horizon:.1f} months" in r.stderr
    assert r.stderr.count("lies beyond") == 1
    assert "48 curve rows (4 time(s) per patient) written to" in r.stderr


def test_chunks_write_the_same_curve(runs):
    results, folder, _, _ = runs
    assert results["chunks"].returncode == 0, results["chunks"].stderr
    assert results["chunks"].stderr.count("lies beyond") == 1  # said once, not once per chunk
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "curve_chunks.parquet"), pd.read_csv(folder / "curve.csv"),
                                  check_dtype=False)


def test_default_times_are_3_6_12_24(runs):
    results, folder, _, _ = runs
    assert results["default_times"].returncode == 0, results["default_times"].stderr
    curve = pd.read_csv(folder / "curve_default.csv")
    assert curve["time_months"].head(4).tolist() == [3, 6, 12, 24]


@pytest.mark.parametrize(("job", "message"), [
    ("word", "--curve-times: expected months as numbers >= 0 separated by commas (e.g. 3,6,12,24). Got 'six' "
             "instead."),
    ("negative", "--curve-times: expected months as numbers >= 0 separated by commas (e.g. 3,6,12,24). Got '-1' "
                 "instead."),
    ("empty_item", "Got an empty item instead."),
    ("alone", "--curve-times: expected --curve-output PATH with it"),
    ("no_curve_model", "has no progression-free curve (it predicts durable benefit at 6 months only)"),
    ("same_path", "--curve-output 'same.csv' is also --output" ),
], ids=["word", "negative", "empty_item", "alone", "no_curve_model", "same_path"])
def test_refusals_name_the_option_and_value_and_write_nothing(runs, job, message):
    results, folder, _, _ = runs
    r = results[job]
    assert r.returncode == 2, r.stderr
    assert message.replace("'same.csv'", repr(str(folder / "same.csv"))) in r.stderr
    assert "Traceback" not in r.stderr
    n = {"word": "no1", "negative": "no2", "empty_item": "no3", "alone": "no4", "no_curve_model": "no5",
         "same_path": "same"}[job]
    assert not list(folder.glob(f"{n}*"))


def test_help_documents_the_curve_options(runs):
    text = " ".join(runs[0]["help"].stdout.split())
    assert "--curve-times MONTHS" in text and "--curve-output PATH" in text
    assert "default 3,6,12,24" in text and "gets empty values and a warning" in text


@pytest.mark.parametrize(("times", "message"), [
    ("6,6", "--curve-times: expected each time once (the curve has one row per patient and time). Got 6 months "
            "twice instead."),
    ("3,6.0,6", "Got 6 months twice instead."),
    ("1_000", "Got '1_000' instead."),
    ("", "Got nothing instead."),  # an empty text is not the default list
], ids=["duplicate", "duplicate-spelt-differently", "underscore", "empty"])
def test_more_refused_curve_times(small_curve_model, patients, tmp_path, times, message):
    code, _, err = run_cli_in_process(["predict", "--model", str(small_curve_model), "--input", str(patients),
                                       "--output", str(tmp_path / "p.csv"), "--curve-times", times,
                                       "--curve-output", str(tmp_path / "c.csv")])
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not list(tmp_path.iterdir())


def test_minus_zero_is_month_zero(small_curve_model, patients, tmp_path):
    code, _, err = run_cli_in_process(["predict", "--model", str(small_curve_model), "--input", str(patients),
                                       "--output", str(tmp_path / "p.csv"), "--curve-times=-0,6",
                                       "--curve-output", str(tmp_path / "c.csv")])
    assert code == 0, err
    curve = pd.read_csv(tmp_path / "c.csv", dtype={"time_months": str})
    assert curve["time_months"].head(2).tolist() == ["0.0", "6.0"] or curve["time_months"].head(2).tolist() == ["0", "6"]
    assert (pd.to_numeric(curve.loc[curve["time_months"].isin(["0", "0.0"]), "s"]) == 1.0).all()


def test_many_times_beyond_the_horizon_are_named_five_at_most(small_curve_model):
    import warnings

    from icipredict.exceptions import InputWarning

    horizon = icipredict.load_model(str(small_curve_model)).model.baseline.horizon
    times = [float(np.ceil(horizon)) + k for k in range(1, 21)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        icipredict.predict_curve(synthetic_cohort(2, seed=1, outcomes=False), model=str(small_curve_model), times=times)
    said = [str(w.message) for w in caught if issubclass(w.category, InputWarning) and "beyond" in str(w.message)]
    assert len(said) == 1 and said[0].startswith(f"times {', '.join(f'{t:g}' for t in times[:5])} and 15 more months "
                                                 "lie beyond"), said
