"""The patient-table boundary: normalisation, coercion and one pinned message per error."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from icipredict.exceptions import InvalidPatientData
from icipredict.table.schema import COLUMNS, OUTCOME_COLUMNS, PREDICTORS, check_patients, validate_patients


def _frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"patient_id": [f"p{i + 1}" for i in range(n)], **cols})


# -- normalisation -------------------------------------------------------------------------------

def test_sex_variants_normalise():
    clean = check_patients(_frame(sex=["F", "Female", "female", " FEMALE ", "M", "male", "Man"]))
    assert clean["sex"].astype(object).tolist() == ["female"] * 4 + ["male"] * 3


@pytest.mark.parametrize(("raw", "expected"), [
    ("never", "never"), ("Never smoker", "never"), ("non-smoker", "never"),
    ("Former", "former"), ("ex-smoker", "former"), ("former   smoker", "former"),
    ("current", "current"), ("Current Smoker", "current"), ("smoker", "current"),
    ("ever", "ever"), ("Ever smoker", "ever"),
], ids=lambda v: str(v).replace(" ", "_"))
def test_smoking_variants_normalise(raw, expected):
    assert check_patients(_frame(smoking=[raw]))["smoking"].iloc[0] == expected


@pytest.mark.parametrize("token", ["NA", "n/a", "", "  ", "N/A", "nan", "unknown", None, np.nan],
                         ids=["NA", "n_a", "empty", "spaces", "N_A", "nan_text", "unknown", "None", "np_nan"])
def test_missing_tokens_become_missing(token):
    df = _frame(sex=[token], smoking=[token], age=[token], mut_egfr=[token], pdl1_band=[token])
    clean = check_patients(df)
    for col in ("sex", "smoking", "age", "mut_egfr", "pdl1_band"):
        assert pd.isna(clean[col].iloc[0]), col


def test_numeric_coercion():
    clean = check_patients(_frame(age=["64", " 71.5 ", 58], pdl1_tps=["50%", "0", "99.9"],
                                  tmb=["12.5", "3", "0"], ecog=["0", "1.0", "4"]))
    assert clean["age"].tolist() == [64.0, 71.5, 58.0]
    assert clean["pdl1_tps"].tolist() == [50.0, 0.0, 99.9]
    assert clean["ecog"].tolist() == [0.0, 1.0, 4.0]
    for col in ("age", "pdl1_tps", "tmb", "ecog"):
        assert clean[col].dtype == float, col


def test_binary_tokens():
    clean = check_patients(_frame(mut_kras=["1", "0", "yes", "no", "mutated", "wt", ""]))
    assert clean["mut_kras"].tolist()[:6] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert np.isnan(clean["mut_kras"].iloc[6])


def test_integer_ids_read_as_float_come_back_whole():
    clean = check_patients(pd.DataFrame({"patient_id": [1.0, 2.0, 10.0]}))
    assert clean["patient_id"].tolist() == ["1", "2", "10"]


def test_every_canonical_column_present_in_output():
    clean = check_patients(pd.DataFrame({"patient_id": ["a"]}))
    assert set(COLUMNS) <= set(clean.columns)
    assert clean[list(PREDICTORS)].isna().all(axis=None)


# -- one pinned message per error ----------------------------------------------------------------

def _pin(patient: str, column: str, got: str) -> str:
    return rf"patient '{re.escape(patient)}', column '{column}': expected .*Got {got}"


@pytest.mark.parametrize(("df", "pattern"), [
    pytest.param(_frame(pdl1_tps=["10", "150"]), _pin("p2", "pdl1_tps", "150 instead"), id="pdl1-out-of-range"),
    pytest.param(pd.DataFrame({"patient_id": ["a", "b", "a"]}),
                 _pin("a", "patient_id", "2 rows with this id instead"), id="duplicate-id"),
    pytest.param(pd.DataFrame({"patient_id": ["a", "  ", "c"]}),
                 _pin("row 2", "patient_id", "'  ' instead"), id="blank-id"),
    pytest.param(pd.DataFrame({"patient_id": ["a", None]}),
                 _pin("row 2", "patient_id", "(None|nan|<NA>) instead"), id="missing-id"),
    pytest.param(_frame(sex=["F", "X"]), _pin("p2", "sex", "'X' instead"), id="unknown-sex"),
    pytest.param(_frame(histology=["adeno", "small cell"]), _pin("p2", "histology", "'small cell' instead"),
                 id="unknown-histology"),
    pytest.param(_frame(tmb=["-1", "3"]), _pin("p1", "tmb", "-1 instead"), id="tmb-negative"),
    pytest.param(_frame(ecog=["9", "1"]), _pin("p1", "ecog", "9 instead"), id="ecog-9"),
    pytest.param(_frame(ecog=["1", "1.5"]), _pin("p2", "ecog", "1.5 instead"), id="ecog-fraction"),
    pytest.param(_frame(age=["60", "200"]), _pin("p2", "age", r"200 \(an impossible age\) instead"),
                 id="age-200"),
    pytest.param(_frame(age=["sixty", "60"]), _pin("p1", "age", r"'sixty' \(not a number\) instead"),
                 id="text-in-numeric"),
    pytest.param(_frame(mut_egfr=["1", "maybe"]), _pin("p2", "mut_egfr", "'maybe' instead"), id="bad-binary"),
    pytest.param(_frame(albumin=["3.9", "38"]), _pin("p2", "albumin", r"38 \(this looks like g/L"),
                 id="albumin-one-row-g-per-l"),
    pytest.param(_frame(nlr=["0", "3"]), _pin("p1", "nlr", "0 instead"), id="nlr-zero-exclusive"),
    pytest.param(_frame(tmb=["inf", "3"]), _pin("p1", "tmb", "'inf' instead"), id="tmb-inf"),
])
def test_row_level_errors_name_patient_column_and_value(df, pattern):
    with pytest.raises(InvalidPatientData, match=pattern) as info:
        check_patients(df)
    assert info.value.problems, "the exception carries its problems"


def test_albumin_in_g_per_l_whole_column():
    df = _frame(albumin=["38", "40", "35", "37", "41", "36"])
    with pytest.raises(InvalidPatientData) as info:
        check_patients(df)
    msg = str(info.value)
    assert re.search(r"column 'albumin': expected albumin in g/dL \(1-6\)\. Got median 37\.5: this looks like g/L",
                     msg)
    # the rows it explains are named too
    assert re.search(_pin("p1", "albumin", r"38 \(this looks like g/L"), msg)


def test_pdl1_fractions_whole_column():
    df = _frame(pdl1_tps=["0.1", "0.5", "0.02", "0.9", "0", "0.75"])
    with pytest.raises(InvalidPatientData,
                       match=r"column 'pdl1_tps': expected PD-L1 TPS in percent \(0-100\)\. Got all 6 values "
                             r"between 0 and 1 \(max 0\.9\): this looks like a fraction; multiply by 100"):
        check_patients(df)


def test_pfs_in_days_whole_column():
    df = _frame(pfs_months=["300", "400", "120", "500", "90"], pfs_event=["1"] * 5)
    with pytest.raises(InvalidPatientData) as info:
        check_patients(df)
    msg = str(info.value)
    assert re.search(r"column 'pfs_months': expected pfs_months in months\. Got median 300: this looks like days",
                     msg)
    assert re.search(_pin("p2", "pfs_months", r"400 \(this looks like days"), msg)


def test_few_small_pdl1_values_are_not_called_fractions():
    clean = check_patients(_frame(pdl1_tps=["0.5", "1"]))  # fewer than 5 values: no column verdict
    assert clean["pdl1_tps"].tolist() == [0.5, 1.0]


def test_missing_id_column():
    with pytest.raises(InvalidPatientData, match=r"no 'patient_id' column.*Got columns \['id', 'age'\] instead"):
        check_patients(pd.DataFrame({"id": ["a"], "age": [60]}))


def test_header_only():
    with pytest.raises(InvalidPatientData, match="no patient rows.*Got a header only instead"):
        check_patients(pd.DataFrame({"patient_id": pd.Series([], dtype=object)}))


def test_duplicated_column_names():
    df = pd.DataFrame([["a", 60, 61]], columns=["patient_id", "age", "age "])
    with pytest.raises(InvalidPatientData, match=r"column\(s\) \['age'\] appear more than once"):
        check_patients(df)


def test_not_a_dataframe():
    with pytest.raises(InvalidPatientData, match="expected a pandas DataFrame.*Got list instead"):
        check_patients([{"patient_id": "a"}])


def test_several_problems_are_all_listed():
    df = _frame(age=["200", "60", "sixty"], sex=["F", "Q", "M"])
    with pytest.raises(InvalidPatientData, match=r"in 3 row\(s\)") as info:
        check_patients(df)
    assert {(p.patient_id, p.column) for p in info.value.problems} == {("p1", "age"), ("p3", "age"), ("p2", "sex")}


# -- lenient mode --------------------------------------------------------------------------------

def test_lenient_drops_bad_rows_and_reports_them():
    df = _frame(age=["60", "200", "70", "sixty"], sex=["F", "M", "X", "F"])
    rep = validate_patients(df, lenient=True)
    assert rep.frame["patient_id"].tolist() == ["p1"]
    assert rep.n_dropped == 3
    assert {(p.patient_id, p.column) for p in rep.dropped} == {("p2", "age"), ("p3", "sex"), ("p4", "age")}
    assert any("lenient mode dropped 3 row(s): p2, p3, p4" in n for n in rep.notes)


def test_lenient_drops_duplicate_and_blank_ids():
    rep = validate_patients(pd.DataFrame({"patient_id": ["a", "b", "b", "", "c"]}), lenient=True)
    assert rep.frame["patient_id"].tolist() == ["a", "c"]
    assert {p.patient_id for p in rep.dropped} == {"b", "row 4"}


def test_lenient_still_raises_table_level_problems():
    df = _frame(albumin=["38", "40", "35", "37", "41"])
    with pytest.raises(InvalidPatientData, match="looks like g/L"):
        validate_patients(df, lenient=True)


def test_lenient_refuses_to_drop_everything():
    with pytest.raises(InvalidPatientData, match="every row has a problem"):
        validate_patients(_frame(age=["200", "300"]), lenient=True)


def test_strict_report_has_nothing_dropped():
    rep = validate_patients(_frame(age=["60"]))
    assert rep.dropped == [] and rep.n_dropped == 0


# -- accepted layouts ----------------------------------------------------------------------------

def test_extra_unknown_columns_kept_with_a_note():
    df = _frame(age=["60", "70"], hospital=["A", "B"], Site_Code=[1, 2])
    rep = validate_patients(df)
    assert rep.frame["hospital"].tolist() == ["A", "B"]
    assert rep.frame["Site_Code"].tolist() == [1, 2]
    assert rep.extra_columns == ["hospital", "Site_Code"]
    assert any("2 column(s) not in the canonical table" in n and "hospital" in n for n in rep.notes)


def test_band_only_assay_sites_and_outcomes_accepted():
    df = _frame(pdl1_band=["<1", "1-49%", "≥50%", "high"],
                tmb=["12", "3", "", "40"],
                tmb_assay=["MSK-IMPACT", "WES", "plasma bTMB", ""],
                n_met_sites=["0", "2", "5", ""],
                best_response=["PR", "progressive disease", "SD", "NE"],
                pfs_months=["14.2", "1.9", "6.5", "3"], pfs_event=["0", "1", "1", "1"],
                os_months=["30", "5", "12", ""], os_event=["0", "1", "0", ""])
    clean = check_patients(df)
    assert clean["pdl1_band"].astype(object).tolist() == ["<1", "1-49", ">=50", ">=50"]
    assert clean["pdl1_tps"].isna().all()
    assert clean["tmb_assay"].tolist()[:3] == ["MSK-IMPACT", "WES", "plasma bTMB"]
    assert pd.isna(clean["tmb_assay"].iloc[3])
    assert clean["n_met_sites"].tolist()[:3] == [0.0, 2.0, 5.0]
    assert clean["best_response"].astype(object).tolist() == ["PR", "PD", "SD", "NE"]
    assert set(OUTCOME_COLUMNS) <= set(clean.columns)


def test_both_tps_and_band_noted():
    rep = validate_patients(_frame(pdl1_tps=["60"], pdl1_band=[">=50"]))
    assert any("both pdl1_tps and pdl1_band" in n for n in rep.notes)


def test_input_frame_is_not_modified():
    df = _frame(sex=["F", "male", "NA"], age=["64", " 71 ", ""], pdl1_tps=["50%", "n/a", "3"],
                smoking=["Ex-smoker", "never", ""], extra=["x", "y", "z"])
    df.index = [10, 20, 30]
    before = df.copy(deep=True)
    check_patients(df)
    validate_patients(df, lenient=True)
    pd.testing.assert_frame_equal(df, before)


def test_input_frame_not_modified_on_error():
    df = _frame(age=["200", "60"], sex=[" F", "M"])
    before = df.copy(deep=True)
    with pytest.raises(InvalidPatientData):
        check_patients(df)
    pd.testing.assert_frame_equal(df, before)


def test_categories_are_categorical_with_schema_levels():
    clean = check_patients(_frame(sex=["F"], regimen=["chemo+io"]))
    assert list(clean["sex"].cat.categories) == list(COLUMNS["sex"].categories)
    assert clean["regimen"].iloc[0] == "chemo_ici"


# -- Hardening II: names, values, units, identifiers ------------------------------------------------

from icipredict.table.column_names import COLUMN_ALIASES  # noqa: E402
from icipredict.table.schema import IdSet, UnitCheck  # noqa: E402


def test_every_alias_names_a_canonical_column():
    assert set(COLUMN_ALIASES) <= set(COLUMNS)


@pytest.mark.parametrize(("header", "canonical"), [
    ("PDL1_TPS", "pdl1_tps"), ("PD-L1 TPS (%)", "pdl1_tps"), ("TMB", "tmb"), ("TMB (mut/Mb)", "tmb"),
    ("Age", "age"), (" AGE ", "age"), ("Gender", "sex"), ("ECOG PS", "ecog"), ("EGFR mutation", "mut_egfr"),
    ("MET exon 14", "mut_met_ex14"), ("Patient ID", "patient_id"), ("Line of therapy", "line_of_therapy"),
], ids=lambda v: str(v).replace(" ", "_"))
def test_aliases_are_read_and_reported(header, canonical):
    df = pd.DataFrame({"patient_id" if canonical != "patient_id" else "x": ["a"], header: [""]})
    if canonical == "patient_id":
        df = pd.DataFrame({header: ["a"]})
    rep = validate_patients(df)
    assert canonical in rep.frame.columns
    if header.strip() != canonical:
        assert rep.renamed == {header.strip(): canonical}
        assert any("read by another name" in n and canonical in n for n in rep.notes)


def test_id_and_bare_gene_names_are_not_aliases():
    with pytest.raises(InvalidPatientData, match="no 'patient_id' column"):
        check_patients(pd.DataFrame({"id": ["a"]}))
    rep = validate_patients(pd.DataFrame({"patient_id": ["a"], "EGFR": ["L858R"]}))
    assert rep.extra_columns == ["EGFR"] and np.isnan(rep.frame["mut_egfr"].iloc[0])


def test_two_spellings_of_one_column_are_refused():
    df = pd.DataFrame([["a", 1.0, 2.0]], columns=["patient_id", "TMB", "tmb"])
    with pytest.raises(InvalidPatientData, match=r"\['tmb'\] appear more than once \('TMB' and 'tmb' both read as 'tmb'\)"):
        check_patients(df)


def test_a_unit_that_contradicts_the_column_is_refused():
    df = pd.DataFrame({"patient_id": ["a"], "Albumin (g/L)": ["38"]})
    with pytest.raises(InvalidPatientData, match=r"column 'Albumin \(g/L\)': expected albumin in g/dL .*Got a column in g/L"):
        check_patients(df)


def test_percent_only_in_percentage_columns():
    clean = check_patients(_frame(pdl1_tps=["50%"], til_pct=["20 %"]))
    assert clean[["pdl1_tps", "til_pct"]].iloc[0].tolist() == [50.0, 20.0]
    with pytest.raises(InvalidPatientData, match=_pin("p1", "age", r"'65%' \(not a number: '%' is accepted only in "
                                                                  r"percentage columns\) instead")):
        check_patients(_frame(age=["65%"]))


def test_dash_is_negative_where_plus_is_positive_and_missing_elsewhere():
    clean = check_patients(_frame(mut_kras=["-", "+"], til_status=["-", "+"], met_liver=["-", "+"], age=["-", "60"],
                                  smoking=["-", "never"], pdl1_band=["-", "<1"]))
    assert clean["mut_kras"].tolist() == [0.0, 1.0] and clean["met_liver"].tolist() == [0.0, 1.0]
    assert clean["til_status"].astype(object).tolist() == ["negative", "positive"]
    assert np.isnan(clean["age"].iloc[0]) and pd.isna(clean["smoking"].iloc[0]) and pd.isna(clean["pdl1_band"].iloc[0])


def test_decimal_comma_gets_a_hint():
    with pytest.raises(InvalidPatientData, match=_pin("p1", "albumin", r"'3,9' \(not a number: a decimal comma\?")):
        check_patients(_frame(albumin=["3,9"]))


@pytest.mark.parametrize(("values", "verdict"), [
    ([14, 28, 35, 42, 56, 63, 90], "whole numbers up to 90 with median 42: this looks like days (short follow-up)"),
    ([300, 400, 120, 500, 90], "median 300: this looks like days"),
    ([1.2, 3.5, 7.9, 14.2, 30.5, 61.3], None),  # months with long follow-up: accepted
    ([1, 2, 3, 5, 8, 12, 70], None),  # whole months, one long responder: median 5, accepted
], ids=["days-short-follow-up", "days-long", "months-decimals", "whole-months"])
def test_pfs_in_days_rule(values, verdict):
    df = _frame(pfs_months=[str(v) for v in values], pfs_event=["1"] * len(values))
    if verdict is None:
        assert check_patients(df)["pfs_months"].tolist() == [float(v) for v in values]
    else:
        with pytest.raises(InvalidPatientData, match=re.escape(f"column 'pfs_months': expected pfs_months in months. "
                                                               f"Got {verdict}")):
            check_patients(df)


def test_unit_check_over_chunks_reaches_the_whole_table_verdict():
    df = _frame(pdl1_tps=["0.1", "0.5", "0.02", "0.9", "0", "0.6"])
    units = UnitCheck()
    for start in range(0, 6, 2):  # no chunk has 5 values: only the whole table does
        validate_patients(df.iloc[start:start + 2], units=units)
    (problem,) = units.problems()
    assert problem.column == "pdl1_tps" and "looks like a fraction" in problem.got


@pytest.mark.parametrize(("ids", "expected"), [
    ([12.0, 13.0], ["12", "13"]), ([12.5, 3.0], ["12.5", "3"]), ([7, 8], ["7", "8"]),
    ([" a ", "b"], ["a", "b"]), (["=1+1", "$x^2$"], ["=1+1", "$x^2$"]), ([12.0, "x"], ["12", "x"]),
], ids=["whole-floats", "fraction-floats", "ints", "spaces", "formula-and-mathtext", "mixed"])
def test_identifier_rule(ids, expected):
    assert check_patients(pd.DataFrame({"patient_id": ids}))["patient_id"].tolist() == expected


def test_long_values_are_trimmed_in_messages():
    with pytest.raises(InvalidPatientData) as info:
        check_patients(pd.DataFrame({"patient_id": ["x" * 10_000], "smoking": ["y" * 10_000_000]}))
    assert len(str(info.value)) < 1000 and "..." in str(info.value)


def test_id_set_finds_repeats_across_many_chunks():
    seen = IdSet()
    rng = np.random.default_rng(0)
    ids = np.array([f"p{i}" for i in range(20_000)], dtype=object)
    for chunk in np.array_split(ids, 37):
        assert not seen.add(chunk).any()
    again = seen.add(np.array(["p5", "new", "p19999"], dtype=object))
    assert again.tolist() == [True, False, True]
    assert len(seen._runs) <= 2 * int(np.log2(20_000)) + 2  # O(log n) sorted runs, not one per chunk
    assert not seen.add(np.array([f"q{i}" for i in rng.integers(0, 10**9, 10)], dtype=object)).any()


def test_small_and_large_tables_are_checked_alike():
    rng = np.random.default_rng(3)
    n = 500
    df = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)],
                       "sex": rng.choice(["F", "male", "NA", " Female ", None], n),
                       "mut_kras": rng.choice(["1", "0", "-", "+", "wt", ""], n),
                       "pdl1_tps": rng.choice(["50%", "0", "n/a", "99.9", " 7 "], n),
                       "tmb_assay": rng.choice(["MSK-IMPACT", " WES ", "unknown", None], n)})
    whole = check_patients(df)
    parts = pd.concat([check_patients(df.iloc[i:i + 7]) for i in range(0, n, 7)], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
