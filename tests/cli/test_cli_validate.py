"""``icipredict validate``: every real cohort, canonical tables, bad input.

Each case runs in-process (``cli.main``, the same code path without a fresh Python's seconds of
imports); a representative subset (a cBioPortal folder, a LORIS table, a canonical table, an invalid
value, a missing file) also runs in a real subprocess.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import shared_path  # tests/ is on sys.path: pytest inserts the rootdir conftest's folder
from process_support import run_cli, run_cli_in_process

HOW = ["in-process", "subprocess"]


def _validate(*args: str | Path, cwd: Path | None = None, how: str = "in-process") -> subprocess.CompletedProcess:
    argv = ["validate", *map(str, args)]
    if how == "subprocess":
        return run_cli(argv, cwd=cwd, timeout=120)
    code, out, err = run_cli_in_process(argv, cwd=cwd)
    return subprocess.CompletedProcess(argv, code, out, err)


# Patient counts from ../shared/data/README.md.
REAL = [
    pytest.param(("cbioportal", "nsclc_pd1_msk_2018"), 240, id="cbio-nsclc_pd1_msk_2018"),
    pytest.param(("cbioportal", "lung_msk_mind_2020"), 247, id="cbio-lung_msk_mind_2020"),
    pytest.param(("cbioportal", "nsclc_mskcc_2018"), 75, id="cbio-nsclc_mskcc_2018"),
    pytest.param(("cbioportal", "nsclc_mskcc_2015"), 16, id="cbio-nsclc_mskcc_2015"),
    pytest.param(("cbioportal", "lung_msk_mind_2020", "lung_msk_mind_2020_clinical_data.tsv"), 247,
                 id="portal-tsv-lung_msk_mind_2020"),
    pytest.param(("loris_nsclc", "chowell_train.csv"), 331, id="loris-chowell_train"),
    pytest.param(("loris_nsclc", "chowell_test.csv"), 207, id="loris-chowell_test"),
    pytest.param(("loris_nsclc", "msk1.csv"), 128, id="loris-msk1"),
    pytest.param(("dijon", "fumet2020_cd8_pdl1.csv"), 85, id="dijon-fumet2020"),
]


#: The real cohorts validated in a subprocess as well: a cBioPortal study folder and a LORIS table.
REAL_SUBPROCESS = ["cbio-nsclc_pd1_msk_2018", "loris-chowell_test"]


@pytest.mark.realdata
@pytest.mark.parametrize(("parts", "n", "how"), [
    *(pytest.param(*p.values, "in-process", id=p.id) for p in REAL),
    *(pytest.param(*p.values, "subprocess", id=f"{p.id}-subprocess") for p in REAL if p.id in REAL_SUBPROCESS)])
def test_real_cohorts_validate(parts, n, how, tmp_path):
    path = shared_path(*parts)
    res = _validate("--input", path, cwd=tmp_path, how=how)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    first = res.stdout.splitlines()[0]
    assert first == f"{path}: {n} patients", first
    assert "labels: durable_benefit" in res.stdout
    assert "missing share per predictor:" in res.stdout


def test_all_cbioportal_folders_are_covered():
    root = shared_path("cbioportal")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == sorted(p.values[0][1] for p in REAL[:4])


CANONICAL = (
    "patient_id,pdl1_band,tmb,tmb_assay,n_met_sites,best_response,pfs_months,pfs_event,os_months,os_event,"
    "hospital,Free Text Note\n"
    "ext-1,<1,4.2,MSK-IMPACT 468,2,PD,1.8,1,5.0,1,A,first\n"
    "ext-2,>=50%,22,WES,0,PR,14.0,0,20.1,0,B,\n"
    "ext-3,1-49,,plasma bTMB,3,SD,7.5,1,NA,,A,\"quoted, with comma\"\n"
    "ext-4,,,,,NE,,,,,C,n/a\n"
)


@pytest.mark.parametrize("how", HOW)
def test_canonical_external_table_validates(tmp_path, how):
    path = tmp_path / "external.csv"
    path.write_text(CANONICAL, encoding="utf-8")
    res = _validate("--input", path, cwd=tmp_path, how=how)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == f"{path}: 4 patients"
    assert "not in the canonical table" in res.stdout and "hospital" in res.stdout
    assert "labels: durable_benefit 2, primary_resistance 1, not_evaluable 1" in res.stdout


def test_semicolon_canonical_table(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text(CANONICAL.split("\n", 1)[0].replace(",", ";") + "\n"
                    + "ext-1;<1;4,2;panel;2;PD;1.8;1;5;1;A;x\n".replace("4,2", "4.2"), encoding="utf-8")
    res = _validate("--input", path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == f"{path}: 1 patients"


def _assert_clean_failure(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr  # one paragraph
    assert lines[0].startswith("icipredict: error: ")
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr)


INVALID = [
    pytest.param("patient_id,age,sex\np1,64,F\np2,200,M\n", ["patient 'p2'", "column 'age'", "Got 200"],
                 id="age-200"),
    pytest.param("patient_id,ecog\np1,9\n", ["patient 'p1'", "column 'ecog'", "Got 9"], id="ecog-9"),
    pytest.param("patient_id,sex\np1,F\np2,alien\n", ["patient 'p2'", "column 'sex'", "Got 'alien'"],
                 id="unknown-category"),
    pytest.param("patient_id,tmb\np1,3\np1,4\n", ["patient 'p1'", "column 'patient_id'", "2 rows with this id"],
                 id="duplicate-id"),
    pytest.param("patient_id,tmb\np1,lots\n", ["patient 'p1'", "column 'tmb'", "'lots' (not a number)"],
                 id="text-in-numeric"),
    pytest.param("patient_id,albumin\n" + "".join(f"p{i},{38 + i}\n" for i in range(6)),
                 ["column 'albumin'", "looks like g/L", "patient 'p0'"], id="albumin-g-per-l"),
]


@pytest.mark.parametrize(("text", "needles", "how"), [
    *(pytest.param(*p.values, "in-process", id=p.id) for p in INVALID),
    *(pytest.param(*p.values, "subprocess", id=f"{p.id}-subprocess") for p in INVALID if p.id == "age-200")])
def test_invalid_input_exits_2_with_one_paragraph(tmp_path, text, needles, how):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    _assert_clean_failure(_validate("--input", path, cwd=tmp_path, how=how), *needles)


def test_lenient_drops_and_lists_rows(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("patient_id,age,sex,ecog\np1,64,F,1\np2,200,M,0\np3,70,alien,1\np4,55,M,2\n",
                    encoding="utf-8")
    res = _validate("--input", path, "--lenient", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == f"{path}: 2 patients (2 dropped)"
    assert "dropped: patient 'p2', column 'age'" in res.stdout
    assert "dropped: patient 'p3', column 'sex'" in res.stdout
    assert "note: lenient mode dropped 2 row(s): p2, p3" in res.stdout


@pytest.mark.parametrize("how", HOW)
def test_missing_input_file(tmp_path, how):
    res = _validate("--input", tmp_path / "nope.csv", cwd=tmp_path, how=how)
    _assert_clean_failure(res, "no such file")
