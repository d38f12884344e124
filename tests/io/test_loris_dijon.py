"""The LORIS / Chowell tables and the Dijon (Fumet et al. 2018) table."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icipredict.io import read_dijon, read_loris, read_patients
from icipredict.clinical.assays import pdl1_band_from_scores
from icipredict.clinical.til import til_status
from icipredict.table.schema import check_patients

SHARED = Path(os.environ.get("ICIPREDICT_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


def _real(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real cohort not available: {path} does not exist (set ICIPREDICT_SHARED_DATA)")
    return path


LORIS_TOY = (
    "SAMPLE_ID,TMB,PDL1_TPS(%),Systemic_therapy_history,Albumin,CancerType,NLR,Age,Drug,Sex,PFS_Event,PFS_Months,Response,HED\n"
    "1,7.9,,1,3.9,NSCLC,5.0,71.1,0,1,1,1.8,0,3.9\n"
    "2,12.0,80.0,0,4.2,Melanoma,2.5,60.0,1,0,0,14.0,1,5.1\n"
    "3,3.0,0.0,0,4.0,NSCLC,2.0,55.0,1.0,0.0,1,2.0,1,0.0\n"
)


def test_loris_codes_and_nsclc_filter(tmp_path):
    path = tmp_path / "pan_cancer.csv"
    path.write_text(LORIS_TOY)
    df = check_patients(read_patients(path))
    assert df["patient_id"].tolist() == ["pan_cancer:1", "pan_cancer:3"]  # melanoma row dropped
    assert df["sex"].tolist() == ["male", "female"]
    assert df["regimen"].tolist() == ["ici_mono", "ici_ctla4"]
    assert df["prior_systemic_therapy"].tolist() == [1.0, 0.0]
    assert np.isnan(df.loc[0, "pdl1_tps"]) and df.loc[1, "pdl1_tps"] == 0
    assert df["objective_response"].tolist() == ["0", "1"] and "hed" in df.columns
    assert (df["tmb_assay"] == "MSK-IMPACT panel").all()


def test_loris_unknown_code_reaches_the_schema(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(LORIS_TOY.replace("\n1,7.9,,1,3.9,NSCLC,5.0,71.1,0,1,", "\n1,7.9,,1,3.9,NSCLC,5.0,71.1,0,2,"))
    with pytest.raises(Exception, match=r"patient 'bad:1', column 'sex'.*Got '2' instead"):
        check_patients(read_loris(path))


@pytest.mark.parametrize(("name", "n"), [("chowell_train", 331), ("chowell_test", 207), ("msk1", 128)],
                         ids=["chowell_train", "chowell_test", "msk1"])
def test_real_loris_tables(name, n):
    df = check_patients(read_patients(_real("loris_nsclc", f"{name}.csv")))
    assert len(df) == n and df["patient_id"].is_unique and (df["cohort"] == name).all()
    assert df["patient_id"].str.startswith(f"{name}:").all()
    for col in ("tmb", "albumin", "nlr", "age", "sex", "regimen", "prior_systemic_therapy", "pfs_months", "pfs_event"):
        assert df[col].notna().all(), col
    assert 0.4 < df["pdl1_tps"].notna().mean() < 0.8
    assert 2 < df["tmb"].median() < 15 and 3 < df["albumin"].median() < 5
    assert (df["regimen"] == "ici_mono").mean() > 0.8


def test_real_chowell_train_spot_checks():
    df = check_patients(read_patients(_real("loris_nsclc", "chowell_train.csv"))).set_index("patient_id")
    raw = pd.read_csv(_real("loris_nsclc", "chowell_train.csv"), dtype=str, keep_default_na=False).set_index("SAMPLE_ID")
    assert (df["sex"] == "male").sum() == (raw["Sex"] == "1").sum() == 159
    assert (df["regimen"] == "ici_ctla4").sum() == 53
    first = raw.index[0]
    row = df.loc[f"chowell_train:{first}"]
    assert row["tmb"] == float(raw.loc[first, "TMB"]) and row["nlr"] == float(raw.loc[first, "NLR"])


def test_msk1_row():
    df = check_patients(read_patients(_real("loris_nsclc", "msk1.csv"))).set_index("patient_id")
    row = df.loc["msk1:133"]  # 133,2017,9.7,,0,4.1,NSCLC,2.72,304,63.0,0.1517,0,0,1,6.11,0,27.27,1
    assert (row["tmb"], row["prior_systemic_therapy"], row["albumin"], row["nlr"]) == (9.7, 0, 4.1, 2.72)
    assert (row["sex"], row["regimen"], row["pfs_months"], row["os_event"], row["objective_response"]) == (
        "female", "ici_mono", 6.11, 0, "1")


# ---------------------------------------------------------------- Dijon

def test_dijon_toy(tmp_path):
    path = tmp_path / "dijon.csv"
    path.write_text("ID,Sex,AgeNivo,WHO performance status,Histology,Smoker,CD8_IHC,PDL1_TC_Sp142,PDL1_IC_Sp142,PFS,evtPFS,bestRECIST\n"
                    "P1,M,59,1,non-squamous cell,1,0.0,0.0,1.0,2.5,1.0,SD\n"
                    "P2,F,45,0,squamous cell,0,12.0,2.0,3.0,6.0,0.0,PR\n"
                    "P3,F,70,2,other,1,,3.0,,1.0,1.0,PD\n")
    df = check_patients(read_dijon(path))
    assert df["patient_id"].tolist() == ["dijon:P1", "dijon:P2", "dijon:P3"]
    assert df["histology"].tolist() == ["other", "squamous", "other"]
    assert df["smoking"].tolist() == ["ever", "never", "ever"]
    assert (df["pdl1_assay"] == "SP142").all() and df["pdl1_sp142_tc"].tolist() == [0, 2, 3]
    assert pdl1_band_from_scores(df).tolist() == ["<1", "1-49", ">=50"]  # TC score -> band by the SP142 rule
    assert df["cd8_score"].tolist()[:2] == [0.0, 12.0] and pd.isna(df.loc[2, "cd8_score"])
    assert df["til_pct"].isna().all() and df["til_status"].isna().all()  # the CD8 score is never a TIL % or status
    assert (df["regimen"] == "ici_mono").all() and df["ecog"].tolist() == [1, 0, 2]


def test_real_dijon():
    df = check_patients(read_patients(_real("dijon", "fumet2020_cd8_pdl1.csv"))).set_index("patient_id")
    assert len(df) == 85 and (df["cohort"] == "fumet2020_cd8_pdl1").all()
    assert df["cd8_score"].notna().sum() == 78
    status = til_status(df)  # the cohort-median rule for a CD8 score: 39 / 39, set by cd8_score
    assert status["til_positive"].value_counts().to_dict() == {1.0: 39, 0.0: 39}
    assert set(status["til_source"].dropna()) == {"cd8_score"} and status["til_cutoff"].dropna().round(2).unique().tolist() == [7.51]
    assert pdl1_band_from_scores(df).value_counts().to_dict() == {"1-49": 40, "<1": 19, ">=50": 19}
    assert df["sex"].value_counts().to_dict() == {"male": 67, "female": 18}
    assert df["best_response"].notna().all() and df["pfs_months"].notna().sum() == 84
    p1 = df.loc["dijon:P1"]  # P1,M,59,1,non-squamous cell,IV,1,0.0,0.0,1.0,...,2.5,1.0,SD
    assert (p1["sex"], p1["age"], p1["ecog"], p1["histology"], p1["smoking"]) == ("male", 59, 1, "other", "ever")
    assert (p1["cd8_score"], p1["pdl1_sp142_tc"], p1["pdl1_sp142_ic"]) == (0.0, 0, 1)
    assert (p1["pfs_months"], p1["pfs_event"], p1["best_response"], p1["tumor_stage"]) == (2.5, 1, "SD", "IV")
