"""Format detection from layout and header, on hand-written files and the real cohorts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icipredict.exceptions import InvalidPatientData
from icipredict.io import detect_format

SHARED = Path(os.environ.get("ICIPREDICT_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.csv", "patient_id,age\np1,60\n", "table"),
        ("a.tsv", "Study ID\tPatient ID\tSample ID\nx\tp\ts\n", "cbioportal_tsv"),
        ("a.txt", "Patient ID\tSex\np\tMale\n", "cbioportal_tsv"),
        ("a.csv", "SAMPLE_ID,TMB,PDL1_TPS(%),Systemic_therapy_history\n1,2,,0\n", "loris"),
        ("a.csv", "ID,Sex,CD8_IHC\nP1,M,3.2\n", "dijon"),
        ("a.csv", '"ID";"CD8_IHC"\nP1;3.2\n', "dijon"),
    ],
    ids=["canonical", "portal-tsv", "portal-txt", "loris", "dijon", "dijon-semicolon-quoted"],
)
def test_detect_from_header(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    assert detect_format(path) == expected


def test_study_folder_and_its_clinical_file(tmp_path):
    (tmp_path / "data_clinical_sample.txt").write_text("PATIENT_ID\tSAMPLE_ID\np\ts\n")
    assert detect_format(tmp_path) == "cbioportal"
    assert detect_format(tmp_path / "data_clinical_sample.txt") == "cbioportal"


def test_parquet_is_a_table(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    assert detect_format(path) == "table"


def test_missing_path_is_named(tmp_path):
    with pytest.raises(InvalidPatientData, match=r"nothing\.csv: no such file or directory"):
        detect_format(tmp_path / "nothing.csv")


def test_plain_directory(tmp_path):
    with pytest.raises(InvalidPatientData, match="is a directory but not a cBioPortal study folder"):
        detect_format(tmp_path)


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("cbioportal/nsclc_pd1_msk_2018", "cbioportal"),
        ("cbioportal/lung_msk_mind_2020", "cbioportal"),
        ("cbioportal/nsclc_mskcc_2018", "cbioportal"),
        ("cbioportal/nsclc_mskcc_2015", "cbioportal"),
        ("cbioportal/lung_msk_mind_2020/lung_msk_mind_2020_clinical_data.tsv", "cbioportal_tsv"),
        ("loris_nsclc/chowell_train.csv", "loris"),
        ("loris_nsclc/chowell_test.csv", "loris"),
        ("loris_nsclc/msk1.csv", "loris"),
        ("dijon/fumet2020_cd8_pdl1.csv", "dijon"),
    ],
    ids=lambda v: str(v).split("/")[-1],
)
def test_real_sources(relative, expected):
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"real cohort not available: {path} does not exist (set ICIPREDICT_SHARED_DATA)")
    assert detect_format(path) == expected
