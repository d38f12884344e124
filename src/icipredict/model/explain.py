"""Explanations in the inputs' own terms: per-patient contributions, the top ones, global importance.

A patient's prediction is ``sigmoid(base + sum of contributions)`` on the final log-odds scale
(:meth:`icipredict.model.models.IciModel.contributions`): one contribution per model input (PD-L1, TMB with
its assay, prior therapy, regimen, ECOG, the mutation groups, TIL...), derived features folded back
into the input they come from. For the spline-logistic model they are exact linear SHAP values
(coefficients times the distance from the training mean); for XGBoost, TreeSHAP from XGBoost itself
(``pred_contribs=True``, identical to ``shap.TreeExplainer``, tested); the random forest uses
``shap.TreeExplainer`` (imported on first use).

:func:`top_contributions` names each input by the canonical column the user gave (``pdl1_tps``,
``pdl1_band``, ``tmb``, ``regimen``, ``mut_stk11``...), with the value as given and its effect in
probability points: how far the probability would move back if that input were unknown
(``sigmoid(L) - sigmoid(L - contribution)``). The plots are in :mod:`icipredict.plots`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from icipredict.clinical.til import til_status_values
from icipredict.model.features import INPUT_SOURCES, TREE_ONLY_SOURCES
from icipredict.model.models import IciModel, shap_values, sigmoid

__all__ = ["shap_values", "top_contributions", "global_importance", "source_columns"]


def source_columns(inputs: list[str], clean: pd.DataFrame) -> pd.DataFrame:
    """Per patient and input, the canonical column the explanation names.

    The first of the input's source columns (:data:`~icipredict.model.features.INPUT_SOURCES`) that the
    patient has; for the mutation groups the altered gene when one is; the first source when none
    is given (its value is then "not given"). TIL: the measure that set the status. Smoking and sex
    under chemo-ICI: the regimen, which switches their effect off (:func:`~icipredict.model.features.model_inputs`).
    """
    out = {}
    for name in inputs:
        sources = [c for c in INPUT_SOURCES.get(name, TREE_ONLY_SOURCES.get(name, (name,))) if c in clean.columns]
        if not sources:
            out[name] = np.full(len(clean), name, dtype=object)
            continue
        known = clean[sources].notna().to_numpy()
        pick = np.where(known.any(axis=1), known.argmax(axis=1), 0)
        if len(sources) > 1 and all(c.startswith("mut_") for c in sources):  # a gene group: the altered gene
            altered = clean[sources].astype(float).to_numpy() == 1
            pick = np.where(altered.any(axis=1), altered.argmax(axis=1), pick)
        out[name] = np.asarray(sources, dtype=object)[pick]
    return pd.DataFrame(out, index=clean.index)


def _given(value) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "not given"
    if isinstance(value, (np.floating, float, np.integer, int)) and not isinstance(value, bool):
        x = float(value)  # a checked table holds numbers as floats: a whole number is shown as one (60, not 60.0)
        return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x
    return str(value)


def top_contributions(model: IciModel, clean: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` inputs that moved each patient's prediction most, in the inputs' own terms.

    Returns ``top{i}_feature`` (canonical column), ``top{i}_value`` (the value as given, or "not
    given"), ``top{i}_effect`` (signed change in probability) and ``top{i}_shap`` (log-odds) for
    ``i = 1..k``; rows in the order of ``clean``.
    """
    phi, base = model.contributions(clean)
    phi = phi.loc[:, phi.abs().to_numpy().max(axis=0) > 0] if len(phi) else phi
    if k <= 0 or phi.shape[1] == 0:
        return pd.DataFrame(index=clean.index)
    values = phi.to_numpy()
    total = values.sum(axis=1) + base
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    names = np.asarray(phi.columns)
    columns = source_columns(list(names), clean).to_numpy()
    out = {}
    n = len(clean)
    rows = np.arange(n)
    til_sources = chemo = None  # computed once, when needed
    cells: dict[str, np.ndarray] = {}  # each named column's values, read once for all ranks
    for j in range(k):
        has = j < order.shape[1]
        idx = order[:, j] if has else np.zeros(n, dtype=int)
        shap = values[rows, idx] if has else np.full(n, np.nan)
        feature = columns[rows, idx] if has else np.full(n, None)
        given: list = [None] * n
        if has:
            til = names[idx] == "til"
            if til.any():  # the TIL term names the measure that set the status
                if til_sources is None:
                    # None (or NaN) when no measure was given: not a column name
                    named = til_status_values(clean, model.options.til_cutoffs()).source_names()
                    til_sources = np.array([s if isinstance(s, str) and s else "til_status" for s in named],
                                           dtype=object)
                feature[til] = til_sources[til]
            given = _values_as_given(clean, feature, cells)
            if "regimen" in clean.columns:  # smoking and sex are switched off by chemo-ICI, which is named
                if chemo is None:
                    chemo = clean["regimen"].to_numpy(dtype=object) == "chemo_ici"
                for i in np.flatnonzero(np.isin(names[idx], ("never_smoker", "female")) & chemo):
                    feature[i], given[i] = "regimen", "chemo_ici"
        out[f"top{j + 1}_feature"] = feature
        out[f"top{j + 1}_value"] = given
        out[f"top{j + 1}_effect"] = sigmoid(total) - sigmoid(total - shap) if has else np.full(n, np.nan)
        out[f"top{j + 1}_shap"] = shap
    return pd.DataFrame(out, index=clean.index)


def _values_as_given(clean: pd.DataFrame, feature: np.ndarray, cells: dict[str, np.ndarray]) -> list:
    """Per patient, the value of the column ``feature`` names, as given.

    ``cells`` keeps each column's values once read, so the ranks of :func:`top_contributions` read a
    column once between them.
    """
    given = np.empty(len(feature), dtype=object)
    for name in pd.unique(feature):
        rows = np.flatnonzero(feature == name)
        if name not in clean.columns:  # a feature with no column of its own (none today): nothing was given
            given[rows] = "not given"
            continue
        if name not in cells:
            cells[name] = clean[name].to_numpy(dtype=object)
        given[rows] = [_given(v) for v in cells[name][rows]]
    return given.tolist()


def global_importance(phi: pd.DataFrame) -> pd.Series:
    """Mean absolute SHAP value per feature, largest first."""
    return phi.abs().mean().sort_values(ascending=False)
