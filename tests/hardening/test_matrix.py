"""Hardening II: the bad- and odd-input matrix, organised by failure class, over every entry point.

Classes (issue "Hardening II"): 0 data loss, 1 streaming vs whole file, 2 column names, 3 values
that mean something else, 4 promised warnings, 5 Python API shapes, 6 model integrity, 7 output
safety, 8 bounds and messages, 9 format detection.

Each CLI case runs ``icipredict`` in-process (``cli.main``) in whole-file mode and, where the
input is a canonical table, in streaming mode (``--chunk-size 2``); a representative subset runs
in real subprocesses. Every file of a case's folder is checksummed before and after the case: an
input never changes. Each case ends in a clear error (exit 2, one ``icipredict: error:`` line
naming patient and column, "Got ... instead."), a documented lenient report, or a correct
prediction; never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from process_support import run_cli_many, tree_digest

import icipredict
from icipredict.cli import main
from icipredict.exceptions import InputWarning, InvalidPatientData, ModelLoadError
from icipredict.table.schema import validate_patients

HEADER = "patient_id,pdl1_tps,tmb,age,sex,smoking,ecog,albumin,regimen"
ROWS = ["p1,80,20,64,F,former,1,3.9,ici_mono", "p2,0,2,71,M,never,0,4.1,ici_mono",
        "p3,30,11,58,F,current,2,3.2,chemo_ici", "p4,,5,69,M,former,1,,ici_mono",
        "p5,55,,77,F,never,0,3.7,ici_ctla4", "p6,5,8,61,M,former,1,4.4,chemo_ici"]


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


GOOD = _csv(*ROWS)


@dataclass(frozen=True)
class Case:
    """One CLI case: files written to a fresh folder, the arguments, and what must come out."""

    id: str
    cls: int
    files: dict[str, str | bytes]
    expect: str  # "error", "ok" or "lenient"
    needles: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    input: str = "in.csv"
    output: str = "out.csv"
    stream: bool = True  # also run with --chunk-size 2
    code: int = 2
    check: Callable[[Path, str], None] | None = None
    command: str = "predict"
    prepare: Callable[[Path], None] | None = None
    changes: tuple[str, ...] = ()  # files the case may replace (an earlier output)


def _pred(folder: Path, name: str = "out.csv") -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype={"patient_id": str}, keep_default_na=False)


def _same_as_good(folder: Path, err: str) -> None:
    ref = _pred(folder.parent / "reference")
    got = _pred(folder)
    assert got["patient_id"].tolist() == ref["patient_id"].tolist()
    np.testing.assert_allclose(got["p_durable_benefit"], ref["p_durable_benefit"], atol=1e-12)


def _ids_are(*ids: str) -> Callable[[Path, str], None]:
    def check(folder: Path, err: str) -> None:
        assert _pred(folder)["patient_id"].tolist() == list(ids)
    return check


def _stderr_has(*needles: str) -> Callable[[Path, str], None]:
    def check(folder: Path, err: str) -> None:
        for n in needles:
            assert n in err, f"{n!r} not in {err!r}"
    return check


def _all(*checks) -> Callable[[Path, str], None]:
    def check(folder: Path, err: str) -> None:
        for c in checks:
            c(folder, err)
    return check


def _link_output_to_input(kind: str) -> Callable[[Path], None]:
    def prepare(folder: Path) -> None:
        if kind == "symlink":
            (folder / "out.csv").symlink_to(folder / "in.csv")
        else:
            os.link(folder / "in.csv", folder / "out.csv")
    return prepare


def _fractions() -> str:
    return _csv(*(f"q{i},{v},,,,,,," for i, v in enumerate([0.1, 0.5, 0.02, 0.9, 0, 0.6, 0.3])))


def _pfs_days_short() -> str:
    return _csv(*(f"q{i},{d},1" for i, d in enumerate([14, 28, 35, 42, 56, 63, 90])), header="patient_id,pfs_months,pfs_event")


def _loris_pan_cancer() -> str:
    head = "SAMPLE_ID,TMB,PDL1_TPS(%),Systemic_therapy_history,Albumin,CancerType,NLR,Age,Drug,Sex"
    return _csv("1,12,50,0,3.9,NSCLC,3,64,0,1", "2,4,,1,4.0,Melanoma,2,70,0,0",
                "3,20,80,0,3.5,Lung adenocarcinoma,5,61,1,1", "4,8,10,0,4.2,Bladder,4,55,0,1", header=head)


XLSX_SHEETS = {"patients": GOOD, "notes": "a,b\n1,2\n"}

CASES: list[Case] = [
    # 0: data loss ---------------------------------------------------------------------------------
    Case("output-is-input", 0, {"in.csv": GOOD}, "error", ("is the input", "never writes over its inputs"),
         output="in.csv"),
    Case("output-is-input-other-spelling", 0, {"in.csv": GOOD, "sub/keep": "x"}, "error", ("is the input",),
         output="sub/../in.csv"),
    Case("output-symlink-to-input", 0, {"in.csv": GOOD}, "error", ("is the input",),
         prepare=_link_output_to_input("symlink")),
    Case("output-hard-link-to-input", 0, {"in.csv": GOOD}, "error", ("is the input",),
         prepare=_link_output_to_input("hard")),
    Case("existing-output-replaced-whole", 0, {"in.csv": GOOD, "out.csv": "old predictions\n"}, "ok",
         check=_same_as_good, changes=("out.csv",)),
    Case("output-folder-missing", 0, {"in.csv": GOOD}, "error", ("does not exist",), output="nowhere/out.csv"),
    Case("loris-pan-cancer-rows-named", 0, {"in.csv": _loris_pan_cancer()}, "ok",
         stream=False, check=_all(_ids_are("in:1", "in:3"),
                                  _stderr_has("not read: patient 'in:2', column 'CancerType'", "'Melanoma'",
                                              "2 row(s) not scored: 'in:2', 'in:4'"))),
    Case("validate-names-unread-rows", 0, {"in.csv": _loris_pan_cancer()}, "ok", command="validate", stream=False,
         check=_stderr_has("2 patients (2 not read)", "not read: patient 'in:4'")),
    # 1: streaming parses like the whole file --------------------------------------------------------
    Case("trailing-comma-every-row", 1, {"in.csv": "\n".join([HEADER + ","] + [r + "," for r in ROWS]) + "\n"},
         "ok", check=_same_as_good),
    Case("trailing-comma-rows-only", 1, {"in.csv": "\n".join([HEADER] + [r + "," for r in ROWS]) + "\n"}, "ok",
         check=_same_as_good),
    Case("missing-id-column", 1, {"in.csv": GOOD.replace("patient_id", "pid", 1)}, "error",
         ("no 'patient_id' column", "'pid'")),
    Case("extra-field-in-a-later-row", 1, {"in.csv": _csv(*ROWS[:4], "p5,55,,77,F,never,0,3.7,ici_ctla4,EXTRA",
                                                          ROWS[5])},
         "error", ("more fields than the header", "line 6 is patient 'p5'")),
    Case("two-extra-fields", 1, {"in.csv": _csv(*ROWS[:2], "p3,1,2,3,4,5,6,7,8,9,10", *ROWS[3:])}, "error",
         ("more fields than the header", "line 4 is patient 'p3'", "Expected 9 fields")),
    Case("short-row-shifts-left", 1, {"in.csv": _csv(*ROWS[:3], "p4,F,1,3.9", *ROWS[4:])}, "error",
         ("patient 'p4', column 'pdl1_tps'", "'F' (not a number)")),
    Case("pdl1-fractions-over-chunks", 1, {"in.csv": _fractions()}, "error",
         ("column 'pdl1_tps'", "looks like a fraction")),
    Case("albumin-g-per-l", 1, {"in.csv": _csv(*(r.replace(",3.", ",3").replace(",4.", ",4") for r in ROWS))},
         "error", ("column 'albumin'", "looks like g/L", "patient 'p1'")),
    Case("header-only", 1, {"in.csv": HEADER + "\n"}, "error", ("no patient rows", "header only")),
    Case("blank-lines-inside", 1, {"in.csv": "\n".join([HEADER, ROWS[0], "", ROWS[1], ""] + ROWS[2:]) + "\n"},
         "ok", check=_same_as_good),
    Case("quoted-commas-and-newlines", 1, {"in.csv": GOOD.replace("p1,80,20,64,F,former,1,3.9,ici_mono",
                                                                  '"p1",80,20,64,"F",former,1,3.9,"ici_mono"')},
         "ok", check=_same_as_good),
    Case("lenient-drops-bad-rows-in-every-chunk", 1,
         {"in.csv": _csv(ROWS[0], "b1,80,20,200,F,former,1,3.9,ici_mono", *ROWS[1:4], "b2,80,20,64,X,former,1,3.9,x",
                         *ROWS[4:])},
         "lenient", args=("--lenient",),
         check=_all(_same_as_good, _stderr_has("dropped: patient 'b1', column 'age'", "dropped: patient 'b2'",
                                               "2 row(s) not scored: 'b1', 'b2'"))),
    Case("duplicate-id-across-chunks", 1, {"in.csv": _csv(*ROWS, ROWS[0])}, "error",
         ("patient 'p1', column 'patient_id'", "unique identifier")),
    Case("duplicate-id-lenient", 1, {"in.csv": _csv(*ROWS, "p1,1,1,60,F,never,0,3,ici_mono")}, "lenient",
         args=("--lenient",), check=_stderr_has("dropped: patient 'p1', column 'patient_id'")),
    Case("pfs-days-short-follow-up", 1, {"in.csv": _pfs_days_short()}, "error",
         ("column 'pfs_months'", "looks like days (short follow-up)")),
    # 2: column names ------------------------------------------------------------------------------
    Case("aliases-upper-case", 2, {"in.csv": GOOD.replace("pdl1_tps,tmb,age", "PDL1_TPS,TMB,Age")}, "ok",
         check=_all(_same_as_good, _stderr_has("read by another name", "'PDL1_TPS' as pdl1_tps", "'Age' as age"))),
    Case("aliases-with-units", 2, {"in.csv": GOOD.replace("pdl1_tps,tmb", '"PD-L1 TPS (%)",TMB (mut/Mb)')}, "ok",
         check=_same_as_good),
    Case("aliases-spaces-and-case", 2, {"in.csv": GOOD.replace("patient_id,", " Patient_ID ,")}, "ok",
         check=_same_as_good),
    Case("duplicate-after-alias", 2, {"in.csv": _csv("a,60,61", header="patient_id,age,Age")}, "error",
         ("['age'] appear more than once", "'Age' both read as 'age'")),
    Case("duplicate-exact", 2, {"in.csv": _csv("a,60,61", header="patient_id,age,age")}, "error",
         ("['age'] appear more than once",)),
    Case("unit-contradicts-column", 2, {"in.csv": _csv("a,300,1", header="patient_id,PFS (days),pfs_event")}, "error",
         ("column 'PFS (days)'", "pfs_months in months", "Got a column in days")),
    Case("unknown-extra-columns-carried", 2, {"in.csv": GOOD.replace("regimen", "regimen_x")}, "ok",
         check=_stderr_has("not in the canonical table", "regimen_x")),
    # 3: values that mean something else ------------------------------------------------------------
    Case("percent-in-age", 3, {"in.csv": _csv("a,50%,,65%", header="patient_id,pdl1_tps,tmb,age")}, "error",
         ("patient 'a', column 'age'", "'%' is accepted only in percentage columns")),
    Case("percent-in-pdl1", 3, {"in.csv": GOOD.replace("p1,80,", "p1,80%,")}, "ok", check=_same_as_good),
    Case("dash-in-mutation-is-wild-type", 3, {"in.csv": _csv("a,-,+", "b,0,1", header="patient_id,mut_kras,mut_stk11")},
         "ok", check=lambda f, e: _pred(f)["missing_inputs"].tolist()[0] == _pred(f)["missing_inputs"].tolist()[1]),
    Case("dash-in-til-status-is-negative", 3,
         {"in.csv": _csv("a,60,-", "b,60,+", header="patient_id,pdl1_tps,til_status")}, "ok",
         check=lambda f, e: _pred(f)["time_class"].str.contains("TIL-").tolist() == [True, False]),
    Case("dash-in-number-is-missing", 3, {"in.csv": GOOD.replace("p1,80,20,64", "p1,80,20,-")}, "ok",
         check=_ids_are(*[f"p{i}" for i in range(1, 7)])),
    Case("decimal-comma-in-comma-csv", 3, {"in.csv": _csv('a,"3,9"', header="patient_id,albumin")}, "error",
         ("patient 'a', column 'albumin'", "a decimal comma?", "--decimal")),
    Case("unknown-category", 3, {"in.csv": _csv("a,sometimes", header="patient_id,smoking")}, "error",
         ("patient 'a', column 'smoking'", "'sometimes'")),
    Case("pfs-months-long-follow-up-accepted", 3,
         {"in.csv": _csv(*(f"q{i},{v},1" for i, v in enumerate([1.2, 3.5, 7.9, 14.2, 30.5, 61.3])),
                         header="patient_id,pfs_months,pfs_event")}, "ok"),
    Case("missing-tokens-any-case", 3, {"in.csv": _csv("a,NA,n/a,Unknown,NULL", "b,,nan,-,?",
                                                       header="patient_id,pdl1_tps,tmb,sex,ecog")}, "ok"),
    Case("huge-value-trimmed", 3, {"in.csv": _csv("a," + "9" * 200_000, header="patient_id,smoking")}, "error",
         ("patient 'a', column 'smoking'", "...")),
    # 4: promised warnings --------------------------------------------------------------------------
    Case("unrecognised-blood-assay-warned", 4, {"in.csv": _csv("a,20,Guardant360", header="patient_id,tmb,tmb_assay")},
         "ok", check=lambda f, e: "not recognised" in _pred(f)["warnings"].iloc[0]),
    Case("driver-positive-warned", 4, {"in.csv": _csv("a,1", header="patient_id,mut_egfr")}, "ok",
         check=lambda f, e: "EGFR" in _pred(f)["warnings"].iloc[0]),
    Case("few-inputs-warned", 4, {"in.csv": _csv("a", header="patient_id")}, "ok",
         check=lambda f, e: "input groups given" in _pred(f)["warnings"].iloc[0]),
    # 6: model integrity ----------------------------------------------------------------------------
    Case("model-unlisted-file", 6, {"in.csv": GOOD}, "error", ("not listed in checksums.sha256",), code=3,
         args=("--model", "{model_unlisted}"), stream=False),
    Case("model-missing-key", 6, {"in.csv": GOOD}, "error", ("does not follow the model file contract",), code=3,
         args=("--model", "{model_missing_key}"), stream=False),
    Case("model-tampered", 6, {"in.csv": GOOD}, "error", ("checksum mismatch",), code=3,
         args=("--model", "{model_tampered}"), stream=False),
    Case("model-unknown-name", 6, {"in.csv": GOOD}, "error", ("no shipped model named",), code=3,
         args=("--model", "no-such-model"), stream=False),
    # 7: output safety ------------------------------------------------------------------------------
    Case("formula-ids-neutralised-csv", 7, {"in.csv": _csv("=1+1", "+a", "-b", "@c", '"\tt"', "ok",
                                                           header="patient_id")}, "ok",
         check=lambda f, e: _pred(f)["patient_id"].tolist() == ["'=1+1", "'+a", "'-b", "'@c", "'\tt", "ok"]),
    Case("tsv-output-has-tabs", 7, {"in.csv": _csv("=x", "b", header="patient_id")}, "ok", output="out.tsv",
         check=lambda f, e: (f / "out.tsv").read_text().splitlines()[0].count("\t") >= 6
         and "'=x" in (f / "out.tsv").read_text()),
    Case("parquet-output", 7, {"in.csv": _csv("=x", "b", header="patient_id")}, "ok", output="out.parquet",
         check=lambda f, e: pd.read_parquet(f / "out.parquet")["patient_id"].tolist() == ["=x", "b"]),
    Case("output-is-a-directory", 7, {"in.csv": GOOD, "outdir/keep": "x"}, "error", ("is a directory",),
         output="outdir"),
    Case("output-unknown-suffix", 7, {"in.csv": GOOD}, "error", ("the suffix decides the format", "'.txt'"),
         output="out.txt"),
    # 8: bounds and messages ------------------------------------------------------------------------
    Case("explain-too-large", 8, {"in.csv": GOOD}, "error", ("--explain: expected K from 0 to",),
         args=("--explain", "20000"), stream=False),
    Case("explain-within-bounds", 8, {"in.csv": GOOD}, "ok", args=("--explain", "3"),
         check=lambda f, e: {"top3_feature", "top3_shap"} <= set(_pred(f).columns)),
    Case("mathtext-ids-kept", 8, {"in.csv": _csv("$x^2$", "a$b", header="patient_id")}, "ok",
         check=_ids_are("$x^2$", "a$b")),
    # 9: format detection ---------------------------------------------------------------------------
    Case("canonical-with-sample-id", 9, {"in.csv": GOOD.replace("regimen", "Sample ID")}, "ok",
         check=_ids_are(*[f"p{i}" for i in range(1, 7)])),
    Case("canonical-with-cd8-ihc", 9, {"in.csv": GOOD.replace("regimen", "CD8_IHC")}, "ok",
         check=_ids_are(*[f"p{i}" for i in range(1, 7)])),
    Case("layout-error-names-format", 9, {"in.csv": _csv("1,5,0", header="ID_X,PDL1_TPS(%),Systemic_therapy_history")},
         "error", ("no identifier column", "--format"), stream=False),
    Case("layout-cannot-stream", 9, {"in.csv": _loris_pan_cancer()}, "error", ("--format table",),
         args=("--chunk-size", "2"), stream=False),
    Case("european-csv-detected", 9, {"in.csv": GOOD.replace(",", ";").replace("3.9", "3,9").replace("4.1", "4,1")
                                      .replace("3.2", "3,2").replace("3.7", "3,7").replace("4.4", "4,4")}, "ok",
         check=_all(_same_as_good, _stderr_has("European"))),
    Case("european-csv-named", 9, {"in.csv": _csv("p1;3,9", "p2;4", header="patient_id;albumin")}, "ok",
         args=("--decimal", ","), check=_ids_are("p1", "p2")),
    Case("sheet-on-a-csv", 9, {"in.csv": GOOD}, "error", ("--sheet applies to Excel workbooks",),
         args=("--sheet", "x")),
    Case("xlsx-first-sheet-named", 9, {}, "ok", input="in.xlsx", check=_all(_same_as_good, _stderr_has(
        "read sheet 'patients', the first of 2 sheets"))),
    Case("xlsx-sheet-by-index", 9, {}, "ok", input="in.xlsx", args=("--sheet", "0"), check=_same_as_good),
    Case("xlsx-unknown-sheet", 9, {}, "error", ("no sheet 'nope'", "'patients', 'notes'"), input="in.xlsx",
         args=("--sheet", "nope")),
]


def _ids() -> list[str]:
    out = []
    for c in CASES:
        out.append(f"c{c.cls}-{c.id}-whole")
        if c.stream and "--chunk-size" not in c.args:
            out.append(f"c{c.cls}-{c.id}-stream")
    return out


PARAMS = [(c, mode) for c in CASES for mode in (["whole", "stream"] if c.stream and "--chunk-size" not in c.args
                                               else ["whole"])]


@pytest.fixture(scope="module")
def models(tmp_path_factory, small_model) -> dict[str, Path]:
    """Broken copies of a real bundle, one per model-integrity case."""
    from icipredict.model.bundle import CHECKSUMS, _sha256

    root = tmp_path_factory.mktemp("models")

    def copy(name: str) -> Path:
        dst = root / name
        shutil.copytree(small_model, dst)
        return dst

    unlisted = copy("unlisted")
    (unlisted / "extra.ubj").write_bytes(b"not listed")
    missing = copy("missing_key")
    meta = json.loads((missing / "model.json").read_text())
    del meta["calibrator"]
    (missing / "model.json").write_text(json.dumps(meta))
    names = sorted(p.relative_to(missing).as_posix() for p in missing.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    (missing / CHECKSUMS).write_text("".join(f"{_sha256(missing / n)}  {n}\n" for n in names))
    tampered = copy("tampered")
    data = bytearray((tampered / "estimator.json").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tampered / "estimator.json").write_bytes(bytes(data))
    return {"model": small_model, "model_unlisted": unlisted, "model_missing_key": missing, "model_tampered": tampered}


def _write_files(folder: Path, case: Case) -> None:
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    if case.input.endswith(".xlsx"):
        pytest.importorskip("openpyxl")
        with pd.ExcelWriter(folder / case.input, engine="openpyxl") as xl:
            for sheet, text in XLSX_SHEETS.items():
                pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).to_excel(xl, sheet_name=sheet,
                                                                                          index=False)
    if case.prepare:
        case.prepare(folder)


def _argv(case: Case, folder: Path, mode: str, models: dict[str, Path]) -> list[str]:
    extra = [a.format(**{k: str(v) for k, v in models.items()}) for a in case.args]
    argv = [case.command, "--input", str(folder / case.input)]
    if case.command == "predict":
        if "--model" not in extra:
            argv += ["--model", str(models["model"])]
        argv += ["--output", str(folder / case.output)]
    argv += extra
    if mode == "stream":
        argv += ["--chunk-size", "2"]
    return argv


def _run_in_process(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models) -> Path:
    """Predictions for GOOD, the reference that equivalent inputs must reproduce exactly."""
    root = tmp_path_factory.mktemp("matrix")
    folder = root / "reference"
    folder.mkdir()
    (folder / "in.csv").write_text(GOOD)
    code, _, err = _run_in_process(["predict", "--model", str(models["model"]), "--input", str(folder / "in.csv"),
                                    "--output", str(folder / "out.csv"), "--quiet"])
    assert code == 0, err
    return root


def _assert_case(case: Case, folder: Path, code: int, out: str, err: str, before: dict[str, str]) -> None:
    assert "Traceback" not in err and "Traceback" not in out, err
    after = tree_digest(folder)
    for name, digest in before.items():
        if name in case.changes:
            continue
        assert after.get(name) == digest, f"input {name} was changed or removed"
    assert not [p for p in folder.rglob(".*partial")], "a partial output was left behind"
    if case.expect == "error":
        assert code == case.code, f"exit {code}\n{err}"
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")
                 and not ln.startswith("[icipredict]")]
        assert len(lines) == 1 and ("icipredict: error: " in lines[0]), err
        for needle in case.needles:
            assert needle in err, f"{needle!r} not in {err!r}"
        assert len(err) < 3000, "the message is not trimmed"
        assert set(tree_digest(folder)) == set(before), "a refused run wrote a file"
    else:
        assert code == 0, err
        for needle in case.needles:
            assert needle in err, f"{needle!r} not in {err!r}"
        if case.check:
            case.check(folder, out + err)


@pytest.mark.parametrize(("case", "mode"), PARAMS, ids=_ids())
def test_cli_matrix(case: Case, mode: str, models, reference, tmp_path):
    folder = reference / f"{case.id}-{mode}"
    folder.mkdir()
    _write_files(folder, case)
    before = tree_digest(folder)
    code, out, err = _run_in_process(_argv(case, folder, mode, models))
    _assert_case(case, folder, code, out, err, before)


# -- a representative subset in real subprocesses ----------------------------------------------------

SUBPROCESS = ["output-is-input", "output-hard-link-to-input", "loris-pan-cancer-rows-named", "extra-field-in-a-later-row",
              "aliases-upper-case", "formula-ids-neutralised-csv", "explain-too-large", "model-unlisted-file",
              "european-csv-detected", "pdl1-fractions-over-chunks"]


@pytest.fixture(scope="module")
def subprocess_runs(models, reference):
    jobs = {}
    for case in CASES:
        if case.id not in SUBPROCESS:
            continue
        mode = "stream" if case.id == "pdl1-fractions-over-chunks" else "whole"
        folder = reference / f"{case.id}-{mode}-subprocess"
        folder.mkdir()
        _write_files(folder, case)
        jobs[case.id] = (case, folder, tree_digest(folder), _argv(case, folder, mode, models))

    runs = run_cli_many({k: job[3] for k, job in jobs.items()}, timeout=300)
    return {k: (jobs[k], (p.returncode, p.stdout, p.stderr)) for k, p in runs.items()}


@pytest.mark.parametrize("case_id", SUBPROCESS, ids=SUBPROCESS)
def test_cli_matrix_in_a_subprocess(case_id, subprocess_runs):
    (case, folder, before, _), (code, out, err) = subprocess_runs[case_id]
    _assert_case(case, folder, code, out, err, before)


def test_matrix_covers_every_class_widely():
    per_class = pd.Series([c.cls for c, _ in PARAMS]).value_counts()
    assert set(per_class.index) >= {0, 1, 2, 3, 4, 6, 7, 8, 9}
    assert len(PARAMS) + len(API_CASES) + len(PYFUNC_CASES) >= 85


# -- 5 and others: the Python API ---------------------------------------------------------------------

API_CASES = {
    "dict-of-scalars": ({"patient_id": "a", "pdl1_tps": 60, "tmb": 14}, ["a"]),
    "dict-of-lists": ({"patient_id": ["a", "b"], "pdl1_tps": [60, "50%"]}, ["a", "b"]),
    "list-of-dicts": ([{"patient_id": "a"}, {"patient_id": "b", "tmb": 3}], ["a", "b"]),
    "dataframe": (pd.DataFrame({"patient_id": ["a", "b"], "age": ["64", 70]}), ["a", "b"]),
    "float-ids-whole": (pd.DataFrame({"patient_id": [12.0, 13.0]}), ["12", "13"]),
    "float-ids-fraction": (pd.DataFrame({"patient_id": [12.5, 13.0]}), ["12.5", "13"]),
    "int-ids": (pd.DataFrame({"patient_id": [7, 8]}), ["7", "8"]),
    "mixed-ids-in-records": ([{"patient_id": 12.0}, {"patient_id": "x"}], ["12", "x"]),
    "unicode-and-formula-ids-unchanged": ({"patient_id": ["=1+1", "患者-2", "$x^2$"]}, ["=1+1", "患者-2", "$x^2$"]),
    "ids-stripped": ({"patient_id": [" a ", "b"]}, ["a", "b"]),
    "numpy-array-values": ({"patient_id": np.array(["a", "b"]), "tmb": np.array([1.0, 2.0])}, ["a", "b"]),
    "alias-column": (pd.DataFrame({"patient_id": ["a"], "PDL1_TPS": [60]}), ["a"]),
}

API_ERRORS = {
    "dict-unequal-lists": ({"patient_id": ["a", "b"], "tmb": [1, 2, 3]}, r"equally long lists .*Got patient_id 2, tmb 3"),
    "dict-scalar-beside-list": ({"patient_id": ["a", "b"], "tmb": 3}, r"tmb a scalar"),
    "list-with-a-string": ([{"patient_id": "a"}, "b"], r"item 1 is a str"),
    "a-string": ("patients.csv", r"Got str instead"),
    "explain-negative": ({"patient_id": "a"}, r"explain: expected an integer from 0 to \d+ .*Got -1 instead"),
    "explain-huge": ({"patient_id": "a"}, r"explain: expected an integer from 0 to \d+ .*Got 20000 instead"),
    "bad-value-named": ({"patient_id": ["a", "b"], "age": ["60", "65%"]},
                        r"patient 'b', column 'age'.*accepted only in percentage columns"),
    "duplicate-alias": (pd.DataFrame([["a", 1, 2]], columns=["patient_id", "tmb", "TMB"]),
                        r"\['tmb'\] appear more than once"),
    "a-dict-in-a-cell": ({"patient_id": "a", "pdl1_tps": {"x": 1}},
                         r"patient 'a', column 'pdl1_tps': expected one value \(text or a number\)\. Got a dict"),
    "a-list-in-a-record": ([{"patient_id": "a", "regimen": ["ici_mono"]}], r"patient 'a', column 'regimen'.*Got a list"),
    "a-set-in-a-text-column": ([{"patient_id": "a"}, {"patient_id": "b", "tmb_assay": {"WES"}}],
                               r"patient 'b', column 'tmb_assay'.*Got a set"),
    "a-tuple-as-an-id": ([{"patient_id": ("a",)}, {"patient_id": "b"}], r"'row 1', column 'patient_id'.*Got a tuple"),
    "a-list-in-a-large-frame": (pd.DataFrame({"patient_id": [f"p{i}" for i in range(300)],
                                              "histology": [["squamous"]] + ["squamous"] * 299}),
                                r"patient 'p0', column 'histology'.*Got a list"),
}


@pytest.mark.parametrize("name", list(API_CASES), ids=list(API_CASES))
def test_api_shapes(name, small_model):
    patients, ids = API_CASES[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = icipredict.predict(patients, model=small_model)
    assert out["patient_id"].tolist() == ids
    assert out["p_durable_benefit"].between(0, 1).all()
    if name == "alias-column":
        assert any(issubclass(w.category, InputWarning) and "'PDL1_TPS' as pdl1_tps" in str(w.message)
                   for w in caught)
        ref = icipredict.predict({"patient_id": "a", "pdl1_tps": 60}, model=small_model)
        assert out["p_durable_benefit"].iloc[0] == ref["p_durable_benefit"].iloc[0]


@pytest.mark.parametrize("name", list(API_ERRORS), ids=list(API_ERRORS))
def test_api_errors(name, small_model):
    patients, pattern = API_ERRORS[name]
    explain = {"explain-negative": -1, "explain-huge": 20000}.get(name, 0)
    with pytest.raises((InvalidPatientData, ValueError), match=pattern):
        icipredict.predict(patients, model=small_model, explain=explain)


def test_api_validated_report_is_not_checked_again(small_model):
    report = validate_patients(pd.DataFrame({"patient_id": ["a", "b"], "Age": ["64", "71"]}))
    direct = icipredict.predict(pd.DataFrame({"patient_id": ["a", "b"], "age": [64, 71]}), model=small_model)
    pd.testing.assert_frame_equal(icipredict.predict(report, model=small_model), direct)


def test_api_parquet_float_ids_through_the_cli(tmp_path, small_model):
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"patient_id": [12.0, 13.5], "tmb": [4.0, 20.0]}).to_parquet(path)
    before = tree_digest(tmp_path)
    code, _, err = _run_in_process(["predict", "--model", str(small_model), "--input", str(path), "--output",
                                    str(tmp_path / "out.csv"), "--quiet"])
    assert code == 0, err
    assert _pred(tmp_path)["patient_id"].tolist() == ["12", "13.5"]
    assert {k: v for k, v in tree_digest(tmp_path).items() if k != "out.csv"} == before


def test_api_model_integrity(models):
    for name, pattern in (("model_unlisted", "not listed"), ("model_missing_key", "model file contract"),
                          ("model_tampered", "checksum mismatch")):
        with pytest.raises(ModelLoadError, match=pattern):
            icipredict.predict({"patient_id": "a"}, model=models[name])


# -- REST: the pyfunc in-process (MLflow's own schema enforcement included) ----------------------------

@pytest.fixture(scope="module")
def pyfunc(tmp_path_factory, small_model):
    mlflow = pytest.importorskip("mlflow")
    from icipredict.fitting.tracking import save_mlflow_model

    out = save_mlflow_model(small_model, tmp_path_factory.mktemp("pyfunc") / "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pyfunc.load_model(str(out))


SECRET = "SENTINEL-ROW-VALUE"

PYFUNC_CASES = {
    "percent-string-accepted": ([{"patient_id": "a", "pdl1_tps": "50%"}], {}, None),
    "numbers-as-strings": ([{"patient_id": "a", "tmb": "12", "age": "64"}], {}, None),
    "int-id": ([{"patient_id": 7, "tmb": 3.0}], {}, None),
    "explain-negative": ([{"patient_id": "a"}], {"explain": -1},
                         r"params.explain: expected an integer from 0 to \d+ .*Got '-1' instead"),
    "explain-too-large": ([{"patient_id": "a"}], {"explain": 1000}, r"params.explain: expected an integer"),
    "bad-value-names-patient-only": ([{"patient_id": "a", "tmb_assay": SECRET}, {"patient_id": "b", "pdl1_tps": 160}],
                                     {}, r"patient 'b', column 'pdl1_tps'.*Got 160 instead"),
    "percent-in-age": ([{"patient_id": "a", "age": "65%"}], {}, r"patient 'a', column 'age'"),
    "huge-value-trimmed": ([{"patient_id": "a", "smoking": "x" * 100_000}], {}, r"patient 'a', column 'smoking'"),
    "missing-id": ([{"tmb": 3.0}], {}, r"patient_id"),
}


@pytest.mark.parametrize("name", list(PYFUNC_CASES), ids=list(PYFUNC_CASES))
def test_pyfunc_rest_cases(name, pyfunc):
    from mlflow.exceptions import MlflowException

    records, params, pattern = PYFUNC_CASES[name]
    frame = pd.DataFrame(records)
    if pattern is None:
        out = pyfunc.predict(frame, params=params or None)
        assert out["p_durable_benefit"].between(0, 1).all()
        assert out["patient_id"].tolist() == [str(r["patient_id"]) for r in records]
        return
    with pytest.raises(MlflowException, match=pattern) as info:
        pyfunc.predict(frame, params=params or None)
    exc = info.value
    assert exc.get_http_status_code() == 400
    assert SECRET not in exc.message and len(exc.message) < 2000
    # MLflow's scoring server prefixes a failing request's message with the whole request: ours stays as written
    exc.message = f"Failed to predict data '{frame}'. Error: {exc.message}"
    assert "Failed to predict data" not in exc.message and SECRET not in exc.serialize_as_json()
    assert "stack_trace" not in json.loads(exc.serialize_as_json())


def test_excel_without_openpyxl_gives_the_install_hint(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    code = ("import sys; sys.modules['openpyxl'] = None\n"
            "from icipredict.cli import main\n"
            f"sys.exit(main(['validate', '--input', {str(path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert 'pip install "icipredict[excel]"' in proc.stderr
