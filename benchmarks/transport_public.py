"""How the public model transports: the numbers behind the README and the model card (real data).

    python benchmarks/transport_public.py [--data-root ../shared/data] [--n-boot 1000]

On the four licensed training studies (``configs/public_cohorts.yaml``), with everything selected,
calibrated and fitted inside each outer fold of internal-external validation:

1. the family comparison: the whole pipeline restricted to one family at a time (penalised spline
   logistic regression; XGBoost with monotone constraints), each study predicted by a model that
   never saw it, with paired bootstrap differences on the same patients (log-loss, AUC);
2. local updating: each held-out study split in two halves (stratified, seeded); the outer-fold
   model updated on one half (``method="auto"``), calibration checked on the other, pooled over
   studies, and the same with the halves swapped;
3. the TIME class on Dijon (the only cohort here with a TIL measure): the shipped model with and
   without the CD8 score, CD8 alone, PD-L1 alone, calibration.

Nothing here chooses anything: the shipped model is trained by ``configs/public_cohorts.yaml``.
Writes ``benchmarks/results/transport_public.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, ROOT, machine

import icipredict
from icipredict.clinical.assays import pdl1_band_from_scores
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.config import load_config
from icipredict.evaluation import (binary_metrics, bootstrap_ci, calibration_ci, paired_auc_difference, roc_auc)
from icipredict.io import read_patients
from icipredict.fitting.sources import load_sources
from icipredict.fitting.selection import candidate_grid, internal_external
from icipredict.fitting.updating import apply_update, choose_method


def _labelled(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    y = binary_target(benefit_label(df))
    ok = y.notna().to_numpy()
    return df.loc[ok].reset_index(drop=True), y[ok].to_numpy(float)


def _loss(y, p) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _paired(y, a, b, strata, n_boot=1000, seed=0) -> dict:
    """Paired bootstrap (within study x outcome) of the log-loss and AUC differences a - b."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    la, lb = _loss(y, a), _loss(y, b)
    dl, da = [], []
    for _ in range(n_boot):
        idx = np.concatenate([rng.choice(g, len(g)) for g in groups])
        dl.append(la[idx].mean() - lb[idx].mean())
        da.append(roc_auc(y[idx], a[idx]) - roc_auc(y[idx], b[idx]))
    q = lambda v: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]  # noqa: E731
    return {"log_loss_diff": float(la.mean() - lb.mean()), "log_loss_diff_ci": q(dl),
            "auc_diff": float(roc_auc(y, a) - roc_auc(y, b)), "auc_diff_ci": q(da)}


def _metrics(y, p, n_boot) -> dict:
    m = binary_metrics(y, p, n_boot=n_boot, seed=0)
    return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in m.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    cfg = load_config(ROOT / "configs" / "public_cohorts.yaml", overrides=[f"data.root={args.data_root}"])
    sources = load_sources(cfg)
    rows, y = _labelled(sources.train)
    kw = dict(options=cfg.features, calibrations=list(cfg.calibration.methods), min_group_n=cfg.selection.min_group_n,
              folds=cfg.selection.folds, seed=cfg.seed)
    out: dict = {"machine": machine(), "n": int(len(y)), "events": int(y.sum())}

    # 1. families, each alone, under nested internal-external validation
    preds = {}
    for family in ("spline_logistic", "xgboost"):
        cands = candidate_grid(cfg.model.grids(), [family])
        res = internal_external(rows, y, cands, **kw, progress=print)
        preds[family] = res
        p = res.predictions["p"].to_numpy()
        per = {}
        for study in sorted(set(rows["cohort"])):
            m = (rows["cohort"] == study).to_numpy() & np.isfinite(p)
            if m.any():
                per[study] = {**_metrics(y[m], p[m], args.n_boot), **calibration_ci(y[m], p[m])}
        ok = np.isfinite(p)
        per["pooled"] = {**_metrics(y[ok], p[ok], args.n_boot), **calibration_ci(y[ok], p[ok])}
        out.setdefault("families", {})[family] = {
            "per_study": per, "selected": {s: (v.candidate.label, v.calibration) for s, v in res.selections.items()}}
    a, b = preds["spline_logistic"].predictions["p"].to_numpy(), preds["xgboost"].predictions["p"].to_numpy()
    ok = np.isfinite(a) & np.isfinite(b)
    strata = (rows["cohort"].astype(str) + ":" + pd.Series(y).astype(int).astype(str)).to_numpy()
    out["spline_minus_xgboost"] = _paired(y[ok], a[ok], b[ok], strata[ok], n_boot=args.n_boot)

    # 2. local updating on half of each held-out study
    spline = preds["spline_logistic"]
    pooled = {"first_half": ([], [], []), "second_half": ([], [], [])}
    methods = []
    for study, model in spline.models.items():
        m = (rows["cohort"] == study).to_numpy()
        held, yh = rows.loc[m].reset_index(drop=True), y[m]
        rng = np.random.default_rng(7)
        half = np.zeros(len(yh), dtype=bool)
        for cls in (0, 1):  # stratified halves
            idx = rng.permutation(np.flatnonzero(yh == cls))
            half[idx[: len(idx) // 2]] = True
        for name, fit_on in (("first_half", half), ("second_half", ~half)):
            part = held.loc[fit_on].reset_index(drop=True)
            try:
                method, _, _ = choose_method(model, part, yh[fit_on])
            except icipredict.InvalidPatientData as exc:
                methods.append({"study": study, "half": name, "method": f"refused: {str(exc)[:80]}"})
                continue
            fitted = apply_update(model, part, yh[fit_on], method)
            other = held.loc[~fit_on].reset_index(drop=True)
            pooled[name][0].append(yh[~fit_on])
            pooled[name][1].append(fitted.predict_proba(other))
            pooled[name][2].append(model.predict_proba(other))
            methods.append({"study": study, "half": name, "method": method, "n_fit": int(fit_on.sum()),
                            "events_fit": int(min(yh[fit_on].sum(), fit_on.sum() - yh[fit_on].sum()))})
    out["update_half"] = {"methods": methods}
    for name, (ys, ps, orig) in pooled.items():
        if ys:
            yy, pp, oo = np.concatenate(ys), np.concatenate(ps), np.concatenate(orig)
            out["update_half"][name] = {"n": int(len(yy)), "events": int(yy.sum()),
                                        "updated": calibration_ci(yy, pp), "original": calibration_ci(yy, oo)}

    # 3. Dijon: the TIME class
    dijon = icipredict.check_patients(read_patients(Path(args.data_root) / "dijon" / "fumet2020_cd8_pdl1.csv"))
    drows, dy = _labelled(dijon)
    model = icipredict.load_model("public").model
    with_cd8 = model.predict_proba(drows)
    without = model.predict_proba(drows.assign(cd8_score=np.nan))
    cd8 = drows["cd8_score"].to_numpy(float)
    band = pdl1_band_from_scores(drows).map({"<1": 0, "1-49": 1, ">=50": 2}).astype(float).to_numpy()
    k1, k2 = np.isfinite(cd8), np.isfinite(band)
    out["dijon"] = {
        "n": int(len(dy)), "events": int(dy.sum()),
        "with_cd8": {**_metrics(dy, with_cd8, args.n_boot), **calibration_ci(dy, with_cd8)},
        "without_cd8": {**_metrics(dy, without, args.n_boot), **calibration_ci(dy, without)},
        "difference": dict(zip(("auc_diff", "low", "high"), paired_auc_difference(dy, with_cd8, without,
                                                                                  n_boot=args.n_boot, seed=0))),
        "cd8_alone": {"n": int(k1.sum()), "roc_auc": roc_auc(dy[k1], cd8[k1]),
                      "ci": bootstrap_ci(dy[k1], cd8[k1], "roc_auc", n_boot=args.n_boot)},
        "pdl1_alone": {"n": int(k2.sum()), "roc_auc": roc_auc(dy[k2], band[k2]),
                       "ci": bootstrap_ci(dy[k2], band[k2], "roc_auc", n_boot=args.n_boot)},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transport_public.json").write_text(json.dumps(out, indent=1, default=float) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "families"}, indent=1, default=float))
    for family, v in out["families"].items():
        pooled_row = v["per_study"]["pooled"]
        print(family, {k: round(pooled_row[k], 3) for k in ("roc_auc", "calibration_slope", "calibration_intercept",
                                                           "brier", "log_loss")})


if __name__ == "__main__":
    main()
