"""Fit the marginal distributions used by the synthetic cohort generator from the real cohorts.

Reads the public NSCLC immunotherapy cohorts directly with pandas (no package loader, so the numbers
do not depend on the code they calibrate) and prints the marginals that are copied, rounded, into
the module constants of ``icipredict.io.synthetic``:

- cBioPortal datahub studies ``cbioportal/*/data_clinical_patient.txt`` and
  ``data_clinical_sample.txt`` (lines starting with ``#`` are column metadata);
- the LORIS tables ``loris_nsclc/*.csv`` (Sex 1 = male, Drug 1 = + anti-CTLA-4, Albumin g/dL, NLR,
  TMB mut/Mb, PDL1_TPS(%), Systemic_therapy_history, PFS_Months, PFS_Event);
- the MSK-IMPACT MAF of ``nsclc_pd1_msk_2018`` (non-silent alterations only) and its fusion table
  ``data_sv.txt`` (ALK / ROS1 / RET) for the gene alteration frequencies.

Usage::

    python benchmarks/fit_synthetic_marginals.py

The data folder defaults to ``../shared/data`` next to the repository and can be overridden with
the environment variable ``ICIPREDICT_SHARED_DATA``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ICIPREDICT_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
CBIO = DATA / "cbioportal"
LORIS = DATA / "loris_nsclc"

SILENT = {"Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA", "Splice_Region"}
GENES = ["EGFR", "KRAS", "BRAF", "ERBB2", "STK11", "KEAP1", "TP53", "JAK1", "JAK2", "B2M", "PTEN", "CTNNB1"]
FUSION_GENES = ["ALK", "ROS1", "RET"]
DCB_MONTHS = 6.0


def read_cbio(study: str, kind: str) -> pd.DataFrame:
    path = CBIO / study / f"data_clinical_{kind}.txt"
    return pd.read_csv(path, sep="\t", comment="#", low_memory=False)


def share(s: pd.Series, value) -> float:
    s = s.dropna()
    return float((s == value).mean()) if len(s) else float("nan")


def r(x: float, k: int = 3) -> float:
    return float(round(float(x), k))


def dcb_counts(pfs: pd.Series, event: pd.Series) -> tuple[int, int, int]:
    """(benefit, resistance, not evaluable) from PFS months and a 0/1 event."""
    pfs = pd.to_numeric(pfs, errors="coerce")
    event = pd.to_numeric(event, errors="coerce")
    ben = int((pfs >= DCB_MONTHS).sum())
    res = int(((pfs < DCB_MONTHS) & (event == 1)).sum())
    return ben, res, int(len(pfs) - ben - res)


def load_all() -> dict[str, pd.DataFrame]:
    """Every cohort mapped onto a few harmonised columns (NaN when the study does not report it)."""
    out: dict[str, pd.DataFrame] = {}

    # Rizvi 2018 (anti-PD-(L)1, MSK)
    p = read_cbio("nsclc_pd1_msk_2018", "patient")
    s = read_cbio("nsclc_pd1_msk_2018", "sample")
    d = p.merge(s, on="PATIENT_ID", how="left")
    out["nsclc_pd1_msk_2018"] = pd.DataFrame({
        "patient_id": d.PATIENT_ID,
        "age": pd.to_numeric(d.AGE, errors="coerce"),
        "female": d.SEX.map({"Female": 1, "Male": 0}),
        "smoking": d.SMOKER.str.lower(),
        "ecog": np.nan,
        "histology": d.ONCOTREE_CODE.map({"LUAD": "adenocarcinoma", "LUSC": "squamous"}).fillna("other"),
        "line": pd.to_numeric(d.LINES_OF_TX, errors="coerce"),
        "regimen": d.TREATMENT_TYPE.map({"Monotherapy": "ici_mono", "Combination": "ici_ctla4"}),
        "pdl1": pd.to_numeric(d.PDL1_SCORE, errors="coerce"),
        "tmb": pd.to_numeric(d.TMB_NONSYNONYMOUS, errors="coerce"),
        "albumin": np.nan,
        "nlr": np.nan,
        "pfs": pd.to_numeric(d.PFS_MONTHS, errors="coerce"),
        "pfs_event": d.PFS_STATUS.str[0].astype(float),
    })

    # Vanguri 2022 (MSK-MIND)
    p = read_cbio("lung_msk_mind_2020", "patient")
    s = read_cbio("lung_msk_mind_2020", "sample")
    d = p.merge(s, on="PATIENT_ID", how="left").dropna(subset=["SEX"])
    hist = d.HISTOLOGY.fillna("").str.lower()
    out["lung_msk_mind_2020"] = pd.DataFrame({
        "patient_id": d.PATIENT_ID,
        "age": pd.to_numeric(d.AGE, errors="coerce"),
        "female": d.SEX.map({"Female": 1, "Male": 0}),
        "smoking": d.SMOKING_STATUS.str.split().str[0].str.lower(),
        "ecog": pd.to_numeric(d.ECOG, errors="coerce"),
        "histology": np.where(hist.str.startswith("adenocarcinoma"), "adenocarcinoma",
                              np.where(hist == "squamous", "squamous", "other")),
        "line": pd.to_numeric(d.IO_LINE, errors="coerce"),
        "regimen": d.MONO_COMBO.map({"PD1 alone": "ici_mono", "PD1+CTLA4": "ici_ctla4"}),
        "pdl1": pd.to_numeric(d.CLINICAL_PDL1_SCORE, errors="coerce"),
        "tmb": pd.to_numeric(d.TMB, errors="coerce"),
        "albumin": pd.to_numeric(d.ALBUMIN, errors="coerce"),
        "nlr": np.nan,  # the study gives the derived NLR (dNLR), not NLR
        "pfs": pd.to_numeric(d.PFS_MONTHS, errors="coerce"),
        "pfs_event": d.PFS_STATUS.str[0].astype(float),
    })

    # Hellmann 2018 (nivolumab + ipilimumab)
    p = read_cbio("nsclc_mskcc_2018", "patient")
    s = read_cbio("nsclc_mskcc_2018", "sample")
    d = p.merge(s, on="PATIENT_ID", how="left")
    out["nsclc_mskcc_2018"] = pd.DataFrame({
        "patient_id": d.PATIENT_ID,
        "age": pd.to_numeric(d.AGE_YRS, errors="coerce"),
        "female": d.SEX.map({"Female": 1, "Male": 0}),
        "smoking": d.SMOKING_STATUS.str.lower(),
        "ecog": pd.to_numeric(d.ECOG_PERFORMANCE_STATUS, errors="coerce"),
        "histology": d.HISTOLOGY.map({"Squamous": "squamous", "Non-Squamous": "adenocarcinoma"}),
        "line": np.nan,
        "regimen": "ici_ctla4",
        "pdl1": pd.to_numeric(d.PDL1_EXP, errors="coerce"),
        "tmb": np.nan,  # whole-exome counts, a different scale
        "albumin": np.nan,
        "nlr": np.nan,
        "pfs": pd.to_numeric(d.PFS_MONTHS, errors="coerce"),
        "pfs_event": d.PFS_STATUS.str[0].astype(float),
    })

    # LORIS tables (Chowell train/test, MSK1)
    for name in ("chowell_train", "chowell_test", "msk1"):
        d = pd.read_csv(LORIS / f"{name}.csv")
        out[f"loris_{name}"] = pd.DataFrame({
            "patient_id": d.SAMPLE_ID.astype(str),
            "age": pd.to_numeric(d.Age, errors="coerce"),
            "female": 1 - d.Sex,
            "smoking": np.nan,
            "ecog": np.nan,
            "histology": np.nan,
            "line": np.where(d.Systemic_therapy_history == 1, 2.0, 1.0),  # proxy: prior therapy -> line >= 2
            "regimen": np.where(d.Drug == 1, "ici_ctla4", "ici_mono"),
            "pdl1": pd.to_numeric(d["PDL1_TPS(%)"], errors="coerce"),
            "tmb": pd.to_numeric(d.TMB, errors="coerce"),
            "albumin": pd.to_numeric(d.Albumin, errors="coerce"),
            "nlr": pd.to_numeric(d.NLR, errors="coerce"),
            "pfs": pd.to_numeric(d.PFS_Months, errors="coerce"),
            "pfs_event": pd.to_numeric(d.PFS_Event, errors="coerce"),
        })
    for k, v in out.items():
        v["cohort"] = k
    return out


def mutation_frequencies() -> dict:
    study = "nsclc_pd1_msk_2018"
    s = read_cbio(study, "sample")
    samples = set(s.SAMPLE_ID)
    n = len(samples)
    maf = pd.read_csv(CBIO / study / "data_mutations.txt", sep="\t", comment="#", low_memory=False)
    maf = maf[maf.Tumor_Sample_Barcode.isin(samples) & ~maf.Variant_Classification.isin(SILENT)]
    freq = {}
    for g in GENES:
        freq[g] = maf.loc[maf.Hugo_Symbol == g, "Tumor_Sample_Barcode"].nunique() / n
    met = maf[maf.Hugo_Symbol == "MET"]
    ex14 = met.Variant_Classification.eq("Splice_Site") | met.HGVSp_Short.fillna("").str.contains(
        r"X963|X1010|D1010|1009|1010", regex=True)
    freq["MET_EX14"] = met.loc[ex14, "Tumor_Sample_Barcode"].nunique() / n
    sv = pd.read_csv(CBIO / study / "data_sv.txt", sep="\t", comment="#", low_memory=False)
    sv = sv[sv.Sample_Id.isin(samples)]
    text = (sv.Site1_Hugo_Symbol.fillna("") + " " + sv.Site2_Hugo_Symbol.fillna("") + " "
            + sv.Event_Info.fillna(""))
    for g in FUSION_GENES:
        freq[g] = sv.loc[text.str.contains(rf"\b{g}\b", regex=True), "Sample_Id"].nunique() / n
    # smoking-specific frequencies (BRAF / MET ex14 positive in smokers)
    p = read_cbio(study, "patient").merge(s, on="PATIENT_ID")
    ever = set(p.loc[p.SMOKER == "Ever", "SAMPLE_ID"])
    by_smoke = {}
    for g in ("EGFR", "KRAS", "STK11", "KEAP1", "TP53"):
        hit = set(maf.loc[maf.Hugo_Symbol == g, "Tumor_Sample_Barcode"])
        by_smoke[g] = {"ever": len(hit & ever) / max(len(ever), 1),
                       "never": len(hit & (samples - ever)) / max(len(samples - ever), 1)}
    return {"study": study, "n_samples": n, "freq": {k: r(v) for k, v in freq.items()},
            "by_smoking": {g: {k: r(v) for k, v in d.items()} for g, d in by_smoke.items()}}


def main() -> int:
    if not DATA.exists():
        print(f"real cohorts not found at {DATA} (set ICIPREDICT_SHARED_DATA)", file=sys.stderr)
        return 2
    cohorts = load_all()
    # the first two MSK studies share patients: keep the first occurrence of a P- id
    pooled = pd.concat(cohorts.values(), ignore_index=True)
    is_p = pooled.patient_id.str.startswith("P-")
    pooled = pd.concat([pooled[~is_p], pooled[is_p].drop_duplicates("patient_id")], ignore_index=True)
    res: dict = {"data": str(DATA), "n_per_cohort": {k: len(v) for k, v in cohorts.items()}, "n_pooled": len(pooled)}

    res["age"] = {"mean": r(pooled.age.mean(), 2), "sd": r(pooled.age.std(), 2), "n": int(pooled.age.notna().sum())}
    res["female_share"] = {"value": r(pooled.female.mean()), "n": int(pooled.female.notna().sum())}
    sm = pooled.smoking.dropna()
    # Rizvi 2018 only says Ever/Never: shares of never from all studies, former/current from studies with detail
    detail = sm[sm.isin(["former", "current"])]
    never = r((sm == "never").mean())
    res["smoking"] = {"never": never,
                      "former": r((1 - never) * (detail == "former").mean()),
                      "current": r((1 - never) * (detail == "current").mean()),
                      "n": int(len(sm)), "n_former_current_detail": int(len(detail))}
    mind = read_cbio("lung_msk_mind_2020", "patient")
    py = pd.to_numeric(mind.PACK_YEARS, errors="coerce")
    ever = mind.SMOKING_STATUS.fillna("").str.startswith(("Former", "Current"))
    lpy = np.log(py[ever & (py > 0)])
    res["pack_years_ever_smokers"] = {"source": "lung_msk_mind_2020", "median": r(np.exp(lpy.median()), 1),
                                      "log_mean": r(lpy.mean()), "log_sd": r(lpy.std()), "n": int(len(lpy))}
    ec = pooled.ecog.dropna().clip(upper=2)
    res["ecog"] = {"shares": {str(int(k)): r(v) for k, v in ec.value_counts(normalize=True).sort_index().items()},
                   "n": int(len(ec)), "note": "2 means >= 2"}
    hs = pooled.histology.dropna()
    res["histology"] = {k: r(v) for k, v in hs.value_counts(normalize=True).items()} | {"n": int(len(hs))}
    ln = pooled.line.dropna()
    cb = pooled[pooled.cohort.isin(["nsclc_pd1_msk_2018", "lung_msk_mind_2020"])].line.dropna()
    res["line_gt1_share"] = {"all_incl_loris_proxy": r((ln > 1).mean()), "n": int(len(ln)),
                             "cbioportal_only": r((cb > 1).mean()), "n_cbioportal": int(len(cb)),
                             "cbioportal_line_shares": {str(int(k)): r(v) for k, v in
                                                        cb.clip(upper=4).value_counts(normalize=True).sort_index().items()}}
    rg = pooled.regimen.dropna()
    res["regimen"] = {k: r(v) for k, v in rg.value_counts(normalize=True).items()} | {
        "n": int(len(rg)), "note": "no chemo-ICI in these cohorts (all pre-2019 MSK)"}

    pd_all = pooled.pdl1
    measured = pd_all.dropna()
    within = {}
    for lo, hi, lab in ((0, 1, "<1"), (1, 50, "1-49"), (50, 101, ">=50")):
        v = measured[(measured >= lo) & (measured < hi)]
        within[lab] = {"share": r(len(v) / len(measured)), "median": r(v.median(), 1),
                       "q25": r(v.quantile(0.25), 1), "q75": r(v.quantile(0.75), 1),
                       "share_exact_0" if lab == "<1" else "share_100": r((v == (0 if lab == "<1" else 100)).mean())}
    res["pdl1"] = {"share_missing_pooled": r(pd_all.isna().mean()),
                   "share_missing_per_cohort": {k: r(v.pdl1.isna().mean()) for k, v in cohorts.items()},
                   "bands_among_measured": within, "n_measured": int(len(measured))}

    tmb = pooled[pooled.tmb.notna()]
    lt = np.log1p(tmb.tmb)
    res["log_tmb"] = {"transform": "log(1 + tmb)", "mean": r(lt.mean()), "sd": r(lt.std()),
                      "median_tmb": r(tmb.tmb.median(), 2), "share_ge_10": r((tmb.tmb >= 10).mean()),
                      "n": int(len(tmb))}
    alb = pooled.albumin.dropna()
    res["albumin"] = {"mean": r(alb.mean()), "sd": r(alb.std()), "n": int(len(alb))}
    nlr = pooled.nlr.dropna()
    ln_nlr = np.log(nlr.clip(lower=0.1))
    res["log_nlr"] = {"mean": r(ln_nlr.mean()), "sd": r(ln_nlr.std()), "median_nlr": r(nlr.median(), 2),
                      "n": int(len(nlr))}
    res["mutations"] = mutation_frequencies()
    res["missingness"] = {c: r(pooled[c].isna().mean()) for c in
                          ("age", "female", "smoking", "ecog", "histology", "line", "pdl1", "tmb", "albumin", "nlr")}

    dcb = {}
    tb = tr = tn = 0
    for k, v in cohorts.items():
        b, rr, ne = dcb_counts(v.pfs, v.pfs_event)
        tb, tr, tn = tb + b, tr + rr, tn + ne
        dcb[k] = {"benefit": b, "resistance": rr, "not_evaluable": ne, "dcb_rate_evaluable": r(b / max(b + rr, 1)),
                  "not_evaluable_share": r(ne / len(v))}
    b, rr, ne = dcb_counts(pooled.pfs, pooled.pfs_event)
    res["dcb"] = {"per_cohort": dcb, "pooled_dedup": {"benefit": b, "resistance": rr, "not_evaluable": ne,
                                                      "dcb_rate_evaluable": r(b / (b + rr)),
                                                      "not_evaluable_share": r(ne / len(pooled))},
                  "rule": "PFS >= 6 months benefit; event and PFS < 6 resistance; otherwise not evaluable"}

    print(f"Fitted synthetic-cohort marginals from {DATA}")
    print(json.dumps(res, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
