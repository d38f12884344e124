"""cBioPortal study folders and the portal's web export: a hand-built study and the real ones."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical import mutation_groups
from icipredict.exceptions import InvalidPatientData
from icipredict.io import read_cbioportal_study, read_patients
from icipredict.table.schema import MUTATION_COLUMNS, check_patients

SHARED = Path(os.environ.get("ICIPREDICT_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))

MAF_HEADER = "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\tHGVSp_Short\tHGVSc\n"


def _real(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real cohort not available: {path} does not exist (set ICIPREDICT_SHARED_DATA)")
    return path


@pytest.fixture()
def study(tmp_path: Path) -> Path:
    """Four patients: p1 two samples, p2 on an unknown panel, p3 on a panel, p4 not sequenced."""
    folder = tmp_path / "toy_study"
    folder.mkdir()
    (folder / "data_clinical_patient.txt").write_text(
        "#Patient Identifier\tSex\tSmoker\tLine\tTreatment\tPFS status\tDCB\tBest response\n"
        "#desc\tdesc\tdesc\tdesc\tdesc\tdesc\tdesc\tdesc\n#STRING\tSTRING\tSTRING\tNUMBER\tSTRING\tSTRING\tSTRING\tSTRING\n"
        "#1\t1\t1\t1\t1\t1\t1\t1\n"
        "PATIENT_ID\tSEX\tSMOKING_STATUS\tLINES_OF_TX\tMONO_COMBO\tPFS_STATUS\tDURABLE_CLINICAL_BENEFIT\tBOR\n"
        "p1\tFemale\tFormer smoker\t1\tPD1 alone\t0:CENSORED\tYES\tPR\n"
        "p2\tMale\tNever smoker\t3\tPD1+CTLA4\t1:PROGRESSED\tNO\tPOD/brain\n"
        "p3\tMale\tCurrent smoker (within 6 months of diagnosis)\t2\tPD1 alone\t1:PROGRESSED\tNE\tSD\n"
        "p4\tFemale\t\t\t\t\t\t\n")
    (folder / "data_clinical_sample.txt").write_text(
        "PATIENT_ID\tSAMPLE_ID\tONCOTREE_CODE\tTMB_NONSYNONYMOUS\n"
        "p1\tp1-T02\tLUSC\t20.0\np1\tp1-T01\tLUAD\t12.5\np2\tp2-T01\tNSCLC\t3\np3\tp3-T01\tLUAD\t1\np4\tp4-T01\tLUAD\t\n")
    (folder / "data_gene_panel_matrix.txt").write_text(
        "SAMPLE_ID\tmutations\tstructural_variants\n"
        "p1-T01\tTOY\tTOY\np1-T02\tTOY\tTOY\np2-T01\tMYSTERY\tMYSTERY\np3-T01\tTOY\tNA\np4-T01\tNA\tNA\n")
    (folder / "data_gene_panel_toy.txt").write_text(
        "stable_id: TOY\ndescription: toy\ngene_list:\tKRAS\tEGFR\tMET\tALK\tTP53\n")
    (folder / "data_mutations.txt").write_text(
        "#version 2.4\n" + MAF_HEADER +
        "KRAS\tp1-T01\tMissense_Mutation\tp.G12C\tc.34G>T\n"
        "TP53\tp1-T01\tSilent\tp.R213R\tc.639A>G\n"
        "EGFR\tp3-T01\tMissense_Mutation\tp.A24S\tc.70G>T\n"
        "MET\tp3-T01\tSplice_Region\tp.X963_splice\tc.2888-24_2888-3del\n"
        "KRAS\tp2-T01\tMissense_Mutation\tp.G12D\tc.35G>A\n")
    (folder / "data_sv.txt").write_text(
        "Sample_Id\tSite1_Hugo_Symbol\tSite2_Hugo_Symbol\n"
        "p1-T01\tEML4\tALK\np3-T01\tALK\t\n")
    return folder


def test_toy_study_clinical_vocabulary(study):
    df = check_patients(read_patients(study)).set_index("patient_id")
    assert df["sample_id"].tolist() == ["p1-T01", "p2-T01", "p3-T01", "p4-T01"]  # first sample by id
    assert df["smoking"].tolist()[:3] == ["former", "never", "current"]
    assert df["regimen"].tolist()[:3] == ["ici_mono", "ici_ctla4", "ici_mono"]
    assert df["best_response"].tolist()[:3] == ["PR", "PD", "SD"]
    assert df["dcb_reported"].tolist()[:2] == [1.0, 0.0] and np.isnan(df.loc["p3", "dcb_reported"])
    assert df["pfs_event"].tolist()[:3] == [0.0, 1.0, 1.0]
    assert df["prior_systemic_therapy"].tolist()[:3] == [0.0, 1.0, 1.0]
    assert df["histology"].tolist() == ["adenocarcinoma", "other", "adenocarcinoma", "adenocarcinoma"]
    assert df.loc["p1", "tmb"] == 12.5 and (df["cohort"] == "toy_study").all()


def test_toy_study_alteration_flags(study):
    df = read_cbioportal_study(study).set_index("patient_id")
    assert df.loc["p1", "mut_kras"] == 1 and df.loc["p1", "mut_tp53"] == 0  # silent variant ignored
    assert df.loc["p1", "mut_alk"] == 1  # EML4-ALK fusion
    assert np.isnan(df.loc["p1", "mut_stk11"])  # not on the TOY panel: not tested
    assert df.loc["p2", "mut_kras"] == 1 and np.isnan(df.loc["p2", "mut_tp53"])  # unknown panel
    assert df.loc["p3", "mut_egfr"] == 0  # A24S lies outside the kinase domain
    assert df.loc["p3", "mut_met_ex14"] == 1
    assert np.isnan(df.loc["p3", "mut_alk"])  # no SV panel for this sample; intragenic ALK is no fusion anyway
    assert df.loc[["p4"], list(MUTATION_COLUMNS)].isna().all(axis=None)  # not sequenced


def test_wes_study_without_panels(tmp_path):
    folder = tmp_path / "wes"
    folder.mkdir()
    (folder / "data_clinical_sample.txt").write_text("PATIENT_ID\tSAMPLE_ID\na\ta\nb\tb\nc\tc\n")
    (folder / "data_mutations.txt").write_text(
        "#sequenced_samples: a b\n" + MAF_HEADER + "TP53\ta\tNonsense_Mutation\tp.R213*\tc.637C>T\n")
    df = check_patients(read_patients(folder)).set_index("patient_id")
    assert df.loc["a", "mut_tp53"] == 1 and df.loc["b", "mut_tp53"] == 0 and np.isnan(df.loc["c", "mut_tp53"])
    assert np.isnan(df.loc["a", "mut_alk"])  # no data_sv.txt: fusions not tested


def test_folder_without_clinical_files(tmp_path):
    with pytest.raises(InvalidPatientData, match="not a cBioPortal study folder"):
        read_cbioportal_study(tmp_path)


def test_clinical_file_without_patient_id(tmp_path):
    (tmp_path / "data_clinical_patient.txt").write_text("ID\tSEX\nx\tMale\n")
    with pytest.raises(InvalidPatientData, match="no PATIENT_ID column"):
        read_cbioportal_study(tmp_path)


# ---------------------------------------------------------------- real studies

REAL = {  # study: (patients, tmb_assay)
    "nsclc_pd1_msk_2018": (240, "MSK-IMPACT panel"),
    "lung_msk_mind_2020": (247, "MSK-IMPACT panel"),
    "nsclc_mskcc_2018": (75, "WES"),
    "nsclc_mskcc_2015": (16, "WES"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_study_passes_the_schema(name):
    n, assay = REAL[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every variant class of the real MAFs is known
        raw = read_patients(_real("cbioportal", name))
    assert raw.attrs["unclassified_variants"] == [] and raw.attrs["notes"] == []
    df = check_patients(raw)
    assert len(df) == n and df["patient_id"].is_unique
    assert (df["cohort"] == name).all() and (df["tmb_assay"] == assay).all()
    tmb = df["tmb"].dropna()
    assert len(tmb) == n and 0 < tmb.median() < 30 and tmb.max() < 150  # mut/Mb, not counts
    assert df["pfs_months"].notna().mean() > 0.99 and df["pfs_event"].notna().mean() > 0.99
    assert df["sex"].notna().mean() > 0.99 and df["regimen"].notna().mean() > 0.99
    assert (df["pdl1_tps"].notna() | df["pdl1_band"].notna()).mean() > 0.3


def test_nsclc_pd1_msk_2018():
    df = check_patients(read_patients(_real("cbioportal", "nsclc_pd1_msk_2018"))).set_index("patient_id")
    assert ((df["mut_kras"] == 1).sum(), (df["mut_kras"] == 0).sum()) == (86, 154)
    assert df[list(MUTATION_COLUMNS)].notna().all(axis=None)  # every sample on an MSK-IMPACT panel
    assert df.index[df["mut_alk"] == 1].tolist() == ["P-0003913", "P-0008322"]
    assert df.loc["P-0000208", "mut_ret"] == 1  # KIF5B-RET
    assert df.loc["P-0010760", "mut_ros1"] == 1  # CD74-ROS1
    assert (df["mut_met_ex14"] == 1).sum() == 7
    assert df["dcb_reported"].value_counts().to_dict() == {0.0: 158, 1.0: 69}  # 13 NE -> missing
    assert (df["regimen"] == "ici_ctla4").sum() == 34  # "Combination" = PD-(L)1 + CTLA-4
    assert df["smoking"].value_counts().to_dict() == {"ever": 193, "never": 47, "former": 0, "current": 0}
    row = df.loc["P-0000012"]
    assert (row["sex"], row["age"], row["line_of_therapy"], row["prior_systemic_therapy"]) == ("female", 58, 1, 0)
    assert (row["regimen"], row["pfs_event"], row["dcb_reported"]) == ("ici_ctla4", 0, 1)
    assert df.loc["P-0000082", "pdl1_tps"] == 100 and np.isnan(df.loc["P-0000012", "pdl1_tps"])
    assert df.loc["P-0000235", "histology"] == "squamous" and df.loc["P-0000299", "histology"] == "other"


def test_lung_msk_mind_2020():
    df = check_patients(read_patients(_real("cbioportal", "lung_msk_mind_2020"))).set_index("patient_id")
    row = df.loc["P-0000239"]
    assert (row["sex"], row["smoking"], row["pack_years"], row["ecog"], row["albumin"]) == ("male", "former", 28, 1, 3)
    assert (row["histology"], row["line_of_therapy"], row["regimen"], row["best_response"]) == (
        "adenocarcinoma", 3, "ici_mono", "PD")
    assert row["dnlr"] == "3.3" and np.isnan(row["nlr"])  # dNLR is carried, never taken for the NLR
    assert (row["os_event"], row["os_months"], row["pfs_event"]) == (1, 2.1, 1)
    assert df["regimen"].value_counts()["ici_ctla4"] == 12
    assert df["best_response"].value_counts().to_dict() == {"PD": 137, "PR": 55, "SD": 48, "CR": 6, "NE": 0}
    assert df["dcb_reported"].value_counts().to_dict() == {1.0: 29, 0.0: 19}
    assert df["os_months"].notna().sum() == 246 and df["os_event"].sum() == 151  # censored OS from the dates
    assert df["pdl1_tps"].notna().sum() == 246
    assert 80 <= (df["mut_kras"] == 1).sum() <= 110 and df["mut_kras"].notna().all()
    assert df.loc["P-0012679", "mut_alk"] == 1  # EML4-ALK


def test_nsclc_mskcc_2018_and_2015():
    h = check_patients(read_patients(_real("cbioportal", "nsclc_mskcc_2018"))).set_index("patient_id")
    assert (h["regimen"] == "ici_ctla4").all() and (h["line_of_therapy"] == 1).all()
    p1 = h.loc["nsclc_mskcc_2018p1"]
    assert (p1["pdl1_tps"], p1["histology"], p1["best_response"], p1["dcb_reported"]) == (2, "other", "PD", 0)
    assert h.loc["nsclc_mskcc_2018p2", "histology"] == "squamous"
    assert h["nonsynonymous_mutation_burden"].iloc[0] == "60"  # a count: carried, not tmb
    assert h[list(MUTATION_COLUMNS)].isna().all(axis=None)  # clinical only
    r = check_patients(read_patients(_real("cbioportal", "nsclc_mskcc_2015"))).set_index("patient_id")
    assert r.loc["HE3202", "pdl1_band"] == ">=50" and r.loc["TU0428", "pdl1_band"] == "<1"
    assert r.loc["KA3947", "best_response"] == "SD" and r.loc["TU0428", "dcb_reported"] == 0
    assert r.loc["HE3202", "mut_kras"] == 1 and r.loc["TU0428", "mut_kras"] == 0
    assert r[["mut_alk", "mut_ros1", "mut_ret"]].isna().all(axis=None)  # no fusion data in WES MAF
    assert r["prior_systemic_therapy"].sum() == 11  # 11 of 16 had prior cytotoxic chemotherapy


def test_portal_tsv_export_matches_the_folder():
    tsv = check_patients(read_patients(_real("cbioportal", "lung_msk_mind_2020", "lung_msk_mind_2020_clinical_data.tsv")))
    folder = check_patients(read_patients(_real("cbioportal", "lung_msk_mind_2020")))
    assert len(tsv) == 247 and (tsv["cohort"] == "lung_msk_mind_2020").all()
    cols = ["sex", "age", "smoking", "pack_years", "ecog", "albumin", "histology", "line_of_therapy", "regimen",
            "pdl1_tps", "tmb", "pfs_months", "pfs_event", "os_months", "os_event", "best_response", "dcb_reported"]
    a = tsv.set_index("patient_id").sort_index()[cols]
    b = folder.set_index("patient_id").sort_index()[cols]
    pd.testing.assert_frame_equal(a, b)


MIND = ("cbioportal", "lung_msk_mind_2020")
#: The genes the MSK-MIND export has "<GENE> driver" / "<GENE> protein change" columns for.
MIND_EXPORT_COLUMNS = ["mut_egfr", "mut_alk", "mut_ros1", "mut_ret", "mut_erbb2", "mut_braf", "mut_met_ex14",
                       "mut_stk11"]


@pytest.fixture(scope="module")
def mind() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The MSK-MIND study folder and its portal export, checked, by patient id."""
    folder = check_patients(read_patients(_real(*MIND))).set_index("patient_id").sort_index()
    tsv = check_patients(read_patients(_real(*MIND, "lung_msk_mind_2020_clinical_data.tsv")))
    return folder, tsv.set_index("patient_id").sort_index()


def test_portal_export_gives_the_folders_mutation_flags(mind):
    folder, tsv = mind
    cols = list(MUTATION_COLUMNS)
    a, b = folder[cols].astype(float), tsv[cols].astype(float)
    both = a.notna() & b.notna()
    assert ((a == b) | ~both).all(axis=None)  # every patient and gene both know agree
    assert int(both.to_numpy().sum()) == 1968 == 246 * len(MIND_EXPORT_COLUMNS)
    assert both.any().loc[lambda s: s].index.tolist() == MIND_EXPORT_COLUMNS
    assert b.notna().sum().to_dict() == {c: (246 if c in MIND_EXPORT_COLUMNS else 0) for c in cols}
    # the export leaves one sample unannotated (a cancer of unknown primary), which the folder's MAF knows
    assert tsv.index[b[MIND_EXPORT_COLUMNS].isna().all(axis=1)].tolist() == ["P-0021769"]
    assert a.loc["P-0021769"].notna().all()
    assert (b == 1).sum()[MIND_EXPORT_COLUMNS].to_dict() == {
        "mut_egfr": 15, "mut_alk": 1, "mut_ros1": 1, "mut_ret": 0, "mut_erbb2": 18, "mut_braf": 14,
        "mut_met_ex14": 7, "mut_stk11": 51}


def test_portal_export_driver_calls_are_another_definition(mind):
    """Why the flags do not follow the export's "<GENE> driver" column: 37 calls would differ."""
    folder, tsv = mind
    differ = {}
    for col in MIND_EXPORT_COLUMNS:
        gene = col.split("_")[1]
        call = tsv[f"{gene}_driver"].map({"TRUE": 1.0, "FALSE": 0.0})
        differ[col] = int(((call != folder[col]) & call.notna() & folder[col].notna()).sum())
    assert differ == {"mut_egfr": 7, "mut_alk": 1, "mut_ros1": 1, "mut_ret": 0, "mut_erbb2": 7, "mut_braf": 7,
                      "mut_met_ex14": 5, "mut_stk11": 9}
    # the portal counts EGFR amplification as a driver; the EML4-ALK fusion it does not
    assert tsv.loc["P-0018197", "egfr_protein"] == "AMP (driver)" and folder.loc["P-0018197", "mut_egfr"] == 0
    assert tsv.loc["P-0012679", "alk_driver"] == "FALSE" and folder.loc["P-0012679", "mut_alk"] == 1


def test_portal_export_mutation_groups(mind):
    folder, tsv = mind
    a, b = mutation_groups(folder), mutation_groups(tsv)
    differ = (a != b) & a.notna() & b.notna()
    assert (a["driver_positive"] == b["driver_positive"]).sum() == 246  # EGFR, ALK, ROS1, RET, ERBB2: all in the export
    # any other difference comes from a gene the export has no column for (KRAS, KEAP1)
    assert (folder.loc[differ["positive_mutation"], "mut_kras"] == 1).all()
    assert (folder.loc[differ["cold_tumour"], "mut_keap1"] == 1).all()
    assert not differ["immune_evasion"].any()


def test_renamed_study_folder_reads_the_same(tmp_path):
    original = _real("cbioportal", "nsclc_pd1_msk_2018")
    copy = shutil.copytree(original, tmp_path / "downloaded study (copy)")
    a = check_patients(read_patients(original))
    b = check_patients(read_patients(copy))
    assert (b["cohort"] == "nsclc_pd1_msk_2018").all() and (b["regimen"] == "ici_ctla4").sum() == 34
    pd.testing.assert_frame_equal(a, b)
