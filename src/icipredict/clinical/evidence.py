"""Published evidence for what the licensed training studies do not measure: the TIL effect.

No licensed training study measures TILs, so the model's TIL term starts from a cited prior:

Rakaee et al., JAMA Oncol 2023 (PMC9673028): 685 patients with advanced NSCLC on anti-PD-(L)1
monotherapy at two centres (discovery n = 446, validation n = 239); TILs counted by machine learning
on H&E whole slides; TIL-high = at least 250 TIL cells/mm2. In multivariable analysis TIL-high was
independently associated with longer progression-free survival: adjusted HR 0.71 (P = .006)
discovery, 0.80 (P = .01) validation. In PD-L1-negative tumours TILs predicted response better than
TMB, so the effect is taken as additive to PD-L1 (no PD-L1 x TIL interaction term).

Derivation of the prior on the log-odds of durable benefit (:func:`hr_to_log_odds_ratio`):

1. Standard errors of the log-HRs from the reported two-sided P values (the abstract gives no CIs):
   SE = |log HR| / z(1 - P/2): 0.125 (discovery) and 0.087 (validation).
2. Inverse-variance pooling: log HR = -0.262 (HR 0.769), SE 0.071; the two cohorts agree
   (Cochran's Q = 0.61 on 1 df, so no between-cohort variance is added).
3. Proportional hazards to 6 months: S_high(6) = S_low(6) ** HR. With the 6-month progression-free
   rate of TIL-low patients S_low(6) = 0.30 (the pooled durable-benefit rate of the licensed studies
   is 0.35, TIL-low patients lower), log OR = logit(S_low ** HR) - logit(S_low) = 0.425.
4. Its SE by the delta method, |d logOR / d logHR| = |log(S_low)| * HR / (1 - S_high), times
   SE(log HR): 0.109. Over S_low = 0.25-0.40 the log OR moves 0.45-0.38, well within one SE.

Assumptions carried into the model card: PFS hazards proportional to 6 months; the adjusted HR
(conditional on the covariates of the paper's model) transfers to a model that also conditions on
PD-L1 and TMB; other TIL measures (stromal %, CD8 IHC, RNA immune scores), cut at their own
thresholds, carry the same effect as H&E density >= 250 cells/mm2; TIL-high patients make up half
of a cohort (``centre`` = 0.5: the prevalence in Rakaee's cohorts could not be retrieved), so an
unknown TIL status contributes nothing.

In a time-to-event model (:mod:`icipredict.model.survival`) no conversion is needed: under
proportional hazards the adjusted HR is the TIL term's effect on the log relative hazard itself
(:func:`til_prior_log_hr`: log HR -0.262, SE 0.071, pooled as above), with the same assumptions
about the covariates, the other TIL measures and the TIL-high share; the reference 6-month rate of
step 3 drops out.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

__all__ = ["RAKAEE_2023", "REFERENCE_DCB_TIL_LOW", "TIL_CENTRE", "hr_to_log_odds_ratio", "pooled_log_hr",
           "til_prior", "til_prior_log_hr", "TIL_HR_ASSUMPTION"]

#: The two cohorts of Rakaee et al., JAMA Oncol 2023: adjusted PFS hazard ratio of TIL-high, P value.
RAKAEE_2023: dict[str, dict[str, float]] = {
    "discovery": {"n": 446, "hr": 0.71, "p": 0.006},
    "validation": {"n": 239, "hr": 0.80, "p": 0.01},
}
#: Assumed 6-month progression-free rate of TIL-low patients (module docstring, step 3).
REFERENCE_DCB_TIL_LOW = 0.30
#: Assumed TIL-high share; an unknown status then contributes nothing (module docstring).
TIL_CENTRE = 0.5


def pooled_log_hr(cohorts: dict[str, dict[str, float]] = RAKAEE_2023) -> tuple[float, float]:
    """Inverse-variance pooled log hazard ratio and its SE, each SE from the cohort's P value.

    >>> est, se = pooled_log_hr()
    >>> round(est, 3), round(se, 3)
    (-0.262, 0.071)
    """
    logs = np.array([np.log(c["hr"]) for c in cohorts.values()])
    ses = np.array([abs(np.log(c["hr"])) / ndtri(1 - c["p"] / 2) for c in cohorts.values()])
    w = 1 / ses ** 2
    return float(np.sum(w * logs) / np.sum(w)), float(1 / np.sqrt(np.sum(w)))


def hr_to_log_odds_ratio(log_hr: float, se_log_hr: float, s_low: float = REFERENCE_DCB_TIL_LOW) -> tuple[float, float]:
    """Log odds ratio of being progression-free at 6 months, from a PFS hazard ratio (delta-method SE).

    Under proportional hazards ``S_high = S_low ** HR``.

    >>> lor, se = hr_to_log_odds_ratio(*pooled_log_hr())
    >>> round(lor, 3), round(se, 3)
    (0.425, 0.109)
    """
    hr = np.exp(log_hr)
    s_high = s_low ** hr
    lor = np.log(s_high / (1 - s_high)) - np.log(s_low / (1 - s_low))
    # d logit(S_high) / d log HR = d logit / d S_high * d S_high / d log HR
    derivative = (1 / (s_high * (1 - s_high))) * s_high * np.log(s_low) * hr
    return float(lor), float(abs(derivative) * se_log_hr)


def til_prior() -> tuple[float, float]:
    """The TIL term's prior: mean and SD of the log odds ratio of durable benefit for TIL-high."""
    return hr_to_log_odds_ratio(*pooled_log_hr())


def til_prior_log_hr() -> tuple[float, float]:
    """The TIL term's prior in a time-to-event model: mean and SD of the log hazard ratio of progression
    for TIL-high (proportional hazards: the pooled adjusted HR applies as it is).

    >>> [round(v, 3) for v in til_prior_log_hr()]
    [-0.262, 0.071]
    """
    return pooled_log_hr()


#: The assumption the time-to-event model's TIL term rests on, for the model card.
TIL_HR_ASSUMPTION = (
    "In the time-to-event model the TIL term is a log hazard ratio: the pooled adjusted HR of Rakaee et al. "
    "(JAMA Oncol 2023; 0.71 discovery, 0.80 validation; pooled log HR {beta:.3f}, SE {se:.3f}) applies directly "
    "under proportional hazards, so TIL-high multiplies the patient's hazard of progression by {hr:.2f} at every "
    "time and S_high(t) = S_low(t) ** {hr:.2f}; no reference 6-month rate is needed (a hazard ratio is not an odds "
    "ratio: the 6-month model converts it with one). The HR was adjusted for the paper's covariates and is assumed "
    "to carry over to a model that also conditions on PD-L1 and TMB.")
