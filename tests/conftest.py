"""Shared fixtures: where the real cohorts are, and a temporary MLflow store."""

from __future__ import annotations

import os
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


@pytest.fixture()
def tracking_uri(tmp_path: Path) -> str:
    """A real, empty local MLflow store (SQLite) in a temporary directory."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


#: Overrides that make a real (not mocked) training run take a few seconds: two synthetic centres,
#: the spline-logistic family with a two-value grid, 50 bootstrap resamples, three pooled folds.
FAST_TRAIN = (
    "data.sources=[{name: centre_a, format: synthetic, n: 220, seed: 1}, "
    "{name: centre_b, format: synthetic, n: 180, seed: 2, shift: 0.3}]",
    "evaluation.n_boot=50", "evaluation.cv_folds=3", "model.families=[spline_logistic]",
    "model.spline_logistic={inputs: [core], knots: [3], penalty: [0.03, 0.3]}",
)


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> Path:
    """A real model bundle trained on 400 synthetic patients (no tracking), shared by the session."""
    from icipredict.fitting.training import train

    out = tmp_path_factory.mktemp("model") / "bundle"
    result = train(overrides=[*FAST_TRAIN, "tracking.enabled=false", f"output.model_dir={out}"], quiet=True)
    assert result.bundle_path == out
    return out
