"""Seeded synthetic NSCLC immunotherapy cohort (the package's embedded default data set).

``synthetic_cohort(n, seed)`` returns a canonical patient table (see ``icipredict.table.schema``) whose
marginal distributions were fitted to the public cohorts in ``../shared/data`` by
``benchmarks/fit_synthetic_marginals.py`` (numbers below, rounded, with their source), and whose
outcome follows a documented latent logistic model, :data:`TRUE_LOGIT_COEFFICIENTS`, in the
directions of ``domain.md`` section 3.

How a cohort is made:

1. every predictor is drawn *complete* (true values) with a few realistic dependencies (smoking ->
   KRAS / STK11 / KEAP1 / EGFR / TMB, drivers exclusive of KRAS, PD-L1 and TILs correlated, tumour
   burden -> metastatic sites, albumin, NLR);
2. the latent probability of durable clinical benefit (DCB) is computed from the true values and
   the latent class drawn from it;
3. PFS, best response and OS are drawn consistent with the class (DCB: PFS >= 6 months; primary
   resistance: progression before 6 months; a share of patients is censored before 6 months
   without progression, i.e. not evaluable);
4. only then are values masked (missing) and assay effects applied (plasma bTMB scale shift, WES),
   so that the outcome never depends on missingness.

Same ``n`` and ``seed`` give an identical frame; the generator uses one ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.table.run_limits import check_seed
from icipredict.table.vocab import MAX_SYNTHETIC_PATIENTS

__all__ = ["whole_numbers_as_integers", "synthetic_cohort", "TRUE_LOGIT_COEFFICIENTS"]

# ---------------------------------------------------------------------------------------------
# Fitted marginals. Unless said otherwise, every number comes from
# `python benchmarks/fit_synthetic_marginals.py` run on ../shared/data: a pooled, de-duplicated
# table of nsclc_pd1_msk_2018 (n=240), lung_msk_mind_2020 (n=246), nsclc_mskcc_2018 (n=75) and the
# LORIS tables chowell_train (n=331), chowell_test (n=207), msk1 (n=128); n_pooled = 1204.
# ---------------------------------------------------------------------------------------------

#: Age at ICI start: pooled, n=1204 (all six cohorts).
AGE_MEAN, AGE_SD = 65.6, 10.8
#: Female share: pooled, n=1204.
FEMALE_SHARE = 0.516
#: Smoking: never share from the 538 patients of the cBioPortal studies; former/current split from
#: the 255 ever-smokers with detail (lung_msk_mind_2020, nsclc_mskcc_2018).
SMOKING_SHARES = {"never": 0.167, "former": 0.627, "current": 0.206}
#: Pack-years among ever smokers: lung_msk_mind_2020, n=209, log-normal (log mean 3.21, log sd 0.95).
PACK_YEARS_LOG_MEAN, PACK_YEARS_LOG_SD = 3.21, 0.95
#: ECOG: lung_msk_mind_2020 + nsclc_mskcc_2018, n=298 (0: 0.181, 1: 0.742, >=2: 0.077; ECOG 3 is
#: 1/246 in MSK-MIND).
ECOG_SHARES = {0: 0.181, 1: 0.742, 2: 0.070, 3: 0.007}
#: Histology: cBioPortal studies, n=538.
HISTOLOGY_SHARES = {"adenocarcinoma": 0.762, "squamous": 0.154, "other": 0.084}
#: Line of ICI therapy among ICI alone / + CTLA-4: nsclc_pd1_msk_2018 + lung_msk_mind_2020, n=463
#: (line > 1: 0.737; 4 means >= 4).
LINE_SHARES = {1: 0.263, 2: 0.538, 3: 0.127, 4: 0.071}
#: Regimen. The real cohorts (all MSK, before 2019) have ICI alone 0.846 and + CTLA-4 0.154 (n=1204)
#: and no chemo-ICI. Design choice: 25% chemo-ICI (today's first-line standard), the remaining 75%
#: split in the real ratio.
REGIMEN_SHARES = {"ici_mono": 0.75 * 0.846, "ici_ctla4": 0.75 * 0.154, "chemo_ici": 0.25}
#: Share of chemo-ICI patients treated first line (design choice: chemo-ICI is a first-line regimen).
CHEMO_ICI_FIRST_LINE = 0.90
#: PD-L1 TPS bands among the measured: pooled, n=777 (<1: 0.471, all exactly 0; 1-49: 0.232, median
#: 10, IQR 3-20; >=50: 0.297, median 80, IQR 70-90, 10% exactly 100).
PDL1_BAND_SHARES = {"<1": 0.471, "1-49": 0.232, ">=50": 0.297}
PDL1_MID_LOG_MEAN, PDL1_MID_LOG_SD = np.log(9.0), 1.2    # 1-49 band: log-normal clipped to [1, 49]
PDL1_HIGH_BETA = (3.0, 2.0)                              # >=50 band: 50 + 50 * Beta(3, 2) (median ~80)
PDL1_HIGH_SHARE_100 = 0.10
#: log(1 + TMB), MSK-IMPACT mut/Mb: pooled, n=1129 (mean 2.075, sd 0.77; median TMB 7.0, 33% >= 10).
LOG_TMB_MEAN, LOG_TMB_SD = 2.075, 0.77
#: Albumin g/dL: lung_msk_mind_2020 + LORIS tables, n=889.
ALBUMIN_MEAN, ALBUMIN_SD = 3.745, 0.416
#: log NLR: LORIS tables, n=666 (median NLR 4.89).
LOG_NLR_MEAN, LOG_NLR_SD = 1.624, 0.741
#: Gene alteration frequencies: nsclc_pd1_msk_2018 MAF (non-silent) and data_sv.txt fusions, n=240
#: samples; by smoking where the script reports it (ever / never).
MUTATION_FREQ = {
    "kras": {"ever": 0.420, "never": 0.106},   # overall 0.358
    "stk11": {"ever": 0.264, "never": 0.043},  # overall 0.221
    "keap1": {"ever": 0.264, "never": 0.043},  # overall 0.221
    "tp53": {"ever": 0.622, "never": 0.447},   # overall 0.588
    "braf": 0.042, "met_ex14": 0.029,
    "jak1": 0.013, "jak2": 0.017, "b2m": 0.013, "pten": 0.033, "ctnnb1": 0.046,
}
#: Actionable drivers. The MAF gives EGFR 0.108 (every non-silent variant, ever 0.073 / never 0.255),
#: ERBB2 0.042, ALK 0.008, ROS1 0.021 (fusions incl. out of frame), RET 0.004; MSK-MIND calls EGFR
#: *driver* in 22/246 = 0.089. ICI cohorts select against driver-positive patients, so the generator
#: targets about 5% driver-positive (design choice), never-smokers enriched about 4x.
DRIVER_FREQ = {"egfr": {"ever": 0.020, "never": 0.100}, "alk": 0.005, "ros1": 0.005, "ret": 0.004,
               "erbb2": 0.010}
#: Metastatic sites (not in the public tables; design choice from NSCLC ICI series, e.g. liver ~20%,
#: bone ~30%, brain ~25%, pleura ~25%).
MET_SITE_SHARES = {"met_liver": 0.20, "met_bone": 0.30, "met_brain": 0.25, "met_pleura": 0.25}
#: Antibiotics around ICI start (design choice: ~20% in published NSCLC series; not in the tables).
ANTIBIOTICS_SHARE = 0.20
#: Stromal TIL %, log-normal with median ~10% so that ~50% are TIL-high at the 10% cut-off (design
#: choice; the Dijon CD8 table is a different measure). Correlated with PD-L1.
TIL_LOG_MEDIAN, TIL_LOG_SD, TIL_PDL1_CORR = np.log(10.0), 1.0, 0.5
TIL_CUTOFF = 10.0
#: TMB assays: share of rows per assay, and the assay's scale relative to MSK-IMPACT (plasma bTMB
#: reads ~1.3x tissue with extra noise, as the bTMB >= 16 vs tissue >= 10-13 cut-offs suggest).
TMB_ASSAY_SHARES = {"MSK-IMPACT panel": 0.88, "WES": 0.07, "plasma bTMB": 0.05}
TMB_ASSAY_SCALE = {"MSK-IMPACT panel": 1.0, "WES": 0.9, "plasma bTMB": 1.3}
TMB_ASSAY_LOG_NOISE = {"MSK-IMPACT panel": 0.10, "WES": 0.15, "plasma bTMB": 0.45}

#: Missing shares (applied after the outcome is drawn). PD-L1: pooled missing 0.355 (n=1204; 0.642
#: in nsclc_pd1_msk_2018, 0.0 in lung_msk_mind_2020); another 6% have only the band (as the
#: Strong/Weak/Negative calls of nsclc_mskcc_2015). Albumin 0.262 and NLR 0.447 are the pooled
#: real shares; TMB / mutations 0.062 (not sequenced, pooled). ECOG: 0.30 (design; pooled real 0.75
#: only because the LORIS tables do not report it). Other columns: design choices.
PDL1_MISSING_SHARE = 0.355
PDL1_BAND_ONLY_SHARE = 0.06
TIL_PRESENT_SHARE = 0.40
NOT_SEQUENCED_SHARE = 0.062
GENE_NOT_TESTED_SHARE = {"alk": 0.05, "ros1": 0.05, "ret": 0.05, "met_ex14": 0.03}
MISSING_SHARES = {
    "albumin": 0.262, "nlr": 0.447, "ecog": 0.30, "smoking": 0.02, "pack_years": 0.25,
    "histology": 0.02, "line_of_therapy": 0.03, "prior_systemic_therapy": 0.03, "antibiotics": 0.40,
    "met_sites": 0.10, "sex": 0.004, "age": 0.0,
}

#: Not evaluable: censored before 6 months without progression (design ~8%; the real pooled share
#: is 0.018, 0.054 in nsclc_pd1_msk_2018 and 0.08 in nsclc_mskcc_2018).
NOT_EVALUABLE_SHARE = 0.08
#: Real DCB rate among evaluable patients (PFS >= 6 months vs progression < 6 months), pooled and
#: de-duplicated: 388 / 1182 = 0.328 (per cohort 0.26-0.40, 0.54 in the nivolumab+ipilimumab study).
REAL_DCB_RATE = 0.328

#: Latent logit of durable clinical benefit, on the *true* (pre-missingness) values, directions as in
#: domain.md section 3. Units: pdl1_tps per %, log1p_tmb per log(1 + mut/Mb) on the panel scale,
#: albumin per g/dL, log_nlr per log unit, n_met_sites per organ site; the rest are 0/1 indicators.
#: ``intercept`` was calibrated on 100,000 simulated patients so that the DCB rate among evaluable
#: patients is ~0.32, close to the real 0.328. The spread is chosen so that a logistic model on the
#: complete true features reaches held-out ROC AUC ~0.79, and one on PD-L1, TMB, albumin, NLR and
#: ECOG (observed, complete rows) ~0.72: learnable but noisy.
TRUE_LOGIT_COEFFICIENTS: dict[str, float] = {
    "intercept": -3.24,
    "pdl1_tps": 0.012,             # +0.6 at TPS 50%: higher PD-L1, more benefit
    "log1p_tmb": 0.55,             # higher TMB, more benefit
    "time_pdl1pos_tilpos": 0.40,   # TIME PD-L1+/TIL+ (TPS >= 1%, stromal TIL >= 10%): most benefit
    "time_pdl1neg_tilneg": -0.40,  # TIME PD-L1-/TIL- (immune ignorance): least benefit
    "mut_kras": 0.40,
    "braf_smoker": 0.30,           # BRAF altered in a (former/current) smoker
    "met_ex14_smoker": 0.30,       # MET exon 14 skipping in a smoker
    "mut_stk11": -0.50,            # immune-cold
    "mut_keap1": -0.45,            # immune-cold
    "mut_jak1": -0.60, "mut_jak2": -0.60, "mut_b2m": -0.70,  # IFN-gamma / antigen presentation
    "mut_pten": -0.40, "mut_ctnnb1": -0.40,
    "mut_tp53": 0.0,               # listed by domain.md, conflicting evidence: no direct effect
    "driver": -1.50,               # any of EGFR, ALK, ROS1, RET, ERBB2
    "female_x_ici_mono": -0.35,    # female: less benefit under ICI monotherapy only
    "never_smoker_x_ici_mono": -0.50,  # never-smoker: less benefit under ICI monotherapy only
    "ecog_ge2": -0.80,
    "n_met_sites": -0.15,          # per organ site among liver, bone, brain, pleura
    "met_liver": -0.35,            # liver on top of its site count
    "line_gt1": -0.20,
    "prior_systemic_therapy": -0.15,
    "chemo_ici": 0.60,
    "ici_ctla4": 0.15,
    "albumin": 0.60,
    "log_nlr": -0.45,
    "antibiotics": -0.40,
}

_DRIVERS = ("egfr", "alk", "ros1", "ret", "erbb2")
_GENE_ORDER = ("egfr", "alk", "ros1", "ret", "erbb2", "kras", "braf", "met_ex14",
               "stk11", "keap1", "tp53", "jak1", "jak2", "b2m", "pten", "ctnnb1")


def _choice(rng: np.random.Generator, shares: dict, n: int) -> np.ndarray:
    keys = list(shares)
    p = np.asarray([shares[k] for k in keys], dtype=float)
    idx = np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right")
    return np.asarray(keys, dtype=object)[np.minimum(idx, len(keys) - 1)]


def _mask(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = values.astype(object if values.dtype == object else float, copy=True)
    out[missing] = None if out.dtype == object else np.nan
    return out


def synthetic_cohort(n: int = 1000, seed: int = 7, *, cohort: str = "synthetic",
                     outcomes: bool = True, logit_shift: float = 0.0, id_prefix: str = "SYN",
                     til_effect: float = 1.0) -> pd.DataFrame:
    """Generate a synthetic NSCLC immunotherapy cohort in the canonical patient table layout.

    Parameters
    ----------
    n : int
        Number of patients (rows), >= 1.
    seed : int
        Seed of the ``numpy.random.Generator``; the same ``n`` and ``seed`` give an identical frame.
    cohort : str
        Value of the ``cohort`` column.
    outcomes : bool
        Add the outcome columns (best_response, pfs_months, pfs_event, os_months, os_event).
    logit_shift : float
        Added to the latent log-odds of benefit: a centre whose patients do better (> 0) or worse
        for reasons the inputs do not record (case mix, follow-up, assessment).
    id_prefix : str
        Identifiers are ``f"{id_prefix}-000001"``, ... (give centres different prefixes).
    til_effect : float
        Multiplies the TIME class terms of the latent log-odds (PD-L1+/TIL+ up, PD-L1-/TIL- down):
        0 makes TIL status irrelevant to the outcome, 3 makes it strong.

    Returns
    -------
    DataFrame
        One row per patient (``patient_id`` "SYN-000001", ...), canonical columns, missing values as
        NaN / None. Passes :func:`icipredict.table.schema.check_patients`.

    Examples
    --------
    >>> df = synthetic_cohort(50, seed=1)
    >>> len(df), df["patient_id"].iloc[0]
    (50, 'SYN-000001')
    """
    n = int(n)
    if not 1 <= n <= MAX_SYNTHETIC_PATIENTS:
        raise ValueError(f"n: expected a number of patients from 1 to {MAX_SYNTHETIC_PATIENTS:,}. Got {n} instead.")
    check_seed(seed)
    rng = np.random.default_rng(seed)
    c = TRUE_LOGIT_COEFFICIENTS

    # ---- demographics ------------------------------------------------------------------------
    female = rng.random(n) < FEMALE_SHARE
    age = np.clip(rng.normal(AGE_MEAN, AGE_SD, n), 20, 95).round(0)
    smoking = _choice(rng, SMOKING_SHARES, n)
    never = smoking == "never"
    smoker = ~never
    pack_years = np.where(never, 0.0, np.clip(np.exp(rng.normal(PACK_YEARS_LOG_MEAN, PACK_YEARS_LOG_SD, n)),
                                              1, 200).round(0))
    histology = _choice(rng, HISTOLOGY_SHARES, n)
    ecog = _choice(rng, ECOG_SHARES, n).astype(float)

    # ---- regimen and line ----------------------------------------------------------------------
    regimen = _choice(rng, REGIMEN_SHARES, n)
    line = _choice(rng, LINE_SHARES, n).astype(float)
    extra = rng.random(n)
    line = np.where((line == 4) & (extra < 0.3), 5.0, line)
    chemo = regimen == "chemo_ici"
    line = np.where(chemo, np.where(extra < CHEMO_ICI_FIRST_LINE, 1.0, 2.0), line)
    prior = (line > 1) | (rng.random(n) < 0.05)  # a few first-line patients had (neo)adjuvant chemo

    # ---- mutations (true values) ---------------------------------------------------------------
    u = rng.random((len(_GENE_ORDER), n))
    mut: dict[str, np.ndarray] = {}
    for i, g in enumerate(_GENE_ORDER):
        spec = DRIVER_FREQ.get(g, MUTATION_FREQ.get(g))
        p = np.where(never, spec["never"], spec["ever"]) if isinstance(spec, dict) else np.full(n, spec)
        if g == "stk11":  # STK11 co-occurs with KRAS (KL subtype)
            p = np.clip(p * np.where(mut["kras"], 1.6, 0.6), 0, 1)
        if g == "keap1":  # KEAP1 co-occurs with STK11
            p = np.clip(p * np.where(mut["stk11"], 2.2, 0.6), 0, 1)
        if g in ("braf", "met_ex14"):  # drawn more often: KRAS / driver exclusivity removes ~35%
            p = p / 0.62
        mut[g] = u[i] < p
    driver = np.zeros(n, dtype=bool)
    for g in _DRIVERS:  # drivers are mutually exclusive (first one drawn wins)
        mut[g] &= ~driver
        driver |= mut[g]
    for g in ("kras", "braf", "met_ex14"):  # and exclusive of the other MAPK drivers
        mut[g] &= ~driver
    mut["braf"] &= ~mut["kras"]
    mut["met_ex14"] &= ~(mut["kras"] | mut["braf"])

    # ---- TMB (true, MSK-IMPACT scale) ----------------------------------------------------------
    log_tmb_shift = np.where(never, -0.51, np.where(smoking == "current", 0.16, 0.12)) - 0.35 * driver
    log1p_tmb = np.maximum(rng.normal(LOG_TMB_MEAN + log_tmb_shift, LOG_TMB_SD * 0.93, n), 0.0)
    tmb_true = np.expm1(log1p_tmb)

    # ---- PD-L1 and TILs (true) -----------------------------------------------------------------
    z_pdl1 = 0.94 * rng.standard_normal(n) - 0.45 * mut["stk11"] - 0.3 * driver + 0.15 * smoker
    q_lo = -0.07   # thresholds on z giving about PDL1_BAND_SHARES (checked by simulation)
    q_hi = 0.52
    band_true = np.where(z_pdl1 < q_lo, "<1", np.where(z_pdl1 < q_hi, "1-49", ">=50")).astype(object)
    mid = np.clip(np.exp(rng.normal(PDL1_MID_LOG_MEAN, PDL1_MID_LOG_SD, n)), 1, 49).round(0)
    high = (50 + 50 * rng.beta(*PDL1_HIGH_BETA, n)).round(0)
    high = np.where(rng.random(n) < PDL1_HIGH_SHARE_100, 100.0, high)
    pdl1_true = np.where(band_true == "<1", 0.0, np.where(band_true == "1-49", mid, high))
    z_til = TIL_PDL1_CORR * (z_pdl1 - 0.1) + np.sqrt(1 - TIL_PDL1_CORR ** 2) * rng.standard_normal(n)
    til_true = np.clip(np.exp(TIL_LOG_MEDIAN + TIL_LOG_SD * z_til), 0, 95).round(0)
    pdl1_pos = pdl1_true >= 1
    til_pos = til_true >= TIL_CUTOFF

    # ---- tumour burden, metastases, blood, antibiotics ---------------------------------------------
    burden = rng.standard_normal(n)
    mets = {}
    for k, share in MET_SITE_SHARES.items():
        logit_p = np.log(share / (1 - share)) + 0.7 * burden - 0.1
        mets[k] = rng.random(n) < 1 / (1 + np.exp(-logit_p))
    n_sites = sum(m.astype(float) for m in mets.values())
    ecog_ge2 = ecog >= 2
    albumin = np.clip(rng.normal(ALBUMIN_MEAN - 0.12 * burden - 0.3 * ecog_ge2 + 0.02,
                                 ALBUMIN_SD * 0.95, n), 1.5, 5.5).round(1)
    log_nlr = rng.normal(LOG_NLR_MEAN + 0.2 * burden + 0.3 * ecog_ge2 - 0.02, LOG_NLR_SD * 0.95, n)
    nlr = np.clip(np.exp(log_nlr), 0.2, 150).round(2)
    antibiotics = rng.random(n) < ANTIBIOTICS_SHARE

    # ---- latent outcome on the true values -------------------------------------------------------
    mono = regimen == "ici_mono"
    logit = (c["intercept"] + logit_shift
             + c["pdl1_tps"] * pdl1_true
             + c["log1p_tmb"] * log1p_tmb
             + til_effect * c["time_pdl1pos_tilpos"] * (pdl1_pos & til_pos)
             + til_effect * c["time_pdl1neg_tilneg"] * (~pdl1_pos & ~til_pos)
             + c["mut_kras"] * mut["kras"]
             + c["braf_smoker"] * (mut["braf"] & smoker)
             + c["met_ex14_smoker"] * (mut["met_ex14"] & smoker)
             + sum(c[f"mut_{g}"] * mut[g] for g in ("stk11", "keap1", "jak1", "jak2", "b2m", "pten",
                                                    "ctnnb1", "tp53"))
             + c["driver"] * driver
             + c["female_x_ici_mono"] * (female & mono)
             + c["never_smoker_x_ici_mono"] * (never & mono)
             + c["ecog_ge2"] * ecog_ge2
             + c["n_met_sites"] * n_sites
             + c["met_liver"] * mets["met_liver"]
             + c["line_gt1"] * (line > 1)
             + c["prior_systemic_therapy"] * prior
             + c["chemo_ici"] * chemo
             + c["ici_ctla4"] * (regimen == "ici_ctla4")
             + c["albumin"] * albumin
             + c["log_nlr"] * np.log(nlr)
             + c["antibiotics"] * antibiotics)
    p_dcb = 1 / (1 + np.exp(-logit))
    benefit = rng.random(n) < p_dcb

    # ---- PFS, best response, OS --------------------------------------------------------------------
    r_out = rng.random((8, n))
    follow_up = 6.0 + 54.0 * r_out[0]  # administrative follow-up 6-60 months
    pfs_benefit = 6.0 + rng.exponential(14.0, n)
    pfs_resist = 0.1 + 5.85 * rng.beta(1.3, 2.6, n)
    not_eval = r_out[1] < NOT_EVALUABLE_SHARE
    pfs_ne = 0.5 + 5.4 * r_out[2]
    pfs = np.where(benefit, np.minimum(pfs_benefit, follow_up), pfs_resist)
    pfs_event = np.where(benefit, pfs_benefit <= follow_up, True)
    pfs = np.where(not_eval, pfs_ne, pfs)
    pfs_event = np.where(not_eval, False, pfs_event)
    resp_b = np.where(r_out[3] < 0.10, "CR", np.where(r_out[3] < 0.55, "PR", "SD"))
    resp_r = np.where(r_out[4] < 0.72, "PD", np.where(r_out[4] < 0.93, "SD", "NE"))
    resp_r = np.where((resp_r == "SD") & (pfs < 1.5), "PD", resp_r)  # SD needs a first scan
    resp_ne = np.where(r_out[5] < 0.45, "NE", np.where(r_out[5] < 0.85, "SD", "PR"))
    best = np.where(not_eval, resp_ne, np.where(benefit, resp_b, resp_r)).astype(object)
    post = rng.exponential(np.where(benefit, 18.0, 7.0), n)  # survival after progression
    os_true = np.where(pfs_event, pfs + post, np.nan)
    os_cens = np.maximum(follow_up, pfs)
    os_months = np.where(pfs_event & (os_true <= os_cens), os_true, np.where(pfs_event, os_cens, pfs))
    os_event = pfs_event & (os_true <= os_cens)
    pfs = np.clip(pfs, 0.03, 240).round(2)
    os_months = np.clip(np.maximum(os_months, pfs), 0.03, 240).round(2)

    # ---- observed values: assays, then missingness ---------------------------------------------------
    assay = _choice(rng, TMB_ASSAY_SHARES, n)
    scale = np.select([assay == a for a in TMB_ASSAY_SCALE], list(TMB_ASSAY_SCALE.values()))
    noise = np.select([assay == a for a in TMB_ASSAY_LOG_NOISE], list(TMB_ASSAY_LOG_NOISE.values()))
    tmb_obs = np.clip(tmb_true * scale * np.exp(noise * rng.standard_normal(n)), 0, 1000).round(1)

    m = rng.random((24, n))
    not_seq = m[0] < NOT_SEQUENCED_SHARE
    pdl1_state = m[1]  # < missing: nothing; < missing + band-only: band only; else TPS
    pdl1_missing = pdl1_state < PDL1_MISSING_SHARE
    band_only = ~pdl1_missing & (pdl1_state < PDL1_MISSING_SHARE + PDL1_BAND_ONLY_SHARE)
    til_missing = m[2] >= TIL_PRESENT_SHARE
    met_missing = m[3] < MISSING_SHARES["met_sites"]
    prior_missing = m[4] < MISSING_SHARES["prior_systemic_therapy"]

    data: dict[str, object] = {
        "patient_id": np.char.add(f"{id_prefix}-", np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object),
        "pdl1_tps": _mask(pdl1_true, pdl1_missing | band_only),
        "pdl1_band": _mask(band_true, ~band_only),
        "tmb": _mask(tmb_obs, not_seq),
        "tmb_assay": _mask(assay.astype(object), not_seq),
        "til_pct": _mask(til_true, til_missing),
        "til_status": np.full(n, None, dtype=object),
    }
    for i, g in enumerate(_GENE_ORDER):
        untested = not_seq | (m[5 + (i % 4)] < GENE_NOT_TESTED_SHARE.get(g, 0.0))
        data[f"mut_{g}"] = _mask(mut[g].astype(float), untested)
    data |= {
        "age": _mask(age, m[9] < MISSING_SHARES["age"]),
        "sex": _mask(np.where(female, "female", "male").astype(object), m[10] < MISSING_SHARES["sex"]),
        "smoking": _mask(smoking, m[11] < MISSING_SHARES["smoking"]),
        "pack_years": _mask(pack_years, (m[12] < MISSING_SHARES["pack_years"]) | (m[11] < MISSING_SHARES["smoking"])),
        "ecog": _mask(ecog, m[13] < MISSING_SHARES["ecog"]),
        "histology": _mask(histology, m[14] < MISSING_SHARES["histology"]),
        **{k: _mask(v.astype(float), met_missing) for k, v in mets.items()},
        "line_of_therapy": _mask(line, m[15] < MISSING_SHARES["line_of_therapy"]),
        "prior_systemic_therapy": _mask(prior.astype(float), prior_missing),
        "regimen": regimen.astype(object),
        "albumin": _mask(albumin, m[16] < MISSING_SHARES["albumin"]),
        "nlr": _mask(nlr, m[17] < MISSING_SHARES["nlr"]),
        "antibiotics": _mask(antibiotics.astype(float), m[18] < MISSING_SHARES["antibiotics"]),
    }
    if outcomes:
        data |= {
            "best_response": best,
            "pfs_months": pfs,
            "pfs_event": pfs_event.astype(float),
            "os_months": os_months,
            "os_event": os_event.astype(float),
        }
    data["cohort"] = np.full(n, cohort, dtype=object)
    return pd.DataFrame(data)


def whole_numbers_as_integers(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose number columns holding only whole numbers (0/1 flags, ECOG, line, age...) are integers:
    nullable ``Int64`` where values may be missing, so a file shows ``1`` and an empty cell, never ``1.0``.

    >>> whole_numbers_as_integers(pd.DataFrame({"mut_egfr": [1.0, None], "albumin": [3.9, 4.0]})).dtypes.tolist()
    [Int64Dtype(), dtype('float64')]
    """
    out = df.copy()
    for name in df.columns:
        col = df[name]
        if col.dtype.kind != "f":
            continue
        values = col.to_numpy(dtype=float)
        known = values[~np.isnan(values)]
        if len(known) and np.all(np.isfinite(known)) and np.all(known == np.round(known)) \
                and np.all(np.abs(known) < 2 ** 53):
            out[name] = col.astype("Int64")
    return out
