"""The tree families: XGBoost and random forest on the tree feature matrix, and XGBoost's Cox challenger.

* ``random_forest`` and ``xgboost`` (monotone constraints from :data:`MONOTONE_DIRECTIONS`):
  :class:`TreeModel` on :func:`~icipredict.model.features.build_features`, missing values native;
* ``xgboost_cox``: :class:`XGBoostCox`, XGBoost's ``survival:cox`` on the same features (the benefit
  directions turned round as monotone constraints), a Breslow baseline on its margin.

:mod:`icipredict.model.models` builds them (``make_base``) and re-exports these names.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.model.features import FEATURE_GROUPS, build_features
from icipredict.model.glm import Estimator
from icipredict.model.metadata import FeatureOptions
from icipredict.model.survival import Baseline, check_outcomes
from icipredict.table.vocab import PDL1_BANDS

__all__ = ["MONOTONE_DIRECTIONS", "TREE_FEATURE_INPUT", "TreeModel", "XGBoostCox", "shap_values", "logit"]

#: Expected direction of each tree feature on durable benefit (+1 more benefit, -1 less), from
#: domain.md section 3; XGBoost monotone constraints, so that a few hundred patients cannot teach
#: a reversed PD-L1 or TMB effect.
MONOTONE_DIRECTIONS: dict[str, int] = {
    "pdl1_tps": 1, "pdl1_band_ord": 1, "pdl1_positive": 1, "tmb_log": 1, "til_positive": 1,
    "time_pdl1pos_tilpos": 1, "time_pdl1neg_tilneg": -1,
    "mut_egfr": -1, "mut_alk": -1, "mut_ros1": -1, "mut_ret": -1, "mut_erbb2": -1, "driver_positive": -1,
    "mut_stk11": -1, "mut_keap1": -1, "cold_tumour": -1, "ecog": -1, "met_liver": -1, "n_met_sites": -1,
    "albumin": 1, "nlr_log": -1, "antibiotics": -1, "female_x_mono": -1, "never_smoker_x_mono": -1,
}
#: Tree feature -> the model input it explains (features not listed explain themselves).
TREE_FEATURE_INPUT: dict[str, str] = {
    "pdl1_tps": "pdl1", "pdl1_band_ord": "pdl1", "pdl1_positive": "pdl1", "tmb_log": "tmb", "tmb_plasma": "tmb",
    "tmb_wes": "tmb", "til_positive": "til", "time_pdl1pos_tilpos": "til", "time_pdl1neg_tilneg": "til",
    "mut_stk11": "cold", "mut_keap1": "cold", "cold_tumour": "cold", "driver_positive": "driver",
    "mut_egfr": "driver", "mut_alk": "driver", "mut_ros1": "driver", "mut_ret": "driver", "mut_erbb2": "driver",
    "mut_kras": "kras", "mut_tp53": "tp53", "prior_systemic_therapy": "prior", "line_of_therapy": "prior",
    "regimen_ctla4": "ctla4", "regimen_chemo": "ctla4", "never_smoker": "never_smoker",
    "never_smoker_x_mono": "never_smoker", "current_smoker": "never_smoker", "female": "female", "female_x_mono": "female", "squamous": "squamous",
}
_TREE_DEFAULTS: dict[str, dict[str, Any]] = {
    "xgboost": {"n_estimators": 300, "max_depth": 2, "learning_rate": 0.03, "subsample": 0.8,
                "colsample_bytree": 0.8, "min_child_weight": 5, "reg_lambda": 5.0},
    "random_forest": {"n_estimators": 300, "min_samples_leaf": 10, "max_features": "sqrt"},
}


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# -- tree models ---------------------------------------------------------------------------------------

def _is_forest(estimator) -> bool:
    # sklearn.ensemble costs every prediction process 0.2 s of imports: loaded only with a forest at hand
    if type(estimator).__module__.split(".")[0] != "sklearn":
        return False
    from sklearn.ensemble import RandomForestClassifier

    return isinstance(estimator, RandomForestClassifier)


def shap_values(estimator, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, str]:
    """SHAP values of a fitted tree estimator (XGBoost or random forest) on its feature matrix.

    XGBoost's own TreeSHAP (``pred_contribs=True``, identical to ``shap.TreeExplainer``); the random
    forest goes through ``shap.TreeExplainer`` (imported on first use).

    Returns ``(phi, base, scale)`` with ``phi`` of shape (n, p) and ``base`` of shape (n,) such
    that ``phi.sum(1) + base`` is the model output on ``scale`` ("log-odds" or "probability").
    """
    Xv = X.to_numpy(dtype=float)
    n, p = Xv.shape
    if _is_forest(estimator):
        import shap

        values = shap.TreeExplainer(estimator).shap_values(Xv, check_additivity=False)
        values = values[..., 1] if np.ndim(values) == 3 else values[1]
        base = np.atleast_1d(shap.TreeExplainer(estimator).expected_value)[-1]
        return np.asarray(values, dtype=float), np.full(n, float(base)), "probability"
    import xgboost as xgb

    contribs = estimator.get_booster().predict(xgb.DMatrix(X.astype(float), missing=np.nan), pred_contribs=True)
    return contribs[:, :-1].astype(float), contribs[:, -1].astype(float), "log-odds"



class TreeModel(Estimator):
    """XGBoost or random forest on the tree feature matrix of a clean patient table.

    Parameters
    ----------
    family : {"xgboost", "random_forest"}
    params : dict
        Hyperparameters of the underlying estimator.
    monotone : bool
        XGBoost only: constraints from :data:`MONOTONE_DIRECTIONS`.
    band_only_share, mask_share : float
        Training rows whose PD-L1 TPS is hidden (band kept), and probability of hiding each input
        group, so that trees learn sensible branches for inputs a centre does not report.
    random_state : int
    """

    def __init__(self, family: Literal["xgboost", "random_forest"] = "xgboost", params: dict | None = None,
                 monotone: bool = True, band_only_share: float = 0.25, mask_share: float = 0.1,
                 options: FeatureOptions | None = None, random_state: int = 0):
        self.family = family
        self.params = params
        self.monotone = monotone
        self.band_only_share = band_only_share
        self.mask_share = mask_share
        self.options = options
        self.random_state = random_state

    def _augment(self, patients: pd.DataFrame) -> pd.DataFrame:
        if self.band_only_share <= 0 and self.mask_share <= 0:
            return patients
        rng = np.random.default_rng(self.random_state + 1)
        out = patients.copy()
        if self.band_only_share > 0:
            hide = (rng.random(len(patients)) < self.band_only_share) & patients["pdl1_tps"].notna().to_numpy()
            out["pdl1_band"] = pd.Categorical(pdl1_band(patients).astype(object), categories=list(PDL1_BANDS))
            out.loc[hide, "pdl1_tps"] = np.nan
        if self.mask_share > 0:
            for columns in FEATURE_GROUPS.values():
                hide = rng.random(len(patients)) < self.mask_share
                for c in columns:
                    out.loc[hide, c] = np.nan
        return out

    def _estimator(self, names: list[str]):
        params = {**_TREE_DEFAULTS[self.family], **(self.params or {})}
        if self.family == "random_forest":
            from sklearn.ensemble import RandomForestClassifier  # the family's backend, loaded when used (as xgboost)

            return RandomForestClassifier(random_state=self.random_state, n_jobs=1, **params)
        from xgboost import XGBClassifier

        if self.monotone:
            params["monotone_constraints"] = tuple(MONOTONE_DIRECTIONS.get(f, 0) for f in names)
        params.setdefault("n_jobs", 1)  # a few hundred patients: threads cost more than they give
        return XGBClassifier(random_state=self.random_state, tree_method="hist", eval_metric="logloss", **params)

    def fit(self, patients: pd.DataFrame, y) -> "TreeModel":
        X = build_features(self._augment(patients), self.options)
        self.feature_names_ = list(X.columns)
        self.estimator_ = self._estimator(self.feature_names_).fit(X, np.asarray(y, dtype=int))
        self.classes_ = np.array([0, 1])
        return self

    def features(self, patients: pd.DataFrame) -> pd.DataFrame:
        return build_features(patients, self.options).reindex(columns=self.feature_names_)

    def decision_function(self, patients: pd.DataFrame) -> np.ndarray:
        X = self.features(patients)
        if self.family == "xgboost":
            # inplace prediction skips building a DMatrix: most of the cost for one patient
            return self.estimator_.get_booster().inplace_predict(X.to_numpy(dtype=np.float32),
                                                                 predict_type="margin", missing=np.nan)
        return logit(self.estimator_.predict_proba(X)[:, 1])

    def contributions(self, patients: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """TreeSHAP per feature, folded into model inputs; base value per patient (log-odds)."""
        X = self.features(patients)
        phi, base, scale = shap_values(self.estimator_, X)
        if scale == "probability":  # random forest: rescale so that the contributions add up on the log-odds
            p = phi.sum(axis=1) + base
            span = np.where(np.abs(p - base) > 1e-9, (logit(p) - logit(base)) / np.where(p == base, 1, p - base), 0.0)
            phi, base = phi * span[:, None], logit(base)
        frame = pd.DataFrame(phi, index=patients.index, columns=self.feature_names_)
        folded = frame.T.groupby(lambda f: TREE_FEATURE_INPUT.get(f, f), sort=False).sum().T
        return folded, np.asarray(base, dtype=float)


class XGBoostCox:
    """The challenger: XGBoost's ``survival:cox`` on the tree features, a Breslow baseline on its margin.

    Wraps a :class:`~icipredict.models.TreeModel` whose booster is trained with the Cox objective
    (labels: PFS months, negative when censored, as XGBoost expects). The margin is the log relative
    hazard; saved in XGBoost's native format.
    """

    _estimator_type = "survival"

    def __init__(self, tree):
        self.tree = tree

    def fit(self, patients: pd.DataFrame, time, event=None) -> "XGBoostCox":
        import xgboost as xgb

        time, event = check_outcomes(time, event)
        augmented = self.tree._augment(patients)
        X = build_features(augmented, self.tree.options)
        self.feature_names_ = list(X.columns)
        params = {**_TREE_DEFAULTS["xgboost"], **(self.tree.params or {})}
        rounds = int(params.pop("n_estimators"))
        params.pop("n_jobs", None)
        if self.tree.monotone:  # the benefit directions, turned round: more benefit, a lower hazard
            params["monotone_constraints"] = "(" + ",".join(
                str(-MONOTONE_DIRECTIONS.get(f, 0)) for f in self.feature_names_) + ")"
        booster_params = {"objective": "survival:cox", "eval_metric": "cox-nloglik", "tree_method": "hist",
                          "seed": self.tree.random_state, "nthread": 1, "eta": params.pop("learning_rate"),
                          **params}
        label = np.where(event == 1, time, -time)
        dm = xgb.DMatrix(X.to_numpy(dtype=np.float32), label=label, missing=np.nan)
        self.estimator_ = xgb.train(booster_params, dm, num_boost_round=rounds)
        self.tree.feature_names_ = self.feature_names_
        self.classes_ = np.array([0, 1])
        # the baseline on the patients as given (their features are X itself when nothing was augmented)
        eta = self._margin(X) if augmented is patients else self.decision_function(patients)
        base = Baseline.fit(eta, time, event)
        self.baseline_times_, self.baseline_cumhaz_, self.horizon_ = base.times, base.cumhaz, base.horizon
        return self

    def features(self, patients: pd.DataFrame) -> pd.DataFrame:
        return build_features(patients, self.tree.options).reindex(columns=self.feature_names_)

    def decision_function(self, patients: pd.DataFrame) -> np.ndarray:
        """The margin: log relative hazard (XGBoost's Cox prediction is its exponential)."""
        return self._margin(self.features(patients))

    def _margin(self, X: pd.DataFrame) -> np.ndarray:
        values = X.to_numpy(dtype=np.float32)
        return np.asarray(self.estimator_.inplace_predict(values, predict_type="margin", missing=np.nan), dtype=float)

    linear_predictor = decision_function

    def contributions(self, patients: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """TreeSHAP on the margin, folded into model inputs; base value per patient."""
        import xgboost as xgb

        X = self.features(patients)
        contribs = self.estimator_.predict(xgb.DMatrix(X.astype(float), missing=np.nan), pred_contribs=True)
        frame = pd.DataFrame(contribs[:, :-1], index=patients.index, columns=self.feature_names_)
        folded = frame.T.groupby(lambda f: TREE_FEATURE_INPUT.get(f, f), sort=False).sum().T
        return folded, np.asarray(contribs[:, -1], dtype=float)
