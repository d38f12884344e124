"""Model zoo: the multi-parameter model, its calibration, and the published baselines.

:func:`make_model` returns a scikit-learn estimator on the numeric feature matrix of
:mod:`icipredict.features` (NaN allowed). :class:`IciModel` wraps one of them with the feature
builder and a post-hoc calibrator, and is what training saves and serving loads.

Calibration is fitted on out-of-fold predictions of the *training* data only (inner
cross-validation), after which the base model is refitted on all training rows, as in
scikit-learn's ``CalibratedClassifierCV(ensemble=False)``. No test-fold row ever reaches ``fit``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.exceptions import InvalidConfig
from icipredict.features import FEATURE_GROUPS, build_features, prior_therapy
from icipredict.metadata import Calibrator, EstimatorSpec, FeatureOptions
from icipredict.vocab import BASELINES, MODEL_NAMES, PDL1_BANDS

__all__ = [
    "MODEL_NAMES", "BASELINES", "make_model", "IciModel", "Calibrator", "fit_calibrator", "baseline_scores",
    "loris_score", "MONOTONE_DIRECTIONS",
]

ModelName = Literal[MODEL_NAMES]  # type: ignore[valid-type]

_DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logistic": {"C": 0.1},
    "xgboost": {"n_estimators": 200, "max_depth": 2, "learning_rate": 0.05, "subsample": 0.8,
                "colsample_bytree": 0.8, "min_child_weight": 5, "reg_lambda": 5.0},
    "random_forest": {"n_estimators": 300, "min_samples_leaf": 10, "max_features": "sqrt"},
}

#: Expected direction of each feature on durable benefit (+1 more benefit, -1 less), from
#: domain.md section 3. Used as XGBoost monotone constraints when ``monotone=True`` so that a model
#: trained on a few hundred patients cannot learn a reversed PD-L1 or TMB effect.
MONOTONE_DIRECTIONS: dict[str, int] = {
    "pdl1_tps": 1, "pdl1_band_ord": 1, "pdl1_positive": 1, "tmb_log": 1, "til_positive": 1,
    "time_pdl1pos_tilpos": 1, "time_pdl1neg_tilneg": -1,
    "mut_egfr": -1, "mut_alk": -1, "mut_ros1": -1, "mut_ret": -1, "mut_erbb2": -1, "driver_positive": -1,
    "mut_stk11": -1, "mut_keap1": -1, "cold_tumour": -1, "ecog": -1, "met_liver": -1, "n_met_sites": -1,
    "albumin": 1, "nlr_log": -1, "antibiotics": -1, "female_x_mono": -1, "never_smoker_x_mono": -1,
}


def make_model(name: ModelName = "xgboost", *, random_state: int = 0, monotone: bool = False,
               feature_names: list[str] | None = None, **params: Any) -> BaseEstimator:
    """A scikit-learn classifier on the feature matrix that accepts missing values.

    Parameters
    ----------
    name : {"logistic", "xgboost", "random_forest"}
        Regularised logistic regression (median imputation with missing-indicators and scaling
        inside the pipeline), gradient-boosted trees (native NaN handling) or a random forest
        (native NaN handling in scikit-learn >= 1.4).
    random_state : int
        Seed of every random choice.
    monotone : bool
        XGBoost only: constrain the features of :data:`MONOTONE_DIRECTIONS` (needs ``feature_names``).
    **params
        Hyperparameters of the underlying estimator (``C`` for the logistic model).

    Examples
    --------
    >>> make_model("logistic", C=0.5).steps[-1][1].C
    0.5
    """
    if name not in MODEL_NAMES:
        raise InvalidConfig(f"model.name: expected one of {list(MODEL_NAMES)}. Got {name!r} instead.")
    merged = {**_DEFAULT_PARAMS[name], **params}
    if name == "logistic":
        return Pipeline([
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=2000, random_state=random_state, **merged)),
        ])
    if name == "random_forest":
        return RandomForestClassifier(random_state=random_state, n_jobs=1, **merged)
    from xgboost import XGBClassifier

    if monotone and feature_names is not None:
        merged["monotone_constraints"] = tuple(MONOTONE_DIRECTIONS.get(f, 0) for f in feature_names)
    # one thread: on a few thousand patients threads cost more than they give (and oversubscribe in CI)
    merged.setdefault("n_jobs", 1)
    return XGBClassifier(random_state=random_state, tree_method="hist", eval_metric="logloss",
                         **merged)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def fit_calibrator(method: Literal["sigmoid", "isotonic", "none"], score: np.ndarray, y: np.ndarray) -> Calibrator:
    """Fit a :class:`~icipredict.metadata.Calibrator` on out-of-fold scores (log-odds) and outcomes.

    A negative Platt slope means the out-of-fold scores ranked patients the wrong way round: the
    base model learned noise. Reversing it would contradict every expected direction, so the
    calibrator then predicts the observed rate (slope 0).

    >>> import numpy as np
    >>> fit_calibrator("sigmoid", np.array([-1.0, 0.0, 1.0, 2.0]), np.array([0, 1, 0, 1])).a > 0
    True
    """
    score = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(score.reshape(-1, 1), y)
        a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        if a < 0:
            prevalence = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
            a, b = 0.0, float(np.log(prevalence / (1 - prevalence)))
        return Calibrator(method="sigmoid", a=a, b=b)
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(score, y)
        return Calibrator(method="isotonic", x_thresholds=[float(v) for v in iso.X_thresholds_],
                          y_thresholds=[float(v) for v in iso.y_thresholds_])
    return Calibrator(method="none")


def _score(estimator: BaseEstimator, X: pd.DataFrame) -> np.ndarray:
    """The base model's output on the log-odds scale."""
    if isinstance(estimator, Pipeline):
        return estimator.decision_function(X)
    if isinstance(estimator, RandomForestClassifier):
        return _logit(estimator.predict_proba(X)[:, 1])
    # inplace prediction skips building a DMatrix: most of the cost for one patient
    return estimator.get_booster().inplace_predict(X.to_numpy(dtype=np.float32), predict_type="margin",
                                                   missing=np.nan)


class IciModel(ClassifierMixin, BaseEstimator):
    """Patient table -> calibrated probability of durable clinical benefit.

    Parameters
    ----------
    estimator : {"logistic", "xgboost", "random_forest"}
    params : dict, optional
        Fixed hyperparameters of the estimator.
    search : dict, optional
        Hyperparameter grid (name -> list of values) tuned by inner cross-validation on the
        training rows only (log loss).
    calibration : {"sigmoid", "isotonic", "none"}
        Post-hoc calibration fitted on inner out-of-fold scores of the training rows.
    inner_folds : int
        Folds of the inner cross-validation (tuning and calibration).
    feature_options : FeatureOptions, optional
        Cut-offs of the feature builder.
    band_only_share : float
        Share of training rows whose PD-L1 TPS is hidden (keeping its band) so that the model
        learns to use the band alone, as many external centres report it.
    mask_share : float
        Probability with which each input group (PD-L1, TMB, albumin, ...; see
        ``features.FEATURE_GROUPS``) of each training row is hidden, so that trees learn where a
        missing value should go even for inputs that were always measured in training; without it a
        centre that does not record, say, the regimen gets an arbitrary branch.
    monotone : bool
        XGBoost only: monotone constraints from :data:`MONOTONE_DIRECTIONS`.
    random_state : int

    Attributes
    ----------
    estimator_ : fitted base estimator
    calibrator_ : Calibrator
    feature_names_ : list of str
    best_params_ : dict
    fit_ids_ : frozenset of str
        Patient ids the model saw in ``fit`` (kept in memory only, never saved): lets tests prove
        that no test-fold patient reached fitting or calibration.
    """

    def __init__(self, estimator: ModelName = "xgboost", params: dict | None = None, search: dict | None = None,
                 calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid", inner_folds: int = 5,
                 feature_options: FeatureOptions | None = None, band_only_share: float = 0.0, mask_share: float = 0.0,
                 monotone: bool = False, random_state: int = 0):
        self.estimator = estimator
        self.params = params
        self.search = search
        self.calibration = calibration
        self.inner_folds = inner_folds
        self.feature_options = feature_options
        self.band_only_share = band_only_share
        self.mask_share = mask_share
        self.monotone = monotone
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------------
    def _options(self) -> FeatureOptions:
        return self.feature_options or FeatureOptions()

    def features(self, patients: pd.DataFrame) -> pd.DataFrame:
        """Model matrix of a clean patient table, columns in training order."""
        X = build_features(patients, self._options())
        names = getattr(self, "feature_names_", None)
        return X if names is None else X.reindex(columns=names)

    def _augment(self, patients: pd.DataFrame) -> pd.DataFrame:
        if self.band_only_share <= 0 and self.mask_share <= 0:
            return patients
        rng = np.random.default_rng(self.random_state + 1)
        out = patients.copy()
        if self.band_only_share > 0:
            hide = (rng.random(len(patients)) < self.band_only_share) & patients["pdl1_tps"].notna().to_numpy()
            band = pdl1_band(patients)
            out["pdl1_band"] = pd.Categorical(band.astype(object), categories=list(PDL1_BANDS))
            out.loc[hide, "pdl1_tps"] = np.nan
        if self.mask_share > 0:
            for columns in FEATURE_GROUPS.values():
                hide = rng.random(len(patients)) < self.mask_share
                for c in columns:
                    out.loc[hide, c] = np.nan
        return out

    # -- fitting ----------------------------------------------------------------------------
    def _new_base(self, names: list[str], extra: dict) -> BaseEstimator:
        return make_model(self.estimator, random_state=self.random_state, monotone=self.monotone,
                          feature_names=names, **{**(self.params or {}), **extra})

    def fit(self, patients: pd.DataFrame, y: np.ndarray) -> "IciModel":
        """Fit on a clean patient table (``check_patients``) and a 0/1 target (1 = durable benefit)."""
        y = np.asarray(y, dtype=int)
        if set(np.unique(y)) != {0, 1}:
            raise ValueError(f"y: expected both classes 0 and 1. Got classes {sorted(set(np.unique(y)))} instead.")
        self.fit_ids_ = frozenset(map(str, patients["patient_id"]))
        X = build_features(self._augment(patients), self._options())
        self.feature_names_ = list(X.columns)
        n_splits = int(min(self.inner_folds, np.bincount(y).min()))
        if n_splits < 2:
            raise ValueError("y: expected at least 2 patients in each class for inner cross-validation. "
                             f"Got {np.bincount(y).tolist()} instead.")
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
        splits = list(cv.split(X, y))
        best, best_loss, best_oof = {}, np.inf, None
        for candidate in ParameterGrid(self.search or {}):
            template = self._new_base(self.feature_names_, candidate)
            oof = np.empty(len(y))
            for tr, te in splits:
                base = clone(template).fit(X.iloc[tr], y[tr])
                oof[te] = _score(base, X.iloc[te])
            loss = log_loss(y, _sigmoid(oof), labels=[0, 1])
            if loss < best_loss - 1e-12:
                best, best_loss, best_oof = candidate, loss, oof
        self.best_params_ = best
        self.inner_log_loss_ = float(best_loss)
        self.calibrator_ = fit_calibrator(self.calibration, best_oof, y)
        self.estimator_ = self._new_base(self.feature_names_, best).fit(X, y)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.feature_names_)
        return self

    # -- prediction -------------------------------------------------------------------------
    def decision_function(self, patients: pd.DataFrame) -> np.ndarray:
        """Base model score (log-odds, before calibration)."""
        return _score(self.estimator_, self.features(patients))

    def predict_proba(self, patients: pd.DataFrame) -> np.ndarray:
        p = self.calibrator_.predict(self.decision_function(patients))
        return np.column_stack([1 - p, p])

    def predict(self, patients: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(patients)[:, 1] >= 0.5).astype(int)

    def spec(self, file: str) -> EstimatorSpec:
        """The :class:`~icipredict.metadata.EstimatorSpec` of this fitted model (its weights live in ``file``)."""
        return EstimatorSpec(name=self.estimator, file=file, params=dict(self.params or {}),
                             search={k: list(v) for k, v in (self.search or {}).items()},
                             best_params=dict(self.best_params_), calibration=self.calibration,
                             inner_folds=self.inner_folds, band_only_share=self.band_only_share,
                             mask_share=self.mask_share, monotone=self.monotone, random_state=self.random_state)

    @classmethod
    def from_spec(cls, spec: EstimatorSpec, estimator: BaseEstimator, calibrator: Calibrator,
                  feature_names: list[str], feature_options: FeatureOptions) -> "IciModel":
        """A fitted model from its spec and loaded weights (the inverse of :meth:`spec`)."""
        model = cls(estimator=spec.name, params=spec.params, search=spec.search, calibration=spec.calibration,
                    inner_folds=spec.inner_folds, feature_options=feature_options,
                    band_only_share=spec.band_only_share, mask_share=spec.mask_share, monotone=spec.monotone,
                    random_state=spec.random_state)
        model.estimator_ = estimator
        model.calibrator_ = calibrator
        model.feature_names_ = list(feature_names)
        model.best_params_ = dict(spec.best_params)
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = len(feature_names)
        return model


# -- baselines ------------------------------------------------------------------------------

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
    >>> from icipredict.schema import check_patients
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
    return pd.Series(_sigmoid(s), index=patients.index, name="loris")


def baseline_scores(patients: pd.DataFrame) -> pd.DataFrame:
    """PD-L1 alone (TPS, band midpoint when only the band is known), TMB alone and LORIS."""
    band_mid = patients["pdl1_band"].astype(object).map(_BAND_MIDPOINT).astype(float)
    return pd.DataFrame({
        "pdl1": patients["pdl1_tps"].astype(float).fillna(band_mid),
        "tmb": patients["tmb"].astype(float),
        "loris": loris_score(patients),
    }, index=patients.index)
