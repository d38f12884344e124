"""The candidate PFS rankings of ``survival_variants.py``: each fitted on the training studies, scored on one held out.

Not part of the package. Every ``fit_*`` takes the shared :class:`Data` and the boolean masks of the
training and held-out patients and returns :class:`Scores`: a risk score (higher = earlier
progression) for both, and, when the model gives a curve, each held-out patient's predicted S(12).

* :func:`fit_spline_logistic`: the 6-month yes/no model, ranking by minus its log-odds (the reference);
* :func:`fit_spline_cox`: the shipped family, optionally with a PD-L1 x TMB product term;
* :func:`fit_landmark`: one Cox model for months 0-6 (progressions after 6 censored at 6) and one for
  the patients still progression-free at 6 months (time from 6), every coefficient free to differ;
  the combined curve ``S(t) = S1(min(t, 6)) * S2(max(t - 6, 0))`` ranks by restricted mean PFS to 24
  months or by S(12);
* :func:`fit_xgboost_cox` and :func:`fit_xgboost_aft`: XGBoost's ``survival:cox`` (the package's
  challenger) and ``survival:aft`` (log-normal, scale fixed) on the tree features;
* :func:`ensemble`: the mean of members' risk scores, each z-scored on its own training patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from icipredict.evaluation.survival import uno_c
from icipredict.model.features import INPUT_SETS, build_features
from icipredict.model.models import MONOTONE_DIRECTIONS, make_base
from icipredict.model.survival import Baseline, SplineCox, survival_at

LANDMARK = 6.0  # months: the durable-benefit time, where the two phases of the landmark model meet
TAU = 24.0      # months: Uno's C truncation and the restricted mean's horizon
#: The fixed tree settings of configs/public_cohorts.yaml (only depth and minimum leaf weight vary).
TREE = {"n_estimators": 300, "learning_rate": 0.03, "monotone": True, "band_only_share": 0.25, "mask_share": 0.1}


@dataclass
class Data:
    """The patients with PFS: spline inputs ``D``, the clean table ``raw``, outcomes and the 6-month label."""

    D: pd.DataFrame
    raw: pd.DataFrame
    t: np.ndarray
    e: np.ndarray
    y6: np.ndarray  # 1 progression-free at 6 months, 0 progressed before, NaN censored before 6


@dataclass
class Scores:
    test: np.ndarray
    train: np.ndarray
    s12: np.ndarray | None = None


def with_interaction(D: pd.DataFrame) -> pd.DataFrame:
    """``D`` with ``pdl1_x_tmb``: (TPS - 50) / 50 times (log(1 + TMB) - log 11), centred at the usual cut-offs
    (PD-L1 50 %, TMB 10 mut/Mb); unknown where either is unknown (then imputed by its mean, as any input)."""
    return D.assign(pdl1_x_tmb=(D["pdl1"] - 50.0) / 50.0 * (D["tmb"] - np.log(11.0)))


def fit_spline_logistic(data: Data, train, test, *, inputs="core", knots=3, penalty=0.1) -> Scores:
    fit = train & ~np.isnan(data.y6)
    m = make_base("spline_logistic", {"inputs": INPUT_SETS[inputs], "knots": knots, "penalty": penalty})
    m.fit(data.D.loc[fit], data.y6[fit])
    return Scores(-m.decision_function(data.D.loc[test]), -m.decision_function(data.D.loc[train]))


def _cox(D, t, e, inputs, knots, penalty) -> SplineCox:
    return SplineCox(inputs=inputs, knots=knots, penalty=penalty).fit(D, t, e)


def fit_spline_cox(data: Data, train, test, *, inputs="core", knots=3, penalty=0.3, interaction=False) -> Scores:
    D = with_interaction(data.D) if interaction else data.D
    names = INPUT_SETS[inputs] + (("pdl1_x_tmb",) if interaction else ())
    m = _cox(D.loc[train], data.t[train], data.e[train], names, knots, penalty)
    lp = m.decision_function(D.loc[test])
    return Scores(lp, m.decision_function(D.loc[train]), survival_at(m.baseline().uncut([12.0]), lp)[:, 0])


def landmark_curve(data: Data, train, test, grid, *, inputs="core", knots=3, penalty=0.3) -> np.ndarray:
    """The combined two-phase curve on ``grid`` (months) for the held-out patients, and for the training ones."""
    t, e, names = data.t, data.e, INPUT_SETS[inputs]
    early = _cox(data.D.loc[train], np.minimum(t[train], LANDMARK), e[train] * (t[train] <= LANDMARK),
                 names, knots, penalty)
    late_rows = train & (t > LANDMARK)
    late = _cox(data.D.loc[late_rows], t[late_rows] - LANDMARK, e[late_rows], names, knots, penalty)
    out = []
    for rows in (test, train):
        s1 = survival_at(early.baseline().uncut(np.minimum(grid, LANDMARK)), early.decision_function(data.D.loc[rows]))
        s2 = survival_at(late.baseline().uncut(np.maximum(grid - LANDMARK, 0.0)), late.decision_function(data.D.loc[rows]))
        out.append(s1 * s2)
    return out


def fit_landmark(data: Data, train, test, *, rank="rmst24", **params) -> Scores:
    step = 0.01
    grid = np.arange(0.0, TAU, step) + step / 2  # midpoints: the restricted mean of a step curve to 0.01 months
    s_test, s_train = landmark_curve(data, train, test, np.append(grid, 12.0), **params)  # the last column: S(12)
    score = (lambda s: -s[:, :-1].sum(axis=1) * step) if rank == "rmst24" else (lambda s: -s[:, -1])
    return Scores(score(s_test), score(s_train), s_test[:, -1])


def fit_xgboost_cox(data: Data, train, test, *, max_depth=2, min_child_weight=5) -> Scores:
    m = make_base("xgboost_cox", {**TREE, "max_depth": max_depth, "min_child_weight": min_child_weight})
    m.fit(data.raw.loc[train], data.t[train], data.e[train])
    lp = m.decision_function(data.raw.loc[test])
    H12 = Baseline(m.baseline_times_, m.baseline_cumhaz_, m.horizon_).uncut([12.0])
    return Scores(lp, m.decision_function(data.raw.loc[train]), survival_at(H12, lp)[:, 0])


def fit_xgboost_aft(data: Data, train, test, *, max_depth=2, min_child_weight=5, sigma=1.0) -> Scores:
    """``survival:aft`` with a normal error on log PFS (log-normal times), scale ``sigma`` fixed; its margin is the
    predicted log time, so the monotone constraints are the benefit directions themselves."""
    import xgboost as xgb

    tree = make_base("xgboost", {**TREE, "max_depth": max_depth, "min_child_weight": min_child_weight})
    X = build_features(tree._augment(data.raw.loc[train]), tree.options)
    names = list(X.columns)
    t, e = data.t[train], data.e[train]
    dm = xgb.DMatrix(X.to_numpy(dtype=np.float32), missing=np.nan)
    dm.set_float_info("label_lower_bound", t)
    dm.set_float_info("label_upper_bound", np.where(e == 1, t, np.inf))
    params = {"objective": "survival:aft", "eval_metric": "aft-nloglik", "aft_loss_distribution": "normal",
              "aft_loss_distribution_scale": sigma, "tree_method": "hist", "seed": 0, "nthread": 1,
              "eta": TREE["learning_rate"], "max_depth": max_depth, "min_child_weight": min_child_weight,
              "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 5.0,
              "base_score": float(np.exp(np.mean(np.log(t)))),
              "monotone_constraints": "(" + ",".join(str(MONOTONE_DIRECTIONS.get(f, 0)) for f in names) + ")"}
    booster = xgb.train(params, dm, num_boost_round=TREE["n_estimators"])

    def log_time(rows):
        Xr = build_features(data.raw.loc[rows], tree.options).reindex(columns=names).to_numpy(dtype=np.float32)
        return np.asarray(booster.inplace_predict(Xr, predict_type="margin", missing=np.nan), dtype=float)

    mu = log_time(test)
    return Scores(-mu, -log_time(train), norm.sf((np.log(12.0) - mu) / sigma))


def ensemble(members: list[Scores]) -> Scores:
    """The mean of the members' risk scores, each centred and scaled by its mean and SD on the training patients."""
    z = lambda s, x: (x - s.train.mean()) / s.train.std()
    return Scores(np.mean([z(s, s.test) for s in members], axis=0), np.mean([z(s, s.train) for s in members], axis=0))


def paired_bootstrap(t, e, cohort, risks: dict[str, np.ndarray], reference: str, *, n_boot=1000, seed=0):
    """Pooled Uno's C of every ranking on ``n_boot`` resamples of patients within study (the same resamples for all),
    censoring weights from each resample; returns ``{name: (C per resample, C - reference per resample)}``."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(cohort == s) for s in sorted(set(cohort))]
    out = {name: np.empty(n_boot) for name in risks}
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(g, g.size) for g in groups])
        tb, eb = t[idx], e[idx]
        for name, r in risks.items():
            out[name][b] = uno_c(tb, eb, r[idx], train_time=tb, train_event=eb, tau=TAU)
    return {name: (c, c - out[reference]) for name, c in out.items()}
