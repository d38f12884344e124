"""Time-to-event metrics for progression-free survival, with bootstrap confidence intervals.

Pure numeric functions on arrays: ``time`` in months (> 0), ``event`` 1 for progression or death
and 0 for censored, ``risk`` higher for earlier progression (for a probability of benefit ``p``,
pass ``-p``), ``surv`` predicted probabilities of being progression-free. No file I/O, no tracking.

* Kaplan-Meier with Greenwood variance and log(-log) 95% intervals (Kalbfleisch & Prentice 2002);
* Harrell's C (Harrell et al., Stat Med 1996) and Uno's C (Uno et al., Stat Med 2011), the latter
  weighted by the inverse of the *training* censoring distribution and truncated at ``tau``;
* the cumulative/dynamic time-dependent AUC at ``t`` (Uno et al., JASA 2007; Hung & Chiang 2010);
* the Brier score at ``t`` and its integral over time with inverse-probability-of-censoring
  weights (Graf et al., Stat Med 1999; Gerds & Schumacher, Biom J 2006);
* calibration of predicted S(t) against Kaplan-Meier within risk groups.

Censoring weights use the Kaplan-Meier estimate G of the censoring distribution on the training
patients, evaluated just before an event time (``G(T-)``) and at the horizon for patients still
at risk there (``G(t)``). With no tied times these are the weights scikit-survival uses.

>>> time = np.array([2.0, 4.0, 6.0, 8.0]); event = np.array([1, 1, 0, 1])
>>> harrell_c(time, event, risk=-time)
1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from icipredict.evaluation.bootstrap import _percentile_ci, _resample_indices

__all__ = [
    "check_survival",
    "kaplan_meier",
    "kaplan_meier_table",
    "km_at",
    "km_ci_at",
    "censoring_survival",
    "harrell_c",
    "uno_c",
    "td_auc",
    "brier_at",
    "integrated_brier",
    "calibration_by_group",
    "survival_bootstrap",
    "survival_bootstrap_ci",
    "survival_metrics",
    "survival_metrics_table",
]

_Z95 = 1.959963984540054
# Cells of the concordance count's rank table and of each slice of its direct comparisons: a few tens of MB.
_BLOCK_CELLS = 2_000_000


# --------------------------------------------------------------------------- validation


def check_survival(time, event, *others, names: Sequence[str] = ()) -> tuple[np.ndarray, ...]:
    """Return float ``time``, bool ``event`` and the float ``others``, all of one length.

    ``time`` must be finite and positive, ``event`` 0 or 1; the other arrays (risk scores,
    predictions) must have the same length and be finite.

    Examples
    --------
    >>> t, e = check_survival([1, 2], [1, 0])
    >>> t.tolist(), e.tolist()
    ([1.0, 2.0], [True, False])
    >>> check_survival([1, -2], [1, 0])
    Traceback (most recent call last):
    ...
    ValueError: time must be positive and finite (months). Got -2.0 at position 1 instead.
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.shape != e.shape:
        raise ValueError(f"time and event must have the same length. Got {t.size} and {e.size} instead.")
    bad = ~(np.isfinite(t) & (t > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"time must be positive and finite (months). Got {float(t[i])!r} at position {i} instead.")
    bad = ~np.isin(e, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"event must be 0 (censored) or 1 (progressed or died). Got {float(e[i])!r} at position {i} instead.")
    out: list[np.ndarray] = [t, e.astype(bool)]
    for k, other in enumerate(others):
        name = names[k] if k < len(names) else f"argument {k + 3}"
        a = np.asarray(other, dtype=float)
        if a.shape[0] != t.size:
            raise ValueError(f"{name} must have one row per patient ({t.size}). Got {a.shape[0]} instead.")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite. Got {int((~np.isfinite(a)).sum())} missing or infinite value(s) instead.")
        out.append(a)
    return tuple(out)


# --------------------------------------------------------------------------- Kaplan-Meier


def _km_steps(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct event times, number at risk, number of events and S just after each of them."""
    times, inverse = np.unique(t[e], return_inverse=True)
    d = np.bincount(inverse, minlength=times.size).astype(float)
    n = (t.size - np.searchsorted(np.sort(t), times, side="left")).astype(float)
    surv = np.cumprod(1.0 - d / n)
    return times, n, d, surv


def kaplan_meier(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate of the progression-free probability, at each distinct event time.

    Returns
    -------
    (times, surv) : tuple of arrays
        ``surv[k]`` is S just after ``times[k]``; S is 1 before the first event time and stays at
        ``surv[-1]`` after the last one (up to the last follow-up).

    Examples
    --------
    >>> times, surv = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    >>> times.tolist(), surv.round(4).tolist()
    ([1.0, 2.0, 3.0], [0.8, 0.6, 0.3])
    """
    t, e = check_survival(time, event)
    times, _, _, surv = _km_steps(t, e)
    return times, surv


def kaplan_meier_table(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier table with Greenwood standard errors and log(-log) confidence intervals.

    Columns ``time, n_at_risk, n_events, surv, se, low, high``; ``se`` is Greenwood's standard
    error of S, the interval is ``exp(-exp(log(-log S) +/- z * se / (S |log S|)))`` which stays
    inside [0, 1]. Where S is 0 or 1 the interval collapses to S.

    Examples
    --------
    >>> kaplan_meier_table([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])[["time", "n_at_risk", "surv"]].round(4).values.tolist()
    [[1.0, 5.0, 0.8], [2.0, 4.0, 0.6], [3.0, 2.0, 0.3]]
    """
    from scipy.special import ndtri

    t, e = check_survival(time, event)
    times, n, d, surv = _km_steps(t, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        cum = np.cumsum(d / (n * (n - d)))
        se = surv * np.sqrt(cum)
        z = ndtri(1 - alpha / 2)
        log_s = np.log(surv)
        half = z * np.sqrt(cum) / np.abs(log_s)
        low = np.exp(-np.exp(np.log(-log_s) + half))
        high = np.exp(-np.exp(np.log(-log_s) - half))
    edge = (surv <= 0) | (surv >= 1) | ~np.isfinite(low)
    low, high = np.where(edge, surv, low), np.where(edge, surv, high)
    return pd.DataFrame({"time": times, "n_at_risk": n, "n_events": d, "surv": surv, "se": se,
                         "low": low, "high": high})


def km_at(time, event, t: float) -> float:
    """Kaplan-Meier S(t); NaN when ``t`` is past the last follow-up time of a censored patient.

    Examples
    --------
    >>> round(km_at([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], 2.5), 4)
    0.6
    """
    return km_ci_at(time, event, t)[0]


def km_ci_at(time, event, t: float, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Kaplan-Meier S(t) with its log(-log) Greenwood confidence interval ``(s, low, high)``.

    NaN when ``t`` is past the longest follow-up and that patient was censored (the curve is not
    defined there); when the longest time is a progression the curve stays at its last value.

    Examples
    --------
    >>> s, low, high = km_ci_at([1, 2, 2, 3, 4, 5, 6], [1, 1, 0, 1, 0, 1, 0], 3.5)
    >>> bool(low < s < high), round(s, 4)
    (True, 0.5357)
    """
    t_arr, e = check_survival(time, event)
    if t > t_arr.max() and not e[t_arr == t_arr.max()].all():
        return (np.nan, np.nan, np.nan)
    table = kaplan_meier_table(t_arr, e, alpha=alpha)
    k = int(np.searchsorted(table["time"].to_numpy(), t, side="right")) - 1
    if k < 0:
        return (1.0, 1.0, 1.0)
    row = table.iloc[k]
    return (float(row["surv"]), float(row["low"]), float(row["high"]))


def censoring_survival(train_time, train_event) -> Callable[[np.ndarray, bool], np.ndarray]:
    """Kaplan-Meier estimate G of the censoring distribution, as a function of time.

    A progression and a censoring at the same time count the progression first (the censored
    patient was still at risk). The returned ``G(t, left=False)`` gives G at ``t``, or just before
    ``t`` with ``left=True``; after the last training time it stays at its last value.

    Examples
    --------
    >>> G = censoring_survival([1, 2, 3, 4], [1, 0, 1, 0])
    >>> G(np.array([1.0, 2.0, 3.0])).round(4).tolist(), G(np.array([2.0]), left=True).tolist()
    ([1.0, 0.6667, 0.6667], [1.0])
    """
    t, e = check_survival(train_time, train_event)
    times, inverse = np.unique(t[~e], return_inverse=True)
    c = np.bincount(inverse, minlength=times.size).astype(float)
    # At risk of censoring at s: followed to s or later, minus those progressing at s.
    n = t.size - np.searchsorted(np.sort(t), times, side="left") - np.searchsorted(np.sort(t[e]), times, side="right") \
        + np.searchsorted(np.sort(t[e]), times, side="left")
    g = np.cumprod(1.0 - c / n)

    def G(at: np.ndarray, left: bool = False) -> np.ndarray:
        k = np.searchsorted(times, np.asarray(at, dtype=float), side="left" if left else "right") - 1
        if g.size == 0:
            return np.ones(np.shape(at))
        return np.where(k >= 0, g[np.maximum(k, 0)], 1.0)

    return G


# --------------------------------------------------------------------------- concordance


def _concordance(t: np.ndarray, e: np.ndarray, risk: np.ndarray, weight: np.ndarray):
    """Weighted concordance over comparable pairs: i progressed before j was last seen.

    A pair (i, j) is comparable when i progressed and j was followed longer, or j was censored at
    the same time; ties in risk count one half. Each pair weighs what its progressed patient i
    weighs: ``weight`` is one weight per patient (a float is returned) or a stack of them (one value
    per row: Harrell's and Uno's C from one count of the pairs).

    The count takes O(n sqrt(n)), not O(n^2): with the patients ordered by time, longest first and
    the censored first among equal times, the patients comparable with i are a prefix of that order;
    a table of risk-rank counts per block of sqrt(n) patients answers the prefix's whole blocks at
    once, and the last, partial block is compared directly (past about 45,000 patients the blocks grow so
    that the table stays within ``_BLOCK_CELLS``).
    """
    W = np.atleast_2d(np.asarray(weight, dtype=float))
    rows = np.flatnonzero(e & (W > 0).any(axis=0))
    if rows.size == 0:
        c = np.full(len(W), np.nan)
        return float(c[0]) if np.ndim(weight) == 1 else c
    order = np.lexsort((e, -t))  # longest time first; among equal times the censored (e = 0) first
    rank_all = np.unique(risk, return_inverse=True)[1].ravel()  # dense ranks of the risks
    ranks, rank_i = rank_all[order], rank_all[rows]  # in the prefix order; of the progressed patients
    ti = t[rows]
    censored = np.sort(t[~e])
    prefix = (t.size - np.searchsorted(np.sort(t), ti, side="right")
              + np.searchsorted(censored, ti, side="right") - np.searchsorted(censored, ti, side="left"))
    k = int(rank_all.max()) + 1
    block = max(16, int(np.sqrt(t.size)), -(-t.size * k // _BLOCK_CELLS))  # the rank table stays within the bound
    n_blocks = -(-t.size // block)
    # counts[b, q]: patients in the first b blocks with a rank below q (b = 0 .. n_blocks, q = 0 .. k)
    per_block = np.bincount((np.arange(t.size) // block) * k + ranks, minlength=n_blocks * k).reshape(n_blocks, k)
    counts = np.zeros((n_blocks + 1, k + 1))
    counts[1:, 1:] = np.cumsum(np.cumsum(per_block, axis=0), axis=1)
    full = prefix // block
    below, at_most = counts[full, rank_i], counts[full, rank_i + 1]
    step = max(1, _BLOCK_CELLS // block)
    for a in range(0, rows.size, step):  # the prefix's last, partial block, compared directly
        q = slice(a, a + step)
        rest = full[q, None] * block + np.arange(block)[None, :]
        inside = rest < prefix[q, None]
        vals = ranks[np.minimum(rest, t.size - 1)]
        below[q] += np.sum(inside & (vals < rank_i[q, None]), axis=1)
        at_most[q] += np.sum(inside & (vals <= rank_i[q, None]), axis=1)
    num = W[:, rows] @ (below + 0.5 * (at_most - below))
    den = W[:, rows] @ prefix.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(c[0]) if np.ndim(weight) == 1 else c


def _concordance_pairs(t: np.ndarray, e: np.ndarray, risk: np.ndarray, weight: np.ndarray) -> float:
    """:func:`_concordance` by looking at every pair (the definition; the tests compare the two)."""
    comparable = e[:, None] & ((t[None, :] > t[:, None]) | ((t[None, :] == t[:, None]) & ~e[None, :]))
    score = (risk[:, None] > risk[None, :]) + 0.5 * (risk[:, None] == risk[None, :])
    den = float(np.sum(weight[:, None] * comparable))
    return float(np.sum(weight[:, None] * comparable * score)) / den if den > 0 else np.nan


def harrell_c(time, event, risk) -> float:
    """Harrell's concordance index: the share of comparable pairs ranked in the right order.

    Examples
    --------
    >>> t = [1, 2, 3, 4]; e = [1, 1, 1, 0]
    >>> harrell_c(t, e, risk=[4, 3, 2, 1]), harrell_c(t, e, risk=[1, 2, 3, 4]), harrell_c(t, e, [0, 0, 0, 0])
    (1.0, 0.0, 0.5)
    """
    t, e, r = check_survival(time, event, risk, names=("risk",))
    return _concordance(t, e, r, np.ones_like(t))


def uno_c(time, event, risk, *, train_time, train_event, tau: float | None = None) -> float:
    """Uno's concordance index, truncated at ``tau``, with training-censoring weights.

    Each comparable pair whose earlier time ``T_i < tau`` is weighted by ``G(T_i-)^-2``, G the
    Kaplan-Meier censoring distribution of the training patients, which makes the estimate free of
    the censoring pattern of the evaluated cohort (Uno et al., Stat Med 2011). ``tau`` defaults to
    the last training time; choose it where the censoring distribution is still well above 0.

    Examples
    --------
    >>> t = np.array([1.0, 2, 3, 4, 5]); e = np.array([1, 1, 0, 1, 0])
    >>> uno_c(t, e, -t, train_time=t, train_event=e, tau=4.5)
    1.0
    """
    t, e, r = check_survival(time, event, risk, names=("risk",))
    G = censoring_survival(train_time, train_event)
    tau = float(np.max(np.asarray(train_time, dtype=float))) if tau is None else float(tau)
    g = G(t, left=True)
    with np.errstate(divide="ignore"):
        w = np.where((t < tau) & (g > 0), 1.0 / g**2, 0.0)
    return _concordance(t, e, r, w)


def td_auc(time, event, risk, t: float, *, train_time, train_event) -> float:
    """Cumulative/dynamic AUC at ``t``: progressed by ``t`` (cases) against still free at ``t``.

    Cases are weighted by ``1 / G(T_i-)`` from the training censoring distribution; patients
    censored before ``t`` are neither cases nor controls. Ties in risk count one half. NaN when
    there are no cases or no controls.

    Examples
    --------
    >>> tt = np.array([1.0, 2, 3, 7, 8, 9]); e = np.array([1, 1, 0, 1, 0, 1])
    >>> td_auc(tt, e, -tt, 6.0, train_time=tt, train_event=e)
    1.0
    """
    tt, e, r = check_survival(time, event, risk, names=("risk",))
    G = censoring_survival(train_time, train_event)
    case = e & (tt <= t)
    control = tt > t
    if not case.any() or not control.any():
        return np.nan
    g = G(tt[case], left=True)
    w = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), 0.0)
    rc, rn = r[case][:, None], r[control][None, :]
    score = ((rc > rn) + 0.5 * (rc == rn)).mean(axis=1)
    return float(np.sum(w * score) / np.sum(w))


# --------------------------------------------------------------------------- Brier


def _brier_weights(tt: np.ndarray, e: np.ndarray, t: float, G) -> tuple[np.ndarray, np.ndarray]:
    """IPCW weights of cases (progressed by t) and of patients still free at t (Graf et al. 1999)."""
    case = e & (tt <= t)
    g_case = G(tt, left=True)
    g_t = float(G(np.array([t]))[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        w_case = np.where(case & (g_case > 0), 1.0 / g_case, 0.0)
        w_free = np.where((tt > t) & (g_t > 0), 1.0 / g_t if g_t > 0 else 0.0, 0.0)
    return w_case, w_free


def brier_at(time, event, surv_t, t: float, *, train_time, train_event) -> float:
    """Brier score at ``t`` of predicted progression-free probabilities ``surv_t = S(t)``.

    ``mean(w_i (1{T_i > t} - S_i(t))^2)`` with ``w = 1/G(T_i-)`` for patients who progressed by
    ``t``, ``1/G(t)`` for those still free at ``t`` and 0 for those censored before ``t``.

    Examples
    --------
    >>> tt = np.array([1.0, 2, 3, 7]); e = np.array([1, 1, 1, 1])
    >>> brier_at(tt, e, np.array([0.0, 0.0, 0.0, 1.0]), 5.0, train_time=tt, train_event=e)
    0.0
    """
    tt, e, s = check_survival(time, event, surv_t, names=("surv_t",))
    G = censoring_survival(train_time, train_event)
    w_case, w_free = _brier_weights(tt, e, t, G)
    return float(np.mean(w_case * s**2 + w_free * (1.0 - s) ** 2))


def integrated_brier(time, event, surv, times, *, train_time, train_event) -> float:
    """Brier score integrated over ``times`` (trapezoid rule) and divided by their span.

    ``surv`` has one row per patient and one column per entry of ``times`` (increasing). Lower is
    better; predicting the training Kaplan-Meier curve for everyone is the null model to beat.

    Examples
    --------
    >>> tt = np.array([1.0, 2, 3, 7]); e = np.array([1, 1, 1, 1]); grid = np.array([1.5, 2.5, 5.0])
    >>> perfect = (tt[:, None] > grid[None, :]).astype(float)
    >>> integrated_brier(tt, e, perfect, grid, train_time=tt, train_event=e)
    0.0
    """
    grid = np.asarray(times, dtype=float).ravel()
    if grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError(f"times must be at least two increasing values. Got {grid.tolist()} instead.")
    tt, e, s = check_survival(time, event, surv, names=("surv",))
    if s.ndim != 2 or s.shape[1] != grid.size:
        raise ValueError(f"surv must have one column per time ({grid.size}). Got shape {s.shape} instead.")
    G = censoring_survival(train_time, train_event)
    scores = np.empty(grid.size)
    for k, t in enumerate(grid):
        w_case, w_free = _brier_weights(tt, e, t, G)
        scores[k] = np.mean(w_case * s[:, k] ** 2 + w_free * (1.0 - s[:, k]) ** 2)
    return float(np.trapezoid(scores, grid) / (grid[-1] - grid[0]))


# --------------------------------------------------------------------------- calibration


def calibration_by_group(time, event, s_pred, t: float, *, n_groups: int = 4, alpha: float = 0.05) -> pd.DataFrame:
    """Mean predicted S(t) against the Kaplan-Meier S(t) in groups of equal size by predicted S(t).

    Returns one row per group, from the highest risk (lowest predicted S) to the lowest, with
    columns ``group, n, n_events, mean_predicted, observed, observed_low, observed_high``. The
    observed value is NaN when a group's follow-up ends before ``t``.

    Examples
    --------
    >>> rng = np.random.default_rng(0); s = rng.uniform(0.2, 0.9, 400)
    >>> tt = rng.exponential(-6 / np.log(s)); e = np.ones(400)
    >>> table = calibration_by_group(tt, e, s, 6.0, n_groups=2)
    >>> table["n"].tolist(), bool((table["observed"] - table["mean_predicted"]).abs().max() < 0.1)
    ([200, 200], True)
    """
    if n_groups < 1:
        raise ValueError(f"n_groups must be a positive integer. Got {n_groups!r} instead.")
    tt, e, s = check_survival(time, event, s_pred, names=("s_pred",))
    order = np.argsort(s, kind="stable")
    groups = np.empty(s.size, dtype=int)
    groups[order] = np.arange(s.size) * n_groups // max(s.size, 1)
    rows = []
    for g in range(n_groups):
        m = groups == g
        if not m.any():
            continue
        observed, low, high = km_ci_at(tt[m], e[m], t, alpha=alpha)
        rows.append({"group": g + 1, "n": int(m.sum()), "n_events": int(e[m].sum()),
                     "mean_predicted": float(s[m].mean()), "observed": observed,
                     "observed_low": low, "observed_high": high})
    return pd.DataFrame(rows, columns=["group", "n", "n_events", "mean_predicted", "observed",
                                       "observed_low", "observed_high"])


# --------------------------------------------------------------------------- bootstrap


def survival_bootstrap(statistic: Callable[[np.ndarray], Sequence[float]], event, *, n_boot: int = 1000,
                       seed: int = 0) -> np.ndarray:
    """``statistic(idx)`` on ``n_boot`` patient resamples, stratified by event when both occur.

    ``statistic`` receives an index array into the patients and returns one or more numbers; the
    result has one row per resample. Resampling progressed and censored patients separately (the
    same helper as the binary metrics) keeps the number of events of the cohort.

    Examples
    --------
    >>> e = np.array([1, 0, 1, 1])
    >>> survival_bootstrap(lambda i: [e[i].sum()], e, n_boot=3).ravel().tolist()
    [3.0, 3.0, 3.0]
    """
    e = np.asarray(event, dtype=float).ravel()
    rng = np.random.default_rng(seed)
    stratified = 0 < e.sum() < e.size
    idx = _resample_indices(e, n_boot, rng, stratified)
    return np.array([np.atleast_1d(np.asarray(statistic(i), dtype=float)) for i in idx], dtype=float)


def survival_bootstrap_ci(statistic: Callable[[np.ndarray], float], event, *, n_boot: int = 1000, seed: int = 0,
                          alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap interval of one survival statistic of a patient index array.

    Examples
    --------
    >>> rng = np.random.default_rng(0); t = rng.exponential(5, 200) + 0.1; e = rng.random(200) < 0.7
    >>> low, high = survival_bootstrap_ci(lambda i: harrell_c(t[i], e[i], -t[i]), e, n_boot=50)
    >>> low, high
    (1.0, 1.0)
    """
    if n_boot == 0:
        return (np.nan, np.nan)
    stats = survival_bootstrap(lambda i: [statistic(i)], event, n_boot=n_boot, seed=seed)[:, 0]
    return _percentile_ci(stats, alpha)


# --------------------------------------------------------------------------- summaries


def survival_metrics(
    time,
    event,
    risk,
    *,
    train_time,
    train_event,
    surv_at: Mapping[float, np.ndarray] | None = None,
    tau: float | None = None,
    auc_times: Sequence[float] = (6.0, 12.0),
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, float | int]:
    """Harrell's and Uno's C, td-AUC at ``auc_times`` and the Brier score of S(t), with 95% CIs.

    ``surv_at`` maps a time to the predicted S(t) of every patient (e.g. ``{6: s6, 12: s12}``);
    each gets ``brier_<t>m`` and ``mean_predicted_<t>m`` beside the Kaplan-Meier
    ``km_<t>m`` (with its CI). Every statistic is bootstrapped on the same resamples.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.normal(size=300)
    >>> tt = rng.exponential(np.exp(-x) * 8) + 0.01; e = (rng.random(300) < 0.8).astype(int)
    >>> m = survival_metrics(tt, e, x, train_time=tt, train_event=e, n_boot=20)
    >>> m["n"], m["n_events"], bool(m["harrell_c_low"] < m["harrell_c"] < m["harrell_c_high"])
    (300, 236, True)
    """
    tt, e, r = check_survival(time, event, risk, names=("risk",))
    surv_at = {float(k): check_survival(tt, e, v, names=(f"S({k:g})",))[2] for k, v in (surv_at or {}).items()}
    train_t, train_e = check_survival(train_time, train_event)
    if tau is None:
        tau = float(min(train_t.max(), tt.max()))

    def stats(i: np.ndarray) -> list[float]:
        out = [harrell_c(tt[i], e[i], r[i]), uno_c(tt[i], e[i], r[i], train_time=train_t, train_event=train_e, tau=tau)]
        out += [td_auc(tt[i], e[i], r[i], t, train_time=train_t, train_event=train_e) for t in auc_times]
        out += [brier_at(tt[i], e[i], s[i], t, train_time=train_t, train_event=train_e) for t, s in surv_at.items()]
        return out

    names = ["harrell_c", "uno_c", *(f"td_auc_{t:g}m" for t in auc_times), *(f"brier_{t:g}m" for t in surv_at)]
    point = stats(np.arange(tt.size))
    boot = survival_bootstrap(stats, e, n_boot=n_boot, seed=seed) if n_boot else np.full((0, len(names)), np.nan)
    result: dict[str, float | int] = {"n": int(tt.size), "n_events": int(e.sum()), "uno_tau": tau}
    for k, name in enumerate(names):
        low, high = _percentile_ci(boot[:, k], 0.05) if n_boot else (np.nan, np.nan)
        result.update({name: float(point[k]), f"{name}_low": low, f"{name}_high": high})
    for t, s in surv_at.items():
        km, low, high = km_ci_at(tt, e, t)
        result.update({f"mean_predicted_{t:g}m": float(s.mean()), f"km_{t:g}m": km,
                       f"km_{t:g}m_low": low, f"km_{t:g}m_high": high})
    return result


def survival_metrics_table(
    frame: pd.DataFrame,
    *,
    time: str = "pfs_months",
    event: str = "pfs_event",
    risks: Mapping[str, str],
    surv_columns: Mapping[str, Mapping[float, str]] | None = None,
    group: str | None = "cohort",
    train_time=None,
    train_event=None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row of :func:`survival_metrics` per (cohort, model), per cohort and pooled.

    ``risks`` maps a model name to its risk column (higher = earlier progression);
    ``surv_columns`` maps a model name to ``{t: column of predicted S(t)}``. Patients without a
    time, an event or a risk are left out of that model's row and counted in ``n_missing``. The
    censoring weights come from ``train_time``/``train_event`` (default: the pooled frame).

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": list("aaabbb"), "pfs_months": [1.0, 5, 9, 2, 4, 8],
    ...                    "pfs_event": [1, 1, 0, 1, 0, 1], "r": [3.0, 2, 1, 3, 2, 1]})
    >>> survival_metrics_table(df, risks={"m": "r"}, n_boot=0)[["cohort", "n", "harrell_c"]].round(3).values.tolist()
    [['a', 3, 1.0], ['b', 3, 1.0], ['pooled', 6, 0.917]]
    """
    columns = [time, event, *risks.values(), *(c for m in (surv_columns or {}).values() for c in m.values())]
    columns += [group] if group is not None else []
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame must have the columns {columns}. Got no column(s) {missing} instead.")
    known = frame[time].notna() & frame[event].notna()
    if train_time is None:
        train_time = frame.loc[known, time].to_numpy(dtype=float)
        train_event = frame.loc[known, event].to_numpy(dtype=float)
    parts: list[tuple[str, pd.DataFrame]] = []
    if group is not None:
        parts += [(str(k), p) for k, p in frame.groupby(group, sort=True, dropna=False)]
    parts.append(("pooled", frame))
    rows = []
    for cohort, part in parts:
        for model, column in risks.items():
            surv_cols = dict((surv_columns or {}).get(model, {}))
            keep = part[[time, event, column, *surv_cols.values()]].notna().all(axis=1)
            use = part.loc[keep]
            row: dict = {"cohort": cohort, "model": model, "n_missing": int((~keep).sum())}
            if len(use) >= 2 and use[event].sum() > 0:
                row.update(survival_metrics(
                    use[time].to_numpy(dtype=float), use[event].to_numpy(dtype=float), use[column].to_numpy(dtype=float),
                    train_time=train_time, train_event=train_event,
                    surv_at={t: use[c].to_numpy(dtype=float) for t, c in surv_cols.items()},
                    n_boot=n_boot, seed=seed))
            else:
                row.update({"n": int(len(use)), "n_events": int(use[event].sum())})
            rows.append(row)
    return pd.DataFrame(rows)
