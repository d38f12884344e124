"""Progression-free curves evaluated per cohort and pooled, beside the Kaplan-Meier and PD-L1-only references.

The curves of held-out patients (one row per patient, one column per time of a grid) are set beside
two references fitted on the *same training patients* as the model:

* ``km_null``: the training patients' Kaplan-Meier curve for everyone, the null model a curve must
  beat on the integrated Brier score;
* ``pdl1_cox``: a Cox model on PD-L1 alone (TPS / 100, the band midpoint when only the band is
  known, the training median plus a missing-value flag when unmeasured), the biomarker in clinical
  use.

Every row reports n, events and a 95% bootstrap interval; every model is resampled on the same
patients. The inverse-probability-of-censoring weights of Uno's C, the td-AUC and the Brier score
come from the Kaplan-Meier censoring distribution of the evaluated cohort itself: a held-out study
has its own follow-up, and the weights exist to undo *its* censoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icipredict.evaluation.bootstrap import _percentile_ci
from icipredict.evaluation.calibration import calibration_ci
from icipredict.evaluation.proportional_hazards import fit_cox
from icipredict.evaluation.survival import (_concordance, calibration_by_group, censoring_survival,
                                            check_survival, kaplan_meier, km_ci_at, survival_bootstrap)

__all__ = ["HeldOutCurves", "held_out_curves", "model_curve", "REFERENCES", "CURVE_METRICS", "reference_curves", "pdl1_score", "curve_metrics",
           "curve_calibration", "format_curve_markdown", "supported_until", "DEFAULT_GRID", "MIN_AT_RISK"]

#: The reference models every curve is set beside, in words.
REFERENCES: dict[str, str] = {"km_null": "Kaplan-Meier (no predictors)", "pdl1_cox": "Cox on PD-L1 alone"}
#: Months of the grid on which curves are compared (integrated Brier score up to 24 months).
DEFAULT_GRID = np.arange(1.0, 24.0 + 1e-9, 1.0)
#: A cohort's curve is evaluated up to the last time with at least this many patients still at risk.
MIN_AT_RISK = 10
#: Metric columns of :func:`curve_metrics`, each with ``_low``/``_high``.
CURVE_METRICS = ("harrell_c", "uno_c", "td_auc_6m", "td_auc_12m", "brier_6m", "brier_12m", "ibs")


@dataclass
class HeldOutCurves:
    """Held-out patients (``cohort``, ``pfs_months``, ``pfs_event``) and each model's risk and curve.

    ``risks[name]`` has one value per patient (higher = earlier progression); ``surv[name]`` one
    row per patient and one column per month of ``grid`` (NaN past the model's supported horizon).
    """

    patients: pd.DataFrame
    grid: np.ndarray
    risks: dict[str, np.ndarray] = field(default_factory=dict)
    surv: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, name: str, risk, surv) -> None:
        risk = np.asarray(risk, dtype=float).ravel()
        surv = np.asarray(surv, dtype=float)
        if risk.size != len(self.patients) or surv.shape != (len(self.patients), self.grid.size):
            raise ValueError(f"model {name!r}: expected {len(self.patients)} risks and a {len(self.patients)} x "
                             f"{self.grid.size} curve. Got {risk.size} and {surv.shape} instead.")
        self.risks[name], self.surv[name] = risk, surv

    @classmethod
    def concat(cls, parts: Sequence[HeldOutCurves]) -> HeldOutCurves:
        """The held-out patients of every fold, one frame (the pooled row)."""
        if not parts:
            raise ValueError("expected at least one fold of held-out curves. Got none instead.")
        names = [n for n in parts[0].risks if all(n in p.risks for p in parts)]
        out = cls(pd.concat([p.patients for p in parts], ignore_index=True), parts[0].grid)
        for n in names:
            out.add(n, np.concatenate([p.risks[n] for p in parts]), np.vstack([p.surv[n] for p in parts]))
        return out


def pdl1_score(patients: pd.DataFrame) -> np.ndarray:
    """PD-L1 TPS (%), the band midpoint when only the band is known, NaN when unmeasured.

    >>> pdl1_score(pd.DataFrame({"pdl1_tps": [80.0, None]})).tolist()
    [80.0, nan]
    """
    from icipredict.model.models import baseline_scores

    frame = patients.copy()
    for column in ("pdl1_tps", "pdl1_band", "tmb"):
        if column not in frame.columns:
            frame[column] = np.nan
    try:
        return baseline_scores(frame)["pdl1"].to_numpy(dtype=float)
    except KeyError:  # the LORIS inputs are not there: PD-L1 alone needs none of them
        return frame["pdl1_tps"].to_numpy(dtype=float)


def _pdl1_design(score: np.ndarray, fill: float) -> np.ndarray:
    missing = np.isnan(score)
    return np.column_stack([np.where(missing, fill, score) / 100.0, missing.astype(float)])


def supported_until(time, event, min_at_risk: int = MIN_AT_RISK) -> float:
    """Last time at which at least ``min_at_risk`` patients are still followed and progression-free.

    >>> supported_until(np.arange(1.0, 21.0), np.ones(20), min_at_risk=5)
    16.0
    """
    t, _ = check_survival(time, event)
    ordered = np.sort(t)
    return float(ordered[-min_at_risk]) if t.size >= min_at_risk else float(ordered[0])


def reference_curves(train: pd.DataFrame, test: pd.DataFrame, grid) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The two references, fitted on ``train`` and predicted for ``test``: ``{name: (risk, surv)}``.

    Past the training patients' last follow-up the Kaplan-Meier curve is not defined (NaN).

    Examples
    --------
    >>> train = pd.DataFrame({"pfs_months": [1.0, 2, 3, 4, 5, 6], "pfs_event": [1, 1, 0, 1, 1, 0],
    ...                       "pdl1_tps": [0.0, 10, 50, 80, None, 90]})
    >>> refs = reference_curves(train, train.head(2), np.array([1.5, 4.5, 7.0]))
    >>> refs["km_null"][1].round(3).tolist()
    [[0.833, 0.444, nan], [0.833, 0.444, nan]]
    """
    grid = np.asarray(grid, dtype=float)
    t, e = check_survival(train["pfs_months"], train["pfs_event"])
    times, surv = kaplan_meier(t, e)
    k = np.searchsorted(times, grid, side="right") - 1
    km = np.where(k >= 0, surv[np.maximum(k, 0)] if surv.size else 1.0, 1.0)
    km = np.where(grid <= t.max(), km, np.nan)
    n = len(test)
    out = {"km_null": (np.zeros(n), np.tile(km, (n, 1)))}
    score = pdl1_score(train)
    fill = float(np.nanmedian(score)) if np.isfinite(score).any() else 0.0
    X = _pdl1_design(score, fill)
    keep = X.std(axis=0) > 0
    fit = fit_cox(X[:, keep], t, e)
    Xt = _pdl1_design(pdl1_score(test), fill)[:, keep]
    s = fit.survival(Xt, grid)
    s[:, grid > t.max()] = np.nan
    out["pdl1_cox"] = (fit.linear_predictor(Xt), s)
    return out


def _cohort_grid(grid: np.ndarray, surv: Mapping[str, np.ndarray], limit: float) -> tuple[np.ndarray, list[str]]:
    """Columns of the grid every curve covers (no NaN) up to ``limit``, and the models with a curve.

    A model with fewer than two usable columns (a 6-month probability only) has no curve to
    integrate and does not shorten the others' grid.
    """
    ok = grid <= limit
    curves = [n for n, s in surv.items() if (~np.isnan(s[:, ok]).any(axis=0)).sum() >= 2]
    for n in curves:
        ok &= ~np.isnan(surv[n]).any(axis=0)
    return np.flatnonzero(ok), curves


def _statistics(t, e, risks, surv, grid, cols, curves, tau, g_left, g_grid, auc_times) -> list[float]:
    """Every metric of every model on one (re)sample; censoring weights precomputed on the cohort."""
    out: list[float] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        w_event = np.where(e & (g_left > 0), 1.0 / g_left, 0.0)
        w_uno = np.where(t < tau, w_event**2, 0.0)
        w_free = np.where(g_grid > 0, 1.0 / g_grid, 0.0)
    case = e[:, None] & (t[:, None] <= grid[None, :])
    free = t[:, None] > grid[None, :]
    auc_cols = [int(np.flatnonzero(np.isclose(grid, a))[0]) if np.isclose(grid, a).any() else -1 for a in auc_times]
    for name in risks:
        r, s = risks[name], surv[name]
        out += [float(v) for v in _concordance(t, e, r, np.vstack([np.ones_like(t), w_uno]))]  # Harrell, Uno
        for a in auc_times:
            cases, controls = e & (t <= a), t > a
            if not cases.any() or not controls.any():
                out.append(np.nan)
                continue
            rc, rn = r[cases][:, None], r[controls][None, :]
            score = ((rc > rn) + 0.5 * (rc == rn)).mean(axis=1)
            out.append(float(np.sum(w_event[cases] * score) / np.sum(w_event[cases])))
        brier = np.mean(case * s**2 * w_event[:, None] + free * (1.0 - s) ** 2 * w_free[None, :], axis=0)
        out += [float(brier[c]) if c >= 0 else np.nan for c in auc_cols]
        if cols.size >= 2 and name in curves:
            g = grid[cols]
            out.append(float(np.trapezoid(brier[cols], g) / (g[-1] - g[0])))
        else:
            out.append(np.nan)
    return out


def curve_metrics(held: HeldOutCurves, *, group: str | None = "cohort", tau: float = 24.0,
                  auc_times: Sequence[float] = (6.0, 12.0), compare_to: Sequence[str] = tuple(REFERENCES),
                  n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """Harrell's and Uno's C, td-AUC and Brier at 6 and 12 months, integrated Brier, per cohort and pooled.

    One row per (cohort, model) with ``n, n_events, supported_until, uno_tau, ibs_until`` and each
    of :data:`CURVE_METRICS` with its 95% bootstrap interval (``n_boot`` resamples, stratified by
    event, the same for every model), plus ``mean_predicted_<t>m`` against ``km_<t>m`` (95% CI),
    the calibration slope of S(t) among patients whose status at ``t`` is known
    (``calibration_slope_<t>m``), and, for every model beside each of ``compare_to``, the paired
    difference of its integrated Brier score and Uno's C with that model's (``ibs_minus_<ref>``,
    ``uno_c_minus_<ref>``, each with a CI). The integrated Brier score runs over the grid months
    every curve covers up to the cohort's :func:`supported_until` (``ibs_until``); a model with
    only a 6-month probability gets the 6-month metrics and no integrated score.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.normal(size=200); grid = np.arange(1.0, 13.0)
    >>> t = rng.exponential(6 * np.exp(-x)) + 0.01; e = (rng.random(200) < 0.8).astype(int)
    >>> held = HeldOutCurves(pd.DataFrame({"cohort": "a", "pfs_months": t, "pfs_event": e}), grid)
    >>> held.add("model", x, np.exp(-grid[None, :] / 6 * np.exp(x)[:, None]))
    >>> table = curve_metrics(held, n_boot=0)
    >>> table[["cohort", "model", "n"]].values.tolist()
    [['a', 'model', 200], ['pooled', 'model', 200]]
    """
    parts: list[tuple[str, np.ndarray]] = []
    cohorts = held.patients[group].astype(str).to_numpy() if group is not None else None
    if cohorts is not None:
        parts += [(c, np.flatnonzero(cohorts == c)) for c in sorted(set(cohorts))]
    parts.append(("pooled", np.arange(len(held.patients))))
    names = list(held.risks)
    per_model = 3 + 2 * len(auc_times)
    rows = []
    for cohort, idx in parts:
        t, e = check_survival(held.patients["pfs_months"].to_numpy(float)[idx],
                              held.patients["pfs_event"].to_numpy(float)[idx])
        risks = {n: held.risks[n][idx] for n in names}
        surv = {n: held.surv[n][idx] for n in names}
        limit = supported_until(t, e)
        cols, curves = _cohort_grid(held.grid, surv, limit)
        cohort_tau = float(min(tau, limit))

        G = censoring_survival(t, e)
        g_left, g_grid = G(t, left=True), G(held.grid)

        def stats(i: np.ndarray) -> list[float]:
            return _statistics(t[i], e[i], {n: r[i] for n, r in risks.items()}, {n: s[i] for n, s in surv.items()},
                               held.grid, cols, curves, cohort_tau, g_left[i], g_grid, auc_times)

        point = np.array(stats(np.arange(t.size)))
        boot = survival_bootstrap(stats, e, n_boot=n_boot, seed=seed) if n_boot else np.empty((0, point.size))
        metric_names = ["harrell_c", "uno_c", *(f"td_auc_{a:g}m" for a in auc_times),
                        *(f"brier_{a:g}m" for a in auc_times), "ibs"]
        for m, name in enumerate(names):
            block = slice(m * per_model, (m + 1) * per_model)
            row: dict = {"cohort": cohort, "model": name, "n": int(t.size), "n_events": int(e.sum()),
                         "supported_until": limit, "uno_tau": cohort_tau,
                         "ibs_until": float(held.grid[cols[-1]]) if cols.size else np.nan}
            for k, metric in enumerate(metric_names):
                low, high = _percentile_ci(boot[:, block][:, k], 0.05) if n_boot else (np.nan, np.nan)
                row.update({metric: float(point[block][k]), f"{metric}_low": low, f"{metric}_high": high})
            for a in auc_times:
                j = np.flatnonzero(np.isclose(held.grid, a))
                s_a = surv[name][:, j[0]] if j.size else np.full(t.size, np.nan)
                km, km_low, km_high = km_ci_at(t, e, a)
                known = (t >= a) | e.astype(bool)
                y_a = (t[known] >= a).astype(float)
                usable = np.isfinite(s_a).all() and np.ptp(s_a) > 0 and 0 < y_a.sum() < y_a.size
                slope = calibration_ci(y_a, s_a[known]) if usable else {}
                row.update({f"mean_predicted_{a:g}m": float(np.mean(s_a)), f"km_{a:g}m": km, f"km_{a:g}m_low": km_low,
                            f"km_{a:g}m_high": km_high,
                            f"calibration_slope_{a:g}m": slope.get("calibration_slope", np.nan),
                            f"calibration_slope_{a:g}m_low": slope.get("calibration_slope_low", np.nan),
                            f"calibration_slope_{a:g}m_high": slope.get("calibration_slope_high", np.nan)})
            for ref in compare_to:
                if ref not in names or ref == name:
                    continue
                r = names.index(ref)
                for k, metric in ((metric_names.index("ibs"), "ibs"), (1, "uno_c")):
                    a_col, b_col = m * per_model + k, r * per_model + k
                    diff = point[a_col] - point[b_col]
                    low, high = _percentile_ci(boot[:, a_col] - boot[:, b_col], 0.05) if n_boot else (np.nan, np.nan)
                    row.update({f"{metric}_minus_{ref}": float(diff), f"{metric}_minus_{ref}_low": low,
                                f"{metric}_minus_{ref}_high": high})
            rows.append(row)
    return pd.DataFrame(rows)


def curve_calibration(held: HeldOutCurves, name: str, *, at: Sequence[float] = (6.0, 12.0), n_groups: int = 4,
                      group: str | None = "cohort") -> pd.DataFrame:
    """Mean predicted S(t) against Kaplan-Meier S(t) by risk group, per cohort and pooled, long format.

    Columns ``cohort, time_months, group, n, n_events, mean_predicted, observed, observed_low,
    observed_high`` (:func:`icipredict.evaluation.survival.calibration_by_group`).

    Examples
    --------
    >>> grid = np.array([6.0, 12.0]); t = np.arange(1.0, 41.0); e = np.ones(40)
    >>> held = HeldOutCurves(pd.DataFrame({"cohort": "a", "pfs_months": t, "pfs_event": e}), grid)
    >>> held.add("m", -t, np.column_stack([np.full(40, 0.85), np.full(40, 0.7)]))
    >>> curve_calibration(held, "m", n_groups=2).groupby("cohort")["n"].sum().tolist()
    [80, 80]
    """
    tables = []
    cohorts = held.patients[group].astype(str).to_numpy() if group is not None else np.full(len(held.patients), "")
    parts = [(c, cohorts == c) for c in sorted(set(cohorts))] if group is not None else []
    parts.append(("pooled", np.ones(len(held.patients), dtype=bool)))
    t_all = held.patients["pfs_months"].to_numpy(float)
    e_all = held.patients["pfs_event"].to_numpy(float)
    for cohort, m in parts:
        for a in at:
            j = np.flatnonzero(np.isclose(held.grid, a))
            if not j.size:
                raise ValueError(f"at must be months of the grid {held.grid.tolist()}. Got {a!r} instead.")
            s = held.surv[name][m, j[0]]
            ok = ~np.isnan(s)
            table = calibration_by_group(t_all[m][ok], e_all[m][ok], s[ok], a, n_groups=n_groups)
            tables.append(table.assign(cohort=cohort, time_months=a))
    out = pd.concat(tables, ignore_index=True)
    return out[["cohort", "time_months", *[c for c in out.columns if c not in ("cohort", "time_months")]]]


def model_curve(model, patients: pd.DataFrame, grid) -> tuple[np.ndarray, np.ndarray]:
    """A time-to-event model's linear predictor and curve on ``grid`` (NaN past its horizon).

    ``model`` has ``linear_predictor(patients)`` and a Breslow ``baseline`` whose ``at(times)`` gives
    the baseline cumulative hazard, NaN past the horizon the training follow-up supports.
    """
    lp = np.asarray(model.linear_predictor(patients), dtype=float)
    cumhaz = np.asarray(model.baseline.at(np.asarray(grid, dtype=float)), dtype=float)
    return lp, np.exp(-np.exp(lp)[:, None] * cumhaz[None, :])


def held_out_curves(pfs: pd.DataFrame, models: Mapping[str, object], grid=DEFAULT_GRID, *,
                    name: str = "model") -> HeldOutCurves:
    """Each held-out study's patients with PFS, predicted by the model that never saw the study.

    ``models`` maps a study (``cohort``) to the model fitted without it (the internal-external
    folds); the references are fitted on the same other studies. Studies without a model
    (skipped folds) are left out.
    """
    grid = np.asarray(grid, dtype=float)
    cohort = pfs["cohort"].astype(str).to_numpy()
    parts = []
    for study, model in models.items():
        test = cohort == str(study)
        if not test.any() or test.all():
            continue
        part = HeldOutCurves(pfs.loc[test].reset_index(drop=True), grid)
        part.add(name, *model_curve(model, part.patients, grid))
        for ref, (risk, surv) in reference_curves(pfs.loc[~test], part.patients, grid).items():
            part.add(ref, risk, surv)
        parts.append(part)
    return HeldOutCurves.concat(parts)


_WORDS = {"model": "model", **REFERENCES}


def format_curve_markdown(rows: list[dict] | pd.DataFrame, *, digits: int = 3,
                          cohort_header: str = "Held-out study") -> list[str]:
    """Markdown lines of the held-out curve metrics: one line per (study, model), cells ``v (low-high)``;
    ``cohort_header`` heads the first column (``evaluate``: "Cohort", its cohorts are not held out of anything).

    >>> lines = format_curve_markdown([{"cohort": "a", "model": "model", "n": 10, "n_events": 7, "uno_c": 0.6512,
    ...                                 "uno_c_low": 0.5, "uno_c_high": 0.8}])
    >>> lines[2]
    '| a | model | 10 | 7 | NA | 0.651 (0.500-0.800) | NA | NA | NA | NA | NA | NA | NA |'
    """
    frame = pd.DataFrame(rows)

    def cell(row, key: str) -> str:
        v = row.get(key)
        if v is None or pd.isna(v):
            return "NA"
        low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
        text = f"{v:.{digits}f}"
        if low is not None and high is not None and pd.notna(low) and pd.notna(high):
            text += f" ({low:.{digits}f}-{high:.{digits}f})"
        return text

    head = [cohort_header, "Model", "n", "Events", "Harrell's C", "Uno's C", "td-AUC 6 m", "td-AUC 12 m",
            "Brier 6 m", "Brier 12 m", "Integrated Brier", "Mean S(12)", "Kaplan-Meier S(12)"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|" + "---|" * (len(head) - 4)]
    for _, row in frame.iterrows():
        r = row.to_dict()
        lines.append("| " + " | ".join([str(r["cohort"]), _WORDS.get(r["model"], r["model"]), str(int(r["n"])),
                                        str(int(r["n_events"])), *(cell(r, m) for m in CURVE_METRICS),
                                        cell({"v": r.get("mean_predicted_12m")}, "v"), cell(r, "km_12m")]) + " |")
    return lines
