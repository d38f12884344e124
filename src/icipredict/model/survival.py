"""Time-to-event model families for progression-free survival: one curve per patient.

:class:`SplineCox` is the penalised Cox model on the same inputs, spline terms, imputation and
standardisation as :class:`icipredict.model.glm.SplineLogistic` (it reuses its design); the challenger,
XGBoost's ``survival:cox`` objective on the tree features, is :class:`icipredict.model.models.XGBoostCox`. Both give a linear
predictor ``lp`` (log relative hazard, higher = earlier progression) and, with a Breslow baseline
cumulative hazard ``H0`` on a grid of event times, a survival curve

    S(t | x) = exp(-H0(t) * exp(lp(x)))

Why a Newton fit of our own rather than lifelines' ``CoxPHFitter`` or scikit-survival's
``CoxnetSurvivalAnalysis``: the TIL term's cited prior needs a ridge penalty pulled toward a
*non-zero* centre, and updating a model at a new centre needs a fixed *offset* (the rest of the
model's linear predictor); neither library offers both. The partial likelihood (Breslow ties) and
its ridge penalty are a few lines of numpy, share the spline logistic's design and penalty scale
(``mean negative log partial likelihood + penalty / 2 * ||b - centre||^2`` on the standardised
design), and keep every survival library off the prediction path. lifelines (dev extra) is the
reference in the tests: with ``CoxPHFitter(penalizer=penalty, l1_ratio=0)`` on the same design the
coefficients agree.

The horizon: the curve is reported up to :attr:`Baseline.horizon`, the last event time at which at
least :data:`MIN_AT_RISK` training patients were still at risk (followed up and progression-free);
beyond it the baseline rests on a handful of patients and the curve is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.model.glm import Inputs, SplineLogistic
from icipredict.table.vocab import SURVIVAL_FAMILIES

__all__ = ["SplineCox", "Baseline", "risk_sums", "check_outcomes", "pfs_rows", "horizon", "cox_newton", "breslow", "MIN_AT_RISK", "SURVIVAL_FAMILIES",
           "survival_at", "logit_survival"]

#: The horizon is the last event time with at least this many training patients at risk.
MIN_AT_RISK = 10
#: Up to this many columns the risk-set sums of outer products are built at once, above it group by group.
_FEW_INPUTS = 8


def risk_sums(eta: np.ndarray, time: np.ndarray, event: np.ndarray, Z: np.ndarray | None):
    """Per distinct event time: number of events, sum of x over events, and the risk-set sums S0, S1, S2.

    Breslow ties: every event at time t shares the risk set {j : time_j >= t}.
    """
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    m = float(eta.max()) if eta.size else 0.0
    w = np.exp(eta[order] - m)
    # risk sets: reverse cumulative sums, read at the first row of each tied time
    S0 = np.cumsum(w[::-1])[::-1]
    first = np.searchsorted(t, t, side="left")
    ev = e == 1
    times, idx, counts = np.unique(t[ev], return_index=True, return_counts=True)
    starts = first[ev][idx]
    out = {"times": times, "d": counts.astype(float), "S0": S0[starts], "shift": m}
    if Z is not None:
        Zs = Z[order]
        S1 = np.cumsum((w[:, None] * Zs)[::-1], axis=0)[::-1]
        out["S1"] = S1[starts]
        out["xsum"] = Zs[ev].sum(axis=0)
        out["eta_sum"] = float((eta[order][ev]).sum())
        # S2 only at the starts: the outer products w z z' summed per tied-time group (rows [starts[k], starts[k+1])
        # join the risk set at starts[k]), then accumulated from the last group backwards
        p = Z.shape[1]
        if not len(starts):
            groups = np.zeros((0, p, p))
        elif p <= _FEW_INPUTS:  # a slope or a few inputs: every outer product at once (BLAS wins above)
            groups = np.add.reduceat(np.einsum("ni,nj->nij", Zs * w[:, None], Zs), starts, axis=0)
        else:  # many inputs: one group at a time
            bounds = np.append(starts, len(t))
            groups = np.stack([(Zs[a:b] * w[a:b, None]).T @ Zs[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
        S2 = np.cumsum(groups[::-1], axis=0)[::-1]
        out["S2"] = S2
    return out


def cox_newton(Z: np.ndarray, time: np.ndarray, event: np.ndarray, penalty: float | np.ndarray, *,
               centre: np.ndarray | None = None, offset: np.ndarray | float = 0.0,
               max_iter: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge Cox coefficients (Breslow ties), the penalised information and the unpenalised one.

    Minimises ``-log partial likelihood / n + penalty / 2 * ||b - centre||^2`` by Newton's method
    with step halving. ``penalty`` is a number or one per column; ``centre`` the coefficients the
    penalty pulls toward (and the start; default 0); ``offset`` a fixed part of each patient's
    linear predictor.

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(200, 1))
    >>> t = rng.exponential(np.exp(-0.7 * x[:, 0])); e = np.ones(200)
    >>> b, _, _ = cox_newton(x, t, e, 0.0)
    >>> bool(0.5 < b[0] < 0.9)
    True
    """
    Z = np.asarray(Z, dtype=float)
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    n, p = Z.shape
    pen = n * (np.full(p, float(penalty)) if np.ndim(penalty) == 0 else np.asarray(penalty, dtype=float))
    c = np.zeros(p) if centre is None else np.asarray(centre, dtype=float)
    beta = c.copy()
    off = np.broadcast_to(np.asarray(offset, dtype=float), (n,))
    if p == 0:
        return beta, np.zeros((0, 0)), np.zeros((0, 0))

    def objective(b):
        eta = off + Z @ b
        r = risk_sums(eta, time, event, None)
        ll = float(eta[event == 1].sum() - np.sum(r["d"] * (np.log(r["S0"]) + r["shift"])))
        return -ll + 0.5 * float(np.sum(pen * (b - c) ** 2))

    def derivatives(b):
        r = risk_sums(off + Z @ b, time, event, Z)
        mean = r["S1"] / r["S0"][:, None]
        grad = r["xsum"] - (r["d"][:, None] * mean).sum(axis=0)
        info = np.einsum("k,kij->ij", r["d"] / r["S0"], r["S2"]) - (mean * r["d"][:, None]).T @ mean
        return grad, info

    current = objective(beta)
    for _ in range(max_iter):
        grad, info = derivatives(beta)
        grad = grad - pen * (beta - c)
        H = info + np.diag(pen) + 1e-10 * np.eye(p)
        step = np.linalg.solve(H, grad)
        size = 1.0
        while True:
            trial = objective(beta + size * step)
            if trial <= current + 1e-12 or size < 1e-6:
                break
            size /= 2
        beta, current = beta + size * step, trial
        if np.max(np.abs(size * step)) < 1e-9:
            break
    _, info = derivatives(beta)
    return beta, info + np.diag(pen), info


def breslow(eta: np.ndarray, time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breslow baseline cumulative hazard at each distinct event time, for linear predictors ``eta``.

    >>> t, H = breslow(np.zeros(4), np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 1, 0, 0]))
    >>> t.tolist(), [round(float(v), 3) for v in H]
    ([1.0, 2.0], [0.25, 0.583])
    """
    eta = np.asarray(eta, dtype=float)
    r = risk_sums(eta, np.asarray(time, dtype=float), np.asarray(event, dtype=float), None)
    return r["times"], np.cumsum(r["d"] / (r["S0"] * np.exp(r["shift"])))


def horizon(time: np.ndarray, event: np.ndarray, min_at_risk: int = MIN_AT_RISK) -> float:
    """The last event time at which at least ``min_at_risk`` patients are at risk (0 when none)."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
    ts = np.sort(time)
    events = np.unique(time[event == 1])
    at_risk = len(ts) - np.searchsorted(ts, events, side="left")
    ok = events[at_risk >= min_at_risk]
    return float(ok.max()) if ok.size else 0.0


def survival_at(cumhaz: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """``S = exp(-H0 * exp(lp))`` for baseline cumulative hazards (k,) and linear predictors (n,): (n, k)."""
    return np.exp(-np.outer(np.exp(np.asarray(lp, dtype=float)), np.asarray(cumhaz, dtype=float)))


def logit_survival(cumhaz: float, lp: np.ndarray) -> np.ndarray:
    """``logit(S)`` of ``S = exp(-H0 exp(lp))``, computed without losing digits at either end."""
    h = cumhaz * np.exp(np.asarray(lp, dtype=float))
    return -h - np.log(-np.expm1(-np.maximum(h, 1e-300)))


@dataclass
class Baseline:
    """A Breslow baseline cumulative hazard: step function at ``times`` (months), reported up to ``horizon``."""

    times: np.ndarray
    cumhaz: np.ndarray
    horizon: float
    min_at_risk: int = MIN_AT_RISK

    @classmethod
    def fit(cls, eta: np.ndarray, time: np.ndarray, event: np.ndarray, min_at_risk: int = MIN_AT_RISK) -> "Baseline":
        t, H = breslow(eta, time, event)
        return cls(t, H, horizon(time, event, min_at_risk), min_at_risk)

    def at(self, t) -> np.ndarray:
        """``H0(t)`` (0 before the first event time); ``t`` beyond the horizon gives NaN."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.where(t > self.horizon + 1e-12, np.nan, self.uncut(t))

    def uncut(self, t) -> np.ndarray:
        """``H0(t)`` with the horizon not applied (for expected events and scoring during fitting)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        pos = np.searchsorted(self.times, t, side="right") - 1
        return np.where(pos >= 0, self.cumhaz[np.clip(pos, 0, None)] if len(self.cumhaz) else 0.0, 0.0)

    def quantile_time(self, lp: np.ndarray, s: float = 0.5) -> np.ndarray:
        """The first time ``S(t | lp) <= s`` (the median for 0.5); NaN when not reached by the horizon."""
        need = -np.log(s) * np.exp(-np.asarray(lp, dtype=float))
        within = self.times <= self.horizon + 1e-12
        H, T = self.cumhaz[within], self.times[within]
        pos = np.searchsorted(H, need, side="left")
        return np.where(pos < len(T), T[np.minimum(pos, len(T) - 1)] if len(T) else np.nan, np.nan)

    def to_dict(self) -> dict[str, Any]:
        return {"times": self.times.tolist(), "cumhaz": self.cumhaz.tolist(), "horizon": self.horizon,
                "min_at_risk": self.min_at_risk}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Baseline":
        return cls(np.asarray(d["times"], dtype=float), np.asarray(d["cumhaz"], dtype=float), float(d["horizon"]),
                   int(d.get("min_at_risk", MIN_AT_RISK)))


def check_outcomes(time, event, ids=None) -> tuple[np.ndarray, np.ndarray]:
    """``(time, event)`` as floats, or :class:`~icipredict.exceptions.InvalidPatientData` naming the patient.

    PFS must be positive months and the event flag 0 or 1; a PFS without its event flag is refused.
    """
    time = np.asarray(pd.to_numeric(pd.Series(time), errors="coerce"), dtype=float)
    event_raw = pd.Series(event)
    event = np.asarray(pd.to_numeric(event_raw, errors="coerce"), dtype=float)
    ids = np.asarray(ids if ids is not None else np.arange(len(time)).astype(str), dtype=object)
    problems = []
    for i in np.flatnonzero(~np.isnan(time) & (time <= 0)):
        problems.append(Problem(str(ids[i]), "pfs_months", "a PFS above 0 months", f"{time[i]:g}"))
    bad_event = ~np.isnan(event) & ~np.isin(event, (0.0, 1.0))
    bad_event |= np.isnan(event) & event_raw.notna().to_numpy()
    for i in np.flatnonzero(bad_event):
        problems.append(Problem(str(ids[i]), "pfs_event", "0 (censored) or 1 (progressed or died)",
                                repr(event_raw.iloc[i])))
    for i in np.flatnonzero(~np.isnan(time) & np.isnan(event) & ~bad_event):
        problems.append(Problem(str(ids[i]), "pfs_event", "0 or 1 beside a PFS time", "empty"))
    if problems:
        shown = "; ".join(f"patient {p.patient_id}: {p.column} expected {p.expected}, got {p.got}" for p in problems[:5])
        raise InvalidPatientData(f"PFS outcome: {len(problems)} problem(s): {shown}"
                                 + (" ..." if len(problems) > 5 else ""), problems)
    return time, event


def pfs_rows(clean: pd.DataFrame) -> pd.DataFrame:
    """The patients of a clean table with a PFS time and event flag, censored ones included.

    A PFS of 0 months or less, an event flag other than 0/1, or a PFS without its event flag is refused
    (:func:`check_outcomes`: :class:`~icipredict.exceptions.InvalidPatientData` naming patient, column and
    value), as in training.
    """
    check_outcomes(clean["pfs_months"], clean["pfs_event"], clean["patient_id"].astype(str).to_numpy())
    return clean.loc[clean["pfs_months"].notna() & clean["pfs_event"].notna()].reset_index(drop=True)


class SplineCox(SplineLogistic):
    """Ridge-penalised Cox regression with restricted cubic splines, on named model inputs.

    Same parameters, design and plain-number state as :class:`~icipredict.glm.SplineLogistic`, without
    an intercept (the baseline hazard takes its place); ``decision_function`` is the linear predictor
    (log relative hazard against the average training patient), so higher means earlier progression.

    Attributes
    ----------
    coef_ : ndarray
        On the standardised design.
    covariance_ : ndarray
        Sandwich covariance of ``coef_`` from the penalised fit.
    baseline_times_, baseline_cumhaz_ : ndarray
        Breslow baseline cumulative hazard of the fit, at each distinct event time (months).
    horizon_ : float
        Last event time with at least :data:`MIN_AT_RISK` patients at risk.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> D = pd.DataFrame({"tmb": rng.normal(size=120), "pdl1_band": None})
    >>> t = rng.exponential(np.exp(0.5 * D["tmb"].to_numpy())) * 6  # higher TMB, longer PFS: a lower hazard
    >>> m = SplineCox(inputs=("tmb",), knots=0, penalty=0.01).fit(D, t, np.ones(120))
    >>> bool(m.coef_[0] < 0), m.survival(D.head(2), [3.0, 6.0]).shape
    (True, (2, 2))
    """

    _estimator_type = "survival"

    def fit(self, D: pd.DataFrame, time, event=None, *, centre: np.ndarray | None = None,
            offset: np.ndarray | float = 0.0) -> "SplineCox":
        """Fit on a frame of model inputs, PFS months and the event flag (1 progressed or died, 0 censored)."""
        if event is None:
            raise ValueError("SplineCox.fit: expected fit(D, time, event). Got no event flag instead.")
        time, event = check_outcomes(time, event)
        if event.sum() < 2:
            raise ValueError(f"event: expected at least 2 events. Got {int(event.sum())} instead.")
        self._fit_design(D)
        X = self.design(D)
        center, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale < 1e-8] = 1.0
        self.center_, self.scale_ = center, scale
        Z = (X - center) / scale
        beta, H, info = cox_newton(Z, time, event, self.penalty, centre=centre, offset=offset)
        self.intercept_, self.coef_ = 0.0, beta
        Hinv = np.linalg.inv(H)
        self.covariance_ = Hinv @ info @ Hinv
        base = Baseline.fit(np.asarray(offset, dtype=float) + Z @ beta, time, event)
        self.baseline_times_, self.baseline_cumhaz_, self.horizon_ = base.times, base.cumhaz, base.horizon
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, D: Inputs, *, standardised: np.ndarray | None = None) -> np.ndarray:
        """The linear predictor (log relative hazard); ``standardised`` as in :class:`SplineLogistic`."""
        Z = self.standardised(D) if standardised is None else standardised
        # a sum along each row, not a matrix product: one patient gets the same bits alone as in a table
        return np.multiply(Z, self.coef_).sum(axis=1)

    linear_predictor = decision_function

    def baseline(self) -> Baseline:
        return Baseline(self.baseline_times_, self.baseline_cumhaz_, self.horizon_)

    def survival(self, D: Inputs, times) -> np.ndarray:
        """``S(t)`` per patient (rows) and time (columns) from the fit's own baseline; NaN beyond the horizon."""
        return survival_at(self.baseline().at(times), self.decision_function(D))

    def predict_proba(self, D: pd.DataFrame) -> np.ndarray:
        """Probability of being progression-free at 6 months (the durable-benefit class), as ``[1 - S, S]``."""
        s = self.survival(D, [6.0])[:, 0]
        return np.column_stack([1 - s, s])

    def contributions(self, D: pd.DataFrame) -> tuple[pd.DataFrame, float]:
        """Exact additive contributions per input on the linear predictor, and the base value (0)."""
        phi, _ = super().contributions(D)
        return phi, 0.0

    def parameter_variance(self, D: Inputs, *, standardised: np.ndarray | None = None) -> np.ndarray:
        """Variance of each patient's linear predictor from the coefficients' covariance: ``z' V z``."""
        Z = self.standardised(D) if standardised is None else standardised
        Z = np.asfortranarray(Z)
        return np.einsum("ij,jk,ik->i", Z, self.covariance_, Z)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(family="spline_cox", baseline_times=self.baseline_times_.tolist(),
                 baseline_cumhaz=self.baseline_cumhaz_.tolist(), horizon=self.horizon_)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SplineCox":
        m = super().from_dict(d)
        m.baseline_times_ = np.asarray(d["baseline_times"], dtype=float)
        m.baseline_cumhaz_ = np.asarray(d["baseline_cumhaz"], dtype=float)
        m.horizon_ = float(d["horizon"])
        return m  # type: ignore[return-value]
