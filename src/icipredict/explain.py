"""SHAP explanations: per-patient contributions and global importance.

Contributions are exact and fast for the two main models, without the ``shap`` package:

* XGBoost: TreeSHAP as implemented in XGBoost itself (``pred_contribs=True``), identical to
  ``shap.TreeExplainer`` (tested);
* logistic regression: the closed form of linear SHAP with the training data as background,
  ``phi_j = coef_j * (z_j - mean(z_j))`` on the imputed and scaled design; a feature's
  missing-indicator contribution is added to the feature's own.

The random forest uses ``shap.TreeExplainer`` (imported on first use). The plots use ``shap`` and
``matplotlib``, both imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["shap_values", "top_contributions", "global_importance", "plot_beeswarm", "plot_importance_bar",
           "plot_dependence", "plot_patient_waterfall"]


def shap_values(estimator, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """SHAP values of a fitted base estimator from :func:`icipredict.models.make_model`.

    Returns ``(phi, base, scale)`` with ``phi`` of shape (n, p) and ``base`` of shape (n,) such
    that ``phi.sum(1) + base`` is the model output on ``scale`` ("log-odds" or "probability").
    """
    Xv = X.to_numpy(dtype=float)
    n, p = Xv.shape
    if isinstance(estimator, Pipeline):
        imputer, scaler, lr = (estimator.named_steps[k] for k in ("impute", "scale", "model"))
        Z = scaler.transform(imputer.transform(X.astype(float)))
        # after StandardScaler the training mean of every design column is 0: phi = coef * z
        design = Z * lr.coef_[0]
        phi = design[:, :p].copy()
        indicator = getattr(imputer, "indicator_", None)
        if indicator is not None:
            for k, j in enumerate(indicator.features_):
                phi[:, j] += design[:, p + k]
        return phi, np.full(n, float(lr.intercept_[0])), "log-odds"
    if isinstance(estimator, RandomForestClassifier):
        import shap

        values = shap.TreeExplainer(estimator).shap_values(Xv, check_additivity=False)
        values = values[..., 1] if np.ndim(values) == 3 else values[1]
        base = np.atleast_1d(shap.TreeExplainer(estimator).expected_value)[-1]
        return np.asarray(values, dtype=float), np.full(n, float(base)), "probability"
    import xgboost as xgb

    contribs = estimator.get_booster().predict(xgb.DMatrix(X.astype(float), missing=np.nan), pred_contribs=True)
    return contribs[:, :-1].astype(float), contribs[:, -1].astype(float), "log-odds"


def top_contributions(phi: pd.DataFrame, X: pd.DataFrame, k: int) -> list[list[dict]]:
    """The k features that moved each patient's prediction most, as ``{feature, value, shap}``."""
    if k <= 0:
        return [[] for _ in range(len(phi))]
    values = phi.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    names = np.asarray(phi.columns)
    xv = X.to_numpy(dtype=float)
    out = []
    for i, idx in enumerate(order):
        out.append([{"feature": str(names[j]), "value": None if np.isnan(xv[i, j]) else float(xv[i, j]),
                     "shap": float(values[i, j])} for j in idx])
    return out


def global_importance(phi: pd.DataFrame) -> pd.Series:
    """Mean absolute SHAP value per feature, largest first."""
    return phi.abs().mean().sort_values(ascending=False)


def _explanation(phi: pd.DataFrame, X: pd.DataFrame, base: np.ndarray):
    import shap

    return shap.Explanation(values=phi.to_numpy(), base_values=np.asarray(base, dtype=float),
                            data=X.to_numpy(dtype=float), feature_names=list(phi.columns))


def _figure():
    # pyplot picks a non-interactive backend by itself on a headless machine
    import matplotlib.pyplot as plt

    return plt


def plot_beeswarm(phi: pd.DataFrame, X: pd.DataFrame, base: np.ndarray, *, max_display: int = 15,
                  title: str = "") -> "Figure":
    """SHAP beeswarm (one dot per patient and feature, coloured by the feature value)."""
    import shap

    plt = _figure()
    plt.figure(figsize=(8, 6))
    shap.plots.beeswarm(_explanation(phi, X, base), max_display=max_display, show=False)
    fig = plt.gcf()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_importance_bar(phi: pd.DataFrame, *, max_display: int = 15, title: str = "") -> "Figure":
    """Mean |SHAP| per feature."""
    plt = _figure()
    imp = global_importance(phi).head(max_display)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(imp) + 1.2))
    ax.barh(imp.index, imp.to_numpy(), color="#3b6ea5")
    ax.set_xlabel("mean |SHAP value|")
    ax.set_title(title or "Global feature importance")
    fig.tight_layout()
    return fig


def plot_dependence(phi: pd.DataFrame, X: pd.DataFrame, feature: str, *, title: str = "") -> "Figure":
    """SHAP value of one feature against its value (missing values shown at the left edge)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 4))
    x = X[feature].to_numpy(dtype=float)
    y = phi[feature].to_numpy()
    known = ~np.isnan(x)
    ax.scatter(x[known], y[known], s=10, alpha=0.6, color="#3b6ea5", label=f"measured (n={known.sum()})")
    if (~known).any():
        left = np.nanmin(x) - 0.05 * (np.nanmax(x) - np.nanmin(x) + 1) if known.any() else 0.0
        ax.scatter(np.full((~known).sum(), left), y[~known], s=10, alpha=0.6, color="#b55",
                   label=f"missing (n={(~known).sum()})")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(feature)
    ax.set_ylabel(f"SHAP value of {feature}")
    ax.set_title(title or f"Dependence on {feature}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_patient_waterfall(contrib: pd.Series, values: pd.Series, base: float, *, scale: str,
                           max_display: int = 10, ax=None):
    """Horizontal waterfall of one patient's contributions on ``scale``."""
    plt = _figure()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    order = contrib.abs().sort_values(ascending=False).index
    shown = list(order[:max_display])
    rest = float(contrib.drop(index=shown).sum())
    labels, deltas = [], []
    for f in shown:
        v = values.get(f, np.nan)
        labels.append(f"{f} = {'missing' if pd.isna(v) else f'{v:.3g}'}")
        deltas.append(float(contrib[f]))
    if len(order) > max_display:
        labels.append(f"{len(order) - max_display} other features")
        deltas.append(rest)
    labels, deltas = labels[::-1], deltas[::-1]
    start = base + np.concatenate([[0.0], np.cumsum(deltas)[:-1]])
    colours = ["#2a7" if d > 0 else "#c44" for d in deltas]
    ax.barh(range(len(deltas)), deltas, left=start, color=colours)
    ax.set_yticks(range(len(deltas)), labels, fontsize=8)
    ax.axvline(base, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"contribution ({scale}); baseline {base:.2f}, patient {base + sum(deltas):.2f}")
    ax.set_title("What moved this prediction (green: towards benefit)")
    return ax
