"""Biomarker statuses on hand-built patients (domain.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.biomarkers import PDL1_BANDS, pdl1_band, pdl1_positive, til_positive, tmb_high

NAN = np.nan


@pytest.mark.parametrize("tps, band, expected", [
    pytest.param(0.0, None, "<1", id="tps-0"),
    pytest.param(0.99, None, "<1", id="tps-just-below-1"),
    pytest.param(1.0, None, "1-49", id="tps-1"),
    pytest.param(49.9, None, "1-49", id="tps-49.9"),
    pytest.param(50.0, None, ">=50", id="tps-50"),
    pytest.param(100.0, None, ">=50", id="tps-100"),
    pytest.param(NAN, "1-49", "1-49", id="band-fallback"),
    pytest.param(NAN, ">=50", ">=50", id="band-fallback-high"),
    pytest.param(70.0, "<1", ">=50", id="tps-wins-over-band"),
    pytest.param(NAN, None, None, id="both-missing"),
])
def test_pdl1_band(tps, band, expected):
    out = pdl1_band(pd.DataFrame({"pdl1_tps": [tps], "pdl1_band": [band]}, index=["p"]))
    assert list(out.cat.categories) == list(PDL1_BANDS)
    value = out.loc["p"]
    assert (expected is None and pd.isna(value)) or value == expected


def test_pdl1_band_without_band_column():
    out = pdl1_band(pd.DataFrame({"pdl1_tps": [5.0, NAN]}))
    assert out.iloc[0] == "1-49" and pd.isna(out.iloc[1])


@pytest.mark.parametrize("cutoff, expected", [
    # rows: tps 0, tps 30, tps 75, band <1, band 1-49, band >=50, nothing
    pytest.param(1.0, [0, 1, 1, 0, 1, 1, NAN], id="cutoff-1"),
    pytest.param(50.0, [0, 0, 1, 0, 0, 1, NAN], id="cutoff-50"),
    pytest.param(5.0, [0, 1, 1, 0, NAN, 1, NAN], id="cutoff-5-band-1-49-undetermined"),
    pytest.param(100.0, [0, 0, 0, 0, 0, NAN, NAN], id="cutoff-100"),
])
def test_pdl1_positive(cutoff, expected):
    df = pd.DataFrame({"pdl1_tps": [0.0, 30.0, 75.0, NAN, NAN, NAN, NAN],
                       "pdl1_band": [None, None, None, "<1", "1-49", ">=50", None]})
    np.testing.assert_array_equal(pdl1_positive(df, cutoff=cutoff).to_numpy(), np.array(expected, dtype=float))


@pytest.mark.parametrize("tmb, cutoff, expected", [
    pytest.param(10.0, 10.0, 1.0, id="at-cutoff"),
    pytest.param(9.99, 10.0, 0.0, id="below"),
    pytest.param(15.0, 20.0, 0.0, id="custom-cutoff"),
    pytest.param(NAN, 10.0, NAN, id="missing"),
])
def test_tmb_high(tmb, cutoff, expected):
    got = tmb_high(pd.DataFrame({"tmb": [tmb]}), cutoff=cutoff).iloc[0]
    assert (math.isnan(expected) and math.isnan(got)) or got == expected


@pytest.mark.parametrize("status, pct, density, expected", [
    pytest.param("positive", 1.0, 10.0, 1.0, id="status-positive-overrides"),
    pytest.param("negative", 80.0, 900.0, 0.0, id="status-negative-overrides"),
    pytest.param(None, 10.0, 10.0, 1.0, id="pct-at-cutoff-wins-over-density"),
    pytest.param(None, 5.0, 900.0, 0.0, id="pct-low-wins-over-density"),
    pytest.param(None, NAN, 250.0, 1.0, id="density-at-cutoff"),
    pytest.param(None, NAN, 100.0, 0.0, id="density-low"),
    pytest.param(None, NAN, NAN, NAN, id="nothing"),
])
def test_til_positive(status, pct, density, expected):
    df = pd.DataFrame({"til_status": [status], "til_pct": [pct], "til_density": [density]})
    got = til_positive(df).iloc[0]
    assert (math.isnan(expected) and math.isnan(got)) or got == expected


def test_til_positive_custom_cutoffs_and_categorical_status():
    df = pd.DataFrame({"til_status": pd.Categorical([None, None], categories=["positive", "negative"]),
                       "til_pct": [15.0, NAN], "til_density": [NAN, 300.0]})
    assert til_positive(df, pct_cutoff=20.0, density_cutoff=400.0).tolist() == [0.0, 0.0]
