"""cBioPortal study folders on hand-made files: the study identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from icipredict.io import read_cbioportal_study, read_patients
from icipredict.io.cbioportal import study_identifier
from icipredict.schema import check_patients


# ---------------------------------------------------------------- study identity


def _toy_with_combination(folder: Path, meta: str | None) -> Path:
    folder.mkdir()
    (folder / "data_clinical_patient.txt").write_text(
        "PATIENT_ID\tTREATMENT_TYPE\np1\tCombination\np2\tMonotherapy\n")
    if meta is not None:
        (folder / "meta_study.txt").write_text(meta)
    return folder


def test_study_id_from_meta_study_not_folder_name(tmp_path):
    # "Combination" is PD-(L)1 + CTLA-4 only in nsclc_pd1_msk_2018's vocabulary
    folder = _toy_with_combination(tmp_path / "my copy of the MSK study",
                                   "type_of_cancer: nsclc\ncancer_study_identifier: nsclc_pd1_msk_2018\nname: x\n")
    assert study_identifier(folder) == "nsclc_pd1_msk_2018"
    df = check_patients(read_patients(folder))
    assert df["regimen"].tolist() == ["ici_ctla4", "ici_mono"]
    assert (df["cohort"] == "nsclc_pd1_msk_2018").all()
    assert (read_cbioportal_study(folder, cohort="mine")["cohort"] == "mine").all()


def test_study_id_from_another_meta_file(tmp_path):
    folder = _toy_with_combination(tmp_path / "renamed", None)
    (folder / "meta_clinical_patient.txt").write_text(
        "cancer_study_identifier: nsclc_pd1_msk_2018\ngenetic_alteration_type: CLINICAL\n")
    assert study_identifier(folder) == "nsclc_pd1_msk_2018"


@pytest.mark.parametrize("meta", [None, "type_of_cancer: nsclc\nname: no identifier here\n"], ids=["no-meta", "no-key"])
def test_study_id_falls_back_to_folder_name(tmp_path, meta):
    named = _toy_with_combination(tmp_path / "nsclc_pd1_msk_2018", meta)
    assert study_identifier(named) == "nsclc_pd1_msk_2018"
    assert read_patients(named)["regimen"].tolist() == ["ici_ctla4", "ici_mono"]
    other = read_patients(_toy_with_combination(tmp_path / "elsewhere", meta))
    assert other["regimen"].tolist() == ["Combination", "ici_mono"]  # no study vocabulary: left to the schema
    assert (other["cohort"] == "elsewhere").all()
