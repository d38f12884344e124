"""The model families, their calibration, the TIL term, and the deployable model.

Families (compared by :mod:`icipredict.fitting.selection`, the simpler winning ties):

* ``spline_logistic``: :class:`icipredict.model.glm.SplineLogistic` on :func:`~icipredict.model.features.model_inputs`;
* ``random_forest`` and ``xgboost`` (monotone constraints from :data:`MONOTONE_DIRECTIONS`):
  :class:`TreeModel` on :func:`~icipredict.model.features.build_features`, missing values native
  (:mod:`icipredict.model.trees`, with the ``xgboost_cox`` challenger);
* ``spline_cox`` and ``xgboost_cox``: the time-to-event families of :mod:`icipredict.model.survival`
  (the whole PFS curve; ``p_durable_benefit`` is its S(6)).

:class:`IciModel` is what a bundle holds and serving uses: a fitted base model, its calibration
(fitted on leave-one-study-out predictions by model selection), the TIL term (a cited prior,
updated by TIL data where data have it), and what the per-patient interval is made of
(:class:`~icipredict.model.metadata.Uncertainty`). The final log-odds of durable benefit is

    a * base(x) + b + beta_TIL * (til - centre)

and ``p_low`` / ``p_high`` are its 90 % interval (``level``) mapped to probabilities. For a
time-to-event model the same expression is the linear predictor (log relative hazard), the TIL term's
``beta`` is a log hazard ratio, and every probability comes from one curve

    S(t) = exp(-H0(t) * exp(lp)),   p_durable_benefit = S(6)

whose 90 % band is ``S`` at ``lp -/+ z * se``: the same variance components as the 6-month model's
interval, on the linear predictor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtri  # norm.ppf is ndtri: the same numbers, without importing scipy.stats

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.model.features import INPUT_SOURCES, model_input_values, model_inputs, prior_therapy
from icipredict.model.glm import Estimator, Inputs, SplineLogistic, sigmoid
from icipredict.model.metadata import Calibrator, EstimatorSpec, FeatureOptions, TilTerm, Uncertainty
from icipredict.model.survival import SURVIVAL_FAMILIES, Baseline, SplineCox, logit_survival
from icipredict.model.trees import MONOTONE_DIRECTIONS, TreeModel, XGBoostCox, logit, shap_values
from icipredict.table.vocab import (BASELINES, CURVE_COLUMNS, CURVE_MONTHS, DCB_MONTHS, MODEL_NAMES, PDL1_BANDS,
                                    SPLINE_FAMILIES)

__all__ = [
    "MODEL_NAMES", "BASELINES", "MONOTONE_DIRECTIONS", "FAMILY_RANK", "TreeModel", "XGBoostCox", "make_base", "base_from_saved",
    "prepare", "shap_values",
    "fit_calibrator", "IciModel", "baseline_scores", "loris_score", "sigmoid", "logit",
]

#: The families whose base model reads the named model inputs (the others read the clean table).

#: Simplicity of each family (model selection prefers the lower on ties).
FAMILY_RANK: dict[str, int] = {name: i for i, name in enumerate(MODEL_NAMES)}

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
    if family == "spline_cox":
        params["inputs"] = tuple(params.get("inputs", ()))
        return SplineCox(**params)
    if family in ("xgboost", "random_forest", "xgboost_cox"):
        tree = {k: params.pop(k) for k in ("monotone", "band_only_share", "mask_share") if k in params}
        if family == "xgboost_cox":
            return XGBoostCox(TreeModel("xgboost", params, options=options, random_state=random_state, **tree))
        return TreeModel(family, params, options=options, random_state=random_state, **tree)
    raise ValueError(f"family: expected one of {list(MODEL_NAMES)}. Got {family!r} instead.")


def base_from_saved(spec: EstimatorSpec, state: Any, options: FeatureOptions) -> Estimator:
    """A fitted base model from its spec and its saved state (JSON dict or native estimator)."""
    if spec.name == "spline_logistic":
        return SplineLogistic.from_dict(state)
    if spec.name == "spline_cox":
        return SplineCox.from_dict(state)
    if spec.name == "xgboost_cox":
        base = make_base(spec.name, spec.params, options=options, random_state=spec.random_state)
        base.estimator_ = state
        base.feature_names_ = list(spec.feature_names)
        base.classes_ = np.array([0, 1])
        return base
    base = make_base(spec.name, spec.params, options=options, random_state=spec.random_state)
    base.estimator_ = state
    base.feature_names_ = list(spec.feature_names)
    base.classes_ = np.array([0, 1])
    return base


def prepare(family: str, patients: pd.DataFrame, options: FeatureOptions | None = None) -> pd.DataFrame:
    """What a family's base model reads: model inputs (spline) or the clean table itself (trees)."""
    return model_inputs(patients, options) if family in SPLINE_FAMILIES else patients


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
    only, never saved): the leakage tests check it. ``baseline`` is the PFS curve's Breslow baseline
    of a time-to-event model (None otherwise: :attr:`has_curve`).
    """

    family: str
    base: Any
    calibrator: Calibrator = field(default_factory=Calibrator)
    til_term: TilTerm = field(default_factory=TilTerm)
    uncertainty: Uncertainty = field(default_factory=Uncertainty)
    options: FeatureOptions = field(default_factory=FeatureOptions)
    fit_ids: frozenset = frozenset()
    baseline: Baseline | None = None

    @property
    def has_curve(self) -> bool:
        """True for a time-to-event model with its baseline: it predicts the whole PFS curve."""
        return self.family in SURVIVAL_FAMILIES and self.baseline is not None

    @property
    def _spline(self) -> bool:
        return self.family in SPLINE_FAMILIES

    # -- the pieces of the log-odds ---------------------------------------------------------------------
    def inputs(self, patients: pd.DataFrame) -> pd.DataFrame:
        """Named model inputs (the TIL status among them) of a clean patient table."""
        return model_inputs(patients, self.options)

    def _input_values(self, patients: pd.DataFrame) -> dict[str, np.ndarray]:
        """:meth:`inputs` as arrays: the same numbers without framing them."""
        return model_input_values(patients, self.options)

    def base_logit(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """The base model's score (log-odds, or the log relative hazard of a time-to-event model), before
        calibration and the TIL term."""
        if self._spline:
            return self.base.decision_function(self._input_values(patients) if inputs is None else inputs)
        return self.base.decision_function(patients)

    def score(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """The calibrated score plus the TIL term: the final log-odds, or a curve model's linear predictor."""
        inputs = self._input_values(patients) if inputs is None else inputs
        z = self.base_logit(patients, inputs)
        return self.calibrator.logit(z) + self.til_term.contribution(np.asarray(inputs["til"], dtype=float))

    def linear_predictor(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """A curve model's linear predictor (log relative hazard of progression; higher is worse)."""
        self._need_curve()
        return self.score(patients, inputs)

    def _h(self, months: float) -> float:
        return float(self.baseline.at([months])[0])  # type: ignore[union-attr]

    def logit(self, patients: pd.DataFrame, inputs: Inputs | None = None) -> np.ndarray:
        """Final log-odds of durable benefit (of S(6) for a curve model)."""
        z = self.score(patients, inputs)
        return logit_survival(self._h(DCB_MONTHS), z) if self.has_curve else z

    def predict_proba(self, patients: pd.DataFrame) -> np.ndarray:
        """Probability of durable benefit, one per patient (a 1-D array): S(6) for a curve model."""
        if self.has_curve:
            return np.exp(-self._h(DCB_MONTHS) * np.exp(self.score(patients)))
        return sigmoid(self.logit(patients))

    # -- uncertainty -------------------------------------------------------------------------------------
    def logit_variance(self, patients: pd.DataFrame | None, inputs: Inputs | None = None, *,
                       standardised: np.ndarray | None = None) -> np.ndarray:
        """Variance of each patient's :meth:`score` (final log-odds, or a curve model's linear predictor):
        parameters, unknown inputs, centre, TIL term.

        ``inputs`` (:meth:`inputs` of ``patients``, a frame or its columns as arrays) and ``standardised``
        (the spline model's standardised design of ``inputs``) when already computed.
        """
        inputs = self._input_values(patients) if inputs is None else inputs
        u, a = self.uncertainty, self.calibrator.a
        til = np.asarray(inputs["til"], dtype=float)
        var = np.full(len(til), u.tau ** 2)
        if u.parameter == "covariance" and self._spline:
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

    def score_interval(self, patients: pd.DataFrame | None, level: float | None = None, *,
                       inputs: Inputs | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(score, half)``: :meth:`score` and the half-width of its interval at ``level``."""
        inputs = self._input_values(patients) if inputs is None else inputs
        til = np.asarray(inputs["til"], dtype=float)
        Z = None
        if self._spline:
            Z = self.base.standardised(inputs)
            z = self.base.decision_function(inputs, standardised=Z)
        else:
            z = self.base.decision_function(patients)
        z = self.calibrator.logit(z) + self.til_term.contribution(til)
        var = self.logit_variance(patients, inputs, standardised=Z)
        return z, ndtri(0.5 + (level or self.uncertainty.level) / 2) * np.sqrt(var)

    def interval(self, patients: pd.DataFrame | None, level: float | None = None, *,
                 inputs: Inputs | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(p, p_low, p_high)``: the probability and its interval at ``level`` (default the model's).

        ``inputs``: :meth:`inputs` of ``patients`` when already computed (then a spline model needs no
        ``patients``). The spline model's design is built once, for the score and its variance. For a
        curve model ``p`` is S(6) and the interval is S(6) at the linear predictor's interval.
        """
        z, half = self.score_interval(patients, level, inputs=inputs)
        if self.has_curve:
            h6 = self._h(DCB_MONTHS)
            return np.exp(-h6 * np.exp(z)), np.exp(-h6 * np.exp(z + half)), np.exp(-h6 * np.exp(z - half))
        return sigmoid(z), sigmoid(z - half), sigmoid(z + half)

    # -- the curve ---------------------------------------------------------------------------------------
    def _need_curve(self) -> None:
        if not self.has_curve:
            raise ValueError(f"this {self.family} model has no PFS curve (a 6-month yes/no model); expected a "
                             "time-to-event model (families spline_cox or xgboost_cox).")

    def curve_values(self, lp: np.ndarray, half: np.ndarray) -> dict[str, np.ndarray]:
        """The curve columns (:data:`~icipredict.vocab.CURVE_COLUMNS`) from the linear predictor and its half-width.

        Every column is a monotone function of ``lp``, so its interval is the function at ``lp -/+ half``;
        a time beyond the horizon, or a median the curve (or its band) does not reach by then, is NaN.
        """
        self._need_curve()
        base = self.baseline
        risk = np.exp(lp)
        out = {name: np.exp(-self._h(t) * risk) for name, t in CURVE_MONTHS.items()}
        out["median_pfs_months"] = base.quantile_time(lp)
        out["median_pfs_low"] = base.quantile_time(lp + half)
        out["median_pfs_high"] = base.quantile_time(lp - half)
        out["median_pfs_low"] = np.where(np.isnan(out["median_pfs_months"]), np.nan, out["median_pfs_low"])
        out["p_secondary_resistance_24m"] = -np.expm1(-(self._h(24.0) - self._h(DCB_MONTHS)) * risk)
        return {name: out[name] for name in CURVE_COLUMNS}

    def curve(self, patients: pd.DataFrame, times=(3.0, 6.0, 12.0, 24.0), *, level: float | None = None,
              inputs: Inputs | None = None, ids=None) -> pd.DataFrame:
        """The PFS curve and its band: one row per patient and time (``patient_id, time_months, s, s_low, s_high``).

        Times beyond the horizon give NaN (the caller warns).
        """
        self._need_curve()
        times = np.asarray(times, dtype=float)
        lp, half = self.score_interval(patients, level, inputs=inputs)
        H = self.baseline.at(times)
        n, k = len(lp), len(times)
        s = np.exp(-np.outer(np.exp(lp), H))
        low = np.exp(-np.outer(np.exp(lp + half), H))
        high = np.exp(-np.outer(np.exp(lp - half), H))
        ids = patients["patient_id"].astype(str).to_numpy() if ids is None else np.asarray(ids, dtype=object)
        return pd.DataFrame({"patient_id": np.repeat(ids, k), "time_months": np.tile(times, n),
                             "s": s.reshape(-1), "s_low": low.reshape(-1), "s_high": high.reshape(-1)})

    # -- explanation -------------------------------------------------------------------------------------
    def contributions(self, patients: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Additive contributions per model input on the final log-odds scale, and the base value.

        ``phi.sum(axis=1) + base`` equals :meth:`logit` exactly: the base model's contributions times
        the calibration slope, the TIL term as input ``til``, the calibration intercept in ``base``.
        For a curve model the contributions to the linear predictor are mapped to the log-odds of S(6):
        each is scaled by the same factor, ``(logit S6(lp) - logit S6(lp0)) / (lp - lp0)`` with ``lp0``
        the base value, so that they add up to the log-odds of ``p_durable_benefit``.
        """
        inputs = self.inputs(patients)
        if self._spline:
            phi, base = self.base.contributions(inputs)
            base = np.full(len(patients), base)
        else:
            phi, base = self.base.contributions(patients)
        phi = phi * self.calibrator.a
        phi["til"] = phi.get("til", 0.0) + self.til_term.contribution(inputs["til"].to_numpy(dtype=float))
        base = self.calibrator.a * np.asarray(base, dtype=float) + self.calibrator.b
        if not self.has_curve:
            return phi, base
        h6 = self._h(DCB_MONTHS)
        lp = base + phi.sum(axis=1).to_numpy()
        gap = lp - base
        L, L0 = logit_survival(h6, lp), logit_survival(h6, base)
        slope_at = -h6 * np.exp(lp) / np.maximum(-np.expm1(-h6 * np.exp(lp)), 1e-300)  # d logit S6 / d lp
        factor = np.where(np.abs(gap) > 1e-9, (L - L0) / np.where(np.abs(gap) > 1e-9, gap, 1.0), slope_at)
        return phi.mul(factor, axis=0), L0

    def saved_state(self):
        """What a bundle stores for the base model: plain-number JSON state, or the native estimator."""
        return self.base.to_dict() if self._spline else self.base.estimator_

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
