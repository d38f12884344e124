"""The columns of the canonical patient table: name, kind, unit, range, categories and aliases.

:data:`COLUMNS` is the one definition every other module reads (the checks in
:mod:`icipredict.table.schema` and :mod:`icipredict.table.values`, the readers, the features, the
calculator's form). The table is described in ``DESIGN.md``; every predictor may be missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from icipredict.table.vocab import (BEST_RESPONSES, HISTOLOGIES, MUTATION_GENES, PDL1_BANDS, REGIMENS, SEXES,
                                    SMOKING_STATUSES, TIL_STATUSES)

__all__ = ["Kind", "ColumnSpec", "COLUMNS", "PREDICTORS", "MUTATION_COLUMNS", "OUTCOME_COLUMNS", "MISSING_TOKENS",
           "UNREAD_ROWS_ATTR", "READ_NOTES_ATTR"]

Kind = Literal["id", "float", "int", "binary", "category", "text"]

#: Cell values read as "missing" (compared case-insensitively, after stripping); ``-`` is missing
#: everywhere except in 0/1 columns and ``til_status``, where it means negative (as ``+`` means positive).
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "none", "null", "nd", "not available", "unknown", "-", ".", "?", "missing", "<na>"}
)

_TRUE = {"1", "1.0", "true", "yes", "y", "altered", "mutated", "mut", "positive", "pos", "+"}
_FALSE = {"0", "0.0", "false", "no", "n", "wt", "wild-type", "wildtype", "negative", "neg", "-0", "-"}


@dataclass(frozen=True)
class ColumnSpec:
    """What one canonical column holds."""

    name: str
    kind: Kind
    description: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    categories: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    role: Literal["id", "predictor", "outcome", "meta"] = "predictor"

    def expectation(self) -> str:
        if self.kind == "category":
            return "one of " + ", ".join(self.categories)
        if self.kind == "binary":
            return "0 or 1 (or empty when unknown)"
        rng = []
        if self.low is not None:
            rng.append((">= " if self.low_inclusive else "> ") + _fmt(self.low))
        if self.high is not None:
            rng.append(("<= " if self.high_inclusive else "< ") + _fmt(self.high))
        what = "an integer" if self.kind == "int" else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what}{unit}" + (" " + " and ".join(rng) if rng else "")


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


MUTATION_COLUMNS: tuple[str, ...] = tuple(f"mut_{g}" for g in MUTATION_GENES)

_SEX = {"f": "female", "female": "female", "woman": "female", "w": "female",
        "m": "male", "male": "male", "man": "male"}
_SMOKING = {
    "never": "never", "never smoker": "never", "non-smoker": "never", "nonsmoker": "never", "no": "never",
    "former": "former", "former smoker": "former", "ex-smoker": "former", "ex": "former", "past": "former",
    "current": "current", "current smoker": "current", "smoker": "current",
    "ever": "ever", "ever smoker": "ever", "yes": "ever",
}
_HISTOLOGY = {
    "adenocarcinoma": "adenocarcinoma", "adeno": "adenocarcinoma", "luad": "adenocarcinoma",
    "lung adenocarcinoma": "adenocarcinoma",
    "squamous": "squamous", "squamous cell carcinoma": "squamous", "lusc": "squamous", "sqcc": "squamous",
    "lung squamous cell carcinoma": "squamous", "squamous cell": "squamous",
    "other": "other", "nsclc nos": "other", "large cell": "other", "non-squamous": "other",
}
_REGIMEN = {
    "ici_mono": "ici_mono", "mono": "ici_mono", "monotherapy": "ici_mono", "pd1 alone": "ici_mono",
    "pd-1 alone": "ici_mono", "pdl1 alone": "ici_mono", "pd-l1 alone": "ici_mono", "pd1/pdl1 alone": "ici_mono",
    "ici_ctla4": "ici_ctla4", "pd1 + ctla4": "ici_ctla4", "pd1+ctla4": "ici_ctla4", "pd-1 + ctla-4": "ici_ctla4",
    "io+ctla4": "ici_ctla4", "ici+ctla4": "ici_ctla4",
    "chemo_ici": "chemo_ici", "chemo+ici": "chemo_ici", "chemoimmunotherapy": "chemo_ici",
    "chemo-immunotherapy": "chemo_ici", "chemo-io": "chemo_ici", "chemo+io": "chemo_ici",
}
_PDL1_BAND = {"<1": "<1", "<1%": "<1", "0": "<1", "negative": "<1", "1-49": "1-49", "1-49%": "1-49",
              "low": "1-49", "weak": "1-49", ">=50": ">=50", ">=50%": ">=50", "≥50": ">=50", "≥50%": ">=50",
              "high": ">=50", "strong": ">=50"}
_TIL_STATUS = {"positive": "positive", "pos": "positive", "high": "positive", "+": "positive", "til+": "positive",
               "negative": "negative", "neg": "negative", "low": "negative", "-": "negative", "til-": "negative"}
_RESPONSE = {
    "cr": "CR", "complete response": "CR", "pr": "PR", "partial response": "PR",
    "sd": "SD", "stable disease": "SD", "stable response": "SD", "stable": "SD",
    "pd": "PD", "progressive disease": "PD", "progression of disease": "PD", "pod": "PD", "progression": "PD",
    "ne": "NE", "not evaluable": "NE", "inevaluable": "NE",
}


def _num(name, description, unit="", low=None, high=None, *, kind: Kind = "float", role="predictor",
         low_inclusive=True, high_inclusive=True) -> ColumnSpec:
    return ColumnSpec(name, kind, description, unit, low, high, low_inclusive, high_inclusive, role=role)


def _cat(name, description, categories, aliases, role="predictor") -> ColumnSpec:
    full = {c.lower(): c for c in categories}
    full.update({k.lower(): v for k, v in aliases.items()})
    return ColumnSpec(name, "category", description, categories=tuple(categories), aliases=full, role=role)


def _bin(name, description, role="predictor") -> ColumnSpec:
    return ColumnSpec(name, "binary", description, role=role)


_SPECS: list[ColumnSpec] = [
    ColumnSpec("patient_id", "id", "unique patient identifier", role="id"),
    _num("pdl1_tps", "PD-L1 tumour proportion score", "%", 0, 100),
    _cat("pdl1_band", "PD-L1 TPS band when only the band is known", PDL1_BANDS, _PDL1_BAND),
    _num("tmb", "tumour mutational burden", "mut/Mb", 0, 1000),
    ColumnSpec("tmb_assay", "text", "TMB assay (panel, WES, plasma bTMB)"),
    ColumnSpec("pdl1_assay", "text", "PD-L1 antibody / scoring (22C3, 28-8, SP263: TPS; SP142: TC/IC scores)"),
    _num("pdl1_sp142_tc", "PD-L1 SP142 tumour-cell score (0 <1 %, 1 1-4 %, 2 5-49 %, 3 >=50 %)", "", 0, 3,
         kind="int"),
    _num("pdl1_sp142_ic", "PD-L1 SP142 immune-cell score (0-3; no TPS equivalent, not used by the model)", "", 0, 3,
         kind="int"),
    _num("til_pct", "stromal tumour-infiltrating lymphocytes on H&E", "%", 0, 100),
    _num("til_density", "TIL density on H&E (e.g. digital scoring)", "cells/mm2", 0, 100000),
    _num("cd8_density", "CD8+ T-cell density by IHC", "cells/mm2", 0, 100000),
    _num("cd8_score", "a published CD8 IHC infiltration score (cut at the cohort median by default)", "", 0, 1000),
    _num("immune_rna_score", "RNA immune score (CD8A or T-effector / IFN-gamma signature), within-cohort z-score",
         "z", -10, 10),
    _cat("til_status", "TIL status (overrides every TIL measure's cut-off)", TIL_STATUSES,
         _TIL_STATUS),
    *[_bin(c, f"{c[4:].upper()} alteration: 1 altered, 0 tested wild-type, empty not tested")
      for c in MUTATION_COLUMNS],
    _num("age", "age at ICI start", "years", 18, 110),
    _cat("sex", "sex", SEXES, _SEX),
    _cat("smoking", "smoking status", SMOKING_STATUSES, _SMOKING),
    _num("pack_years", "pack-years", "pack-years", 0, 300),
    _num("ecog", "ECOG performance status", "", 0, 4, kind="int"),
    _cat("histology", "histology", HISTOLOGIES, _HISTOLOGY),
    _bin("met_liver", "liver metastasis"),
    _bin("met_bone", "bone metastasis"),
    _bin("met_brain", "brain metastasis"),
    _bin("met_pleura", "pleural metastasis or effusion"),
    _num("n_met_sites", "number of metastatic organ sites", "", 0, 20, kind="int"),
    _num("line_of_therapy", "line of therapy of the ICI", "", 1, 15, kind="int"),
    _bin("prior_systemic_therapy", "systemic therapy before the ICI"),
    _cat("regimen", "ICI regimen", REGIMENS, _REGIMEN),
    _num("albumin", "serum albumin", "g/dL", 1, 6),
    _num("nlr", "neutrophil-to-lymphocyte ratio", "", 0, 200, low_inclusive=False, high_inclusive=False),
    _bin("antibiotics", "antibiotics around ICI start"),
    # outcomes (training and evaluation only, never used as predictors)
    _cat("best_response", "best overall response (RECIST)", BEST_RESPONSES, _RESPONSE,
         role="outcome"),
    _num("pfs_months", "progression-free survival", "months", 0, 240, role="outcome"),
    _bin("pfs_event", "progression or death observed (1) or censored (0)", role="outcome"),
    _num("os_months", "overall survival", "months", 0, 240, role="outcome"),
    _bin("os_event", "death observed (1) or censored (0)", role="outcome"),
    _num("ici_weeks", "weeks of ICI exposure", "weeks", 0, 1000, role="outcome"),
    _num("last_dose_months", "months from ICI start to the last dose", "months", 0, 240, role="outcome"),
    _bin("planned_stop", "ICI stopped as planned (not for progression or toxicity)", role="outcome"),
    _bin("pseudoprogression", "unconfirmed progression followed by shrinkage (iRECIST iUPD)", role="outcome"),
    _bin("dcb_reported", "the study's own durable clinical benefit call (1 yes, 0 no)", role="outcome"),
    _num("sld_prebaseline_mm", "sum of target-lesion diameters on the pre-baseline scan", "mm", 0, 2000,
         role="outcome"),
    _num("sld_baseline_mm", "sum of target-lesion diameters at ICI start", "mm", 0, 2000, role="outcome"),
    _num("sld_eval_mm", "sum of target-lesion diameters at first evaluation on ICI", "mm", 0, 2000, role="outcome"),
    _num("months_prebaseline_to_baseline", "months between pre-baseline and baseline scans", "months", 0, 60,
         low_inclusive=False, role="outcome"),
    _num("months_baseline_to_eval", "months between baseline and first evaluation", "months", 0, 60,
         low_inclusive=False, role="outcome"),
    ColumnSpec("cohort", "text", "cohort or study the patient comes from", role="meta"),
]

#: Every canonical column by name, in table order.
COLUMNS: dict[str, ColumnSpec] = {s.name: s for s in _SPECS}
#: Columns a model may use as inputs.
PREDICTORS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.role == "predictor")
#: Outcome columns: carried, never used as inputs.
OUTCOME_COLUMNS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.role == "outcome")


#: ``DataFrame.attrs`` key under which a reader lists the rows it did not read (as :class:`Problem`),
#: so that every unscored row is counted and named (see :attr:`ValidationReport.unread`).
UNREAD_ROWS_ATTR = "icipredict_unread_rows"

#: ``DataFrame.attrs`` key under which a reader leaves notes for the report (which sheet it read, ...).
READ_NOTES_ATTR = "icipredict_read_notes"
