"""Outcome rules on hand-built patients (domain.md section 2)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from icipredict.clinical.outcomes import (
    BENEFIT_LABELS,
    SITC_CATEGORIES,
    benefit_label,
    binary_target,
    early_death,
    fast_progression,
    hyperprogression,
    sitc_category,
    tumour_growth_kinetics,
    tumour_growth_rate,
    weeks_to_months,
)

NAN = np.nan
SIX_WEEKS = 6 * 7 / 30.4375  # 1.3799 months
TWELVE_WEEKS = 12 * 7 / 30.4375  # 2.7598 months


# --- benefit_label ---------------------------------------------------------------------------

BENEFIT_CASES = [
    # (pfs_months, pfs_event, best_response, pseudoprogression, expected)
    pytest.param(8.0, 1, "PR", NAN, "durable_benefit", id="pr-progressed-after-6m"),
    pytest.param(6.0, 0, "SD", NAN, "durable_benefit", id="sd-exactly-6m-censored"),
    pytest.param(9.0, 1, None, NAN, "durable_benefit", id="no-response-recorded-9m"),
    pytest.param(7.0, 1, "PD", NAN, "durable_benefit", id="pd-but-pfs-over-6m"),
    pytest.param(2.0, 1, "PD", NAN, "primary_resistance", id="pd-at-2m"),
    pytest.param(0.8, 1, "PD", NAN, "primary_resistance", id="fast-progression-included"),
    pytest.param(4.0, 1, "PR", NAN, "primary_resistance", id="pr-but-progressed-at-4m"),
    pytest.param(2.0, 1, "PD", 1, "not_evaluable", id="pseudoprogression"),
    pytest.param(NAN, NAN, "PD", NAN, "primary_resistance", id="pd-without-pfs"),
    pytest.param(NAN, NAN, "PD", 1, "not_evaluable", id="pd-without-pfs-pseudo"),
    pytest.param(4.0, 0, "SD", NAN, "not_evaluable", id="censored-before-6m"),
    pytest.param(4.0, NAN, "SD", NAN, "not_evaluable", id="event-unknown-before-6m"),
    pytest.param(NAN, 1, "SD", NAN, "not_evaluable", id="event-without-time"),
    pytest.param(NAN, NAN, None, NAN, "not_evaluable", id="nothing-known"),
]


@pytest.mark.parametrize("pfs, event, response, pseudo, expected", BENEFIT_CASES)
def test_benefit_label_derived(pfs, event, response, pseudo, expected):
    df = pd.DataFrame({"pfs_months": [pfs], "pfs_event": [event], "best_response": [response],
                       "pseudoprogression": [pseudo]}, index=["p1"])
    out = benefit_label(df)
    assert out.index.tolist() == ["p1"]
    assert out.iloc[0] == expected


@pytest.fixture()
def reported_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "pfs_months": [8.0, 2.0, 8.0, 2.0, 3.0],
        "pfs_event": [1, 1, 1, 1, 0],
        "dcb_reported": [0, 1, NAN, NAN, NAN],
    }, index=[10, 11, 12, 13, 14])


@pytest.mark.parametrize("source, expected", [
    pytest.param("derived", ["durable_benefit", "primary_resistance", "durable_benefit", "primary_resistance",
                             "not_evaluable"], id="derived"),
    pytest.param("reported", ["primary_resistance", "durable_benefit", "not_evaluable", "not_evaluable",
                              "not_evaluable"], id="reported"),
    pytest.param("reported_then_derived", ["primary_resistance", "durable_benefit", "durable_benefit",
                                           "primary_resistance", "not_evaluable"], id="reported-then-derived"),
])
def test_benefit_label_sources(reported_frame, source, expected):
    out = benefit_label(reported_frame, source=source)
    assert out.tolist() == expected
    assert out.index.tolist() == [10, 11, 12, 13, 14]


def test_benefit_label_missing_columns_are_all_missing():
    df = pd.DataFrame({"pfs_months": [7.0, 2.0]})
    assert benefit_label(df).tolist() == ["durable_benefit", "not_evaluable"]
    assert benefit_label(df, source="reported").tolist() == ["not_evaluable"] * 2
    assert benefit_label(pd.DataFrame(index=[0])).tolist() == ["not_evaluable"]


def test_benefit_label_accepts_categorical_response():
    df = pd.DataFrame({"best_response": pd.Categorical(["PD", None], categories=["CR", "PR", "SD", "PD", "NE"])})
    assert benefit_label(df).tolist() == ["primary_resistance", "not_evaluable"]


def test_benefit_months_option():
    df = pd.DataFrame({"pfs_months": [5.0, 13.0], "pfs_event": [1, 1]})
    assert benefit_label(df, benefit_months=12).tolist() == ["primary_resistance", "durable_benefit"]


@pytest.mark.parametrize("kwargs, match", [
    pytest.param({"source": "study"}, r"source must be one of .*Got 'study' instead", id="bad-source"),
    pytest.param({"benefit_months": 0}, r"benefit_months must be a positive number .*Got 0 instead", id="zero"),
    pytest.param({"benefit_months": "six"}, r"benefit_months .*Got 'six' instead", id="text"),
])
def test_benefit_label_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        benefit_label(pd.DataFrame({"pfs_months": [1.0]}), **kwargs)


def test_binary_target():
    labels = pd.Series(list(BENEFIT_LABELS) + [None], index=list("abcd"))
    out = binary_target(labels)
    assert out.index.tolist() == list("abcd")
    np.testing.assert_array_equal(out.to_numpy(), [1.0, 0.0, NAN, NAN])
    assert out.dtype == float


def test_binary_target_rejects_unknown_label():
    with pytest.raises(ValueError, match=r"labels must be one of .*Got 'DCB' \(index 1\) instead"):
        binary_target(pd.Series(["durable_benefit", "DCB"]))


# --- sitc_category -----------------------------------------------------------------------------

#: One patient per rule; columns: pfs_months, pfs_event, best_response, ici_weeks, last_dose_months,
#: planned_stop, pseudoprogression, expected (sitc), expected (expert_panel).
SITC_PATIENTS = {
    "primary": (3.0, 1, "PD", 9.0, NAN, NAN, NAN, "primary_resistance", "primary_resistance"),
    "secondary-after-pr": (10.0, 1, "PR", NAN, NAN, NAN, NAN, "secondary_resistance", "secondary_resistance"),
    "secondary-after-long-sd": (8.0, 1, "SD", 30.0, NAN, NAN, NAN, "secondary_resistance", "secondary_resistance"),
    "ongoing-benefit": (12.0, 0, "SD", NAN, NAN, NAN, NAN, "durable_benefit_ongoing", "durable_benefit_ongoing"),
    # stopped at 2.5 months (toxicity) without benefit, progressed 1.5 months later (< 12 weeks)
    "stop-primary": (4.0, 1, "SD", 10.0, 2.5, 0, NAN, "progression_after_stop_primary",
                     "progression_after_stop_primary"),
    # responded, stopped at 12 months, progressed 2 months later
    "stop-secondary": (14.0, 1, "PR", 50.0, 12.0, 0, NAN, "progression_after_stop_secondary",
                       "progression_after_stop_secondary"),
    # planned stop at 24 months (2 years), progression 6 months later
    "late-after-planned-stop": (30.0, 1, "CR", 100.0, 24.0, 1, NAN, "late_progression_after_planned_stop",
                                "late_progression_after_planned_stop"),
    "pseudoprogression": (2.0, 1, "PD", NAN, NAN, NAN, 1, "pseudoprogression", "pseudoprogression"),
    "fast-progression": (1.0, 1, "PD", 3.0, NAN, NAN, NAN, "fast_progression", "fast_progression"),
    "censored-early": (4.0, 0, "SD", NAN, NAN, NAN, NAN, "not_evaluable", "not_evaluable"),
    "too-little-exposure": (3.0, 1, "PD", 3.0, NAN, NAN, NAN, "not_evaluable", "not_evaluable"),
    "pd-without-pfs": (NAN, NAN, "PD", NAN, NAN, NAN, NAN, "primary_resistance", "primary_resistance"),
    # the two acquired-resistance rules disagree: response lost before 6 months
    "pr-lost-at-4m": (4.0, 1, "PR", NAN, NAN, NAN, NAN, "primary_resistance", "secondary_resistance"),
    # benefit, planned stop, progression 3.5 months later: neither window applies -> by timing
    "benefit-progressed-3.5m-after-stop": (15.5, 1, "SD", 50.0, 12.0, 1, NAN, "secondary_resistance",
                                           "secondary_resistance"),
    "nothing-known": (NAN, NAN, None, NAN, NAN, NAN, NAN, "not_evaluable", "not_evaluable"),
}
_SITC_COLUMNS = ["pfs_months", "pfs_event", "best_response", "ici_weeks", "last_dose_months", "planned_stop",
                 "pseudoprogression", "sitc", "expert"]


@pytest.fixture(scope="module")
def sitc_frame() -> pd.DataFrame:
    return pd.DataFrame.from_dict(SITC_PATIENTS, orient="index", columns=_SITC_COLUMNS)


@pytest.mark.parametrize("patient", list(SITC_PATIENTS))
@pytest.mark.parametrize("rule", ["sitc", "expert_panel"])
def test_sitc_category(sitc_frame, patient, rule):
    out = sitc_category(sitc_frame, acquired_rule=rule)
    expected = sitc_frame.loc[patient, "sitc" if rule == "sitc" else "expert"]
    assert out.loc[patient] == expected


def test_sitc_category_covers_every_category(sitc_frame):
    out = sitc_category(sitc_frame)
    assert isinstance(out.dtype, pd.CategoricalDtype)
    assert list(out.cat.categories) == list(SITC_CATEGORIES)
    assert set(out) == set(SITC_CATEGORIES)
    assert out.index.equals(sitc_frame.index)


def test_sitc_category_agrees_with_binary_label(sitc_frame):
    """Where the binary label is decided, the SITC category must not contradict it."""
    binary = benefit_label(sitc_frame.drop(columns=["sitc", "expert"]))
    cat = sitc_category(sitc_frame).astype(str)
    benefit = {"secondary_resistance", "durable_benefit_ongoing", "progression_after_stop_secondary",
               "late_progression_after_planned_stop"}
    assert cat[binary == "durable_benefit"].isin(benefit).all()
    assert not cat[binary == "primary_resistance"].isin(benefit).any()


def test_sitc_category_bad_rule():
    with pytest.raises(ValueError, match=r"acquired_rule must be one of 'sitc', 'expert_panel'. Got 'who' instead"):
        sitc_category(pd.DataFrame({"pfs_months": [1.0]}), acquired_rule="who")


# --- fast progression, early death -------------------------------------------------------------

@pytest.mark.parametrize("pfs, event, expected", [
    pytest.param(1.0, 1, True, id="progressed-at-1m"),
    pytest.param(SIX_WEEKS - 0.01, 1, True, id="just-before-6-weeks"),
    pytest.param(SIX_WEEKS, 1, False, id="exactly-6-weeks"),
    pytest.param(3.0, 1, False, id="progressed-at-3m"),
    pytest.param(3.0, 0, False, id="censored-after-6-weeks"),
    pytest.param(1.0, 0, pd.NA, id="censored-before-6-weeks"),
    pytest.param(NAN, 1, pd.NA, id="no-time"),
])
def test_fast_progression(pfs, event, expected):
    out = fast_progression(pd.DataFrame({"pfs_months": [pfs], "pfs_event": [event]}))
    assert out.dtype == "boolean"
    assert out.tolist()[0] is expected


@pytest.mark.parametrize("os_months, event, expected", [
    pytest.param(2.0, 1, True, id="died-at-2m"),
    pytest.param(TWELVE_WEEKS, 1, False, id="died-at-12-weeks"),
    pytest.param(10.0, 1, False, id="died-at-10m"),
    pytest.param(5.0, 0, False, id="alive-at-5m"),
    pytest.param(2.0, 0, pd.NA, id="censored-at-2m"),
    pytest.param(NAN, NAN, pd.NA, id="unknown"),
])
def test_early_death(os_months, event, expected):
    out = early_death(pd.DataFrame({"os_months": [os_months], "os_event": [event]}))
    assert out.tolist()[0] is expected


def test_weeks_to_months():
    assert weeks_to_months(6) == pytest.approx(42 / 30.4375)


# --- tumour growth -----------------------------------------------------------------------------

def test_tumour_growth_rate_formula():
    # 100 * (exp(3 * ln(60 / 50) / 2) - 1) = 100 * (1.2 ** 1.5 - 1)
    assert tumour_growth_rate(50.0, 60.0, 2.0) == pytest.approx(100 * (1.2 ** 1.5 - 1), rel=1e-12)
    assert tumour_growth_rate(50.0, 60.0, 2.0) == pytest.approx(31.4534, abs=1e-4)
    assert tumour_growth_rate(40.0, 40.0, 1.0) == pytest.approx(0.0)
    # halving the sum of diameters in one month: volume / 8 -> -87.5 % per month
    assert tumour_growth_rate(40.0, 20.0, 1.0) == pytest.approx(-87.5)


@pytest.mark.parametrize("d0, d1, t", [
    pytest.param(NAN, 60.0, 2.0, id="d0-missing"),
    pytest.param(50.0, NAN, 2.0, id="d1-missing"),
    pytest.param(50.0, 60.0, NAN, id="t-missing"),
    pytest.param(0.0, 60.0, 2.0, id="d0-zero"),
    pytest.param(50.0, 0.0, 2.0, id="d1-zero"),
    pytest.param(50.0, 60.0, 0.0, id="t-zero"),
    pytest.param(50.0, 60.0, -1.0, id="t-negative"),
])
def test_tumour_growth_rate_nan(d0, d1, t):
    assert math.isnan(tumour_growth_rate(d0, d1, t))


def test_tumour_growth_rate_vectorised_keeps_index():
    d0 = pd.Series([50.0, NAN, 40.0], index=["a", "b", "c"])
    out = tumour_growth_rate(d0, np.array([60.0, 10.0, 40.0]), 2.0)
    assert isinstance(out, pd.Series)
    assert out.index.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(out.to_numpy(), [100 * (1.2 ** 1.5 - 1), NAN, 0.0])
    arr = tumour_growth_rate(np.array([50.0, 50.0]), np.array([60.0, 50.0]), np.array([2.0, 1.0]))
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)


def test_tumour_growth_kinetics():
    assert tumour_growth_kinetics(50.0, 60.0, 2.0) == pytest.approx(5.0)
    assert tumour_growth_kinetics(50.0, 0.0, 2.0) == pytest.approx(-25.0)
    assert math.isnan(tumour_growth_kinetics(50.0, 60.0, 0.0))


# --- hyperprogression ----------------------------------------------------------------------------

#: sld_prebaseline, sld_baseline, sld_eval, months pre->base, months base->eval, best_response,
#: expected champiat, ferrara, tgk_ratio.
HPD_PATIENTS = {
    # TGR_pre = 100*(1.1**1.5-1)= 15.4; TGR_on = 100*((80/44)**1.5-1)= 145.2: ratio 9.4, delta 130;
    # TGK_pre = 2 mm/month, TGK_on = 18: ratio 9
    "explosive-growth": (40.0, 44.0, 80.0, 2.0, 2.0, "PD", 1.0, 1.0, 1.0),
    # TGR_pre = 100*(1.5**1.5-1)= 83.7; TGR_on = 100*((90/60)**1.5-1)= 83.7: ratio 1, delta 0
    "same-pace": (40.0, 60.0, 90.0, 2.0, 2.0, "PD", 0.0, 0.0, 0.0),
    # shrinking before ICI (TGR_pre < 0), growing on ICI: undefined ratio -> HPD
    "shrinking-then-growing": (60.0, 50.0, 65.0, 2.0, 2.0, "PD", 1.0, 1.0, 1.0),
    # responds on ICI: not progressing at first evaluation
    "responding": (40.0, 50.0, 30.0, 2.0, 2.0, "PR", 0.0, 0.0, 0.0),
    # PD by growth > 20 % with best_response missing; TGR ratio 3.0 but delta only 22:
    # TGR_pre = 100*(1.05**1.5-1) = 7.59; TGR_on = 100*((61/50)**1.5 ... see test below
    "moderate-acceleration": (47.62, 50.0, 61.0, 2.0, 2.0, None, 1.0, 0.0, 1.0),
    "no-prebaseline-scan": (NAN, 50.0, 80.0, NAN, 2.0, "PD", NAN, NAN, NAN),
    "nothing-known": (NAN, NAN, NAN, NAN, NAN, None, NAN, NAN, NAN),
    # known not progressing (SD) even though the pre-baseline scan is missing
    "sd-no-prebaseline": (NAN, 50.0, 52.0, NAN, 2.0, "SD", 0.0, 0.0, 0.0),
}
_HPD_COLUMNS = ["sld_prebaseline_mm", "sld_baseline_mm", "sld_eval_mm", "months_prebaseline_to_baseline",
                "months_baseline_to_eval", "best_response", "champiat", "ferrara", "tgk_ratio"]


@pytest.fixture(scope="module")
def hpd_frame() -> pd.DataFrame:
    return pd.DataFrame.from_dict(HPD_PATIENTS, orient="index", columns=_HPD_COLUMNS)


def test_hpd_moderate_acceleration_numbers(hpd_frame):
    row = hpd_frame.loc["moderate-acceleration"]
    pre = tumour_growth_rate(row.sld_prebaseline_mm, row.sld_baseline_mm, 2.0)
    on = tumour_growth_rate(row.sld_baseline_mm, row.sld_eval_mm, 2.0)
    assert on / pre >= 2 and on - pre <= 50  # champiat yes, ferrara no


@pytest.mark.parametrize("patient", list(HPD_PATIENTS))
@pytest.mark.parametrize("definition", ["champiat", "ferrara", "tgk_ratio"])
def test_hyperprogression(hpd_frame, patient, definition):
    out = hyperprogression(hpd_frame, definition=definition)
    expected = hpd_frame.loc[patient, definition]
    got = out.loc[patient]
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_hyperprogression_bad_definition():
    with pytest.raises(ValueError, match=r"definition must be one of 'champiat', 'ferrara', 'tgk_ratio'. "
                                         r"Got 'kato' instead"):
        hyperprogression(pd.DataFrame(index=[0]), definition="kato")
