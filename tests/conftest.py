"""Shared fixtures: where the real cohorts are, and a temporary MLflow store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ICIPREDICT_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, skipping the test (with the reason shown) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real cohort not available: {path} does not exist (set ICIPREDICT_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real cohorts not available: {SHARED_DATA} does not exist (set ICIPREDICT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def new_store(tmp_path_factory):
    """``new_store(folder)``: the URI of a real, empty MLflow SQLite store at ``folder/mlflow.db``.

    MLflow builds its schema (about a second of migrations) once per worker; each store is a copy of that empty
    database, as a second run finds a store the first one created. The tests of a store's creation use none.
    """
    template = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()

    def make(folder: Path) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, folder / "mlflow.db")
        return f"sqlite:///{folder / 'mlflow.db'}"

    return make


#: Training without its plots (``output.plots``): drawing them is most of a small run's time. The tests that read a
#: run's figures keep them (``with_plots``).
NO_PLOTS = "output.plots=false"

#: Overrides that make a real (not mocked) training run take a few seconds: two synthetic centres,
#: the spline-logistic family with a two-value grid, 50 bootstrap resamples, three pooled folds, no plots.
FAST_TRAIN = (
    "data.sources=[{name: centre_a, format: synthetic, n: 220, seed: 1}, "
    "{name: centre_b, format: synthetic, n: 180, seed: 2, shift: 0.3}]",
    "evaluation.n_boot=50", "evaluation.cv_folds=3", "model.families=[spline_logistic]",
    "model.spline_logistic={inputs: [core], knots: [3], penalty: [0.03, 0.3]}", NO_PLOTS,
)


def with_plots(overrides) -> list[str]:
    """``overrides`` with the training plots drawn (without ``NO_PLOTS``)."""
    return [s for s in overrides if s != NO_PLOTS]


@pytest.fixture(scope="session")
def small_training(tmp_path_factory):
    """The training result (400 synthetic patients, no tracking) whose bundle is ``small_model``, shared by the
    session. Tests read it and never change it: a test that logs or alters it works on a copy."""
    from icipredict.fitting.training import train

    out = tmp_path_factory.mktemp("model") / "bundle"
    result = train(overrides=[*FAST_TRAIN, "tracking.enabled=false", f"output.model_dir={out}"], quiet=True)
    assert result.bundle_path == out
    return result


@pytest.fixture(scope="session")
def small_model(small_training) -> Path:
    """A real model bundle trained on 400 synthetic patients (no tracking), shared by the session."""
    return small_training.bundle_path


#: FAST_TRAIN with the time-to-event family (a spline Cox model) instead of the 6-month one.
FAST_TRAIN_CURVE = (
    *[s for s in FAST_TRAIN if not s.startswith("model.")],
    "model.families=[spline_cox]", "model.spline_cox={inputs: [core], knots: [3], penalty: [0.03, 0.3]}",
)


@pytest.fixture(scope="session")
def small_curve_training(tmp_path_factory):
    """The training result (FAST_TRAIN_CURVE, no tracking) whose bundle is ``small_curve_model``, shared by the
    session. Tests read it and never change it."""
    from icipredict.fitting.training import train

    out = tmp_path_factory.mktemp("curve_model") / "bundle"
    result = train(overrides=[*FAST_TRAIN_CURVE, "tracking.enabled=false", f"output.model_dir={out}"], quiet=True)
    assert result.bundle_path == out and result.model.has_curve
    return result


@pytest.fixture(scope="session")
def small_curve_model(small_curve_training) -> Path:
    """A real time-to-event bundle (spline Cox, the PFS curve) trained on 400 synthetic patients, shared by the session."""
    return small_curve_training.bundle_path


#: The test files that take longest (the sum of their tests' durations, measured on two workers), started first.
#: With ``--dist loadfile --no-loadscope-reorder`` (pyproject) each worker takes the next file whenever it is free:
#: the long files run side by side at the start and the many short ones fill the end, so neither worker is left
#: alone on a long file at the end. (xdist's default order, most tests first, put these few-test files last.)
#: Only when a file runs changes, never what it tests; a file not listed keeps its place after these.
LONGEST_FIRST = (
    "tests/test_packaging.py", "tests/hardening/test_faults.py", "tests/fitting/test_train_run.py",
    "tests/cli/test_cli_streams.py", "tests/serve/test_spark.py", "tests/serve/test_rest.py",
    "tests/hardening/test_matrix.py", "tests/report/test_report_curve.py", "tests/plots/test_plots.py",
    "tests/hardening/test_signals.py", "tests/serve/test_predict_api.py", "tests/test_notebook.py",
    "tests/fitting/test_time_class_model.py", "tests/fitting/test_updating.py", "tests/hardening/test_pins_values.py",
    "tests/hardening/test_bad_input.py", "tests/report/test_report_content.py", "tests/serve/test_what_users_read.py",
    "tests/web/test_serve_e2e.py", "tests/model/test_survival_model.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: files stay whole
