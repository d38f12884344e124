"""Local updating of a time-to-event model: the baseline survival, then the slope, on a centre's own PFS.

The curve is ``S(t | x) = exp(-H0(t) exp(lp(x)))``. On the centre's patients with a PFS time and
event flag (censored ones with their follow-up; times past the model's horizon censored there),
the two updates are those of van Houwelingen (Stat Med 2000; 19:3401) in the Poisson form of
Crowson et al. (Stat Methods Med Res 2016; 25:1692): each patient's expected events under the
model, ``H0(T_i) exp(lp_i)``, is the offset of a Poisson regression of the event flag,

* ``intercept`` (the baseline survival): ``H0 -> exp(b) H0``, i.e. ``lp -> lp + b``, ``exp(b)`` the
  local observed / expected events;
* ``logistic`` (baseline and slope): ``lp -> a lp + b``.

``auto`` is the same closed testing as the 6-month models (:mod:`icipredict.fitting.updating`):
original -> baseline -> baseline and slope, each step kept only when a likelihood-ratio test
(the Poisson likelihood, P < 0.05) says it fits the local PFS better than the one kept before it,
with the same minimum numbers of events (here: progressions). The report sets the original and the
updated model side by side by cross-validation on the local data (each fold updated on the others):
the 6-month metrics, and S(12) against the local Kaplan-Meier S(12), overall and by risk group.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from icipredict.evaluation.distributions import chi2_sf
from icipredict.fitting.folds import stratified_folds
from icipredict.evaluation.metrics import binary_metrics, calibration_curve_table
from icipredict.evaluation.survival import calibration_by_group, km_ci_at
from icipredict.exceptions import InvalidPatientData
from icipredict.model.metadata import Calibrator
from icipredict.model.models import IciModel
from icipredict.table.vocab import DCB_MONTHS

__all__ = ["with_calibration", "CURVE_METHODS", "curve_closed_testing", "apply_curve_update", "compare_curve_update",
           "poisson_recalibration", "updated_label", "local_calibration_table"]

#: The updates a curve model supports, in the order closed testing tries them.
CURVE_METHODS: tuple[str, ...] = ("intercept", "logistic")
#: The month whose calibration the before/after report adds to the 6-month one.
REPORT_MONTHS = 12.0


def updated_label(method: str) -> str:
    """The updated model's name in a before/after comparison (both kinds of update)."""
    return "updated (none: the original kept)" if method == "none" else f"updated ({method}, cross-validated)"


def local_calibration_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """The 6-month calibration table of a before/after comparison: 5 bins below 200 local patients, else 10."""
    return calibration_curve_table(y, p, n_bins=5 if len(y) < 200 else 10)


def _expected(model: IciModel, pfs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event flag and follow-up censored at the horizon, each patient's lp and baseline H0(T)."""
    horizon = float(model.baseline.horizon)
    t = pfs["pfs_months"].to_numpy(float)
    event = ((pfs["pfs_event"].to_numpy(float) == 1) & (t <= horizon)).astype(float)
    h0 = model.baseline.at(np.minimum(t, horizon))
    return event, model.score(pfs), np.nan_to_num(h0, nan=0.0)


def poisson_recalibration(event, lp, h0, *, slope: bool, max_iter: int = 50) -> tuple[float, float, float]:
    """``(a, b, loglik)`` maximising ``sum(d (a lp + b) - H0 exp(a lp + b))`` (``a = 1`` without ``slope``).

    Examples
    --------
    >>> a, b, _ = poisson_recalibration(np.array([1, 1, 0, 1]), np.zeros(4), np.array([0.5, 1.0, 0.5, 1.0]),
    ...                                 slope=False)
    >>> a, round(float(np.exp(b)), 4)  # observed / expected = 3 / 3
    (1.0, 1.0)
    """
    d, lp, h0 = (np.asarray(v, dtype=float) for v in (event, lp, h0))

    def loglik(a: float, b: float) -> float:
        return float(np.sum(d * (a * lp + b) - h0 * np.exp(a * lp + b)))

    expected = float(np.sum(h0 * np.exp(lp)))
    a, b = 1.0, float(np.log(max(d.sum(), 1e-9) / max(expected, 1e-300)))
    if not slope:
        return a, b, loglik(a, b)
    X = np.column_stack([lp, np.ones_like(lp)])
    beta = np.array([a, b])
    current = loglik(*beta)
    for _ in range(max_iter):
        mu = h0 * np.exp(X @ beta)
        step = np.linalg.lstsq((X * mu[:, None]).T @ X, X.T @ (d - mu), rcond=None)[0]
        for _ in range(30):
            new = loglik(*(beta + step))
            if new >= current - 1e-12:
                break
            step /= 2
        beta, gain, current = beta + step, new - current, new
        if np.max(np.abs(step)) < 1e-10 or abs(gain) < 1e-12:
            break
    return float(beta[0]), float(beta[1]), current


def with_calibration(model: IciModel, a: float, b: float, method: str) -> IciModel:
    """The model with ``a * L + b`` composed onto its calibration (the TIL term scaled alike).

    ``L`` is the final log-odds of a 6-month model, or the linear predictor of a curve model, whose
    baseline is kept: ``S(t) = exp(-H0(t) exp(a L + b))``. Every update goes through here."""
    cal = model.calibrator
    til = model.til_term.model_copy(update={"beta": a * model.til_term.beta, "se": abs(a) * model.til_term.se})
    # the TIL term's centring shifts with the slope: a * beta * (t - c) keeps its form
    return IciModel(model.family, model.base, Calibrator(method=method, a=a * cal.a, b=a * cal.b + b),
                    til, model.uncertainty, model.options, model.fit_ids, baseline=model.baseline)


def apply_curve_update(model: IciModel, pfs: pd.DataFrame, method: str) -> IciModel:
    """One update fitted on local PFS patients: ``intercept`` (baseline) or ``logistic`` (baseline and slope)."""
    if method == "none":
        return model
    if method not in CURVE_METHODS:
        raise InvalidPatientData(
            f"update --method {method}: expected one of {list(CURVE_METHODS)} for a model with a PFS curve (the "
            "baseline survival, then its slope, recalibrated on local PFS). Got '{method}' instead: use --method "
            "auto.")
    event, lp, h0 = _expected(model, pfs)
    a, b, _ = poisson_recalibration(event, lp, h0, slope=method == "logistic")
    return with_calibration(model, a, b, method)


def curve_closed_testing(model: IciModel, pfs: pd.DataFrame, *, min_events: dict[str, int], alpha: float = 0.05
                         ) -> tuple[str, str, list[dict], IciModel]:
    """Original -> baseline -> baseline and slope, each kept when the likelihood-ratio test says so."""
    event, lp, h0 = _expected(model, pfs)
    events = int(event.sum())
    allowed = [m for m in CURVE_METHODS if events >= min_events[m]]
    if not allowed:
        need = min_events["intercept"]
        raise InvalidPatientData(
            f"update: expected at least {need} local patients with a progression (or death) before "
            f"{model.baseline.horizon:g} months to recalibrate the curve. Got {events} among {len(pfs)} patients with "
            f"PFS instead: collect at least {need - events} more, or use the model as it is.")
    kept, kept_ll = "none", float(np.sum(event * lp - h0 * np.exp(lp)))
    n_params = {"none": 0, "intercept": 1, "logistic": 2}
    tests = []
    for method in allowed:
        _, _, ll = poisson_recalibration(event, lp, h0, slope=method == "logistic")
        stat = max(2 * (ll - kept_ll), 0.0)
        df = n_params[method] - n_params[kept]
        p = float(chi2_sf(stat, df))
        tests.append({"method": method, "versus": kept, "lr": stat, "df": df, "p": p})
        if p < alpha:
            kept, kept_ll = method, ll
    reason = (f"{events} local progressions among {len(pfs)} patients with PFS (censored ones with their follow-up) "
              f"allow {', '.join(allowed)} (for a curve model: intercept = the baseline survival scaled to the local "
              f"observed/expected events, logistic = baseline and slope); closed testing kept '{kept}'"
              + (" (no update fits the local PFS significantly better than the original model)" if kept == "none"
                 else ""))
    return kept, reason, tests, apply_curve_update(model, pfs, kept)


def _s_at(model: IciModel, patients: pd.DataFrame, t: float) -> np.ndarray:
    return np.exp(-float(model.baseline.at([t])[0]) * np.exp(model.score(patients)))


def compare_curve_update(model: IciModel, pfs: pd.DataFrame, method: str, *, seed: int, n_boot: int,
                         benefit_months: float = DCB_MONTHS, progress: Callable[[str], None] | None = None
                         ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], np.ndarray]:
    """Original vs updated, cross-validated on the local PFS patients (each fold updated on the others).

    Returns the comparison (one row per model: the 6-month metrics of :func:`binary_metrics` on the
    patients with a 6-month label, and ``mean_predicted_12m`` against ``km_12m`` with its CI on every
    patient with PFS), the calibration tables (6-month bins as today, and ``<name> S(12)`` by risk
    group), and the evaluable patients' 6-month outcome.
    """
    t = pfs["pfs_months"].to_numpy(float)
    e = pfs["pfs_event"].to_numpy(float)
    before = {m: _s_at(model, pfs, m) for m in (benefit_months, REPORT_MONTHS)}
    after = {m: v.copy() for m, v in before.items()}
    if method != "none":
        folds = int(min(5, e.sum(), (e == 0).sum())) if (e == 0).any() else 5
        strata = e if folds >= 2 else np.zeros_like(e)
        for tr, te in stratified_folds(strata, max(folds, 2), seed):
            fitted = apply_curve_update(model, pfs.iloc[tr], method)
            for m in after:
                after[m][te] = _s_at(fitted, pfs.iloc[te], m)
    known = (t >= benefit_months) | (e == 1)
    y = (t[known] >= benefit_months).astype(float)
    label = updated_label(method)
    rows, curves = [], {}
    km, km_low, km_high = km_ci_at(t, e, REPORT_MONTHS)
    for name, s in (("original", before), (label, after)):
        rows.append({"model": name, **binary_metrics(y, s[benefit_months][known], n_boot=n_boot, seed=seed),
                     "n_pfs": len(pfs), "mean_predicted_12m": float(np.mean(s[REPORT_MONTHS])), "km_12m": km,
                     "km_12m_low": km_low, "km_12m_high": km_high})
        curves[name] = local_calibration_table(y, s[benefit_months][known])
        curves[f"{name} S(12)"] = calibration_by_group(t, e, s[REPORT_MONTHS], REPORT_MONTHS, n_groups=4)
    return pd.DataFrame(rows), curves, y
