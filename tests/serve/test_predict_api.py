"""The Python prediction API: input forms, output contract, exact SHAP additivity, reports, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from process_support import run_cli, run_cli_in_process
from serving_support import synthetic_patients

import icipredict
import icipredict.table.schema

OUTPUT_COLUMNS = ["patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "time_class", "til_source",
                  "missing_inputs", "inputs_not_used", "warnings", "model_version", "p_pfs_3m", "p_pfs_12m",
                  "p_pfs_24m", "median_pfs_months", "median_pfs_low", "median_pfs_high", "p_secondary_resistance_24m"]


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return synthetic_patients(50, seed=31)


@pytest.fixture(scope="module")
def loaded(small_model):
    return icipredict.load_model(small_model)


# -- input forms and the output contract -----------------------------------------------------------

def test_dict_list_and_frame_inputs_agree(small_model, patients):
    head = patients.head(5)
    records = [{k: v for k, v in r.items() if not (isinstance(v, float) and np.isnan(v)) and v is not None}
               for r in head.to_dict(orient="records")]
    from_frame = icipredict.predict(head, model=small_model)
    from_list = icipredict.predict(records, model=small_model)
    pd.testing.assert_frame_equal(from_frame, from_list)
    for i, rec in enumerate(records):
        one = icipredict.predict(rec, model=small_model)
        pd.testing.assert_frame_equal(one, from_frame.iloc[[i]].reset_index(drop=True))


def test_output_columns_and_input_order(small_model, patients):
    shuffled = patients.sample(frac=1.0, random_state=3).reset_index(drop=True)
    out = icipredict.predict(shuffled, model=small_model)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out["patient_id"].tolist() == shuffled["patient_id"].tolist()
    assert out["p_durable_benefit"].between(0, 1).all()
    assert set(out["benefit_group"]) <= {"low", "intermediate", "high"}
    # a different order gives the same numbers per patient
    ordered = icipredict.predict(patients, model=small_model).set_index("patient_id")
    pd.testing.assert_frame_equal(out.set_index("patient_id"), ordered.loc[out["patient_id"]])


def test_pyfunc_signature_declares_every_output_column(small_model, patients):
    """The MLflow signature's outputs are predict's columns, the probabilities as doubles."""
    from icipredict.fitting.tracking import pyfunc_signature

    out = icipredict.predict(patients.head(3), model=small_model)
    declared = pyfunc_signature().outputs.to_dict()
    assert [c["name"] for c in declared] == list(out.columns) == OUTPUT_COLUMNS
    assert [c["name"] for c in declared if c["type"] == "double"] == \
        [c for c in out.columns if pd.api.types.is_float_dtype(out[c])]


def test_explain_adds_k_quadruples_in_input_terms_that_add_up(small_model, loaded, patients):
    k = 4
    out = icipredict.predict(patients, model=small_model, explain=k)
    extra = [f"top{i}_{part}" for i in range(1, k + 1) for part in ("feature", "value", "effect", "shap")]
    assert list(out.columns) == OUTPUT_COLUMNS + extra

    clean = icipredict.check_patients(patients)
    phi, base = loaded.model.contributions(clean)
    total = phi.to_numpy().sum(axis=1) + base
    np.testing.assert_allclose(total, _logit(out["p_durable_benefit"]), rtol=0, atol=1e-9)
    canonical = set(icipredict.table.schema.COLUMNS)
    for i in range(len(out)):
        # the k largest |contributions| of each patient, named by a canonical input column
        top = phi.iloc[i].abs().sort_values(ascending=False, kind="stable")
        top = top[top > 0].index[:k]
        np.testing.assert_allclose([out.at[i, f"top{j}_shap"] for j in range(1, len(top) + 1)],
                                   phi.iloc[i][top].to_numpy(), atol=1e-12)
        for j in range(1, len(top) + 1):
            feature = out.at[i, f"top{j}_feature"]
            assert feature in canonical, feature
            value = out.at[i, f"top{j}_value"]
            given = clean.at[i, feature]
            if pd.isna(given):
                assert value == "not given"
            elif isinstance(given, float):  # a number as given: a whole number is shown as one (60, not 60.0)
                assert type(value) is (int if given.is_integer() else float) and value == given
            else:
                assert value == str(given)
            # the effect is the probability change that the contribution makes
            p, shap = out.at[i, "p_durable_benefit"], out.at[i, f"top{j}_shap"]
            np.testing.assert_allclose(out.at[i, f"top{j}_effect"], p - 1 / (1 + np.exp(-(_logit(p) - shap))),
                                       atol=1e-12)
            assert np.sign(out.at[i, f"top{j}_effect"]) == np.sign(shap)


def test_interval_holds_the_probability_and_widens_when_inputs_are_missing(small_model, patients):
    out = icipredict.predict(patients, model=small_model)
    assert (out["p_low"] <= out["p_durable_benefit"]).all() and (out["p_durable_benefit"] <= out["p_high"]).all()
    full = {"patient_id": "a", "pdl1_tps": 60.0, "tmb": 12.0, "prior_systemic_therapy": 0, "regimen": "ici_mono",
            "ecog": 1, "mut_stk11": 0, "mut_keap1": 0, "mut_egfr": 0, "smoking": "former"}
    fewer = {k: v for k, v in full.items() if k not in ("tmb", "ecog")}
    a, b = icipredict.predict([full, {**fewer, "patient_id": "b"}], model=small_model).itertuples()
    assert (b.p_high - b.p_low) > (a.p_high - a.p_low)


@pytest.fixture(scope="module")
def tree_model():
    from icipredict.clinical.outcomes import benefit_label, binary_target
    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.model.models import make_base

    clean = icipredict.check_patients(synthetic_cohort(n=300, seed=5))
    y = binary_target(benefit_label(clean))
    ok = y.notna().to_numpy()
    train = clean.loc[ok].reset_index(drop=True)
    return make_base("xgboost", {"n_estimators": 40}).fit(train, y[ok].astype(int).to_numpy())


def test_xgboost_contributions_equal_shap_tree_explainer(tree_model, patients):
    shap = pytest.importorskip("shap")
    from icipredict.model.models import shap_values

    X = tree_model.features(icipredict.check_patients(patients))
    phi, base, scale = shap_values(tree_model.estimator_, X)
    assert scale == "log-odds"
    explainer = shap.TreeExplainer(tree_model.estimator_)
    reference = np.asarray(explainer.shap_values(X.astype(float)), dtype=float)
    diff = np.abs(phi - reference).max()
    assert diff < 1e-5, diff
    np.testing.assert_allclose(base, float(np.atleast_1d(explainer.expected_value)[-1]), atol=1e-5)


def test_tree_contributions_fold_into_inputs_and_add_up(tree_model, patients):
    clean = icipredict.check_patients(patients)
    folded, base = tree_model.contributions(clean)
    assert {"pdl1", "tmb", "cold", "driver"} <= set(folded.columns)
    np.testing.assert_allclose(folded.to_numpy().sum(axis=1) + base, tree_model.decision_function(clean), atol=1e-5)


def test_tree_explanations_name_only_canonical_columns(tree_model, patients):
    """Tree features without a model input of their own (the positive and immune-evasion gene groups,
    log NLR, current smoking) are named by the column the patient gave, never by the feature."""
    from icipredict.model.explain import top_contributions
    from icipredict.model.metadata import TilTerm
    from icipredict.model.models import IciModel
    from icipredict.table.schema import COLUMNS

    clean = icipredict.check_patients(patients)
    model = IciModel(family="xgboost", base=tree_model, til_term=TilTerm())
    k = 12
    top = top_contributions(model, clean, k)
    named = set(pd.unique(top[[f"top{i}_feature" for i in range(1, k + 1)]].to_numpy().ravel()))
    named.discard(None)
    folded, _ = tree_model.contributions(clean)
    assert {"positive_mutation", "immune_evasion", "nlr_log"} & set(folded.columns)  # such features exist
    assert named and named <= set(COLUMNS), named - set(COLUMNS)


def test_spline_contributions_equal_shap_linear_explainer(loaded, patients):
    shap = pytest.importorskip("shap")

    base_model = loaded.model.base
    inputs = loaded.model.inputs(icipredict.check_patients(patients))
    Z = base_model.standardised(inputs)

    class Linear:  # the standardised design's coefficients, as shap's LinearExplainer takes a model
        coef_, intercept_ = base_model.coef_, base_model.intercept_

    background = np.zeros((1, Z.shape[1]))  # the training mean of the standardised design is 0
    explainer = shap.LinearExplainer(Linear(), masker=shap.maskers.Independent(background))
    reference = np.asarray(explainer.shap_values(Z), dtype=float)
    phi, _ = base_model.contributions(inputs)
    for name, cols in base_model.group_slices().items():
        np.testing.assert_allclose(phi[name].to_numpy(), reference[:, cols].sum(axis=1), atol=1e-10)


# -- the one-patient report from the command line -------------------------------------------------

def _cli(*args, in_process: bool = False, **kw):
    if in_process:  # the same code path (cli.main) without a fresh Python's seconds of imports
        code, out, err = run_cli_in_process(list(args))
        return subprocess.CompletedProcess(list(args), code, out, err)
    return run_cli(list(args), timeout=300, **kw)


@pytest.mark.parametrize("suffix", [".html", ".png", ".pdf"])
def test_explain_command_writes_a_report(small_model, patients, tmp_path, suffix):
    """The HTML report in a subprocess, the PNG and PDF (the same command, other writers) in-process."""
    csv = tmp_path / "patients.csv"
    patients.to_csv(csv, index=False)
    pid = patients["patient_id"].iloc[7]
    out = tmp_path / f"report{suffix}"
    proc = _cli("explain", "--model", str(small_model), "--input", str(csv), "--patient", pid, "--output", str(out),
                in_process=suffix != ".html")
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert len(data) > 1000
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    elif suffix == ".pdf":
        assert data[:5] == b"%PDF-" and data.rstrip().endswith(b"%%EOF")
    else:
        text = data.decode()
        assert pid in text and "data:image/png;base64," in text


def test_explain_command_unknown_patient(small_model, patients, tmp_path):
    csv = tmp_path / "patients.csv"
    patients.to_csv(csv, index=False)
    proc = _cli("explain", "--model", str(small_model), "--input", str(csv), "--patient", "NO-SUCH-PATIENT",
                "--out", str(tmp_path / "r.png"))
    assert proc.returncode == 2, proc.stderr
    assert "NO-SUCH-PATIENT" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r.png").exists()


# -- heavy libraries stay unloaded ----------------------------------------------------------------

HEAVY = ("mlflow", "shap", "matplotlib", "xgboost")


def _loaded_modules(code: str) -> dict:
    probe = code + "\nimport json, sys\nprint(json.dumps({m: m in sys.modules for m in %r}))" % (HEAVY,)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_icipredict_is_light():
    loaded = _loaded_modules("import icipredict")
    assert not any(loaded.values()), loaded


def test_predict_on_a_model_directory_does_not_import_mlflow(small_model):
    loaded = _loaded_modules(
        "import icipredict\n"
        f"out = icipredict.predict({{'patient_id': 'p1', 'pdl1_tps': 60.0, 'tmb': 12.0}}, model={str(small_model)!r})\n"
        "assert 0 <= out['p_durable_benefit'].iloc[0] <= 1")
    assert not loaded["mlflow"], loaded


def test_predicting_with_the_shipped_model_imports_neither_sklearn_nor_scipy_stats():
    """scikit-learn's base and scipy.stats cost every prediction process 0.6 s of imports."""
    code = ("import icipredict, json, sys\n"
            "icipredict.predict({'patient_id': 'p1', 'pdl1_tps': 60.0, 'tmb': 12.0}, model='public', explain=3)\n"
            "print(json.dumps([m for m in ('sklearn', 'scipy.stats') if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_pyfunc_saves_and_loads_without_mlflow_type_hint_advice(tmp_path):
    """The pyfunc declares its signature: MLflow's "Add type hints to the `predict` method" is not printed when
    the model is saved or loaded, and no other UserWarning is hidden for it."""
    code = ("import icipredict, mlflow.pyfunc\n"
            "from icipredict.fitting.tracking import save_mlflow_model\n"
            "mlflow.pyfunc.load_model(icipredict.model_uri())\n"
            f"out = save_mlflow_model(icipredict.load_model('public').path, {str(tmp_path / 'model')!r})\n"
            "mlflow.pyfunc.load_model(str(out))\n")
    proc = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "type hints" not in proc.stderr, proc.stderr


def test_chemo_ici_names_the_regimen_not_absent_smoking_or_sex():
    """Chemo-ICI switches the smoking and sex effects off: the explanation names the regimen, and the
    anti-CTLA-4 input it leaves unknown is not reported as a column the user forgot."""
    rows = pd.DataFrame({"patient_id": ["chemo", "mono", "no-regimen"], "regimen": ["chemo_ici", "ici_mono", None],
                         "pdl1_tps": [60.0, 60.0, 60.0], "smoking": [None, None, None], "sex": [None, None, None]})
    out = icipredict.predict(rows, model="public", explain=9).set_index("patient_id")
    assert "regimen" not in out.loc["chemo", "missing_inputs"].split("; ")
    assert "regimen" in out.loc["no-regimen", "missing_inputs"].split("; ")
    assert "and only switches off the smoking input" in out.loc["chemo", "warnings"]
    features = [out.loc["chemo", f"top{i}_feature"] for i in range(1, 10)]
    assert "smoking" not in features and "sex" not in features
    assert "smoking" in [out.loc["mono", f"top{i}_feature"] for i in range(1, 10)]
