"""SHAP explanations: per-patient contributions and global importance.

Contributions are exact and fast for the two main models, without the ``shap`` package:

* XGBoost: TreeSHAP as implemented in XGBoost itself (``pred_contribs=True``), identical to
  ``shap.TreeExplainer`` (tested);
* logistic regression: the closed form of linear SHAP with the training data as background,
  ``phi_j = coef_j * (z_j - mean(z_j))`` on the imputed and scaled design; a feature's
  missing-indicator contribution is added to the feature's own.

The random forest uses ``shap.TreeExplainer`` (imported on first use). The SHAP plots are in
:mod:`icipredict.plots`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.models import IciModel

__all__ = ["shap_values", "contributions", "top_contributions", "global_importance"]


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


def contributions(model: "IciModel", patients: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, str]:
    """SHAP values of a fitted :class:`~icipredict.models.IciModel` per patient and model feature.

    Returns ``(phi, base, scale)``: ``phi.sum(axis=1) + base`` equals the model output on
    ``scale``. For sigmoid calibration the scale is the *calibrated* log-odds (the base model's
    SHAP values times the Platt slope, base shifted by the intercept), so contributions add up to
    the reported probability exactly; otherwise the base model's log-odds (or, for the random
    forest, its probability).
    """
    X = model.features(patients)
    phi, base, scale = shap_values(model.estimator_, X)
    calibrator = model.calibrator_
    if calibrator.method == "sigmoid" and scale == "log-odds":
        phi = phi * calibrator.a
        base = base * calibrator.a + calibrator.b
        scale = "calibrated log-odds"
    return pd.DataFrame(phi, index=patients.index, columns=model.feature_names_), base, scale


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
