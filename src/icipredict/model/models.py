"""The model families, their calibration, the TIL term, and the deployable model.

Families (compared by :mod:`icipredict.fitting.selection`, the simpler winning ties):

* ``spline_logistic``: :class:`icipredict.model.glm.SplineLogistic` on :func:`~icipredict.model.features.model_inputs`;
* ``random_forest`` and ``xgboost`` (monotone constraints from :data:`MONOTONE_DIRECTIONS`):
  :class:`TreeModel` on :func:`~icipredict.model.features.build_features`, missing values native.

:class:`IciModel` is what a bundle holds and serving uses: a fitted base model, its calibration
(fitted on leave-one-study-out predictions by model selection), the TIL term (a cited prior,
updated by TIL data where data have it), and what the per-patient interval is made of
(:class:`~icipredict.model.metadata.Uncertainty`). The final log-odds of durable benefit is

    a * base(x) + b + beta_TIL * (til - centre)

and ``p_low`` / ``p_high`` are its 90 % interval (``level``) mapped to probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri  # norm.ppf is ndtri: the same numbers, without importing scipy.stats

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.model.features import (FEATURE_GROUPS, INPUT_SOURCES, build_features, model_input_values, model_inputs,
                                 prior_therapy)
from icipredict.model.glm import Estimator, Inputs, SplineLogistic, sigmoid
from icipredict.model.metadata import Calibrator, EstimatorSpec, FeatureOptions, TilTerm, Uncertainty
from icipredict.table.vocab import BASELINES, MODEL_NAMES, PDL1_BANDS

__all__ = [
    "MODEL_NAMES", "BASELINES", "MONOTONE_DIRECTIONS", "FAMILY_RANK", "TreeModel", "make_base", "base_from_saved",
    "prepare", "shap_values",
    "fit_calibrator", "IciModel", "baseline_scores", "loris_score", "sigmoid", "logit",
]

#: Simplicity of each family (model selection prefers the lower on ties).
FAMILY_RANK: dict[str, int] = {name: i for i, name in enumerate(MODEL_NAMES)}

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


def make_base(family: str, params: dict | None = None, *, options: FeatureOptions | None = None,
              random_state: int = 0) -> Estimator:
    """An unfitted base model of a family (see the module docstring).

    >>> make_base("spline_logistic", {"inputs": ["pdl1", "tmb"], "knots": 3, "penalty": 0.03}).penalty
    0.03
    """
    params = dict(params or {})
    if family == "spline_logistic":
        params["inputs"] = tuple(params.get("inputs", ()))
        return SplineLogistic(**params)
    if family in ("xgboost", "random_forest"):
        tree = {k: params.pop(k) for k in ("monotone", "band_only_share", "mask_share") if k in params}
        return TreeModel(family, params, options=options, random_state=random_state, **tree)
    raise ValueError(f"family: expected one of {list(MODEL_NAMES)}. Got {family!r} instead.")


def base_from_saved(spec: EstimatorSpec, state: Any, options: FeatureOptions) -> Estimator:
    """A fitted base model from its spec and its saved state (JSON dict or native estimator)."""
    if spec.name == "spline_logistic":
        return SplineLogistic.from_dict(state)
    base = make_base(spec.name, spec.params, options=options, random_state=spec.random_state)
    base.estimator_ = state
    base.feature_names_ = list(spec.feature_names)
    base.classes_ = np.array([0, 1])
    return base


def prepare(family: str, patients: pd.DataFrame, options: FeatureOptions | None = None) -> pd.DataFrame:
    """What a family's base model reads: model inputs (spline) or the clean table itself (trees)."""
    return model_inputs(patients, options) if family == "spline_logistic" else patients


# -- calibration ---------------------------------------------------------------------------------------

def _logistic_fit(z: np.ndarray, y: np.ndarray, slope: float | None) -> tuple[float, float]:
    """ML intercept and slope of ``y ~ a z + b`` (``slope`` fixed when given), by Newton."""
    a, b = (1.0 if slope is None else slope), 0.0
    for _ in range(100):
        p = sigmoid(a * z + b)
        w = p * (1 - p) + 1e-12
        if slope is None:
            A = np.column_stack([z, np.ones_like(z)])
            step = np.linalg.solve((A * w[:, None]).T @ A + 1e-9 * np.eye(2), A.T @ (y - p))
            a, b = a + step[0], b + step[1]
            done = np.max(np.abs(step)) < 1e-10
        else:
            step = np.sum(y - p) / np.sum(w)
            b += step
            done = abs(step) < 1e-10
        if done:
            break
    return float(a), float(b)


def fit_calibrator(method: Literal["none", "slope", "intercept", "logistic"], z: np.ndarray, y: np.ndarray, *,
                   z_development: np.ndarray | None = None, y_development: np.ndarray | None = None) -> Calibrator:
    """Calibrate base log-odds ``z`` on outcomes ``y``.

    * ``none``: the identity.
    * ``slope`` (training; ``z`` are leave-one-study-out predictions): the slope ``a`` of ``y`` on
      ``z``, capped to [0, 1], shrinks the model toward its mean; the intercept is then re-estimated
      so that the mean prediction on the development data (``z_development``, ``y_development``: the
      final model's own predictions of its training patients) equals their observed rate, as after
      uniform shrinkage (Steyerberg, Clinical Prediction Models, 2nd ed. 2019, ch. 13). Fitting the
      intercept on the out-of-study predictions instead would import the baseline differences
      between the training studies. A slope above 1 would make the model more extreme than its own
      fit, which the between-centre spread of real data does not support; at or below 0 the
      out-of-study scores ranked patients the wrong way round, and the model predicts the observed
      rate (the signal check reports it).
    * ``intercept`` / ``logistic`` (local updating: ``z`` and ``y`` from the new centre):
      recalibration in the large, or intercept and slope, uncapped.

    >>> z = np.linspace(-2, 2, 200); y = (np.arange(200) % 3 == 0).astype(float)
    >>> fit_calibrator("intercept", z, y).a
    1.0
    """
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    if method == "none":
        return Calibrator(method="none")
    if method == "intercept":
        return Calibrator(method="intercept", a=1.0, b=_logistic_fit(z, y, slope=1.0)[1])
    a, b = _logistic_fit(z, y, slope=None)
    if method == "logistic":
        return Calibrator(method="logistic", a=a, b=b)
    if not np.isfinite(a) or a <= 0:
        prevalence = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        return Calibrator(method="slope", a=0.0, b=float(np.log(prevalence / (1 - prevalence))))
    a = min(a, 1.0)
    zd = z if z_development is None else np.asarray(z_development, dtype=float)
    yd = y if y_development is None else np.asarray(y_development, dtype=float)
    return Calibrator(method="slope", a=a, b=_logistic_fit(a * zd, yd, slope=1.0)[1])


# -- the deployable model --------------------------------------------------------------------------------

@dataclass
class IciModel:
    """A fitted base model with its calibration, TIL term and interval components.

    ``fit_ids`` holds the patient ids that reached fitting, selection or calibration (in memory
    only, never saved): the leakage tests check it.
    """

    family: str
    base: Any
    calibrator: Calibrator = field(default_factory=Calibrator)
    til_term: TilTerm = field(default_factory=TilTerm)
    uncertainty: Uncertainty = field(default_factory=Uncertainty)
    options: FeatureOptions = field(default_factory=FeatureOptions)
    fit_ids: frozenset = frozenset()

    # -- the pieces of the log-odds ---------------------------------------------------------------------
    def inputs(self, patients: pd.DataFrame) -> pd.DataFrame:
        """Named model inputs (the TIL status among them) of a clean patient table."""
        return model_inputs(patients, self.options)

    def _input_values(self, patients: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`inputs` as arrays: the same numbers without framing them."""
        return model_input_values(patients, self.options)

    def base_logit(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """The base model's log-odds, before calibration and the TIL term."""
        if self.family == "spline_logistic":
            return self.base.decision_function(self._input_values(patients) if inputs is None else inputs)
        return self.base.decision_function(patients)

    def logit(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """Final log-odds of durable benefit."""
        inputs = self._input_values(patients) if inputs is None else inputs
        z = self.base_logit(patients, inputs)
        return self.calibrator.logit(z) + self.til_term.contribution(np.asarray(inputs["til"], dtype=float))

    def predict_proba(self, patients: pd.DataFrame) -> np.ndarray:
        """Probability of durable benefit, one per patient (a 1-D array)."""
        return sigmoid(self.logit(patients))

    # -- uncertainty -------------------------------------------------------------------------------------
    def logit_variance(self, patients: pd.DataFrame | None, inputs: Inputs | None = None, *,
                       standardised: np.ndarray | None = None) -> np.ndarray:
        """Variance of each patient's final log-odds: parameters, unknown inputs, centre, TIL term.

        ``inputs`` (:meth:`inputs` of ``patients``, a frame or its columns as arrays) and ``standardised``
        (the spline model's standardised design of ``inputs``) when already computed.
        """
        inputs = self._input_values(patients) if inputs is None else inputs
        u, a = self.uncertainty, self.calibrator.a
        til = np.asarray(inputs["til"], dtype=float)
        var = np.full(len(til), u.tau ** 2)
        if u.parameter == "covariance" and self.family == "spline_logistic":
            var += a ** 2 * self.base.parameter_variance(inputs, standardised=standardised)
        for name, v in u.input_variance.items():
            if name == "til" or name not in inputs:
                continue
            unknown = np.isnan(np.asarray(inputs[name], dtype=float))
            if name == "pdl1" and unknown.any():
                rows = np.flatnonzero(unknown)
                band = np.asarray(inputs["pdl1_band"], dtype=object)[rows]
                for b, vb in u.band_variance.items():
                    within = rows[band == b]
                    var[within] += a ** 2 * vb
                    unknown[within] = False
            var[unknown] += a ** 2 * v
        return var + self.til_term.variance(til)

    def interval(self, patients: pd.DataFrame | None, level: float | None = None, *,
                 inputs: Inputs | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(p, p_low, p_high)``: the probability and its interval at ``level`` (default the model's).

        ``inputs``: :meth:`inputs` of ``patients`` when already computed (then a spline model needs no
        ``patients``). The spline model's design is built once, for the log-odds and its variance.
        """
        inputs = self._input_values(patients) if inputs is None else inputs
        til = np.asarray(inputs["til"], dtype=float)
        Z = None
        if self.family == "spline_logistic":
            Z = self.base.standardised(inputs)
            z = self.base.decision_function(inputs, standardised=Z)
        else:
            z = self.base.decision_function(patients)
        z = self.calibrator.logit(z) + self.til_term.contribution(til)
        var = self.logit_variance(patients, inputs, standardised=Z)
        half = ndtri(0.5 + (level or self.uncertainty.level) / 2) * np.sqrt(var)
        return sigmoid(z), sigmoid(z - half), sigmoid(z + half)

    # -- explanation -------------------------------------------------------------------------------------
    def contributions(self, patients: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Additive contributions per model input on the final log-odds scale, and the base value.

        ``phi.sum(axis=1) + base`` equals :meth:`logit` exactly: the base model's contributions times
        the calibration slope, the TIL term as input ``til``, the calibration intercept in ``base``.
        """
        inputs = self.inputs(patients)
        if self.family == "spline_logistic":
            phi, base = self.base.contributions(inputs)
            base = np.full(len(patients), base)
        else:
            phi, base = self.base.contributions(patients)
        phi = phi * self.calibrator.a
        phi["til"] = phi.get("til", 0.0) + self.til_term.contribution(inputs["til"].to_numpy(dtype=float))
        return phi, self.calibrator.a * np.asarray(base, dtype=float) + self.calibrator.b

    def saved_state(self):
        """What a bundle stores for the base model: plain-number JSON state, or the native estimator."""
        return self.base.to_dict() if self.family == "spline_logistic" else self.base.estimator_

    def input_sources(self) -> dict[str, tuple[str, ...]]:
        """Canonical columns behind each input the model uses."""
        return INPUT_SOURCES


# -- baselines -------------------------------------------------------------------------------------------

#: LORIS NSCLC-specific score, Chang et al., Nature Cancer 2024 (domain.md section 4).
LORIS_COEFFICIENTS: dict[str, float] = {
    "tmb_capped_50": 0.0353, "pdl1_tps": 0.0111, "prior_systemic_therapy": -0.375, "albumin": 0.2924,
    "nlr_capped_25": -0.0103, "intercept": -1.5593,
}

#: Band midpoints used when only the PD-L1 band is known (for ranking by the PD-L1 baseline).
_BAND_MIDPOINT = dict(zip(PDL1_BANDS, (0.5, 25.0, 75.0)))


def loris_score(patients: pd.DataFrame) -> pd.Series:
    """LORIS probability; NaN where any of its inputs is missing (LORIS needs all five).

    >>> import pandas as pd
    >>> from icipredict.table.schema import check_patients
    >>> df = check_patients(pd.DataFrame({"patient_id": ["a"], "tmb": [10], "pdl1_tps": [50],
    ...                                   "prior_systemic_therapy": [0], "albumin": [4.0], "nlr": [3]}))
    >>> round(float(loris_score(df).iloc[0]), 3)
    0.619
    """
    c = LORIS_COEFFICIENTS
    prior = prior_therapy(patients)
    s = (c["tmb_capped_50"] * np.minimum(patients["tmb"].astype(float), 50)
         + c["pdl1_tps"] * patients["pdl1_tps"].astype(float)
         + c["prior_systemic_therapy"] * prior
         + c["albumin"] * patients["albumin"].astype(float)
         + c["nlr_capped_25"] * np.minimum(patients["nlr"].astype(float), 25)
         + c["intercept"])
    return pd.Series(sigmoid(s), index=patients.index, name="loris")


def baseline_scores(patients: pd.DataFrame) -> pd.DataFrame:
    """PD-L1 alone (TPS, band midpoint when only the band is known), TMB alone and LORIS."""
    band_mid = pdl1_band(patients).astype(object).map(_BAND_MIDPOINT).astype(float)
    return pd.DataFrame({
        "pdl1": patients["pdl1_tps"].astype(float).fillna(band_mid),
        "tmb": patients["tmb"].astype(float),
        "loris": loris_score(patients),
    }, index=patients.index)
