"""TIME class from PD-L1 and TIL status (domain.md section 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.time_class import NUMBERINGS, describe_pair, time_class, time_status_pair

NAN = np.nan


@pytest.fixture()
def patients() -> pd.DataFrame:
    return pd.DataFrame({
        "pdl1_tps": [60.0, 0.0, 0.0, 30.0, NAN, NAN, 5.0],
        "pdl1_band": [None, None, None, None, ">=50", None, None],
        "til_pct": [20.0, 2.0, 40.0, 1.0, NAN, 30.0, NAN],
        "til_status": [None, None, None, None, None, None, None],
    }, index=["pos_pos", "neg_neg", "neg_pos", "pos_neg", "band_only", "pdl1_unknown", "til_unknown"])


def test_time_status_pair(patients):
    pair = time_status_pair(patients)
    assert pair.columns.tolist() == ["pdl1_positive", "til_positive"]
    np.testing.assert_array_equal(pair["pdl1_positive"].to_numpy(), [1, 0, 0, 1, 1, NAN, 1])
    np.testing.assert_array_equal(pair["til_positive"].to_numpy(), [1, 0, 1, 0, NAN, 1, NAN])
    strict = time_status_pair(patients, pdl1_cutoff=50.0, til_cutoffs={"til_pct": 25.0})
    np.testing.assert_array_equal(strict["pdl1_positive"].to_numpy(), [1, 0, 0, 0, 1, NAN, 0])
    np.testing.assert_array_equal(strict["til_positive"].to_numpy(), [0, 0, 1, 0, NAN, 1, NAN])


@pytest.mark.parametrize("numbering, expected", [
    pytest.param("seed", {"pos_pos": "II (PD-L1+/TIL+)", "neg_neg": "I (PD-L1-/TIL-)",
                          "neg_pos": "III (PD-L1-/TIL+)", "pos_neg": "IV (PD-L1+/TIL-)"}, id="seed"),
    pytest.param("teng", {"pos_pos": "I (PD-L1+/TIL+)", "neg_neg": "II (PD-L1-/TIL-)",
                          "neg_pos": "IV (PD-L1-/TIL+)", "pos_neg": "III (PD-L1+/TIL-)"}, id="teng"),
])
def test_time_class_numberings(patients, numbering, expected):
    out = time_class(patients, numbering=numbering)
    assert out.index.equals(patients.index)
    assert out[list(expected)].to_dict() == expected
    assert out["band_only"] == "unknown (PD-L1+/TIL?)"
    assert out["pdl1_unknown"] == "unknown (PD-L1?/TIL+)"
    assert out["til_unknown"] == "unknown (PD-L1+/TIL?)"


def test_numberings_cover_every_pair():
    for table in NUMBERINGS.values():
        assert sorted(table) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        assert sorted(table.values()) == ["I", "II", "III", "IV"]


def test_time_class_custom_mapping_and_cutoff(patients):
    mapping = {(1, 1): "hot", (0, 0): "cold", (0, 1): "tolerant", (1, 0): "induced"}
    out = time_class(patients, mapping=mapping, pdl1_cutoff=50.0)
    assert out["pos_pos"] == "hot (PD-L1+/TIL+)"
    assert out["pos_neg"] == "cold (PD-L1-/TIL-)"  # TPS 30 is negative at a 50 % cut-off


@pytest.mark.parametrize("kwargs, match", [
    pytest.param({"numbering": "chen"}, r"numbering must be one of 'seed', 'teng'. Got 'chen' instead",
                 id="bad-numbering"),
    pytest.param({"mapping": {(1, 1): "I"}}, r"mapping must give a label for each .*Got \[\(1, 1\)\] instead",
                 id="incomplete-mapping"),
])
def test_time_class_bad_options(patients, kwargs, match):
    with pytest.raises(ValueError, match=match):
        time_class(patients, **kwargs)


@pytest.mark.parametrize("pdl1, til, expected", [
    pytest.param(1.0, 1.0, "PD-L1+/TIL+", id="pos-pos"),
    pytest.param(0.0, 1, "PD-L1-/TIL+", id="neg-pos"),
    pytest.param(NAN, 0.0, "PD-L1?/TIL-", id="unknown-neg"),
    pytest.param(None, None, "PD-L1?/TIL?", id="none"),
])
def test_describe_pair(pdl1, til, expected):
    assert describe_pair(pdl1, til) == expected
