"""Biomarker statuses on hand-built patients (domain.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.biomarkers import PDL1_BANDS, pdl1_band, pdl1_positive, tmb_high
from icipredict.clinical.til import til_positive, til_status

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
    pytest.param(None, 10.0, 10.0, 0.0, id="density-wins-over-pct"),
    pytest.param(None, 5.0, 900.0, 1.0, id="density-high-wins-over-low-pct"),
    pytest.param(None, 10.0, NAN, 1.0, id="pct-at-cutoff"),
    pytest.param(None, 5.0, NAN, 0.0, id="pct-low"),
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
    assert til_positive(df, {"til_pct": 20.0, "til_density": 400.0}).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("column, values, expected, source", [
    pytest.param("cd8_density", [float(v) for v in range(12)], [0.0] * 6 + [1.0] * 6, "cd8_density",
                 id="cd8-density-cohort-median"),
    pytest.param("cd8_score", [1.0, 2.0, 3.0], [NAN] * 3, None, id="median-needs-10-patients"),
    pytest.param("immune_rna_score", [-0.5, 0.0, 1.2], [0.0, 1.0, 1.0], "immune_rna_score", id="rna-z-score-at-0"),
])
def test_other_til_measures_record_which_measure_set_the_status(column, values, expected, source):
    status = til_status(pd.DataFrame({column: values}))
    got = status["til_positive"].tolist()
    assert all((math.isnan(e) and math.isnan(g)) or e == g for e, g in zip(expected, got))
    assert status["til_source"].tolist() == [source if not math.isnan(e) else None for e in expected]


def test_a_measure_given_wins_over_later_ones_and_the_cutoff_is_recorded():
    df = pd.DataFrame({"til_density": [300.0, NAN], "cd8_score": [0.0, 5.0] + [], "immune_rna_score": [NAN, 2.0]})
    status = til_status(df, {"cd8_score": 4.0})
    assert status["til_positive"].tolist() == [1.0, 1.0]
    assert status["til_source"].tolist() == ["til_density", "cd8_score"]
    assert status["til_cutoff"].tolist() == [250.0, 4.0]
