"""The bad-input matrix over ``validate``, ``predict``, ``train`` and the Python ``predict``.

Every bad file must end in exit code 2 with one ``icipredict: error:`` paragraph naming the
column (and the patient when one row is at fault), no traceback, and no prediction file.

Documented behaviour for delimiters: comma, tab and semicolon tables are read; a pipe-delimited
table is refused with a message that says it looks pipe-delimited (it is not guessed).

Every case runs ``icipredict`` in-process (``cli.main``, the same code path without a fresh Python's
seconds of imports); a representative subset (each command, file-level and row-level errors, an odd
but valid file) also runs in real subprocesses.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from process_support import run_cli_in_process, run_cli_many

from icipredict import predict
from icipredict.exceptions import InvalidPatientData
from icipredict.io import read_patients
from icipredict.table.schema import check_patients

def _rows(header: str, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


_SIX = [f"p{i}" for i in range(1, 7)]

# (content, needles every CLI message must contain, row_level)
BAD: dict[str, tuple[bytes | str, list[str], bool]] = {
    "empty-file": (b"", ["the file is empty"], False),
    "header-only": ("patient_id,age,sex,pdl1_tps\n", ["no patient rows", "header only"], False),
    "binary-garbage": (bytes(range(256)) * 8, ["not a text table", "binary data"], False),
    "pipe-delimited": (_rows("patient_id|age|sex", "p1|60|F", "p2|70|M"), ["pipe-delimited", "'|'"], False),
    "latin-1": ("patient_id,histology\np1,adenocarcinoma\np2,adénocarcinome\n".encode("latin-1"),
                ["not valid UTF-8", "column 'histology'", "patient 'p2'"], False),
    "missing-id-column": (_rows("id,age,sex", "p1,60,F"), ["no 'patient_id' column", "'id'"], False),
    "blank-ids": (_rows("patient_id,age", "p1,60", ",70", "  ,65"),
                  ["patient 'row 2', column 'patient_id'", "patient 'row 3'", "non-blank"], True),
    "duplicate-ids": (_rows("patient_id,age", "p1,60", "p2,70", "p1,65"),
                      ["patient 'p1', column 'patient_id'", "2 rows with this id"], True),
    "text-in-numeric": (_rows("patient_id,tmb,age", "p1,12,60", "p2,high,70"),
                        ["patient 'p2', column 'tmb'", "'high' (not a number)"], True),
    "tmb-negative": (_rows("patient_id,tmb", "p1,12", "p2,-3"), ["patient 'p2', column 'tmb'", "Got -3"], True),
    "ecog-9": (_rows("patient_id,ecog", "p1,9", "p2,1"), ["patient 'p1', column 'ecog'", "Got 9"], True),
    "age-200": (_rows("patient_id,age", "p1,60", "p2,200"),
                ["patient 'p2', column 'age'", "Got 200 (an impossible age)"], True),
    "pdl1-fractions": (_rows("patient_id,pdl1_tps", *(f"{p},{v}" for p, v in zip(_SIX, [0.1, 0.5, 0.02, 0.9, 0, 0.6]))),
                       ["column 'pdl1_tps'", "looks like a fraction"], False),
    "pfs-days": (_rows("patient_id,pfs_months,pfs_event",
                       *(f"{p},{v},1" for p, v in zip(_SIX, [300, 400, 120, 500, 90, 800]))),
                 ["column 'pfs_months'", "looks like days", "patient 'p1'"], True),
    "albumin-g-per-l": (_rows("patient_id,albumin", *(f"{p},{v}" for p, v in zip(_SIX, [38, 40, 35, 37, 41, 36]))),
                        ["column 'albumin'", "looks like g/L", "patient 'p1'"], True),
    "unknown-category": (_rows("patient_id,smoking,histology", "p1,never,adeno", "p2,sometimes,adeno"),
                         ["patient 'p2', column 'smoking'", "'sometimes'"], True),
    # one patient's row lost its age: sex lands in age, ecog in sex, ...
    "row-shifted-left": (_rows("patient_id,age,sex,ecog,tmb", "p1,64,F,1,5", "p2,M,1,5", "p3,60,M,0,3"),
                         ["patient 'p2', column 'age'", "Got 'M' (not a number)"], True),
    # one patient's row has an extra empty field: values move one column right
    "row-shifted-right": (_rows("patient_id,age,sex,ecog,tmb", "p1,64,F,1,5", "p2,,70,M,1,5", "p3,60,M,0,3"),
                          ["line 3 is patient 'p2'", "Expected 5 fields"], False),
}


def _write(folder: Path, content: bytes | str, name: str = "patients.csv") -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _assert_clean_error(code: int, err: str, needles: list[str], what: str) -> None:
    assert code == 2, f"{what}: exit {code}\n{err}"
    assert "Traceback" not in err, f"{what}: {err}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("icipredict: error: "), f"{what}: {err}"
    for needle in needles:
        assert needle in err, f"{what}: {needle!r} not in {err!r}"


def _run_many(jobs: dict, cwd: Path) -> dict:
    """Run CLI calls in-process, one after the other; each as (exit code, stdout, stderr)."""
    return {key: run_cli_in_process(args, cwd=cwd) for key, args in jobs.items()}


def _run_subprocesses(jobs: dict, cwd: Path) -> dict:
    """Run CLI calls in real subprocesses, two at a time; each as (exit code, stdout, stderr)."""
    return {key: (p.returncode, p.stdout, p.stderr)
            for key, p in run_cli_many(jobs, cwd=cwd, timeout=180, workers=2).items()}


def _bad_jobs(root: Path, model: Path, cases) -> dict:
    """validate and predict on each bad file of ``cases``, each file in a folder of its own under ``root``."""
    jobs = {}
    for case in cases:
        folder = root / case
        folder.mkdir()
        path = _write(folder, BAD[case][0])
        jobs[case, "validate"] = ["validate", "--input", str(path)]
        jobs[case, "predict"] = ["predict", "--model", str(model), "--input", str(path),
                                 "--output", str(folder / "predictions.csv")]
    return jobs


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory, small_model):
    """validate and predict on every bad file, run in-process once for the module."""
    root = tmp_path_factory.mktemp("bad_input")
    return root, _run_many(_bad_jobs(root, small_model, BAD), root)


def _assert_refused(root: Path, case: str, command: str, runs: dict) -> None:
    _, needles, _ = BAD[case]
    code, _, err = runs[case, command]
    _assert_clean_error(code, err, needles, command)
    if command == "predict":
        assert not (root / case / "predictions.csv").exists(), "predict wrote an output file for bad input"
        assert not list((root / case).glob(".predictions.csv*")), "predict left a partial file"


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
@pytest.mark.parametrize("command", ["validate", "predict"])
def test_cli_refuses_bad_input(case, command, bad_runs):
    root, runs = bad_runs
    _assert_refused(root, case, command, runs)


#: File-level (empty, binary, not UTF-8, a row with a field too many) and row-level (text in a number,
#: days for months) refusals, in real subprocesses: (case, command).
SUBPROCESS_CASES = [("empty-file", "validate"), ("latin-1", "validate"), ("text-in-numeric", "validate"),
                    ("binary-garbage", "predict"), ("row-shifted-right", "predict"), ("pfs-days", "predict")]


@pytest.fixture(scope="module")
def bad_subprocess_runs(tmp_path_factory, small_model):
    root = tmp_path_factory.mktemp("bad_input_subprocess")
    jobs = _bad_jobs(root, small_model, sorted({case for case, _ in SUBPROCESS_CASES}))
    return root, _run_subprocesses({key: jobs[key] for key in SUBPROCESS_CASES}, root)


@pytest.mark.parametrize(("case", "command"), SUBPROCESS_CASES, ids=[f"{c}-{k}" for c, k in SUBPROCESS_CASES])
def test_cli_refuses_bad_input_in_a_subprocess(case, command, bad_subprocess_runs):
    root, runs = bad_subprocess_runs
    _assert_refused(root, case, command, runs)


ROW_LEVEL = [c for c, (_, _, row) in BAD.items() if row]


@pytest.mark.parametrize("case", ROW_LEVEL, ids=ROW_LEVEL)
def test_python_predict_raises_for_row_level_cases(case, small_model):
    content, needles, _ = BAD[case]
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    with pytest.raises(InvalidPatientData) as info:
        predict(df, model=small_model)
    for needle in needles:
        assert needle in str(info.value)


TRAIN_CASES = ["empty-file", "duplicate-ids", "albumin-g-per-l", "text-in-numeric"]


def _train_jobs(root: Path, cases) -> dict:
    jobs = {}
    for case in cases:
        (root / case).mkdir()
        path = _write(root / case, BAD[case][0])
        jobs[case] = ["train", "--quiet",
                      "--set", f"data.sources=[{{name: mine, format: table, path: '{path}'}}]",
                      "--set", "tracking.enabled=false",
                      "--set", f"output.model_dir={root / case / 'model'}"]
    return jobs


@pytest.fixture(scope="module")
def train_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_bad_input")
    runs = _run_many(_train_jobs(root, TRAIN_CASES), root)
    # one file-level and one row-level refusal also in real subprocesses
    sub = tmp_path_factory.mktemp("train_bad_input_subprocess")
    runs |= {(case, "subprocess"): run for case, run in
             _run_subprocesses(_train_jobs(sub, TRAIN_SUBPROCESS), sub).items()}
    return {"in-process": root, "subprocess": sub}, runs


TRAIN_SUBPROCESS = ["empty-file", "text-in-numeric"]


def _assert_train_refused(root: Path, case: str, run: tuple) -> None:
    code, _, err = run
    _assert_clean_error(code, err, BAD[case][1], "train")
    assert not (root / case / "model").exists()
    assert not (root / "mlflow.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", TRAIN_CASES, ids=TRAIN_CASES)
def test_train_refuses_bad_input(case, train_runs):
    roots, runs = train_runs
    _assert_train_refused(roots["in-process"], case, runs[case])


@pytest.mark.parametrize("case", TRAIN_SUBPROCESS, ids=TRAIN_SUBPROCESS)
def test_train_refuses_bad_input_in_a_subprocess(case, train_runs):
    roots, runs = train_runs
    _assert_train_refused(roots["subprocess"], case, runs[case, "subprocess"])


# -- odd but valid --------------------------------------------------------------------------------

ODD: dict[str, str] = {
    "only-patient-id": _rows("patient_id", "a", "b", "c"),
    "unknown-extra-columns": _rows("patient_id,pdl1_tps,hospital,Note With Spaces,zzz",
                                   "a,80,H1,first visit,1", "b,0,H2,,2"),
    "missing-tokens": _rows("patient_id,pdl1_tps,tmb,age,sex,smoking,ecog,mut_egfr",
                            "a,NA,n/a,,N/A,unknown,-,", "b,50,10,NA,f,n/a,1,0", "c,,,,,,,"),
    "non-ascii-ids": _rows("patient_id,pdl1_tps,tmb", "patiënt-ß-1,60,12", "患者-2,5,3", "Ωmega 3,,"),
    "only-pdl1-bands": _rows("patient_id,pdl1_band", "a,<1", "b,1-49%", "c,≥50%", "d,"),
    "driver-positive": _rows("patient_id,pdl1_tps,tmb,mut_egfr,mut_kras", "a,60,4,1,0", "b,60,4,0,1"),
}


def _odd_jobs(root: Path, model: Path, cases) -> dict:
    jobs = {}
    for case in cases:
        (root / case).mkdir()
        path = _write(root / case, ODD[case])
        jobs[case] = ["predict", "--model", str(model), "--input", str(path),
                      "--output", str(root / case / "predictions.csv")]
    return jobs


#: In real subprocesses as well: non-ASCII ids (the process's own encodings) and unknown columns (the note).
ODD_SUBPROCESS = ["non-ascii-ids", "unknown-extra-columns"]


@pytest.fixture(scope="module")
def odd_runs(tmp_path_factory, small_model):
    root = tmp_path_factory.mktemp("odd_input")
    sub = tmp_path_factory.mktemp("odd_input_subprocess")
    return {"in-process": (root, _run_many(_odd_jobs(root, small_model, ODD), root)),
            "subprocess": (sub, _run_subprocesses(_odd_jobs(sub, small_model, ODD_SUBPROCESS), sub))}


@pytest.mark.parametrize(("case", "how"), [*((c, "in-process") for c in ODD), *((c, "subprocess") for c in ODD_SUBPROCESS)],
                         ids=[*ODD, *(f"{c}-subprocess" for c in ODD_SUBPROCESS)])
def test_odd_but_valid_input_predicts(case, how, odd_runs):
    root, runs = odd_runs[how]
    code, _, err = runs[case]
    assert code == 0, err
    assert "Traceback" not in err
    path, out = root / case / "patients.csv", root / case / "predictions.csv"
    pred = pd.read_csv(out, dtype={"patient_id": str}, keep_default_na=False, encoding="utf-8")
    expected_ids = pd.read_csv(path, dtype=str, keep_default_na=False)["patient_id"].str.strip().tolist()
    assert pred["patient_id"].tolist() == expected_ids
    p = pred["p_durable_benefit"].astype(float)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    if case == "driver-positive":
        assert "EGFR" in pred.loc[0, "warnings"]
        assert "EGFR" not in pred.loc[1, "warnings"]
    if case == "unknown-extra-columns":
        assert "not in the canonical table" in err
    if case == "only-patient-id":
        assert pred["missing_inputs"].str.len().gt(0).all()


def test_semicolon_table_is_read_like_the_comma_one(tmp_path, small_model):
    text = _rows("patient_id,pdl1_tps,tmb,age,sex,smoking", "a,80,20,64,F,former", "b,0,2,71,M,never",
                 "c,,,,,")
    comma = _write(tmp_path, text, "comma.csv")
    semi = _write(tmp_path, text.replace(",", ";"), "semi.csv")
    a, b = check_patients(read_patients(comma)), check_patients(read_patients(semi))
    assert b["pdl1_tps"].tolist()[:2] == [80.0, 0.0]
    assert b["sex"].astype(object).tolist()[:2] == ["female", "male"]
    pd.testing.assert_frame_equal(a.drop(columns="cohort"), b.drop(columns="cohort"))
    runs = _run_many({p.stem: ["predict", "--model", str(small_model), "--input", str(p), "--output",
                               str(tmp_path / f"{p.stem}.out.csv")] for p in (comma, semi)}, tmp_path)
    for code, _, err in runs.values():
        assert code == 0, err
    pa = pd.read_csv(tmp_path / "comma.out.csv")
    pb = pd.read_csv(tmp_path / "semi.out.csv")
    np.testing.assert_allclose(pa["p_durable_benefit"], pb["p_durable_benefit"], atol=1e-12)


def test_python_predict_accepts_odd_values(small_model):
    df = pd.DataFrame({"patient_id": ["patiënt-ß-1", "患者-2", "x"], "pdl1_tps": ["n/a", "50%", None],
                       "sex": ["F", "", "NA"], "extra": [1, 2, 3]})
    before = df.copy(deep=True)
    out = predict(df, model=small_model)
    pd.testing.assert_frame_equal(df, before)
    assert out["patient_id"].tolist() == ["patiënt-ß-1", "患者-2", "x"]
    assert all(math.isfinite(p) and 0 <= p <= 1 for p in out["p_durable_benefit"])
