"""Tests of the seeded synthetic cohort generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from icipredict.io import synthetic as syn
from icipredict.io.synthetic import TRUE_LOGIT_COEFFICIENTS, synthetic_cohort
from icipredict.table.schema import MUTATION_COLUMNS, OUTCOME_COLUMNS, check_patients

OUTCOMES = ["best_response", "pfs_months", "pfs_event", "os_months", "os_event"]


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return synthetic_cohort(20_000, seed=11)


@pytest.fixture(scope="module")
def evaluable(big: pd.DataFrame) -> pd.DataFrame:
    benefit = big["pfs_months"] >= 6
    resistance = (big["pfs_event"] == 1) & (big["pfs_months"] < 6)
    out = big[benefit | resistance].copy()
    out["y"] = benefit[benefit | resistance].astype(int)
    return out


def test_public_names():
    assert syn.__all__ == ["whole_numbers_as_integers", "synthetic_cohort", "TRUE_LOGIT_COEFFICIENTS"]
    assert "intercept" in TRUE_LOGIT_COEFFICIENTS


def test_same_seed_same_frame():
    pdt.assert_frame_equal(synthetic_cohort(500, seed=3), synthetic_cohort(500, seed=3))


def test_different_seed_different_frame():
    a, b = synthetic_cohort(500, seed=3), synthetic_cohort(500, seed=4)
    assert not a.drop(columns="patient_id").equals(b.drop(columns="patient_id"))
    assert not np.allclose(a["age"], b["age"])


def test_rows_ids_and_schema():
    df = synthetic_cohort(1000, seed=7, cohort="demo")
    assert len(df) == 1000
    assert df["patient_id"].is_unique
    assert df["patient_id"].iloc[0] == "SYN-000001"
    assert df["patient_id"].iloc[-1] == "SYN-001000"
    clean = check_patients(df)  # raises on any problem
    assert len(clean) == 1000
    assert (df["cohort"] == "demo").all()
    for col in [*MUTATION_COLUMNS, "pdl1_tps", "pdl1_band", "tmb", "tmb_assay", "til_pct", "age", "sex",
                "smoking", "pack_years", "ecog", "histology", "met_liver", "met_bone", "met_brain",
                "met_pleura", "line_of_therapy", "prior_systemic_therapy", "regimen", "albumin", "nlr",
                "antibiotics", *OUTCOMES]:
        assert col in df.columns, col


def test_value_sets(big: pd.DataFrame):
    for col in MUTATION_COLUMNS:
        assert set(big[col].dropna().unique()) <= {0.0, 1.0}
        assert big[col].isna().mean() > 0.03  # some not tested
    assert big["til_status"].isna().all()
    assert 0.35 < big["til_pct"].notna().mean() < 0.45
    only_band = big["pdl1_tps"].isna() & big["pdl1_band"].notna()
    assert only_band.mean() > 0.03
    assert not (big["pdl1_tps"].notna() & big["pdl1_band"].notna()).any()
    assays = big["tmb_assay"].value_counts(normalize=True)
    assert assays["MSK-IMPACT panel"] > 0.8 and assays["WES"] > 0.02 and assays["plasma bTMB"] > 0.02
    assert set(big["regimen"].unique()) == {"ici_mono", "ici_ctla4", "chemo_ici"}
    assert 0.03 < big[[f"mut_{g}" for g in ("egfr", "alk", "ros1", "ret", "erbb2")]].max(axis=1).mean() < 0.08
    assert (big["os_months"] >= big["pfs_months"]).all()


def test_marginals_match_constants(big: pd.DataFrame):
    assert abs((big["sex"] == "female").sum() / big["sex"].notna().sum() - syn.FEMALE_SHARE) < 0.02
    pdl1_missing = (big["pdl1_tps"].isna() & big["pdl1_band"].isna()).mean()
    assert abs(pdl1_missing - syn.PDL1_MISSING_SHARE) < 0.02
    assert abs(big["ecog"].isna().mean() - syn.MISSING_SHARES["ecog"]) < 0.02
    assert abs(big["age"].mean() - syn.AGE_MEAN) < 0.5
    assert abs(big["albumin"].mean() - syn.ALBUMIN_MEAN) < 0.05
    panel = big["tmb_assay"] == "MSK-IMPACT panel"
    assert abs(np.log1p(big.loc[panel, "tmb"]).mean() - syn.LOG_TMB_MEAN) < 0.08
    tps = big["pdl1_tps"].dropna()
    assert abs((tps >= 50).mean() - syn.PDL1_BAND_SHARES[">=50"]) < 0.03
    assert abs((tps < 1).mean() - syn.PDL1_BAND_SHARES["<1"]) < 0.03


def test_dcb_rate_and_not_evaluable(big: pd.DataFrame, evaluable: pd.DataFrame):
    assert 0.2 < evaluable["y"].mean() < 0.4
    not_eval = 1 - len(evaluable) / len(big)
    assert abs(not_eval - syn.NOT_EVALUABLE_SHARE) < 0.02
    # best response consistent with the class
    ben = evaluable[evaluable["y"] == 1]["best_response"]
    res = evaluable[evaluable["y"] == 0]["best_response"]
    assert set(ben.unique()) <= {"CR", "PR", "SD"}
    assert (res == "PD").mean() > 0.6
    assert not res.isin(["CR", "PR"]).any()


def test_directions(evaluable: pd.DataFrame):
    d = evaluable
    assert d.loc[d["pdl1_tps"] >= 50, "y"].mean() > d.loc[d["pdl1_tps"] < 1, "y"].mean() + 0.1
    assert d.loc[d["mut_kras"] == 1, "y"].mean() > d.loc[d["mut_kras"] == 0, "y"].mean()
    assert d.loc[d["mut_stk11"] == 1, "y"].mean() < d.loc[d["mut_stk11"] == 0, "y"].mean()

    def female_effect(regimen: str) -> float:
        s = d[d["regimen"] == regimen]
        return s.loc[s["sex"] == "female", "y"].mean() - s.loc[s["sex"] == "male", "y"].mean()

    assert female_effect("ici_mono") < -0.03
    assert abs(female_effect("chemo_ici")) < 0.035


def test_learnable_but_noisy(evaluable: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    cols = ["pdl1_tps", "tmb", "albumin", "nlr", "ecog"]
    c = evaluable.dropna(subset=cols)
    X = np.array(c[cols].astype(float).to_numpy(), copy=True)
    X[:, 1] = np.log1p(X[:, 1])
    X[:, 3] = np.log(X[:, 3])
    y = c["y"].to_numpy()
    half = len(c) // 2
    model = LogisticRegression(max_iter=1000).fit(X[:half], y[:half])
    auc = roc_auc_score(y[half:], model.predict_proba(X[half:])[:, 1])
    assert 0.65 < auc < 0.9


def test_no_outcomes():
    df = synthetic_cohort(200, seed=1, outcomes=False)
    assert not set(OUTCOME_COLUMNS) & set(df.columns)
    check_patients(df)


def test_large_cohort_has_unique_ids():
    # speed is measured in benchmarks/, not here
    df = synthetic_cohort(100_000, seed=2)
    assert len(df) == 100_000 and df["patient_id"].is_unique


def test_bad_n():
    with pytest.raises(ValueError):
        synthetic_cohort(0)
