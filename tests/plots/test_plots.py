"""Tests of icipredict.plots: every figure of a real (small) training run renders, deterministically, and
says what it shows: the scheme on every forest-plot row, the clinical strategies on the decision
curve, human labels with units on the explanation plots, n and events on the calibration plots."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import FAST_TRAIN, with_plots

from icipredict.evaluation import decision_curve, metrics_table
from icipredict.table.labels import MODEL_INPUT_LABELS
from icipredict.plots import (STRATEGY_PDL1, STRATEGY_TMB, decision_strategies, figure_png, plot_beeswarm,
                              plot_calibration, plot_decision_curve, plot_decision_strategies, plot_dependence,
                              plot_metric_forest, plot_roc, save_figure)
from icipredict.fitting.figures import _forest_rows, training_figures

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: FAST_TRAIN's two synthetic centres plus an external one, so that every figure of a run is drawn.
SOURCES = ("data.sources=[{name: centre_a, format: synthetic, n: 220, seed: 1}, "
           "{name: centre_b, format: synthetic, n: 180, seed: 2, shift: 0.3}, "
           "{name: ext_c, format: synthetic, n: 150, seed: 3, shift: -0.2, role: external}]")


@pytest.fixture(scope="module")
def result():
    """One real training run (spline logistic, 550 synthetic patients, no tracking) for the whole module."""
    from icipredict.fitting.training import train

    overrides = [o for o in with_plots(FAST_TRAIN) if not o.startswith("data.sources=")]
    return train(overrides=[*overrides, SOURCES, "tracking.enabled=false"], quiet=True)


@pytest.fixture(scope="module")
def figures(result) -> dict[str, bytes]:
    """The figures the training run drew (``training_figures(result)``, as the run logs and bundles them)."""
    return result.figures


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


# -- a real training run's figures ----------------------------------------------------------------------

def test_training_figures_draws_every_plot_as_png(figures):
    expected = {"roc.png", "calibration.png", "calibration_cv.png", "calibration_external_ext_c.png",
                "decision_curve.png", "auc_forest.png", "shap_beeswarm.png", "shap_importance.png",
                "shap_dependence_pdl1.png", "shap_dependence_tmb.png"}
    assert set(figures) == expected
    assert all(png.startswith(PNG_MAGIC) and len(png) > 5000 for png in figures.values())


def test_training_figures_are_byte_identical_for_the_same_result(result, figures):
    again = training_figures(result)
    changed = [name for name in figures if figures[name] != again[name]]
    assert not changed, changed


def test_forest_plot_names_the_scheme_on_every_row_and_repeats_no_label(result):
    rows = _forest_rows(result.metrics)
    fig = plot_metric_forest(rows, "roc_auc")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(labels) == len(rows) and len(set(labels)) == len(labels)
    assert all(label.startswith(("internal-external: ", "pooled folds: ", "external: ")) for label in labels)
    assert "internal-external: centre_a · model (n=" in "\n".join(labels)
    assert any(label.startswith("pooled folds: centre_b · model") for label in labels)
    assert any(label.startswith("external: ext_c · model") for label in labels)
    # baselines are fixed rules: their pooled-fold rows would repeat the internal-external ones
    assert not any(label.startswith("pooled folds:") and "· model " not in label for label in labels)


def test_decision_curve_sets_the_model_beside_the_four_strategies(result):
    pred = result.predictions
    held = pred["iecv"].notna()
    y, p = pred.loc[held, "y"].to_numpy(float), pred.loc[held, "iecv"].to_numpy(float)
    pdl1, tmb = pred.loc[held, "pdl1"].to_numpy(float), pred.loc[held, "tmb"].to_numpy(float)
    table = decision_strategies(y, p, pdl1=pdl1, tmb=tmb, thresholds=[0.2, 0.3, 0.5])
    assert list(table.columns) == ["threshold", "model", "treat all", "treat none", STRATEGY_PDL1, STRATEGY_TMB]
    assert (STRATEGY_PDL1, STRATEGY_TMB) == ("PD-L1 >= 50%", "TMB >= 10 mut/Mb")
    n = len(y)
    for i, t in enumerate([0.2, 0.3, 0.5]):
        for name, flagged in ((STRATEGY_PDL1, np.nan_to_num(pdl1, nan=-1) >= 50),
                              (STRATEGY_TMB, np.nan_to_num(tmb, nan=-1) >= 10)):
            tp, fp = np.sum(flagged & (y == 1)), np.sum(flagged & (y == 0))
            assert table[name].iloc[i] == pytest.approx(tp / n - fp / n * t / (1 - t)), (name, t)
        assert table["treat all"].iloc[i] == pytest.approx(y.mean() - (1 - y.mean()) * t / (1 - t))
        assert table["treat none"].iloc[i] == 0
    assert table["model"].tolist() == pytest.approx(decision_curve(y, p, [0.2, 0.3, 0.5])["net_benefit_model"].tolist())
    assert table.attrs["unknown"][STRATEGY_PDL1] == int(np.isnan(pdl1).sum()) > 0
    legend = [t.get_text() for t in plot_decision_strategies(table).axes[0].get_legend().get_texts()]
    assert legend == ["model", STRATEGY_PDL1, STRATEGY_TMB, "treat all", "treat none"]


def test_roc_legend_gives_each_n_once(result):
    pred = result.predictions
    fig = plot_roc({"model": (pred["y"], pred["iecv"]), "PD-L1 TPS alone": (pred["y"], pred["pdl1"])})
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert all(t.count("n=") == 1 for t in texts if t != "chance")


def test_beeswarm_speaks_in_inputs_units_and_explains_grey(result):
    phi, inputs = result.contributions
    phi = phi.loc[:, phi.abs().max(axis=0) > 0]
    fig = plot_beeswarm(phi, inputs.reindex(columns=phi.columns), reference=0.35)
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert labels <= set(MODEL_INPUT_LABELS.values()) and "TMB (mut/Mb, tissue-panel scale)" in labels
    assert not labels & set(phi.columns)  # no internal name reaches the reader
    assert "log-odds" in ax.get_xlabel() and "0: no change from the average" in ax.get_xlabel()
    assert any("percentage points" in a.get_xlabel() for a in ax.child_axes)  # the probability axis on top
    legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert legend == ["grey: input not given (read as unknown)"]
    assert figure_png(fig) == figure_png(plot_beeswarm(phi, inputs.reindex(columns=phi.columns), reference=0.35))


def test_tmb_dependence_is_drawn_in_mut_per_mb_on_a_log_axis_with_the_cutoff(result):
    phi, inputs = result.contributions
    fig = plot_dependence(phi, inputs, "tmb", reference=0.35)
    ax = fig.axes[0]
    assert ax.get_xscale() == "symlog" and "mut/Mb" in ax.get_xlabel()
    given = inputs["tmb"].notna().to_numpy()
    x = ax.collections[0].get_offsets()[:, 0]
    assert np.allclose(np.sort(x), np.sort(np.expm1(inputs["tmb"].to_numpy()[given])))
    cut = [ln for ln in ax.get_lines() if ln.get_label().startswith("TMB-high cut-off")]
    assert len(cut) == 1 and cut[0].get_xdata()[0] == 10
    assert "not given" in [t.get_text() for t in ax.get_xticklabels()]


def test_external_calibration_titles_carry_n_and_events(result):
    frame = result.external["ext_c"]
    fig = plot_calibration(frame["y"], frame["model"], label="model", title="Calibration, external: ext_c")
    n, events = int(frame["y"].notna().sum()), int(frame["y"].sum())
    assert fig.axes[0].get_title() == f"Calibration, external: ext_c: model (n={n}, events={events})"


# -- single figures on a hand-made cohort -----------------------------------------------------------------

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
    code = ("import sys, icipredict, icipredict.plots, icipredict.report.patient, icipredict.table.labels; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
