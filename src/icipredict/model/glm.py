"""Penalised logistic regression with restricted cubic splines: the clinical-prediction standard.

:class:`SplineLogistic` maps the named model inputs of :func:`icipredict.model.features.model_inputs`
(one float per input, NaN when unknown) to the log-odds of durable benefit. Its fitted state is
plain numbers (knots, imputation means, standardisation, coefficients, their covariance), written
to the bundle as JSON and read back without unpickling anything.

Design
------
* Continuous inputs (PD-L1 TPS, log(1 + TMB), age, albumin, pack-years) get a restricted cubic
  spline basis, linear beyond the outer knots (Harrell, Regression Modeling Strategies, 2nd ed.
  2015, section 2.4.5; knots at Harrell's default quantiles, table 2.3), or enter linearly with
  ``knots=0``. Other inputs enter linearly.
* Missing inputs: every design column of an unknown input is set to its training mean (the mean of
  the basis, not the basis of the mean), so an unknown input contributes nothing and the prediction
  is the one for an average patient in that respect. When the PD-L1 TPS is unknown but its band is
  known, the PD-L1 columns take their training mean *within that band*. No missing-indicators:
  which inputs are recorded depends on the centre, and an indicator learns the centre, not the
  patient (in leave-one-study-out, indicators moved calibration-in-the-large by -0.70 in one study).
* Standardised design, ridge penalty on everything but the intercept, fitted exactly by Newton's
  method; the per-patient objective is ``mean log-loss + penalty / 2 * ||b||^2``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Union

import numpy as np
import pandas as pd

from icipredict.table.vocab import PDL1_BANDS

__all__ = ["Estimator", "SplineLogistic", "rcs_basis", "choose_knots", "sigmoid", "KNOT_QUANTILES",
           "CONTINUOUS_INPUTS"]


def sigmoid(z) -> np.ndarray:
    """The logistic function: log-odds to probabilities."""
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


class Estimator:
    """scikit-learn's estimator conventions without importing scikit-learn (0.6 s) on the prediction path.

    ``get_params`` / ``set_params`` come from the constructor's arguments, so that
    ``sklearn.base.clone`` copies an unfitted model; ``classes_``, ``fit``, ``predict_proba`` and
    ``decision_function`` are the subclass's.

    >>> from sklearn.base import clone
    >>> clone(SplineLogistic(inputs=("tmb",), penalty=0.1))
    SplineLogistic(inputs=('tmb',), knots=3, penalty=0.1)
    """

    _estimator_type = "classifier"

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Estimator":
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ValueError(f"{type(self).__name__}: expected parameters among {self._param_names()}. "
                             f"Got {unknown} instead.")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


#: Model inputs: a frame of :func:`~icipredict.model.features.model_inputs`, or the same columns as arrays.
Inputs = Union[pd.DataFrame, Mapping[str, np.ndarray]]

#: Inputs that get a spline basis.
CONTINUOUS_INPUTS: tuple[str, ...] = ("pdl1", "tmb", "age", "albumin", "pack_years")
#: Harrell's default knot quantiles (Regression Modeling Strategies, 2nd ed., table 2.3).
KNOT_QUANTILES: dict[int, tuple[float, ...]] = {3: (0.10, 0.50, 0.90), 4: (0.05, 0.35, 0.65, 0.95),
                                                5: (0.05, 0.275, 0.50, 0.725, 0.95)}
#: An input observed in fewer training patients than this is left out of the design.
MIN_OBSERVED = 20
#: Band-conditional PD-L1 means need at least this many training patients in the band.
MIN_BAND = 5


def choose_knots(x: np.ndarray, n_knots: int) -> list[float]:
    """Knots at Harrell's quantiles of the observed ``x``; fewer (or none: linear) when ties merge them.

    With many tied minimum values (PD-L1 TPS: about half the patients at 0 %) the quantiles are taken
    over the values above the minimum, as ``Hmisc::rcspline.eval`` does.

    >>> choose_knots(np.arange(100.0), 3)
    [9.9, 49.5, 89.10000000000001]
    """
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    k = n_knots
    while k >= 3:
        for values in (x, x[x > x.min()] if x.size else x):
            if values.size >= 10:
                q = np.quantile(values, KNOT_QUANTILES[k])
                if np.all(np.diff(q) > 0):
                    return [float(v) for v in q]
        k -= 1
    return []


def rcs_basis(x: np.ndarray, knots: list[float]) -> np.ndarray:
    """Restricted cubic spline basis ``[x, s_1, ..., s_{k-2}]`` (Harrell's parameterisation, norm 2).

    Rows where ``x`` is NaN stay NaN. With fewer than 3 knots the basis is ``x`` alone.

    >>> rcs_basis(np.array([0.0, 5.0, 10.0]), [1.0, 5.0, 9.0]).shape
    (3, 2)
    """
    x = np.asarray(x, dtype=float)
    if len(knots) < 3:
        return x[:, None].copy()
    t = np.asarray(knots, dtype=float)
    k = t.size
    norm = (t[-1] - t[0]) ** 2
    cols = [x]
    for j in range(k - 2):
        c = (np.maximum(x - t[j], 0) ** 3
             - np.maximum(x - t[k - 2], 0) ** 3 * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
             + np.maximum(x - t[k - 1], 0) ** 3 * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2]))
        cols.append(c / norm)
    out = np.column_stack(cols)
    out[np.isnan(x)] = np.nan
    return out


def _spline(x: np.ndarray, knots: list[float]) -> np.ndarray:
    """:func:`rcs_basis` of ``x``; of a long column, computed once per distinct value (bit for bit the same)."""
    if len(x) < 2048 or len(knots) < 3:
        return rcs_basis(x, knots)
    codes, distinct = pd.factorize(x.view(np.int64))  # the bits: -0.0 and 0.0 stay apart
    basis = rcs_basis(distinct.view(np.float64), knots)
    return basis[codes]


def _ridge_newton(Z: np.ndarray, y: np.ndarray, penalty: float, max_iter: int = 100, *,
                  prior: np.ndarray | None = None, offset: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic coefficients ``[intercept, b...]`` and the penalised Hessian (for the covariance).

    ``prior``: the coefficients the penalty pulls toward, and the start (default 0, the intercept
    starting at the log-odds of ``y``'s mean); ``offset``: fixed log-odds added to each patient's.
    """
    n, p = Z.shape
    A = np.column_stack([np.ones(n), Z])
    pen = np.full(p + 1, n * penalty)
    pen[0] = 0.0
    if prior is None:
        centre, beta = np.zeros(p + 1), np.zeros(p + 1)
        ybar = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
        beta[0] = np.log(ybar / (1 - ybar))
    else:
        centre = np.asarray(prior, dtype=float)
        beta = centre.copy()
    for _ in range(max_iter):
        mu = sigmoid(offset + A @ beta)
        grad = A.T @ (y - mu) - pen * (beta - centre)
        H = (A * (mu * (1 - mu))[:, None]).T @ A + np.diag(pen) + 1e-10 * np.eye(p + 1)
        step = np.linalg.solve(H, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    mu = sigmoid(offset + A @ beta)
    H = (A * (mu * (1 - mu))[:, None]).T @ A + np.diag(pen)
    return beta, H


class SplineLogistic(Estimator):
    """Ridge-penalised logistic regression with restricted cubic splines, on named model inputs.

    Parameters
    ----------
    inputs : tuple of str
        Names of the inputs used (columns of :func:`icipredict.model.features.model_inputs`).
    knots : {0, 3, 4, 5}
        Spline knots for the continuous inputs (0: linear).
    penalty : float
        Ridge penalty per patient on the standardised coefficients.

    Attributes
    ----------
    columns_ : list of str
        Design columns (``tmb``, ``tmb_s1``, ...).
    intercept_, coef_ : float, ndarray
        On the standardised design.
    covariance_ : ndarray
        Sandwich covariance of ``[intercept_, coef_]`` from the penalised fit (Gray, JASA 1992).

    Examples
    --------
    >>> import pandas as pd
    >>> D = pd.DataFrame({"tmb": np.linspace(0, 3, 60), "pdl1_band": None})
    >>> m = SplineLogistic(inputs=("tmb",), knots=0).fit(D, np.arange(60) % 2)
    >>> m.decision_function(D).shape
    (60,)
    """

    def __init__(self, inputs: tuple[str, ...] = (), knots: int = 3, penalty: float = 0.03):
        self.inputs = inputs
        self.knots = knots
        self.penalty = penalty

    # -- design ----------------------------------------------------------------------------------
    @staticmethod
    def _names(name: str, width: int) -> list[str]:
        return [name] if width == 1 else [name] + [f"{name}_s{j}" for j in range(1, width)]

    @staticmethod
    def _size(D: Inputs) -> int:
        return len(D.index) if isinstance(D, pd.DataFrame) else len(next(iter(D.values())))

    @staticmethod
    def _column(D: Inputs, name: str, n: int, dtype: Any = float) -> np.ndarray:
        if isinstance(D, pd.DataFrame):
            return D[name].to_numpy(dtype=dtype) if name in D.columns else np.full(n, np.nan if dtype is float else None)
        return np.asarray(D[name], dtype=dtype) if name in D else np.full(n, np.nan if dtype is float else None)

    def _blocks(self, D: Inputs) -> dict[str, np.ndarray]:
        n = self._size(D)
        blocks = {}
        for name in self.used_inputs_:
            x = self._column(D, name, n)
            blocks[name] = _spline(x, self.knots_.get(name, [])) if name in CONTINUOUS_INPUTS else x[:, None].copy()
        return blocks

    def design(self, D: Inputs) -> np.ndarray:
        """The (unstandardised) design matrix, missing values imputed as the module docstring says."""
        blocks = self._blocks(D)
        n = self._size(D)
        out = np.empty((n, len(self.columns_)))
        j = 0
        for name, B in blocks.items():
            missing = np.isnan(B[:, 0])
            if name == "pdl1" and missing.any():
                rows = np.flatnonzero(missing)
                band = self._column(D, "pdl1_band", n, object)[rows]
                for b, means in self.band_means_.items():
                    within = rows[band == b]
                    if within.size:
                        B[within] = np.asarray(means)
            width = B.shape[1]
            cols = B
            unknown = np.isnan(cols)
            if unknown.any():
                cols = np.where(unknown, np.asarray(self.column_means_[j:j + width])[None, :], cols)
            out[:, j:j + width] = cols
            j += width
        return out

    def group_slices(self) -> dict[str, slice]:
        """Design columns of each input."""
        out, j = {}, 0
        for name in self.used_inputs_:
            width = 1 + max(len(self.knots_.get(name, [])) - 2, 0) if name in CONTINUOUS_INPUTS else 1
            out[name] = slice(j, j + width)
            j += width
        return out

    # -- fit / predict -----------------------------------------------------------------------------
    def fit(self, D: pd.DataFrame, y) -> "SplineLogistic":
        """Fit on a frame of model inputs and a 0/1 target."""
        y = np.asarray(y, dtype=float)
        if set(np.unique(y)) != {0.0, 1.0}:
            raise ValueError(f"y: expected both classes 0 and 1. Got {sorted(set(np.unique(y)))} instead.")
        self._fit_design(D)
        X = self.design(D)
        center, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale < 1e-8] = 1.0  # a constant column keeps coefficient 0 under the ridge penalty
        self.center_, self.scale_ = center, scale
        Z = (X - center) / scale
        beta, H = _ridge_newton(Z, y, self.penalty)
        self.intercept_, self.coef_ = float(beta[0]), beta[1:]
        # sandwich covariance of the penalised estimate: H^-1 (A'WA) H^-1
        A = np.column_stack([np.ones(len(y)), Z])
        mu = sigmoid(A @ beta)
        info = (A * (mu * (1 - mu))[:, None]).T @ A
        Hinv = np.linalg.inv(H)
        self.covariance_ = Hinv @ info @ Hinv
        self.classes_ = np.array([0, 1])
        return self

    def _fit_design(self, D: pd.DataFrame) -> None:
        """Choose the inputs (observed in at least :data:`MIN_OBSERVED` patients), the knots and the imputation
        means of the design (every family on this design fits them the same way)."""
        self.used_inputs_ = [v for v in self.inputs if v in D.columns and D[v].notna().sum() >= MIN_OBSERVED]
        self.dropped_inputs_ = [v for v in self.inputs if v not in self.used_inputs_]
        self.knots_ = {v: choose_knots(D[v].to_numpy(float), self.knots) for v in self.used_inputs_
                       if v in CONTINUOUS_INPUTS and self.knots >= 3}
        blocks = self._blocks(D)
        self.columns_, means, self.band_means_ = [], [], {}
        band = D["pdl1_band"].to_numpy(dtype=object) if "pdl1_band" in D.columns else np.full(len(D), None)
        for name, B in blocks.items():
            observed = ~np.isnan(B[:, 0])
            self.columns_ += self._names(name, B.shape[1])
            means += [float(v) for v in B[observed].mean(axis=0)]
            if name == "pdl1":
                for b in PDL1_BANDS:
                    rows = observed & (band == b)
                    if rows.sum() >= MIN_BAND:
                        self.band_means_[b] = [float(v) for v in B[rows].mean(axis=0)]
        self.column_means_ = means

    def standardised(self, D: Inputs) -> np.ndarray:
        """The standardised design ``(X - center) / scale``."""
        return (self.design(D) - self.center_) / self.scale_

    def decision_function(self, D: Inputs, *, standardised: np.ndarray | None = None) -> np.ndarray:
        """Log-odds; ``standardised`` is :meth:`standardised` of ``D`` when already computed."""
        Z = self.standardised(D) if standardised is None else standardised
        return self.intercept_ + Z @ self.coef_

    def predict_proba(self, D: pd.DataFrame) -> np.ndarray:
        p = sigmoid(self.decision_function(D))
        return np.column_stack([1 - p, p])

    def contributions(self, D: pd.DataFrame) -> tuple[pd.DataFrame, float]:
        """Exact additive contributions per input on the log-odds scale, and the base value.

        The contribution of an input is its coefficients times the distance of its design columns
        from their training means (linear SHAP with independent inputs); they sum with the base to
        :meth:`decision_function`.
        """
        Z = self.standardised(D)
        phi = {name: Z[:, s] @ self.coef_[s] for name, s in self.group_slices().items()}
        return pd.DataFrame(phi, index=D.index), self.intercept_

    def parameter_variance(self, D: Inputs, *, standardised: np.ndarray | None = None) -> np.ndarray:
        """Variance of each patient's log-odds from the coefficients' covariance: ``a' V a``; ``standardised``
        as in :meth:`decision_function`."""
        Z = self.standardised(D) if standardised is None else standardised
        # column-major: einsum then runs over patients innermost, 2.5x faster; each patient's sum keeps
        # its order (j, then k), so the numbers are those of the row-major matrix
        A = np.empty((len(Z), Z.shape[1] + 1), order="F")
        A[:, 0] = 1.0
        A[:, 1:] = Z
        return np.einsum("ij,jk,ik->i", A, self.covariance_, A)

    def n_parameters(self) -> int:
        return len(self.columns_)

    # -- plain-number state ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-ready plain numbers."""
        return {
            "inputs": list(self.inputs), "knots": self.knots, "penalty": self.penalty,
            "used_inputs": list(self.used_inputs_), "dropped_inputs": list(self.dropped_inputs_),
            "knot_values": {k: list(v) for k, v in self.knots_.items()}, "columns": list(self.columns_),
            "column_means": list(self.column_means_), "band_means": self.band_means_,
            "center": self.center_.tolist(), "scale": self.scale_.tolist(), "intercept": self.intercept_,
            "coef": self.coef_.tolist(), "covariance": self.covariance_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SplineLogistic":
        """The inverse of :meth:`to_dict`."""
        m = cls(inputs=tuple(d["inputs"]), knots=int(d["knots"]), penalty=float(d["penalty"]))
        m.used_inputs_ = list(d["used_inputs"])
        m.dropped_inputs_ = list(d["dropped_inputs"])
        m.knots_ = {k: [float(x) for x in v] for k, v in d["knot_values"].items()}
        m.columns_ = list(d["columns"])
        m.column_means_ = [float(x) for x in d["column_means"]]
        m.band_means_ = {k: [float(x) for x in v] for k, v in d["band_means"].items()}
        m.center_ = np.asarray(d["center"], dtype=float)
        m.scale_ = np.asarray(d["scale"], dtype=float)
        m.intercept_ = float(d["intercept"])
        m.coef_ = np.asarray(d["coef"], dtype=float)
        m.covariance_ = np.asarray(d["covariance"], dtype=float)
        m.classes_ = np.array([0, 1])
        return m
