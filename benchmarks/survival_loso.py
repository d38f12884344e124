"""The PFS curve against today's 6-month model, study by study: the "Must hold" numbers of issue 22.

    python benchmarks/survival_loso.py --data-root /work/shared/data [--n-boot 1000]

Leave-one-study-out (internal-external validation) on the four licensed training studies of
``configs/public_cohorts.yaml``: each study is predicted by models selected, calibrated and fitted
on the other three only, once with today's 6-month families (``spline_logistic``, ``xgboost``) and once with
the time-to-event families (``spline_cox``, ``xgboost_cox``), on the same folds. Per held-out study
and pooled, with n and 95% bootstrap intervals (patients resampled within each cohort, stratified
by event, the same resamples for every model):

1. Uno's C for PFS (truncated at 24 months or the last month with >= 10 patients at risk) of the
   curve model's linear predictor against ranking by today's ``p_durable_benefit``; paired difference;
2. the 6-month AUC and calibration slope of both, on the patients with a 6-month label;
3. mean predicted S(12) against each held-out study's Kaplan-Meier S(12);
4. the integrated Brier score of the curve against the Kaplan-Meier null and a PD-L1-only Cox
   model, both fitted on the same three training studies;
5. S(6) and S(12) calibration by risk group (plot), and the proportional-hazards check (scaled
   Schoenfeld residuals) of the curve model fitted on all four studies.

Patients with a PFS time count with their follow-up (censored ones included) in 1, 3 and 4; only
evaluable patients (progressed before 6 months or followed to 6 months) count in 2.
Writes ``benchmarks/results/survival_loso.json``, ``.md`` and ``survival_loso_calibration.png``.
"""

from __future__ import annotations

import argparse
import json
import time as clock

import numpy as np
import pandas as pd
from _common import RESULTS, ROOT, machine

from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.config import load_config
from icipredict.evaluation import binary_metrics, paired_auc_difference
from icipredict.evaluation.curves import (DEFAULT_GRID, HeldOutCurves, curve_calibration, curve_metrics, model_curve,
                                          reference_curves)
from icipredict.evaluation.proportional_hazards import proportional_hazards_check
from icipredict.fitting.selection import candidate_grid, internal_external
from icipredict.fitting.sources import load_sources
from icipredict.fitting.survival import fit_final_survival, internal_external_survival, select_survival

CURVE_FAMILIES = ["spline_cox", "xgboost_cox"]
#: Today's 6-month families (the shipped model before issue 22), with the grids the config gives them.
TODAY_FAMILIES = ["spline_logistic", "xgboost"]


def _fold_options(cfg) -> dict:
    return dict(options=cfg.features, calibrations=list(cfg.calibration.methods), min_group_n=cfg.selection.min_group_n,
                folds=cfg.selection.folds, seed=cfg.seed, til_prior_on=cfg.til.prior != "none",
                til_min_patients=cfg.til.min_patients, level=cfg.uncertainty.level)


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 4)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _ci(row, key, digits=3) -> str:
    v, low, high = row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high")
    if v is None or pd.isna(v):
        return "NA"
    text = f"{v:.{digits}f}"
    if low is not None and high is not None and pd.notna(low) and pd.notna(high):
        text += f" ({low:.{digits}f} to {high:.{digits}f})"
    return text


def _six_month(held_rows: pd.DataFrame, y: np.ndarray, p_today: np.ndarray, s6_curve: np.ndarray, n_boot: int) -> list:
    out = []
    cohorts = held_rows["cohort"].astype(str).to_numpy()
    for cohort in [*sorted(set(cohorts)), "pooled"]:
        m = np.ones(len(y), bool) if cohort == "pooled" else cohorts == cohort
        keep = m & np.isfinite(p_today) & np.isfinite(s6_curve)
        row = {"cohort": cohort}
        for name, p in (("today", p_today), ("curve", s6_curve)):
            b = binary_metrics(y[keep], p[keep], n_boot=n_boot, seed=0)
            row.update({f"{name}_{k}": b[k] for k in ("n", "n_pos", "roc_auc", "roc_auc_low", "roc_auc_high",
                                                          "calibration_slope", "calibration_slope_low",
                                                          "calibration_slope_high", "calibration_intercept",
                                                          "mean_predicted", "prevalence")})
        d, low, high = paired_auc_difference(y[keep], s6_curve[keep], p_today[keep], n_boot=n_boot, seed=0)
        row.update({"auc_curve_minus_today": d, "auc_curve_minus_today_low": low, "auc_curve_minus_today_high": high})
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    started = clock.time()
    info = machine()
    cfg = load_config(ROOT / "configs" / "public_cohorts.yaml",
                      overrides=[f"data.root={args.data_root}", f"model.families={json.dumps(TODAY_FAMILIES)}"])
    cfg_curve = load_config(ROOT / "configs" / "public_cohorts.yaml",
                            overrides=[f"data.root={args.data_root}", f"model.families={json.dumps(CURVE_FAMILIES)}"])
    patients = load_sources(cfg).train
    target = binary_target(benefit_label(patients, source=cfg.label.source, benefit_months=cfg.label.benefit_months))
    evaluable = target.notna().to_numpy()
    rows, y = patients.loc[evaluable].reset_index(drop=True), target[evaluable].to_numpy(float)
    pfs = patients.loc[patients["pfs_months"].notna()].reset_index(drop=True)
    print(f"{len(patients)} patients, {len(pfs)} with PFS ({int(pfs['pfs_event'].sum())} events), "
          f"{len(rows)} with a 6-month label")

    say = lambda m: print(m, flush=True)  # noqa: E731
    today = internal_external(rows, y, candidate_grid(cfg.model.grids(), TODAY_FAMILIES),
                              progress=say, **_fold_options(cfg))
    curve = internal_external_survival(rows, y, pfs, candidate_grid(cfg_curve.model.grids(), CURVE_FAMILIES),
                                       progress=say, **_fold_options(cfg_curve))
    studies = sorted(set(today.models) & set(curve.models))
    print(f"held-out studies with both models: {studies}; skipped: today {today.skipped}, curve {curve.skipped}")

    grid = DEFAULT_GRID
    six = list(grid).index(6.0)
    parts = []
    cohort = pfs["cohort"].astype(str).to_numpy()
    for study in studies:
        test = cohort == study
        part = HeldOutCurves(pfs.loc[test].reset_index(drop=True), grid)
        part.add("curve", *model_curve(curve.models[study], part.patients, grid))
        p = today.models[study].predict_proba(part.patients)
        surv = np.full((len(p), grid.size), np.nan)
        surv[:, six] = p
        part.add("today", -p, surv)
        for name, (risk, s) in reference_curves(pfs.loc[~test], part.patients, grid).items():
            part.add(name, risk, s)
        parts.append(part)
    held = HeldOutCurves.concat(parts)
    table = curve_metrics(held, compare_to=("today", "km_null", "pdl1_cox"), n_boot=args.n_boot, seed=0)
    calibration = curve_calibration(held, "curve", n_groups=4)

    in_fold = rows["cohort"].astype(str).isin(studies).to_numpy()
    p_today = np.where(in_fold, today.predictions["p"].to_numpy(float), np.nan)
    s6 = np.where(in_fold, curve.predictions["p"].to_numpy(float), np.nan)
    six_month = _six_month(rows, y, p_today, s6, args.n_boot)

    from icipredict.plots.survival import plot_survival_calibration
    from icipredict.plots.style import figure_png

    fig = plot_survival_calibration(held.patients["pfs_months"], held.patients["pfs_event"],
                                    {6.0: held.surv["curve"][:, six], 12.0: held.surv["curve"][:, list(grid).index(12.0)]},
                                    label="PFS curve, each study held out",
                                    title="Leave-one-study-out on 4 MSK studies")
    (RESULTS / "survival_loso_calibration.png").write_bytes(figure_png(fig))

    # the curve model on all four studies, and its proportional-hazards check
    sel = select_survival(pfs, pfs["pfs_months"].to_numpy(float), pfs["pfs_event"].to_numpy(float),
                          candidate_grid(cfg_curve.model.grids(), CURVE_FAMILIES), options=cfg_curve.features,
                          calibrations=list(cfg_curve.calibration.methods), min_group_n=cfg_curve.selection.min_group_n,
                          folds=cfg_curve.selection.folds, seed=cfg_curve.seed)
    final = fit_final_survival(sel, pfs, pfs["pfs_months"].to_numpy(float), pfs["pfs_event"].to_numpy(float),
                               **{k: v for k, v in _fold_options(cfg_curve).items()
                                  if k not in ("calibrations", "min_group_n", "folds")})
    ph = proportional_hazards_check(final, pfs)

    checks = []
    by = table.set_index(["cohort", "model"])
    for c in [*studies, "pooled"]:
        r = by.loc[(c, "curve")]
        checks.append({"cohort": c, "n": int(r["n"]),
                       "uno_c_gain_vs_today": r["uno_c_minus_today"], "uno_c_gain_ok": bool(r["uno_c_minus_today"] >= 0.02),
                       "s12_minus_km": r["mean_predicted_12m"] - r["km_12m"],
                       "s12_ok": bool(abs(r["mean_predicted_12m"] - r["km_12m"]) <= 0.05)})
    for s in six_month:
        next(ch for ch in checks if ch["cohort"] == s["cohort"]).update(
            {"auc6_not_worse": bool(s["curve_roc_auc"] >= s["today_roc_auc"]),
             "slope6_not_worse": bool(abs(s["curve_calibration_slope"] - 1) <= abs(s["today_calibration_slope"] - 1))})

    payload = _clean({
        "machine": info, "seconds": clock.time() - started, "n_boot": args.n_boot,
        "data": {"n_patients": len(patients), "n_pfs": len(pfs), "n_events": int(pfs["pfs_event"].sum()),
                 "n_six_month_label": len(rows), "studies": studies},
        "selected": {"today": {s: today.selections[s].candidate.label for s in studies},
                     "curve": {s: curve.selections[s].candidate.label for s in studies},
                     "curve_all_studies": sel.candidate.label},
        "survival": table.to_dict(orient="records"), "six_month": six_month,
        "calibration_by_group": calibration.to_dict(orient="records"),
        "proportional_hazards": ph.to_dict(orient="records"), "checks": checks})
    (RESULTS / "survival_loso.json").write_text(json.dumps(payload, indent=1) + "\n")
    (RESULTS / "survival_loso.md").write_text(markdown(payload) + "\n")
    print(markdown(payload))


def markdown(payload: dict) -> str:
    surv = pd.DataFrame(payload["survival"])
    lines = [f"# Leave-one-study-out: the PFS curve against today's 6-month model ({payload['data']['n_pfs']} "
             f"patients with PFS, {payload['data']['n_events']} events; {payload['n_boot']} bootstrap resamples)", "",
             "Each study predicted by models selected and fitted on the other three. 95% bootstrap intervals.", "",
             "| Held-out study | n | events | Uno's C, curve | Uno's C, today | difference | td-AUC 6 m, curve | "
             "td-AUC 12 m, curve | mean S(12) | KM S(12) | IBS curve | IBS KM null | IBS PD-L1 Cox |",
             "|---|---:|---:|---|---|---|---|---|---|---|---|---|---|"]
    for c in [*payload["data"]["studies"], "pooled"]:
        part = surv[surv["cohort"] == c].set_index("model")
        r, t = part.loc["curve"].to_dict(), part.loc["today"].to_dict()
        lines.append(f"| {c} | {int(r['n'])} | {int(r['n_events'])} | {_ci(r, 'uno_c')} | {_ci(t, 'uno_c')} | "
                     f"{_ci(r, 'uno_c_minus_today')} | {_ci(r, 'td_auc_6m')} | {_ci(r, 'td_auc_12m')} | "
                     f"{r['mean_predicted_12m']:.3f} | {_ci(r, 'km_12m')} | {_ci(r, 'ibs')} | "
                     f"{_ci(part.loc['km_null'].to_dict(), 'ibs')} | {_ci(part.loc['pdl1_cox'].to_dict(), 'ibs')} |")
    lines += ["", "Integrated Brier score differences (curve minus reference; below 0 is better), months 1 to "
              "`ibs_until`:", "", "| Held-out study | up to (months) | curve - KM null | curve - PD-L1 Cox |",
              "|---|---:|---|---|"]
    for c in [*payload["data"]["studies"], "pooled"]:
        r = surv[(surv["cohort"] == c) & (surv["model"] == "curve")].iloc[0].to_dict()
        lines.append(f"| {c} | {r['ibs_until']:g} | {_ci(r, 'ibs_minus_km_null')} | {_ci(r, 'ibs_minus_pdl1_cox')} |")
    lines += ["", "6-month label (patients progressed before 6 months or followed to 6 months):", "",
              "| Held-out study | n | AUC today | AUC curve S(6) | difference | slope today | slope curve |",
              "|---|---:|---|---|---|---|---|"]
    for s in payload["six_month"]:
        lines.append(f"| {s['cohort']} | {s['today_n']} | {_ci(s, 'today_roc_auc')} | {_ci(s, 'curve_roc_auc')} | "
                     f"{_ci(s, 'auc_curve_minus_today')} | {_ci(s, 'today_calibration_slope', 2)} | "
                     f"{_ci(s, 'curve_calibration_slope', 2)} |")
    lines += ["", "Proportional hazards (scaled Schoenfeld residuals against ranked time, curve model fitted on all "
              "four studies):", "", "| Input | design column | coef | chi2 | p |", "|---|---|---:|---:|---:|"]
    for r in payload["proportional_hazards"]:
        lines.append(f"| {r['input']} | {r['term']} | {r['coef']:.3f} | {r['statistic']:.2f} | {r['p_value']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
