"""How the shipped public model holds up when an external centre reports less.

Scores the external LORIS/Chowell tables (never used in training) with the shipped model as given, with
PD-L1 reduced to its band, without TMB, without albumin and NLR, and with the TMB assay declared
as plasma bTMB. Writes benchmarks/results/robustness.json and prints a markdown table.

    python benchmarks/robustness_public.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.evaluation import bootstrap_ci, roc_auc
from icipredict.io import read_patients
from icipredict.table.schema import check_patients
from icipredict.serve.predict import load_model

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("ICIPREDICT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def _band_only(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["pdl1_band"] = pd.Categorical(pdl1_band(df).astype(object), categories=["<1", "1-49", ">=50"])
    out["pdl1_tps"] = np.nan
    return out


SCENARIOS = {
    "as given": lambda d: d,
    "PD-L1 band only": _band_only,
    "no TMB": lambda d: d.assign(tmb=np.nan),
    "no albumin, no NLR": lambda d: d.assign(albumin=np.nan, nlr=np.nan),
    "TMB declared plasma bTMB": lambda d: d.assign(tmb_assay="plasma bTMB"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    model = load_model("public")
    rows = []
    for name in ("chowell_train", "chowell_test", "msk1"):
        table = check_patients(read_patients(args.data / "loris_nsclc" / f"{name}.csv"))
        y = binary_target(benefit_label(table))
        ok = y.notna().to_numpy()
        table, yv = table.loc[ok].reset_index(drop=True), y[ok].astype(int).to_numpy()
        for scenario, change in SCENARIOS.items():
            p = model.predict_proba(change(table))
            low, high = bootstrap_ci(yv, p, "roc_auc", n_boot=args.n_boot, seed=0)
            rows.append({"cohort": name, "scenario": scenario, "n": int(len(yv)), "events": int(yv.sum()),
                         "roc_auc": roc_auc(yv, p), "roc_auc_low": low, "roc_auc_high": high,
                         "mean_predicted": float(p.mean()), "observed": float(yv.mean())})
    out = HERE / "results" / "robustness.json"
    out.write_text(json.dumps({"model_version": model.version, "rows": rows}, indent=2) + "\n")
    print("| cohort | scenario | n (events) | ROC AUC (95% CI) | mean predicted / observed |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['cohort']} | {r['scenario']} | {r['n']} ({r['events']}) | {r['roc_auc']:.2f} "
              f"({r['roc_auc_low']:.2f}-{r['roc_auc_high']:.2f}) | {r['mean_predicted']:.2f} / {r['observed']:.2f} |")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
