"""Clinical rules: outcome labels, biomarker statuses, assays on one scale, TIL status, TIME class, mutations.

Pure functions ``DataFrame -> Series`` over the canonical patient table; each rule table is a
module constant citing its source (see ``shared/domain.md`` sections 2-3).

Layer 3 of docs/architecture.md: may import ``exceptions`` and ``table`` only.
"""

from icipredict.clinical.assays import harmonised_tmb, pdl1_band_from_scores, tmb_assay_kind
from icipredict.clinical.biomarkers import PDL1_BANDS, pdl1_band, pdl1_positive, tmb_high
from icipredict.clinical.mutations import MUTATION_GROUPS, mutation_groups
from icipredict.clinical.outcomes import (
    BENEFIT_LABELS,
    DCB_MONTHS,
    HPD_DEFINITIONS,
    MONTH_DAYS,
    SITC_CATEGORIES,
    benefit_label,
    binary_target,
    early_death,
    fast_progression,
    hyperprogression,
    sitc_category,
    tumour_growth_kinetics,
    tumour_growth_rate,
)
from icipredict.clinical.til import TIL_MEASURES, til_positive, til_status
from icipredict.clinical.time_class import NUMBERINGS, describe_pair, time_class, time_status_pair

__all__ = [
    "BENEFIT_LABELS",
    "DCB_MONTHS",
    "HPD_DEFINITIONS",
    "MONTH_DAYS",
    "MUTATION_GROUPS",
    "NUMBERINGS",
    "PDL1_BANDS",
    "SITC_CATEGORIES",
    "TIL_MEASURES",
    "harmonised_tmb",
    "pdl1_band_from_scores",
    "til_status",
    "tmb_assay_kind",
    "benefit_label",
    "binary_target",
    "describe_pair",
    "early_death",
    "fast_progression",
    "hyperprogression",
    "mutation_groups",
    "pdl1_band",
    "pdl1_positive",
    "sitc_category",
    "til_positive",
    "time_class",
    "time_status_pair",
    "tmb_high",
    "tumour_growth_kinetics",
    "tumour_growth_rate",
]
