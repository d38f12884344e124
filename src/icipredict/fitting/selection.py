"""Model selection by leave-one-study-out, and internal-external cross-validation.

The yardstick is how a model does at a centre it never saw (Steyerberg & Harrell, J Clin Epidemiol
2016; 69:245). With several training studies, :func:`select_model` fits every candidate (family,
inputs, knots, penalty, tree depth...) leaving each validation study out in turn, scores the pooled
out-of-study predictions under each calibration method, and picks:

1. the candidates whose log-loss is within one standard error of the best (paired per-patient
   differences; the one-standard-error rule of Hastie, Tibshirani & Friedman, Elements of
   Statistical Learning, 2nd ed. 2009, section 7.10);
2. among them, those within :data:`AUC_TIE` of the best AUC;
3. among them, those whose out-of-study calibration slope is at least :data:`MIN_SLOPE` (too
   extreme predictions are the usual way a model fails at a new centre: Van Calster et al., BMC Med
   2019; a slope above 1 is not held against a candidate, as effects elsewhere tend to be weaker);
4. the simplest of those (family, then fewer inputs, fewer knots, a larger penalty, a simpler
   calibration): the simpler model wins ties.

The final calibration is fitted on the selected candidate's leave-one-study-out predictions, so it
carries the between-centre spread. Studies smaller than ``min_group_n`` are never validation groups
(they stay in every training set). With fewer than two eligible studies the groups are stratified
random folds ("pooled folds"), and the model card says so.

:func:`internal_external` nests all of it: each study is held out in turn, everything above runs on
the others, and the held-out study is predicted once, never reaching fitting, selection or
calibration (``fit_ids`` records who did, for the leakage tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from icipredict.fitting.folds import stratified_folds
from icipredict.clinical.evidence import TIL_CENTRE, til_prior
from icipredict.evaluation.metrics import calibration_slope_intercept, dersimonian_laird, log_loss_each, roc_auc
from icipredict.model.features import INPUT_SETS
from icipredict.model.metadata import FeatureOptions, TilTerm, Uncertainty
from icipredict.model.models import FAMILY_RANK, SPLINE_FAMILIES, IciModel, fit_calibrator, make_base, prepare, sigmoid
from icipredict.progress import progress_iter
from icipredict.table.vocab import CALIBRATION_METHODS

__all__ = ["Candidate", "candidate_grid", "validation_groups", "Selection", "select_model", "fit_final",
           "IECVResult", "internal_external", "learn_til_term", "input_variances", "set_uncertainty"]

_EPS = 1e-6
#: AUC differences below this count as ties.
AUC_TIE = 0.01
#: Out-of-study calibration slope below which a candidate is over-extreme (only chosen if all are).
MIN_SLOPE = 0.9


@dataclass(frozen=True)
class Candidate:
    """One family with one set of hyperparameters."""

    family: str
    params: tuple[tuple[str, Any], ...]

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return self.family + "(" + ", ".join(f"{k}={v}" for k, v in self.params) + ")"

    def base_params(self) -> dict[str, Any]:
        p = self.settings
        if self.family in SPLINE_FAMILIES:
            p["inputs"] = INPUT_SETS[p["inputs"]]
        return p

    def complexity(self) -> tuple:
        """Sort key: simpler first (family, inputs, knots, then a larger penalty or smaller trees)."""
        p = self.settings
        n_inputs = len(INPUT_SETS[p["inputs"]]) if "inputs" in p else 99
        return (FAMILY_RANK[self.family], n_inputs, p.get("knots", 0), -p.get("penalty", 0.0),
                p.get("max_depth", 0), -p.get("min_child_weight", 0), -p.get("min_samples_leaf", 0))


def candidate_grid(grids: dict[str, dict[str, list[Any]]], families: list[str]) -> list[Candidate]:
    """Every combination of each family's grid (a scalar is a one-value list).

    >>> [c.label for c in candidate_grid({"spline_logistic": {"inputs": ["core"], "knots": [0, 3],
    ...                                                       "penalty": [0.1]}}, ["spline_logistic"])]
    ['spline_logistic(inputs=core, knots=0, penalty=0.1)', 'spline_logistic(inputs=core, knots=3, penalty=0.1)']
    """
    out = []
    for family in families:
        grid = {k: (v if isinstance(v, list) else [v]) for k, v in sorted(grids.get(family, {}).items())}
        for values in product(*grid.values()):
            out.append(Candidate(family, tuple(zip(grid.keys(), values))))
    return out


def validation_groups(cohort: np.ndarray, y: np.ndarray, *, min_group_n: int, folds: int,
                      seed: int) -> tuple[np.ndarray, str]:
    """Validation group per row ("" = training only) and the scheme's name.

    Studies with at least ``min_group_n`` patients and both outcomes are groups; with fewer than two,
    stratified random folds are.
    """
    cohort = np.asarray(cohort, dtype=object).astype(str)
    eligible = [c for c in sorted(set(cohort))
                if (cohort == c).sum() >= min_group_n and len(set(y[cohort == c])) == 2]
    if len(eligible) >= 2:
        return np.where(np.isin(cohort, eligible), cohort, ""), "leave-one-study-out"
    n_splits = int(max(2, min(folds, np.bincount(y.astype(int)).min())))
    groups = np.empty(len(y), dtype=object)
    for k, (_, te) in enumerate(stratified_folds(y, n_splits, seed), start=1):
        groups[te] = f"fold {k}"
    return groups.astype(str), "pooled folds"


@dataclass
class _OutOfGroup:
    """Each validation row's base log-odds from a model fitted without its group, and each fold
    model's log-odds of its own training rows (for re-estimating the intercept after shrinkage)."""

    z: np.ndarray
    folds: dict[str, tuple[np.ndarray, np.ndarray]]


def _out_of_group(candidate: Candidate, data: pd.DataFrame, y: np.ndarray, groups: np.ndarray,
                  options: FeatureOptions, seed: int) -> _OutOfGroup:
    z = np.full(len(y), np.nan)
    folds = {}
    for g in sorted(set(groups) - {""}):
        test = groups == g
        base = make_base(candidate.family, candidate.base_params(), options=options, random_state=seed)
        base.fit(data.loc[~test], y[~test])
        z[test] = base.decision_function(data.loc[test])
        folds[g] = (~test, base.decision_function(data.loc[~test]))
    return _OutOfGroup(z, folds)


def _calibrated(oog: _OutOfGroup, y: np.ndarray, groups: np.ndarray, method: str) -> np.ndarray:
    """Out-of-group probabilities under a calibration method, the calibration itself out of group."""
    p = np.full(len(y), np.nan)
    rows = groups != ""
    for g in sorted(set(groups) - {""}):
        test = groups == g
        if method == "none":
            p[test] = sigmoid(oog.z[test])
            continue
        others = rows & ~test
        train, z_in = oog.folds[g]
        cal = fit_calibrator(method, oog.z[others], y[others], z_development=z_in, y_development=y[train])
        p[test] = cal.predict(oog.z[test])
    return p


@dataclass
class Selection:
    """What :func:`select_model` chose, and why."""

    candidate: Candidate
    calibration: str
    scheme: str
    groups: np.ndarray
    oog: _OutOfGroup
    scores: pd.DataFrame
    tau: float = 0.0
    tau_note: str = ""


def choose_candidate(scores: pd.DataFrame, losses: dict[tuple[int, str], np.ndarray], *, loss: str = "log_loss",
            rank: str = "auc", tie: float = AUC_TIE) -> pd.Series:
    """The candidate the rules in this module's docstring pick: within one standard error of the lowest mean
    ``loss`` (paired per patient), within ``tie`` of the best ``rank`` score, calibration slope at least
    :data:`MIN_SLOPE` where any is, then the simplest. The time-to-event selection passes its own loss and score."""
    best_key = scores.sort_values(loss).iloc[0]
    best = losses[(int(best_key["candidate"]), best_key["calibration"])]
    within = []
    for _, r in scores.iterrows():
        d = losses[(int(r["candidate"]), r["calibration"])] - best
        within.append(d.mean() <= d.std(ddof=1) / np.sqrt(len(d)) + 1e-12)
    pool = scores.loc[within]
    pool = pool.loc[pool[rank] >= pool[rank].max() - tie]
    calibrated = pool.loc[pool["slope"] >= MIN_SLOPE]
    pool = calibrated if len(calibrated) else pool
    return pool.sort_values(["complexity", "cal_rank"]).iloc[0]


def select_model(rows: pd.DataFrame, y: np.ndarray, candidates: list[Candidate], *, options: FeatureOptions,
                 calibrations: list[str], min_group_n: int, folds: int, seed: int,
                 progress: Callable[[str], None] = lambda m: None) -> Selection:
    """Score every candidate and calibration out of group and choose (module docstring)."""
    y = np.asarray(y, dtype=float)
    groups, scheme = validation_groups(rows["cohort"].to_numpy(), y, min_group_n=min_group_n, folds=folds, seed=seed)
    val = groups != ""
    prepared: dict[str, pd.DataFrame] = {}
    records, losses, zs = [], {}, {}
    for i, cand in enumerate(progress_iter(progress, candidates, f"model selection ({scheme})", unit="candidates")):
        if cand.family not in prepared:
            prepared[cand.family] = prepare(cand.family, rows, options)
        oog = _out_of_group(cand, prepared[cand.family], y, groups, options, seed)
        zs[i] = oog
        for method in calibrations:
            p = _calibrated(oog, y, groups, method)[val]
            each = log_loss_each(y[val], p)
            slope, citl = calibration_slope_intercept(y[val], p)
            losses[(i, method)] = each
            records.append({"candidate": i, "label": cand.label, "family": cand.family, "calibration": method,
                            "log_loss": float(each.mean()), "auc": roc_auc(y[val], p), "slope": slope,
                            "citl": citl, "n": int(val.sum()), "complexity": cand.complexity(),
                            "cal_rank": CALIBRATION_METHODS.index(method)})
        if (i + 1) % 10 == 0 or i + 1 == len(candidates):
            progress(f"model selection ({scheme}): {i + 1}/{len(candidates)} candidates scored")
    scores = pd.DataFrame(records)
    chosen = choose_candidate(scores, losses)
    scores["selected"] = (scores["candidate"] == chosen["candidate"]) & (scores["calibration"] == chosen["calibration"])
    sel = Selection(candidates[int(chosen["candidate"])], str(chosen["calibration"]), scheme, groups,
                    zs[int(chosen["candidate"])], scores.drop(columns=["complexity", "cal_rank"]))
    sel.tau, sel.tau_note = _heterogeneity(sel, y)
    return sel


def _heterogeneity(sel: Selection, y: np.ndarray) -> tuple[float, str]:
    """Between-group SD of calibration-in-the-large of the selected, calibrated out-of-group predictions."""
    if sel.scheme != "leave-one-study-out":
        return 0.0, "one training study: the between-centre spread cannot be estimated (0 used)"
    p = _calibrated(sel.oog, y, sel.groups, sel.calibration)
    est, se = [], []
    for g in sorted(set(sel.groups) - {""}):
        m = sel.groups == g
        _, citl = calibration_slope_intercept(y[m], p[m])
        w = p[m] * (1 - p[m])
        est.append(citl)
        se.append(1 / np.sqrt(max(w.sum(), _EPS)))
    tau = dersimonian_laird(np.array(est), np.array(se))["tau"]
    return float(tau), (f"DerSimonian-Laird tau of calibration-in-the-large over {len(est)} held-out studies "
                        "(leave-one-study-out)")


def _spread(phi: np.ndarray, level: float) -> float:
    """Variance whose normal ``level`` interval covers the central ``level`` of the contributions."""
    tail = (1 - level) / 2
    q = np.quantile(phi, [tail, 1 - tail])
    return float((np.max(np.abs(q)) / ndtri(1 - tail)) ** 2)


def set_uncertainty(model: IciModel, rows: pd.DataFrame, level: float, selection: "Selection", *,
                    covariance_family: str) -> None:
    """Set ``model.uncertainty``: the between-study tau of ``selection``, the input variances of ``rows``, and
    the parameter covariance when the chosen family is ``covariance_family`` (the one family of the kind that has it).
    """
    variances, bands = input_variances(model, rows, level)
    model.uncertainty = Uncertainty(
        level=level, tau=selection.tau, tau_source=selection.tau_note,
        parameter="covariance" if selection.candidate.family == covariance_family else "none",
        input_variance=variances, band_variance=bands)


def input_variances(model: IciModel, rows: pd.DataFrame, level: float = 0.9) -> tuple[dict[str, float],
                                                                                    dict[str, float]]:
    """The spread of each input's contribution (base scale) over the training patients who have it.

    An unknown input is read as its training mean, so its contribution could have been anything in
    that spread, which goes into the patient's interval: the variance whose normal ``level`` interval
    covers the central ``level`` of the training contributions (a binary input's contributions are
    two points, far from normal; checked on held-out studies by :mod:`icipredict.evaluation.uncertainty`). For
    PD-L1 known only as a band, the spread within that band.
    """
    phi, _ = model.base.contributions(prepare(model.family, rows, model.options))
    inputs = model.inputs(rows)
    variances, bands = {}, {}
    for name in phi.columns:
        if name not in inputs.columns:
            continue
        known = inputs[name].notna().to_numpy()
        if known.sum() >= 10:
            variances[name] = _spread(phi[name].to_numpy()[known], level)
        if name == "pdl1":
            band = inputs["pdl1_band"].to_numpy(dtype=object)
            for b in set(band[known]) - {None}:
                m = known & (band == b)
                if m.sum() >= 5:
                    bands[str(b)] = _spread(phi[name].to_numpy()[m], level)
    return variances, bands


def learn_til_term(til: np.ndarray, y: np.ndarray, offset: np.ndarray, prior: tuple[float, float],
                   centre: float = TIL_CENTRE, min_patients: int = 30) -> TilTerm:
    """The TIL term: the cited prior, updated by patients with a known TIL status when there are enough.

    Maximises the log-likelihood of ``y ~ offset + beta * (til - centre)`` plus the normal prior's
    log-density (a maximum a posteriori estimate, shrunk toward the prior); the SE is the Laplace
    approximation. ``offset`` is each patient's calibrated out-of-group log-odds from the rest of
    the model.

    >>> rng = np.random.default_rng(0); til = rng.integers(0, 2, 400).astype(float)
    >>> y = (rng.random(400) < 1 / (1 + np.exp(-(-0.6 + 1.5 * (til - 0.5))))).astype(float)
    >>> t = learn_til_term(til, y, np.full(400, -0.6), prior=(0.42, 0.11))
    >>> 0.42 < t.beta < 1.5 and t.source == "learned"
    True
    """
    beta0, se0 = prior
    known = ~np.isnan(np.asarray(til, dtype=float))
    base = dict(centre=centre, prior_beta=beta0, prior_se=se0)
    if known.sum() < min_patients or len(set(np.asarray(y)[known])) < 2:
        note = (f"{int(known.sum())} training patients with a TIL measure (fewer than {min_patients} or one "
                "outcome): the cited prior alone")
        return TilTerm(beta=beta0, se=se0, source="prior", note=note, n_patients=int(known.sum()), **base)
    x = np.asarray(til, dtype=float)[known] - centre
    yk, off = np.asarray(y, dtype=float)[known], np.asarray(offset, dtype=float)[known]
    beta = beta0
    for _ in range(100):
        p = sigmoid(off + beta * x)
        grad = np.sum(x * (yk - p)) - (beta - beta0) / se0 ** 2
        hess = np.sum(x * x * p * (1 - p)) + 1 / se0 ** 2
        step = grad / hess
        beta += step
        if abs(step) < 1e-10:
            break
    p = sigmoid(off + beta * x)
    se = 1 / np.sqrt(np.sum(x * x * p * (1 - p)) + 1 / se0 ** 2)
    return TilTerm(beta=float(beta), se=float(se), source="learned", n_patients=int(known.sum()),
                   n_events=int(yk.sum()), note="the cited prior updated by the training patients' TIL data",
                   **base)


def fit_final(selection: Selection, rows: pd.DataFrame, y: np.ndarray, *, options: FeatureOptions, seed: int,
              til_prior_on: bool = True, til_min_patients: int = 30, level: float = 0.9) -> IciModel:
    """The selected candidate fitted on every row, calibrated on its out-of-group predictions."""
    y = np.asarray(y, dtype=float)
    cand = selection.candidate
    base = make_base(cand.family, cand.base_params(), options=options, random_state=seed)
    data = prepare(cand.family, rows, options)
    base.fit(data, y)
    z_in = base.decision_function(data)
    val = selection.groups != ""
    z_out = selection.oog.z
    calibrator = fit_calibrator(selection.calibration, z_out[val], y[val], z_development=z_in, y_development=y)
    model = IciModel(cand.family, base, calibrator, options=options,
                     fit_ids=frozenset(map(str, rows["patient_id"])))
    inputs = model.inputs(rows)
    if til_prior_on:
        # the rest of the model's log-odds, out of group where there is one, as the TIL term's offset
        offset = calibrator.logit(np.where(val, np.nan_to_num(z_out), z_in))
        model.til_term = learn_til_term(inputs["til"].to_numpy(dtype=float), y, offset, til_prior(),
                                        min_patients=til_min_patients)
    set_uncertainty(model, rows, level, selection, covariance_family="spline_logistic")
    return model


@dataclass
class IECVResult:
    """Out-of-study predictions of every held-out study, and what each outer fold chose."""

    predictions: pd.DataFrame
    selections: dict[str, Selection] = field(default_factory=dict)
    models: dict[str, IciModel] = field(default_factory=dict)
    held_out_ids: dict[str, frozenset] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def internal_external(rows: pd.DataFrame, y: np.ndarray, candidates: list[Candidate], *, options: FeatureOptions,
                      calibrations: list[str], min_group_n: int, folds: int, seed: int, til_prior_on: bool = True,
                      til_min_patients: int = 30, level: float = 0.9, min_outer_n: int = 10,
                      progress: Callable[[str], None] = lambda m: None) -> IECVResult:
    """Hold out each study in turn; select, calibrate and fit on the others; predict the held-out study."""
    y = np.asarray(y, dtype=float)
    cohort = rows["cohort"].astype(str).to_numpy()
    studies = sorted(set(cohort))
    p = np.full(len(y), np.nan)
    low, high = p.copy(), p.copy()
    result = IECVResult(predictions=pd.DataFrame())
    for k, study in enumerate(progress_iter(progress, studies, "internal-external validation", unit="studies"),
                              start=1):
        test = cohort == study
        if test.sum() < min_outer_n or len(set(y[test])) < 2 or len(set(y[~test])) < 2:
            result.skipped.append(study)
            continue
        progress(f"internal-external validation {k}/{len(studies)}: holding out {study} (n={int(test.sum())})")
        train_rows = rows.loc[~test].reset_index(drop=True)
        sel = select_model(train_rows, y[~test], candidates, options=options, calibrations=calibrations,
                           min_group_n=min_group_n, folds=folds, seed=seed)
        model = fit_final(sel, train_rows, y[~test], options=options, seed=seed, til_prior_on=til_prior_on,
                          til_min_patients=til_min_patients, level=level)
        held = rows.loc[test]
        p[test], low[test], high[test] = model.interval(held)
        result.selections[study], result.models[study] = sel, model
        result.held_out_ids[study] = frozenset(map(str, held["patient_id"]))
    result.predictions = pd.DataFrame({"cohort": cohort, "y": y, "p": p, "p_low": low, "p_high": high})
    return result
