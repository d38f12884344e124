"""Selecting, calibrating and fitting the time-to-event families by leave-one-study-out.

The same scheme as :mod:`icipredict.selection` for the 6-month families, on survival outcomes:

* every patient with a PFS time and event flag counts, censored ones with their follow-up
  (censored before 6 months included: the 6-month yes/no leaves them out);
* each candidate is fitted leaving each validation study out in turn, and its out-of-study
  curves are scored per patient by the integrated Brier score (inverse-probability-of-censoring
  weights from the pooled validation patients' censoring, monthly from 1 month to the last month
  with at least 10 patients at risk, at most 24); then, as for the 6-month models: the candidates
  within one standard error of the best (paired per-patient differences), among them those within
  :data:`C_TIE` of the best concordance (Harrell's C counted within each study, so that baseline
  differences between studies do not count as ranking), among them those whose out-of-study
  calibration slope is at least :data:`~icipredict.selection.MIN_SLOPE`, and the simplest;
* calibration ``slope``: the Cox slope of the outcomes on the out-of-study linear predictors
  (stratified by study), capped to [0, 1], with the baseline hazard re-estimated by Breslow on the
  development data under the shrunk linear predictor (the Cox analogue of the 6-month model's
  slope-then-intercept); ``none`` keeps the fit's own;
* the centre's spread ``tau``: DerSimonian-Laird over the held-out studies' log observed/expected
  events (the Cox calibration-in-the-large), on the linear predictor, so that it widens every
  patient's band as it widens ``p_low`` / ``p_high`` today;
* the TIL term: the cited log hazard ratio (:func:`icipredict.clinical.evidence.til_prior_log_hr`),
  updated by patients with a TIL measure when there are enough (a Cox fit with the rest of the
  linear predictor as offset and the prior as the penalty's centre).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icipredict.fitting.folds import stratified_folds
from icipredict.clinical.evidence import TIL_CENTRE, til_prior_log_hr
from icipredict.evaluation.metrics import dersimonian_laird
from icipredict.evaluation.survival import censoring_survival
from icipredict.exceptions import InvalidPatientData
from icipredict.model.metadata import Calibrator, FeatureOptions, TilTerm
from icipredict.model.survival import Baseline, check_outcomes, cox_newton, horizon, risk_sums
from icipredict.model.models import IciModel, make_base, prepare
from icipredict.progress import progress_iter
from icipredict.fitting.selection import Candidate, IECVResult, choose_candidate, set_uncertainty
from icipredict.table.vocab import CALIBRATION_METHODS, DCB_MONTHS

__all__ = ["SurvivalSelection", "select_survival", "fit_final_survival", "internal_external_survival",
           "learn_til_term_cox", "cox_slope", "within_study_c", "C_TIE", "MIN_EVENTS"]

#: Concordance differences below this count as ties.
C_TIE = 0.01
#: A validation study needs at least this many events.
MIN_EVENTS = 5


def _groups(cohort: np.ndarray, event: np.ndarray, *, min_group_n: int, folds: int, seed: int):
    cohort = np.asarray(cohort, dtype=object).astype(str)
    eligible = [c for c in sorted(set(cohort)) if (cohort == c).sum() >= min_group_n
                and event[cohort == c].sum() >= MIN_EVENTS]
    if len(eligible) >= 2:
        return np.where(np.isin(cohort, eligible), cohort, ""), "leave-one-study-out"
    n_splits = int(max(2, min(folds, int(event.sum()), int((1 - event).sum()) or folds)))
    groups = np.empty(len(event), dtype=object)
    for k, (_, te) in enumerate(stratified_folds(event, n_splits, seed), start=1):
        groups[te] = f"fold {k}"
    return groups.astype(str), "pooled folds"


def within_study_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray, strata: np.ndarray) -> float:
    """Harrell's C over the pairs within each stratum (study), pooled: (concordant + ties/2) / comparable."""
    num = den = 0.0
    for s in np.unique(strata):
        m = strata == s
        t, e, r = time[m], event[m] == 1, risk[m]
        i = np.flatnonzero(e)
        if i.size == 0:
            continue
        comparable = (t[None, :] > t[i, None]) | ((t[None, :] == t[i, None]) & ~e[None, :])
        score = (r[i, None] > r[None, :]) + 0.5 * (r[i, None] == r[None, :])
        num += float(np.sum(comparable * score))
        den += float(np.sum(comparable))
    return num / den if den else np.nan


def cox_slope(lp: np.ndarray, time: np.ndarray, event: np.ndarray, strata: np.ndarray) -> float:
    """The Cox regression slope of the outcomes on a linear predictor, a baseline per stratum (study)."""
    lp, time, event, strata = (np.asarray(v) for v in (lp, time, event, strata))
    keep = [s for s in np.unique(strata) if event[strata == s].sum() > 0]
    slope = 1.0
    for _ in range(50):
        grad = info = 0.0
        for s in keep:
            m = strata == s
            x = lp[m, None].astype(float)
            r = risk_sums(slope * x[:, 0], time[m].astype(float), event[m].astype(float), x)
            mean = r["S1"][:, 0] / r["S0"]
            grad += r["xsum"][0] - float(np.sum(r["d"] * mean))
            info += float(np.sum(r["d"] * (r["S2"][:, 0, 0] / r["S0"] - mean ** 2)))
        if info <= 0:
            return 0.0
        step = grad / info
        slope += step
        if abs(step) < 1e-9:
            break
    return float(slope)


@dataclass
class _OutOfGroup:
    """Each validation row's linear predictor from a model fitted without its group, and each fold model's
    linear predictor of its own training rows (for the baseline after shrinkage)."""

    lp: np.ndarray
    folds: dict[str, tuple[np.ndarray, np.ndarray]]


def _out_of_group(cand: Candidate, data: pd.DataFrame, time, event, groups, options, seed) -> _OutOfGroup:
    lp = np.full(len(time), np.nan)
    folds = {}
    for g in sorted(set(groups) - {""}):
        test = groups == g
        base = make_base(cand.family, cand.base_params(), options=options, random_state=seed)
        base.fit(data.loc[~test], time[~test], event[~test])
        lp[test] = base.decision_function(data.loc[test])
        folds[g] = (~test, base.decision_function(data.loc[~test]))
    return _OutOfGroup(lp, folds)


def _calibrated(oog: _OutOfGroup, time, event, groups, method: str) -> tuple[np.ndarray, dict[str, Baseline]]:
    """Out-of-group linear predictors under a calibration method (fitted out of group), and each
    group's baseline (from its fold's training rows)."""
    lp = np.full(len(time), np.nan)
    bases = {}
    rows = groups != ""
    for g in sorted(set(groups) - {""}):
        test = groups == g
        train, lp_in = oog.folds[g]
        a = 1.0
        if method == "slope":
            others = rows & ~test
            a = float(np.clip(cox_slope(oog.lp[others], time[others], event[others], groups[others]), 0.0, 1.0))
        lp[test] = a * oog.lp[test]
        bases[g] = Baseline.fit(a * lp_in, time[train], event[train])
    return lp, bases


def _brier_each(time, event, surv: np.ndarray, grid: np.ndarray, G) -> np.ndarray:
    """Each patient's IPCW Brier score integrated over ``grid`` (trapezoid, divided by the span)."""
    out = np.zeros((len(time), len(grid)))
    g_case = G(time, left=True)
    for k, t in enumerate(grid):
        g_t = float(G(np.array([t]))[0])
        case = (event == 1) & (time <= t)
        w_case = np.where(case & (g_case > 0), 1.0 / np.where(g_case > 0, g_case, 1.0), 0.0)
        w_free = np.where((time > t) & (g_t > 0), 1.0 / g_t if g_t > 0 else 0.0, 0.0)
        out[:, k] = w_case * surv[:, k] ** 2 + w_free * (1.0 - surv[:, k]) ** 2
    return np.trapezoid(out, grid, axis=1) / (grid[-1] - grid[0])


def _score_grid(time, event) -> np.ndarray:
    end = min(24.0, np.floor(horizon(time, event)))
    return np.arange(1.0, max(end, 7.0) + 1.0)


@dataclass
class SurvivalSelection:
    """What :func:`select_survival` chose, and why (the fields of :class:`icipredict.selection.Selection`)."""

    candidate: Candidate
    calibration: str
    scheme: str
    groups: np.ndarray
    oog: _OutOfGroup
    scores: pd.DataFrame
    tau: float = 0.0
    tau_note: str = ""


def select_survival(rows: pd.DataFrame, time, event, candidates: list[Candidate], *, options: FeatureOptions,
                    calibrations: list[str], min_group_n: int, folds: int, seed: int,
                    progress: Callable[[str], None] = lambda m: None) -> SurvivalSelection:
    """Score every time-to-event candidate and calibration out of group and choose (module docstring)."""
    time, event = check_outcomes(time, event, rows["patient_id"].astype(str).to_numpy())
    groups, scheme = _groups(rows["cohort"].to_numpy(), event, min_group_n=min_group_n, folds=folds, seed=seed)
    val = groups != ""
    grid = _score_grid(time[val], event[val])
    G = censoring_survival(time[val], event[val])
    prepared: dict[str, pd.DataFrame] = {}
    records, losses, oogs = [], {}, {}
    for i, cand in enumerate(progress_iter(progress, candidates, f"model selection ({scheme}, PFS)",
                                           unit="candidates")):
        if cand.family not in prepared:
            prepared[cand.family] = prepare(cand.family, rows, options)
        oog = _out_of_group(cand, prepared[cand.family], time, event, groups, options, seed)
        oogs[i] = oog
        c_index = within_study_c(time[val], event[val], oog.lp[val], groups[val])
        slope = cox_slope(oog.lp[val], time[val], event[val], groups[val])
        for method in calibrations:
            lp, bases = _calibrated(oog, time, event, groups, method)
            surv = np.empty((len(time), len(grid)))
            for g, base in bases.items():
                m = groups == g
                surv[m] = np.exp(-np.outer(np.exp(lp[m]), base.uncut(grid)))
            each = _brier_each(time[val], event[val], surv[val], grid, G)
            losses[(i, method)] = each
            records.append({"candidate": i, "label": cand.label, "family": cand.family, "calibration": method,
                            "integrated_brier": float(each.mean()), "c_index": c_index, "slope": slope,
                            "n": int(val.sum()), "n_events": int(event[val].sum()),
                            "complexity": cand.complexity(), "cal_rank": CALIBRATION_METHODS.index(method)})
    scores = pd.DataFrame(records)
    chosen = choose_candidate(scores, losses, loss="integrated_brier", rank="c_index", tie=C_TIE)
    scores["selected"] = (scores["candidate"] == chosen["candidate"]) & (scores["calibration"] == chosen["calibration"])
    sel = SurvivalSelection(candidates[int(chosen["candidate"])], str(chosen["calibration"]), scheme, groups,
                            oogs[int(chosen["candidate"])], scores.drop(columns=["complexity", "cal_rank"]))
    sel.tau, sel.tau_note = _heterogeneity(sel, time, event)
    return sel


def _heterogeneity(sel: SurvivalSelection, time, event) -> tuple[float, str]:
    """Between-study SD of the log observed/expected events of the selected, calibrated out-of-study curves."""
    if sel.scheme != "leave-one-study-out":
        return 0.0, "one training study: the between-centre spread cannot be estimated (0 used)"
    lp, bases = _calibrated(sel.oog, time, event, sel.groups, sel.calibration)
    est, se = [], []
    for g, base in bases.items():
        m = sel.groups == g
        observed = float(event[m].sum())
        expected = float(np.sum(base.uncut(time[m]) * np.exp(lp[m])))
        if observed > 0 and expected > 0:
            est.append(np.log(observed / expected))
            se.append(1 / np.sqrt(observed))
    tau = dersimonian_laird(np.array(est), np.array(se))["tau"] if len(est) >= 2 else 0.0
    return float(tau), (f"DerSimonian-Laird tau of the log observed/expected events over {len(est)} held-out "
                        "studies (leave-one-study-out), on the linear predictor")


def learn_til_term_cox(til: np.ndarray, time, event, offset: np.ndarray, prior: tuple[float, float],
                       centre: float = TIL_CENTRE, min_patients: int = 30) -> TilTerm:
    """The TIL term of a time-to-event model: the cited log HR, updated by patients with a known TIL status.

    Maximises the Cox partial likelihood of ``offset + beta * (til - centre)`` over those patients plus
    the normal prior's log-density (the prior is the ridge penalty's centre); SE from the curvature.
    """
    beta0, se0 = prior
    til = np.asarray(til, dtype=float)
    known = ~np.isnan(til)
    base = dict(centre=centre, prior_beta=beta0, prior_se=se0)
    n_known = int(known.sum())
    if n_known < min_patients or np.asarray(event)[known].sum() < 2:
        note = (f"{n_known} training patients with a TIL measure (fewer than {min_patients} or under 2 events): "
                "the cited log hazard ratio alone")
        return TilTerm(beta=beta0, se=se0, source="prior", note=note, n_patients=n_known, **base)
    x = (til[known] - centre)[:, None]
    b, H, _ = cox_newton(x, np.asarray(time)[known], np.asarray(event)[known], 1.0 / (se0 ** 2 * n_known),
                         centre=np.array([beta0]), offset=np.asarray(offset, dtype=float)[known])
    return TilTerm(beta=float(b[0]), se=float(1 / np.sqrt(H[0, 0])), source="learned", n_patients=n_known,
                   n_events=int(np.asarray(event)[known].sum()),
                   note="the cited log hazard ratio updated by the training patients' TIL data", **base)


def fit_final_survival(selection: SurvivalSelection, rows: pd.DataFrame, time, event, *, options: FeatureOptions,
                       seed: int, til_prior_on: bool = True, til_min_patients: int = 30,
                       level: float = 0.9) -> IciModel:
    """The selected candidate fitted on every row, its slope from its out-of-group linear predictors,
    the TIL term, and the Breslow baseline of the whole calibrated linear predictor."""
    time, event = check_outcomes(time, event, rows["patient_id"].astype(str).to_numpy())
    cand = selection.candidate
    base = make_base(cand.family, cand.base_params(), options=options, random_state=seed)
    data = prepare(cand.family, rows, options)
    base.fit(data, time, event)
    lp_in = base.decision_function(data)
    val = selection.groups != ""
    a = 1.0
    if selection.calibration == "slope":
        a = float(np.clip(cox_slope(selection.oog.lp[val], time[val], event[val], selection.groups[val]), 0.0, 1.0))
    calibrator = Calibrator(method="slope" if selection.calibration == "slope" else "none", a=a, b=0.0)
    model = IciModel(cand.family, base, calibrator, options=options, fit_ids=frozenset(map(str, rows["patient_id"])))
    inputs = model.inputs(rows)
    til = inputs["til"].to_numpy(dtype=float)
    if til_prior_on:
        offset = a * np.where(val, np.nan_to_num(selection.oog.lp), lp_in)
        model.til_term = learn_til_term_cox(til, time, event, offset, til_prior_log_hr(), min_patients=til_min_patients)
    eta = a * lp_in + model.til_term.contribution(til)
    model.baseline = Baseline.fit(eta, time, event)
    if model.baseline.horizon < DCB_MONTHS:
        raise InvalidPatientData(
            f"training PFS: expected follow-up that supports the curve to {DCB_MONTHS:g} months (at least "
            f"{model.baseline.min_at_risk} patients at risk). Got a horizon of {model.baseline.horizon:g} months "
            "instead: too few patients followed beyond it.")
    set_uncertainty(model, rows, level, selection, covariance_family="spline_cox")
    return model


@dataclass
class SurvivalIECV(IECVResult):
    """:class:`~icipredict.selection.IECVResult` plus each held-out PFS patient's out-of-study linear predictor."""

    survival: pd.DataFrame = field(default_factory=pd.DataFrame)


def internal_external_survival(rows: pd.DataFrame, y: np.ndarray, pfs: pd.DataFrame, candidates: list[Candidate], *,
                               options: FeatureOptions, calibrations: list[str], min_group_n: int, folds: int,
                               seed: int, til_prior_on: bool = True, til_min_patients: int = 30, level: float = 0.9,
                               min_outer_n: int = 10, progress: Callable[[str], None] = lambda m: None) -> SurvivalIECV:
    """Hold out each study; select and fit on the others' PFS patients; predict the held-out study.

    ``rows`` / ``y``: the patients with a 6-month label (predicted, for the 6-month metrics); ``pfs``: the
    patients with a PFS time and event flag (fitted on, and predicted for the survival metrics).
    """
    y = np.asarray(y, dtype=float)
    cohort = rows["cohort"].astype(str).to_numpy()
    pfs_cohort = pfs["cohort"].astype(str).to_numpy()
    time, event = check_outcomes(pfs["pfs_months"], pfs["pfs_event"], pfs["patient_id"].astype(str).to_numpy())
    p = np.full(len(y), np.nan)
    low, high = p.copy(), p.copy()
    lp_out = np.full(len(time), np.nan)
    s6, s12 = lp_out.copy(), lp_out.copy()
    result = SurvivalIECV(predictions=pd.DataFrame())
    studies = sorted(set(pfs_cohort) | set(cohort))
    for k, study in enumerate(progress_iter(progress, studies, "internal-external validation (PFS)",
                                            unit="studies"), start=1):
        test, ptest = cohort == study, pfs_cohort == study
        if ptest.sum() < min_outer_n or event[ptest].sum() < 1 or event[~ptest].sum() < MIN_EVENTS:
            result.skipped.append(study)
            continue
        progress(f"internal-external validation {k}/{len(studies)}: holding out {study} (n={int(ptest.sum())})")
        train_rows = pfs.loc[~ptest].reset_index(drop=True)
        sel = select_survival(train_rows, time[~ptest], event[~ptest], candidates, options=options,
                              calibrations=calibrations, min_group_n=min_group_n, folds=folds, seed=seed)
        model = fit_final_survival(sel, train_rows, time[~ptest], event[~ptest], options=options, seed=seed,
                                   til_prior_on=til_prior_on, til_min_patients=til_min_patients, level=level)
        if test.any():
            p[test], low[test], high[test] = model.interval(rows.loc[test])
        held = pfs.loc[ptest]
        lp_out[ptest] = model.linear_predictor(held)
        s6[ptest], s12[ptest] = (np.exp(-model.baseline.at([t])[0] * np.exp(lp_out[ptest])) for t in (6.0, 12.0))
        result.selections[study], result.models[study] = sel, model
        result.held_out_ids[study] = frozenset(map(str, held["patient_id"])) | frozenset(
            map(str, rows.loc[test, "patient_id"]))
    result.predictions = pd.DataFrame({"cohort": cohort, "y": y, "p": p, "p_low": low, "p_high": high})
    result.survival = pd.DataFrame({"patient_id": pfs["patient_id"].astype(str).to_numpy(), "cohort": pfs_cohort,
                                    "time": time, "event": event, "lp": lp_out, "s6": s6, "s12": s12})
    return result
