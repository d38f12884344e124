"""cBioPortal alteration flags on hand-made files: the study identity, the export's per-gene columns, odd MAFs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icipredict.io import read_cbioportal_study, read_cbioportal_tsv, read_patients
from icipredict.io.cbioportal import maf_class, study_identifier
from icipredict.table.schema import MUTATION_COLUMNS, check_patients

MAF_HEADER = "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\tHGVSp_Short\tHGVSc\n"


def _study(folder: Path, maf_rows: str, *, samples: str = "a b c d", header: str = MAF_HEADER) -> Path:
    """A WES-like study: one sample per patient, all sequenced (#sequenced_samples), no panels."""
    folder.mkdir()
    ids = samples.split()
    (folder / "data_clinical_sample.txt").write_text(
        "PATIENT_ID\tSAMPLE_ID\n" + "".join(f"{s}\t{s}\n" for s in ids))
    (folder / "data_mutations.txt").write_text(f"#sequenced_samples: {samples}\n" + header + maf_rows)
    return folder


def _no_warnings(read, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read(*args)


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


# ---------------------------------------------------------------- the portal export's per-gene columns

EXPORT = (
    "Study ID\tPatient ID\tSample ID\tEGFR driver\tEGFR protein change\tALK driver\tALK protein change\t"
    "MET driver\tMET protein change\tSTK11 driver\tSTK11 protein change\tBRAF driver\n"
    # a: sensitising EGFR, an EML4-ALK fusion the portal calls no driver, MET exon 14 skipping, STK11 deep deletion
    "s\ta\ta-T1\tTRUE\tL858R (driver)\tFALSE\tEML4-ALK fusion\tTRUE\tX963_splice (driver)\tTRUE\tHOMDEL (driver)\tTRUE\n"
    # b: EGFR amplification, an intragenic ALK event, MET amplification + D1228H, an STK11 VUS
    "s\tb\tb-T1\tTRUE\tAMP (driver), EGFR-intragenic\tFALSE\tALK-intragenic\tTRUE\tAMP (driver), D1228H (driver)\t"
    "FALSE\tR40L\tFALSE\n"
    # c: EGFR outside the kinase domain, truncating STK11, nothing in ALK / MET
    "s\tc\tc-T1\tFALSE\tA24S\tFALSE\t\tFALSE\t\tTRUE\tQ37* (driver)\tNA\n"
    # d: not annotated
    "s\td\td-T1\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n"
    # e: an STK11 entry this reader cannot read, and a driver call without any change written
    "s\te\te-T1\tTRUE\t\tFALSE\t\tFALSE\t\tFALSE\tsomething odd\tFALSE\n"
)


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    path = tmp_path / "toy_clinical_data.tsv"
    path.write_text(EXPORT)
    return path


def test_export_alteration_columns_follow_the_maf_rule(export):
    with pytest.warns(UserWarning, match="mut_stk11"):
        raw = read_patients(export)
    df = check_patients(raw).set_index("patient_id")
    nan = np.nan
    expected = pd.DataFrame({
        "mut_egfr": [1, 0, 0, nan, nan], "mut_alk": [1, 0, 0, nan, 0], "mut_met_ex14": [1, 0, 0, nan, 0],
        "mut_stk11": [0, 1, 1, nan, nan], "mut_braf": [1, 0, nan, nan, 0],
    }, index=pd.Index(list("abcde"), name="patient_id"), dtype=float)
    pd.testing.assert_frame_equal(df[expected.columns].astype(float), expected, check_index_type=False)
    assert df[["mut_kras", "mut_tp53", "mut_keap1", "mut_ros1", "mut_ret"]].isna().all(axis=None)
    assert df.loc["a", "egfr_driver"] == "TRUE" and df.loc["b", "egfr_protein"].startswith("AMP")  # carried


def test_export_notes_say_what_was_not_read(export):
    with pytest.warns(UserWarning):
        df = read_cbioportal_tsv(export)
    notes = " | ".join(df.attrs["notes"])
    assert "mut_braf read from the portal's '<GENE> driver' calls alone" in notes
    assert "no alteration columns for mut_erbb2, mut_kras, mut_keap1" in notes and "mut_ros1, mut_ret, so" in notes
    odd = pd.DataFrame(df.attrs["unclassified_variants"])
    assert odd[["patient_id", "column", "value"]].values.tolist() == [
        ["e", "mut_egfr", "driver TRUE without a change"], ["e", "mut_stk11", "something odd"]]
    assert odd["flag"].isna().all()


def test_folder_attributes_and_export_agree(tmp_path, export):
    """The datahub clinical file carries the same attributes: without a MAF they give the same flags."""
    folder = tmp_path / "toy"
    folder.mkdir()
    table = pd.read_csv(export, sep="\t", dtype=str, keep_default_na=False)
    names = {"Patient ID": "PATIENT_ID", "Sample ID": "SAMPLE_ID"}
    for col in table.columns[3:]:
        gene, what = col.split(" ", 1)
        names[col] = f"{gene}_{'DRIVER' if what == 'driver' else 'PROTEIN'}"
    table.drop(columns="Study ID").rename(columns=names).to_csv(folder / "data_clinical_sample.txt", sep="\t",
                                                                 index=False)
    with pytest.warns(UserWarning):
        a = read_cbioportal_study(folder).set_index("patient_id")
    with pytest.warns(UserWarning):
        b = read_cbioportal_tsv(export).set_index("patient_id")
    cols = [c for c in MUTATION_COLUMNS if c in b.columns]
    pd.testing.assert_frame_equal(a[cols].astype(float), b[cols].astype(float))


def test_folder_maf_decides_over_the_attributes(tmp_path):
    folder = _study(tmp_path / "both", "EGFR\ta\tMissense_Mutation\tp.L858R\tc.2573T>G\n", samples="a b")
    (folder / "data_clinical_sample.txt").write_text(
        "PATIENT_ID\tSAMPLE_ID\tEGFR_DRIVER\tEGFR_PROTEIN\na\ta\tFALSE\t\nb\tb\tTRUE\tAMP (driver)\n")
    df = _no_warnings(read_cbioportal_study, folder).set_index("patient_id")
    assert df["mut_egfr"].tolist() == [1.0, 0.0]  # the MAF's call; an amplification does not count


# ---------------------------------------------------------------- MAF Variant_Classification


@pytest.mark.parametrize("value, expected", [
    ("Missense_Mutation", "Missense_Mutation"), ("missense_mutation", "Missense_Mutation"),
    ("MISSENSE_MUTATION", "Missense_Mutation"), (" Missense Mutation ", "Missense_Mutation"),
    ("frame-shift-del", "Frame_Shift_Del"), ("3'utr", "3'UTR"), ("splice_region", "Splice_Region"),
    ("missense_variant", "Missense_Mutation"), ("stop_gained&splice_region_variant", "Nonsense_Mutation"),
    ("synonymous_variant", "Silent"), ("Start_Codon_SNP", "Translation_Start_Site"),
    ("Unknown", None), ("Targeted_Region", None), ("", None), ("Weird_Class", None),
], ids=lambda v: repr(v))
def test_maf_class(value, expected):
    assert maf_class(value) == expected


def test_maf_class_in_another_case_counts(tmp_path):
    folder = _study(tmp_path / "cases",
                    "KRAS\ta\tmissense_mutation\tp.G12C\tc.34G>T\n"
                    "TP53\tb\tNONSENSE_MUTATION\tp.R213*\tc.637C>T\n"
                    "STK11\tc\tframeshift_variant\tp.P281Rfs*6\tc.842del\n"
                    "KEAP1\td\tsynonymous_variant\tp.G333G\tc.999C>T\n")
    df = _no_warnings(read_cbioportal_study, folder).set_index("patient_id")
    assert (df.loc["a", "mut_kras"], df.loc["b", "mut_tp53"], df.loc["c", "mut_stk11"]) == (1, 1, 1)
    assert df["mut_keap1"].tolist() == [0, 0, 0, 0]  # a synonymous variant is no alteration
    assert df.attrs["unclassified_variants"] == [] and df.attrs["notes"] == []


def test_maf_column_names_in_another_case(tmp_path):
    folder = _study(tmp_path / "header", "KRAS\ta\tMissense_Mutation\tp.G12C\tc.34G>T\n", samples="a b",
                    header=MAF_HEADER.lower())
    df = _no_warnings(read_cbioportal_study, folder).set_index("patient_id")
    assert df["mut_kras"].tolist() == [1, 0]


def test_egfr_call_counts_when_the_maf_has_no_protein_change(tmp_path):
    # without HGVSp_Short the kinase domain cannot be checked: a coding EGFR call is not wild type
    folder = _study(tmp_path / "no_hgvsp", "EGFR\ta\tMissense_Mutation\n", samples="a b",
                    header="Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\n")
    df = _no_warnings(read_cbioportal_study, folder).set_index("patient_id")
    assert df.loc["a", "mut_egfr"] == 1.0 and df.loc["b", "mut_egfr"] == 0.0


def test_unknown_class_is_not_wild_type(tmp_path):
    folder = _study(tmp_path / "odd_classes",
                    "TP53\ta\tUnknown\tp.R273H\tc.818G>A\n"            # a: TP53 cannot be told
                    "KRAS\tb\tUnknown\t\t\n"                          # b: KRAS set by its other variant
                    "KRAS\tb\tMissense_Mutation\tp.G12D\tc.35G>A\n"
                    "STK11\tc\tWeird_Class\tp.Q37*\tc.109C>T\n"       # c: a class never seen
                    "ARID1A\td\tUnknown\tp.Q1\tc.1\n"                 # d: a gene the package does not use
                    "EGFR\td\tUnknown\tp.A24S\tc.70G>T\n"             # d: outside the kinase domain anyway
                    "EGFR\tc\tTargeted_Region\tp.L858R\tc.2573T>G\n"  # c: inside it
                    "MET\ta\tUnknown\tp.M34V\tc.100A>G\n"             # a: not at exon 14
                    "MET\tb\tUnknown\t\tc.3028+2T>C\n")               # b: at the exon 14 donor
    expected = r"odd_classes: data_mutations.txt: 5 .*Left missing \(not tested\) for: a mut_tp53"
    with pytest.warns(UserWarning, match=expected) as caught:
        raw = read_patients(folder)
    df = check_patients(raw).set_index("patient_id")
    assert np.isnan(df.loc["a", "mut_tp53"]) and df.loc[["b", "c", "d"], "mut_tp53"].eq(0).all()
    assert df.loc["b", "mut_kras"] == 1 and np.isnan(df.loc["c", "mut_stk11"]) and np.isnan(df.loc["c", "mut_egfr"])
    assert df.loc["d", "mut_egfr"] == 0 and df.loc["a", "mut_met_ex14"] == 0 and np.isnan(df.loc["b", "mut_met_ex14"])
    records = pd.DataFrame(raw.attrs["unclassified_variants"])
    assert sorted(map(tuple, records[["patient_id", "column", "value"]].values.tolist())) == [
        ("a", "mut_tp53", "Unknown"), ("b", "mut_kras", "Unknown"), ("b", "mut_met_ex14", "Unknown"),
        ("c", "mut_egfr", "Targeted_Region"), ("c", "mut_stk11", "Weird_Class")]
    assert records.set_index(["patient_id", "column"])["flag"].to_dict()[("b", "mut_kras")] == 1
    assert len(caught) == 1 and raw.attrs["notes"] == [str(caught[0].message)]
    note = raw.attrs["notes"][0]
    assert "Set by another variant for: b mut_kras" in note and "ARID1A" not in note and "d mut_egfr" not in note


def test_unknown_class_on_an_unsequenced_sample_stays_not_tested(tmp_path):
    folder = _study(tmp_path / "unsequenced", "TP53\tb\tUnknown\t\t\n", samples="a")
    (folder / "data_clinical_sample.txt").write_text("PATIENT_ID\tSAMPLE_ID\na\ta\nb\tb\n")
    with pytest.warns(UserWarning, match="b mut_tp53"):
        df = read_cbioportal_study(folder).set_index("patient_id")
    assert df.loc["a", "mut_tp53"] == 0 and np.isnan(df.loc["b", "mut_tp53"])


def test_unknown_class_of_another_sample_of_the_patient_is_ignored(tmp_path):
    folder = _study(tmp_path / "two_samples", "TP53\tp1-T2\tUnknown\t\t\n", samples="p1-T1 p1-T2")
    (folder / "data_clinical_sample.txt").write_text("PATIENT_ID\tSAMPLE_ID\np1\tp1-T2\np1\tp1-T1\n")
    df = _no_warnings(read_cbioportal_study, folder)
    assert df["sample_id"].tolist() == ["p1-T1"] and df["mut_tp53"].tolist() == [0]
