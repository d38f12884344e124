"""Config loading: defaults, overrides, and error messages that name the key."""

from __future__ import annotations


import pytest
from conftest import REPO
from process_support import run_cli

from icipredict.config import load_config
from icipredict.exceptions import InvalidConfig


def test_shipped_configs_load():
    default = load_config(REPO / "configs" / "default.yaml")
    assert default.data.sources[0].format == "synthetic" and default.model.families == ["spline_cox", "xgboost_cox"]
    assert len(default.data.sources) == 4  # four synthetic centres: selection by leave-one-centre-out
    public = load_config(REPO / "configs" / "public_cohorts.yaml")
    roles = {s.name: s.role for s in public.data.sources}
    assert roles["nsclc_pd1_msk_2018"] == "train" and roles["chowell_test"] == "external"
    assert public.source_path(public.data.sources[0]).name == "nsclc_pd1_msk_2018"


def test_override_order_does_not_matter():
    a = load_config(None, overrides=["model.families=[xgboost]", "seed=3", "data.sources.0.n=200"])
    b = load_config(None, overrides=["data.sources.0.n=200", "seed=3", "model.families=[xgboost]"])
    assert a == b and a.data.sources[0].n == 200


@pytest.mark.parametrize(("overrides", "message"), [
    (["model.families=[svm]"], r"config key 'model.families.0': Input should be 'spline_logistic', 'random_forest', "
                               r"'xgboost', 'spline_cox' or 'xgboost_cox'\. Got 'svm' instead\."),
    (["model.families=[spline_cox, xgboost]"], r"config key 'model': families \['spline_cox', 'xgboost'\] mix "
                                               r"6-month families with time-to-event ones"),
    (["model.nmae=xgboost"], r"config key 'model.nmae': unknown key\."),
    (["evaluation.cv_folds=one"], r"config key 'evaluation.cv_folds': .*integer.*Got 'one' instead"),
    (["evaluation.cv_folds=-1"], r"config key 'evaluation.cv_folds': .*greater than or equal to 0.*Got -1 instead"),
    (["model.spline_logistic={penalty: [0]}"], r"config key 'model.spline_logistic': spline_logistic.penalty must be a "
                                               r"number > 0, got 0"),
    (["model.xgboost={depth: [1]}"], r"config key 'model.xgboost': unknown xgboost setting\(s\) \['depth'\]"),
    (["benefit_groups.low=0.5", "benefit_groups.high=0.3"], r"config key 'benefit_groups': low \(0.5\) must be below high"),
    (["evaluation.thresholds=[0.2, 1.5]"], r"config key 'evaluation.thresholds'.*strictly between 0 and 1"),
    (["model.name"], r"--set 'model.name': expected key=value"),
    (["data.sources.5.n=3"], r"config key 'data.sources.5.n': '5' is not an index of a list of 4"),
    (["seed=1", "seed=2"], r"each key may be given once"),
    (["data.sources=[{name: x, format: table}]"], r"config key 'data.sources.0': .*needs a 'path'"),
    # each of these ended in a traceback from inside the run (an empty grid: KeyError 'log_loss'; NumPy's seed range;
    # scikit-learn's and XGBoost's own parameter checks) after the data had loaded
    (["model.spline_logistic={knots: []}"], r"config key 'model.spline_logistic': spline_logistic.knots is an empty "
                                            r"list, which searches nothing; expected at least one value"),
    (["model.xgboost={max_depth: []}"], r"xgboost.max_depth is an empty list, which searches nothing"),
    (["model.random_forest={min_samples_leaf: [0]}"], r"config key 'model.random_forest': random_forest.min_samples_leaf "
                                                      r"must be a whole number of at least 1 or a share > 0 and < 1, got 0"),
    (["model.xgboost_cox={n_estimators: 0}"], r"xgboost_cox.n_estimators must be a whole number of at least 1, got 0"),
    (["model.xgboost={subsample: 1.5}"], r"xgboost.subsample must be a number > 0 and <= 1, got 1.5"),
    (["model.xgboost={monotone: 2}"], r"xgboost.monotone must be true or false, got 2"),
    (["seed=-1"], r"config key 'seed': Input should be greater than or equal to 0\. Got -1 instead"),
    (["seed=4294967296"], r"config key 'seed': Input should be less than or equal to 4294967295"),
], ids=["bad-choice", "mixed-families", "unknown-key", "wrong-type", "out-of-range", "bad-penalty", "bad-tree-key", "risk-order",
        "thresholds", "no-equals", "bad-index", "twice", "source-without-path", "empty-spline-grid", "empty-tree-grid",
        "forest-leaf-0", "no-trees", "subsample-over-1", "monotone-not-bool", "negative-seed", "seed-too-large"])
def test_config_errors_name_the_key(overrides, message):
    with pytest.raises(InvalidConfig, match=message):
        load_config(None, overrides=overrides)


def test_file_errors(tmp_path):
    with pytest.raises(InvalidConfig, match=r"config file '.*nope.yaml' does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(InvalidConfig, match=r"is not valid YAML"):
        load_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    with pytest.raises(InvalidConfig, match=r"expected a mapping of sections at the top level\. Got str instead"):
        load_config(scalar)


def test_cli_bad_config_is_one_paragraph_not_a_traceback(tmp_path):
    proc = run_cli(["train", "--set", "model.name=svm", "--quiet"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "config key 'model.name'" in proc.stderr and "Traceback" not in proc.stderr
    # tracking off: the data.root error is the same, and the default store (./mlflow.db) is not created in the checkout
    missing = run_cli(["train", "--config", "configs/public_cohorts.yaml", "--set", "data.root=/does/not/exist",
                       "--set", "tracking.enabled=false", "--quiet"], cwd=REPO, timeout=120)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr and "data.root" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize("folds", [0, 1])
def test_a_run_that_measures_nothing_out_of_sample_is_refused(folds):
    """No internal-external validation and no pooled folds: training ended in a pandas traceback ("No objects to
    concatenate") after fitting; the config is now refused first, naming the two keys."""
    with pytest.raises(InvalidConfig, match=rf"config key 'evaluation': internal_external is false and cv_folds is "
                                            rf"{folds}: nothing would measure the model out of sample"):
        load_config(None, overrides=["evaluation.internal_external=false", f"evaluation.cv_folds={folds}"])
    assert load_config(None, overrides=["evaluation.internal_external=false", "evaluation.cv_folds=2"])


def test_every_tree_setting_has_a_rule_and_the_defaults_pass_it():
    from icipredict.config import _TREE_KEYS, _TREE_VALUES, ModelConfig

    assert set().union(*map(set, _TREE_KEYS.values())) == set(_TREE_VALUES)
    ModelConfig(families=["xgboost"], random_forest={"n_estimators": 30, "min_samples_leaf": [1, 0.5],
                                                     "max_features": ["sqrt", 3, 0.5, None], "max_depth": [None, 4]})
