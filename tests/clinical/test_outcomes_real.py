"""The derived DCB label against the study's own call on MSK NSCLC anti-PD-(L)1 (Rizvi et al., JCO 2018).

cBioPortal study ``nsclc_pd1_msk_2018``: 240 patients with PFS (months), PFS status and the
study's DURABLE_CLINICAL_BENEFIT (YES / NO / NE). The study defines DCB as PR/SD lasting > 6
months and NE as censored before 6 months, which is the rule of domain.md section 2, so every
patient the two calls both evaluate must agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.outcomes import benefit_label, fast_progression

pytestmark = pytest.mark.realdata

SHARED = Path(os.environ.get("ICIPREDICT_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
STUDY = SHARED / "cbioportal" / "nsclc_pd1_msk_2018"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    path = STUDY / "data_clinical_patient.txt"
    if not path.exists():
        pytest.skip(f"real cohort not available: {path} does not exist (set ICIPREDICT_SHARED_DATA)")
    raw = pd.read_csv(path, sep="\t", comment="#", dtype=str)
    status = raw["PFS_STATUS"].str.split(":").str[0]  # "1:Progressed" / "0:Not Progressed"
    return pd.DataFrame({
        "patient_id": raw["PATIENT_ID"],
        "pfs_months": pd.to_numeric(raw["PFS_MONTHS"], errors="raise"),
        "pfs_event": pd.to_numeric(status, errors="raise").astype(float),
        "dcb_reported": raw["DURABLE_CLINICAL_BENEFIT"].map({"YES": 1.0, "NO": 0.0, "NE": np.nan}),
    })


def test_cohort_read_as_expected(cohort):
    assert len(cohort) == 240
    assert cohort["pfs_months"].notna().all() and cohort["pfs_event"].isin([0.0, 1.0]).all()


def test_derived_label_matches_reported_dcb(cohort):
    derived = benefit_label(cohort)
    reported = benefit_label(cohort, source="reported")
    both = (derived != "not_evaluable") & (reported != "not_evaluable")
    disagree = cohort.loc[both & (derived != reported), "patient_id"].tolist()
    assert int(both.sum()) == 227  # 69 YES + 158 NO
    assert disagree == []
    # the 13 NE patients are censored before 6 months: not evaluable for us as well
    assert derived[reported == "not_evaluable"].eq("not_evaluable").all()
    assert int((derived == "not_evaluable").sum()) == 13
    assert benefit_label(cohort, source="reported_then_derived").equals(derived)


def test_fast_progressors_are_primary_resistant(cohort):
    fast = fast_progression(cohort).fillna(False).astype(bool)
    assert fast.sum() > 0
    assert (benefit_label(cohort)[fast] == "primary_resistance").all()
