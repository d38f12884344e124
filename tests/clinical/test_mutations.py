"""Mutation groups (domain.md section 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.mutations import MUTATION_GROUPS, mutation_groups

NAN = np.nan

#: gene values, smoking -> expected driver_positive, positive_mutation, cold_tumour, immune_evasion
CASES = {
    "egfr": ({"mut_egfr": 1, "mut_kras": 0, "mut_stk11": 0, "mut_tp53": 0}, "never", (1, 0, 0, 0)),
    "kras-stk11-never-smoker": ({"mut_egfr": 0, "mut_kras": 1, "mut_stk11": 1, "mut_tp53": 0}, "never",
                                (0, 1, 1, 0)),
    "braf-never-smoker-not-positive": ({"mut_braf": 1, "mut_kras": 0}, "never", (NAN, 0, NAN, NAN)),
    "braf-former-smoker": ({"mut_braf": 1, "mut_kras": 0}, "former", (NAN, 1, NAN, NAN)),
    "met-current-smoker": ({"mut_met_ex14": 1}, "current", (NAN, 1, NAN, NAN)),
    "met-smoking-unknown": ({"mut_met_ex14": 1, "mut_kras": 0}, None, (NAN, NAN, NAN, NAN)),
    "met-and-kras-smoking-unknown": ({"mut_met_ex14": 1, "mut_kras": 1}, None, (NAN, 1, NAN, NAN)),
    "braf-wild-type-smoking-unknown": ({"mut_braf": 0}, None, (NAN, 0, NAN, NAN)),
    "keap1-b2m": ({"mut_keap1": 1, "mut_b2m": 1, "mut_alk": 0}, "ever", (0, NAN, 1, 1)),
    "untested": ({}, "never", (NAN, NAN, NAN, NAN)),
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rows = {k: {**genes, "smoking": smoking} for k, (genes, smoking, _) in CASES.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.mark.parametrize("patient", list(CASES))
def test_mutation_groups(frame, patient):
    out = mutation_groups(frame)
    assert out.columns.tolist() == list(MUTATION_GROUPS)
    np.testing.assert_array_equal(out.loc[patient].to_numpy(dtype=float), np.array(CASES[patient][2], dtype=float))


def test_mutation_groups_no_mutation_columns():
    out = mutation_groups(pd.DataFrame({"smoking": ["never", None]}, index=[3, 4]))
    assert out.index.tolist() == [3, 4]
    assert out.isna().all().all()
    assert (out.dtypes == float).all()
