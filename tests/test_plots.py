"""Tests of icipredict.plots: each figure builds, has axes, carries n and saves as a PNG."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from icipredict.evaluation import decision_curve, metrics_table
from icipredict.plots import plot_calibration, plot_decision_curve, plot_metric_forest, plot_roc, save_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    p = 1 / (1 + np.exp(-rng.normal(-0.5, 1.0, n)))
    y = (rng.random(n) < p).astype(int)
    pdl1 = np.clip(100 * p + rng.normal(0, 20, n), 0, 100)
    pdl1[:20] = np.nan
    return pd.DataFrame({"cohort": np.where(np.arange(n) < 180, "A", "B"), "y": y, "p": p, "pdl1": pdl1})


def _check(fig, path) -> None:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure) and fig.axes
    out = save_figure(fig, path)
    data = out.read_bytes()
    assert out == path and data.startswith(PNG_MAGIC) and len(data) > 1000


def test_plot_roc(cohort, tmp_path):
    fig = plot_roc({"model": (cohort.y, cohort.p), "PD-L1": (cohort.y, cohort.pdl1)}, title="ROC")
    assert fig.axes[0].get_title() == "ROC (n=280-300)"
    _check(fig, tmp_path / "roc.png")


def test_plot_calibration(cohort, tmp_path):
    fig = plot_calibration(cohort.y, cohort.p, label="model", n_bins=8)
    assert len(fig.axes) == 2 and "n=300" in fig.axes[0].get_title()
    _check(fig, tmp_path / "calibration.png")


@pytest.mark.parametrize("form", ["table", "mapping"], ids=str)
def test_plot_decision_curve(cohort, tmp_path, form):
    if form == "table":
        fig = plot_decision_curve(decision_curve(cohort.y, cohort.p), n=len(cohort))
    else:
        fig = plot_decision_curve({"model": (cohort.y, cohort.p), "perfect": (cohort.y, cohort.y.astype(float))})
    assert "n=300" in fig.axes[0].get_title()
    _check(fig, tmp_path / "decision.png")


@pytest.mark.parametrize("metric", ["roc_auc", "calibration_slope"], ids=str)
def test_plot_metric_forest(cohort, tmp_path, metric):
    table = metrics_table(cohort, scores={"model": "p", "PD-L1": "pdl1"}, probability_scores=["model"], n_boot=50)
    fig = plot_metric_forest(table, metric=metric)
    assert "pooled n=300" in fig.axes[0].get_title()
    assert len(fig.axes[0].get_yticklabels()) == len(table)
    _check(fig, tmp_path / "nested" / "forest.png")


def test_plot_metric_forest_rejects_unknown_metric(cohort):
    table = metrics_table(cohort, scores=["p"], n_boot=0)
    with pytest.raises(ValueError, match="metric must be a column of table. Got 'auc' instead."):
        plot_metric_forest(table, metric="auc")


def test_import_does_not_load_matplotlib():
    code = "import sys, icipredict.plots; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
