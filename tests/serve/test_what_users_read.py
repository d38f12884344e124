"""What a new user reads agrees with itself (issue 21): the columns given but not used, the chemo-ICI warning
beside its explanation, values shown as given, one way of counting inputs, plain words and one table of names.

The CLI, REST, Spark and the calculator are checked against Python in ``tests/serve/test_spark.py`` (one
table through every path), the calculator's screen in ``tests/web/test_serve_e2e.py``.
"""

from __future__ import annotations

import json
import re
import warnings
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from process_support import run_cli

import icipredict
from icipredict.clinical.til import TIL_MEASURES
from icipredict.exceptions import InputWarning
from icipredict.io.synthetic import synthetic_cohort
from icipredict.model.features import INPUT_SOURCES, TREE_ONLY_SOURCES
from icipredict.report.content import benefit_groups_text
from icipredict.report.html import report_page
from icipredict.report.patient import report_for
from icipredict.serve.predict import INPUT_COLUMNS_TEXT, MAX_EXPLAIN, _used_inputs
from icipredict.table.labels import COLUMN_LABELS, MISSING_INPUT_WORDS, MODEL_INPUT_LABELS, column_label
from icipredict.table.schema import OUTCOME_COLUMNS, PREDICTORS
from icipredict.table.vocab import OUTPUT_COLUMNS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return icipredict.load_model("public")


def _quiet_predict(patients, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return icipredict.predict(patients, model="public", **kwargs)


# -- item 1: inputs_not_used ------------------------------------------------------------------------------

def test_the_issue_example_names_the_four_columns_read_and_ignored():
    """A chemo-ICI patient with antibiotics, mut_ctnnb1, smoking and sex: the four columns come back, by name."""
    patient = {"patient_id": "p", "regimen": "chemo_ici", "pdl1_tps": 60, "antibiotics": 1, "mut_ctnnb1": 0,
               "smoking": "never", "sex": "female"}
    out = icipredict.predict(patient)
    assert out.loc[0, "inputs_not_used"] == "mut_ctnnb1; sex; smoking; antibiotics"
    assert list(out.columns).index("inputs_not_used") == list(out.columns).index("missing_inputs") + 1
    assert list(out.columns) == list(OUTPUT_COLUMNS)


def test_not_listed_ids_outcomes_empty_cells_and_columns_used():
    table = pd.DataFrame({"patient_id": ["a", "b"], "pdl1_tps": [60.0, None], "pdl1_band": [">=50", "1-49"],
                          "tmb": [12.0, None], "tmb_assay": ["MSK-IMPACT", "MSK-IMPACT"], "smoking": ["former", None],
                          "regimen": ["ici_mono", "ici_mono"], "antibiotics": [None, 1], "pfs_months": [3.0, 12.0],
                          "best_response": ["PD", "PR"], "cohort": ["x", "x"]})
    out = _quiet_predict(table).set_index("patient_id")
    # a: the band beside a TPS is not read; antibiotics has no value for a; outcomes and ids are never listed
    assert out.loc["a", "inputs_not_used"] == "pdl1_band"
    # b: no TPS, so its band is read; the assay without a TMB is not read; antibiotics given and not used
    assert out.loc["b", "inputs_not_used"] == "tmb_assay; antibiotics"
    for col in ("patient_id", "cohort", *OUTCOME_COLUMNS):
        assert not out["inputs_not_used"].str.contains(rf"\b{col}\b").any(), col


def test_an_alias_is_named_by_its_canonical_column_and_an_unknown_column_once_per_table():
    table = pd.DataFrame({"patient_id": [f"p{i}" for i in range(30)], "Gender": ["F"] * 30, "PD-L1 TPS": [60] * 30,
                          "ward": ["B"] * 30, "hospital": ["x"] * 30})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = icipredict.predict(table)
    unknown = [str(w.message) for w in caught if issubclass(w.category, InputWarning) and "not known" in str(w.message)]
    assert unknown == ["2 column(s) not known to icipredict, not used: 'ward', 'hospital'"]
    assert set(out["inputs_not_used"]) == {"sex"}  # read as sex, not used by the shipped model
    assert not out["inputs_not_used"].str.contains("ward|hospital|Gender").any()


def _reference_not_used(row: pd.Series, used: list[str], til_source: str) -> list[str]:
    """The rule of ``inputs_not_used``, one patient at a time, written plainly."""
    given = [c for c in PREDICTORS if c in row.index and not pd.isna(row[c])]
    chemo = row.get("regimen") == "chemo_ici"
    read: set[str] = set()
    for name in used:
        if name == "pdl1":
            read.add("pdl1_tps")
            if pd.isna(row.get("pdl1_tps")):
                read.add("pdl1_band")
                if pd.isna(row.get("pdl1_band")):
                    read.add("pdl1_sp142_tc")
        elif name == "tmb":
            read.update(["tmb"] + (["tmb_assay"] if not pd.isna(row.get("tmb")) else []))
        elif name == "prior":
            read.add("prior_systemic_therapy")
            if pd.isna(row.get("prior_systemic_therapy")):
                read.add("line_of_therapy")
        elif name == "til":
            read.update([til_source] if til_source else [])
        elif name == "never_smoker":
            read.update(["regimen"] + ([] if chemo else ["smoking"]))
        elif name == "female":
            read.update(["regimen"] + ([] if chemo else ["sex"]))
        else:
            read.update(INPUT_SOURCES[name])
    return [c for c in given if c not in read]


def test_inputs_not_used_equals_the_per_patient_rule(model):
    df = synthetic_cohort(400, seed=12, outcomes=True)
    rng = np.random.default_rng(3)
    df.loc[rng.choice(400, 60, replace=False), "regimen"] = "chemo_ici"
    df.loc[rng.choice(400, 80, replace=False), "pdl1_tps"] = np.nan
    df["pdl1_band"] = np.where(rng.random(400) < 0.5, ">=50", None)
    df.loc[rng.choice(400, 60, replace=False), "prior_systemic_therapy"] = np.nan
    df["til_density"] = np.where(rng.random(400) < 0.3, 300.0, np.nan)
    df.loc[rng.choice(400, 50, replace=False), ["tmb", "smoking", "sex"]] = np.nan
    out = _quiet_predict(df)
    clean = icipredict.check_patients(df)
    used = _used_inputs(model.model)
    expected = ["; ".join(_reference_not_used(clean.iloc[i], used, out.loc[i, "til_source"])) for i in range(len(df))]
    assert out["inputs_not_used"].tolist() == expected
    assert (out["inputs_not_used"] != "").mean() > 0.9


def test_the_shipped_mlflow_signature_lists_every_output_column():
    spec = yaml.safe_load((REPO / "src/icipredict/shipped/public/MLmodel").read_text())
    outputs = [c["name"] for c in json.loads(spec["signature"]["outputs"])]
    assert outputs == list(OUTPUT_COLUMNS)


def test_the_report_lists_the_inputs_given_and_not_used(model):
    patient = {"patient_id": "r", "pdl1_tps": 60, "antibiotics": 1, "mut_ctnnb1": 0}
    page = report_page(report_for(model, patient, "r"))
    block = page.split('id="inputs-not-used"', 1)[1].split("</ul>", 1)[0]
    assert "<code>mut_ctnnb1</code>" in block and "<code>antibiotics</code>" in block
    assert column_label("antibiotics") in unescape(block)


def test_the_cli_names_unknown_columns_once_and_writes_the_column(tmp_path):
    table = pd.DataFrame({"patient_id": [f"p{i}" for i in range(40)], "pdl1_tps": 50, "antibiotics": 1, "ward": "B"})
    table.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli(["predict", "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv")])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("ward") == 1 and "not used" in proc.stderr
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert set(out["inputs_not_used"]) == {"antibiotics"}
    # item 9: the summary says what each benefit group means, in the report's words
    assert benefit_groups_text(icipredict.load_model("public").metadata) in proc.stderr
    assert re.search(r"benefit_group: \d+ high, \d+ intermediate, \d+ low\.", proc.stderr)


# -- item 2: the chemo-ICI warning and the explanation agree -----------------------------------------------

@pytest.mark.parametrize("smoking", ["never", "former", None])
def test_chemo_ici_warning_says_what_the_explanation_shows(smoking):
    patient = {"patient_id": "c", "regimen": "chemo_ici", "pdl1_tps": 30, "tmb": 8}
    if smoking:
        patient["smoking"] = smoking
    out = icipredict.predict(patient, explain=MAX_EXPLAIN).iloc[0]
    explained = {out[f"top{i}_feature"]: out[f"top{i}_effect"] for i in range(1, MAX_EXPLAIN + 1)
                 if isinstance(out[f"top{i}_feature"], str) and abs(out[f"top{i}_effect"]) > 0}
    warning = next(w for w in out["warnings"].split("; ") if w.startswith("regimen chemo_ici"))
    # the regimen moves the estimate (it switches off the smoking input), and the warning says so
    assert "regimen" in explained
    assert "only switches off the smoking input" in warning
    assert "reads the regimen as not given" not in warning
    assert "smoking" not in explained and out["inputs_not_used"].split("; ").count("smoking") == (smoking is not None)


# -- item 3: values as given -------------------------------------------------------------------------------

def test_top_values_are_shown_as_given(tmp_path):
    patient = {"patient_id": "v", "pdl1_tps": 60, "mut_stk11": 0, "mut_keap1": 0, "tmb": 16.5, "ecog": 1,
               "regimen": "ici_mono"}
    out = icipredict.predict(patient, explain=6).iloc[0]
    shown = {out[f"top{i}_feature"]: out[f"top{i}_value"] for i in range(1, 7)}
    assert str(shown["pdl1_tps"]) == "60" and str(shown["tmb"]) == "16.5" and str(shown["ecog"]) == "1"
    assert str(shown["mut_stk11"]) == "0" and isinstance(shown["mut_stk11"], (int, np.integer))
    pd.DataFrame([patient]).to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli(["predict", "--input", str(tmp_path / "in.csv"), "--explain", "6"])
    assert proc.returncode == 0, proc.stderr
    written = pd.read_csv(__import__("io").StringIO(proc.stdout), dtype=str).iloc[0]
    values = {written[f"top{i}_feature"]: written[f"top{i}_value"] for i in range(1, 7)}
    assert values["pdl1_tps"] == "60" and values["mut_stk11"] == "0" and values["tmb"] == "16.5"


# -- item 6: one way of counting inputs ---------------------------------------------------------------------

def test_every_message_that_counts_inputs_says_which_count(model, tmp_path):
    n_used = len(_used_inputs(model.model))
    few = icipredict.predict({"patient_id": "f", "pdl1_tps": 5}).loc[0, "warnings"]
    assert f"only 1 of the {n_used} inputs this model uses given" in few
    assert "the model's" not in few
    with pytest.raises(ValueError) as python_error:
        icipredict.predict({"patient_id": "f"}, explain=MAX_EXPLAIN + 1)
    pd.DataFrame({"patient_id": ["f"]}).to_csv(tmp_path / "in.csv", index=False)
    cli = run_cli(["predict", "--input", str(tmp_path / "in.csv"), "--explain", str(MAX_EXPLAIN + 1)])
    for text in (str(python_error.value), cli.stderr):
        assert f"from 0 to {MAX_EXPLAIN} ({INPUT_COLUMNS_TEXT})" in text, text
    assert MAX_EXPLAIN == len(PREDICTORS) and "input columns a patient table may give" in INPUT_COLUMNS_TEXT


# -- item 10: plain words -------------------------------------------------------------------------------------

#: Names of model internals a reader never needs: model inputs and derived features that are not columns.
INTERNAL = sorted({*INPUT_SOURCES, *TREE_ONLY_SOURCES, "tmb_log", "pdl1_band_ord", "regimen_ctla4", "regimen_chemo",
                   "female_x_mono", "never_smoker_x_mono", "time_pdl1pos_tilpos", "time_pdl1neg_tilneg",
                   "current_smoker"} - set(PREDICTORS) - {"prior", "driver", "female", "squamous", "cold", "til",
                                                          "pdl1", "kras", "tp53"})


def _words(text: str) -> str:
    """The words a reader sees: tags, code spans and column names in brackets left out."""
    text = re.sub(r"<code>.*?</code>", " ", text, flags=re.S)
    text = re.sub(r"<style>.*?</style>|<[^>]+>", " ", text, flags=re.S)
    return unescape(text)


@pytest.mark.parametrize("patient", [
    {"patient_id": "a", "pdl1_tps": 60, "tmb": 16.5, "regimen": "chemo_ici", "smoking": "never", "mut_egfr": 1},
    {"patient_id": "b", "pdl1_band": "1-49", "til_density": 300, "regimen": "ici_mono", "albumin": 5.95},
    {"patient_id": "c"},
])
def test_what_a_clinician_reads_has_no_jargon(model, patient):
    report = report_for(model, patient, patient["patient_id"])
    words = _words(report_page(report))
    figure = report_page_figure_text(report)
    for text in (words, figure):
        for jargon in ("seed numbering", "seed review", "p_low to p_high", "(p_low", "p_high)"):
            assert jargon not in text, jargon
        found = [name for name in INTERNAL if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
        assert not found, found


def report_page_figure_text(report) -> str:
    from icipredict.report.figures import report_page_figure

    fig = report_page_figure(report)
    return "\n".join(t.get_text() for t in fig.texts + [t for ax in fig.axes for t in ax.texts])


def test_validate_names_the_time_classes_in_words(tmp_path):
    synthetic_cohort(20, seed=2).to_csv(tmp_path / "c.csv", index=False)
    proc = run_cli(["validate", "--input", str(tmp_path / "c.csv")])
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("TIME class"))
    assert "seed" not in line and line.startswith("TIME class (tumour immune microenvironment: I PD-L1-/TIL-,")


# -- item 11: one table of display names ----------------------------------------------------------------------

def test_every_screen_names_an_input_from_the_one_table():
    from icipredict.web.app import form_sections

    labels = {f.name: f.label for _, _, fields in form_sections() for f in fields}
    assert set(labels) == set(PREDICTORS) and set(COLUMN_LABELS) == set(PREDICTORS)
    for name in PREDICTORS:  # the calculator's label is the display name
        assert labels[name].lower() == column_label(name).lower(), name
    for name, label in MODEL_INPUT_LABELS.items():  # the plots' axis labels name a source column's display name
        if name == "til":
            continue
        sources = INPUT_SOURCES[name]
        assert any(column_label(c).lower() in label.lower() for c in sources), (name, label)
    for name, words in MISSING_INPUT_WORDS.items():  # the report's missing inputs likewise
        if name == "til":
            assert words == "a TIL measure" and len(TIL_MEASURES) > 1
            continue
        assert any(column_label(c).lower() in words.lower() for c in INPUT_SOURCES[name]), (name, words)


def test_the_readme_shows_the_benefit_groups_as_the_package_says_them(model):
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert benefit_groups_text(model.metadata) in readme
