"""Figures for model evaluation and explanation, and every figure of a training run.

- :mod:`icipredict.plots.evaluation`: ROC, calibration, decision curves (model beside "treat all",
  "treat none", PD-L1 >= 50 % and TMB >= 10 mut/Mb), forest plots naming the scheme on every row.
- :mod:`icipredict.plots.explain`: contributions per input (beeswarm), their mean size, dependence
  plots on the inputs' own scales.
- :mod:`icipredict.plots.style`: the Okabe-Ito palette, pyplot-free figures, deterministic PNG bytes.

:func:`icipredict.fitting.figures.training_figures` draws them all for a training run. matplotlib is
imported inside the functions: ``import icipredict.plots`` stays cheap.

Layer 9 of docs/architecture.md, below ``fitting`` (a training run saves its figures) and ``report``:
may import ``exceptions``, ``table``, ``clinical``, ``model`` and ``evaluation``.

>>> from icipredict.plots import plot_calibration, save_figure    # doctest: +SKIP
>>> save_figure(plot_calibration(y, p, label="model"), "calibration.png")  # doctest: +SKIP
"""

from __future__ import annotations

from icipredict.plots.evaluation import (BASELINE_WORDS, SCHEME_WORDS, STRATEGY_PDL1, STRATEGY_TMB,
                                         calibration_bins, decision_strategies, plot_calibration, plot_decision_curve,
                                         plot_decision_strategies, plot_metric_forest, plot_roc,
                                         plot_update_calibration)
from icipredict.plots.explain import input_label, plot_beeswarm, plot_dependence, plot_importance_bar
from icipredict.plots.style import OKABE_ITO, figure_png, save_figure

__all__ = ["plot_roc", "plot_calibration", "plot_decision_curve", "decision_strategies", "plot_decision_strategies",
           "plot_metric_forest", "plot_update_calibration", "save_figure", "figure_png", "plot_beeswarm",
           "plot_importance_bar", "plot_dependence", "input_label", "OKABE_ITO", "SCHEME_WORDS",
           "STRATEGY_PDL1",
           "STRATEGY_TMB", "BASELINE_WORDS", "calibration_bins"]
