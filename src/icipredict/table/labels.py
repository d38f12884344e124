"""What a person reads: the inputs named in words, with their values in their own units.

Reports and plots never show internal names (``tmb_log``, ``ctla4``, ``pdl1_band_ord``): a
canonical column and its value become ``"TMB 16.5 mut/Mb (MSK-IMPACT)"``, ``"PD-L1 TPS 60%"``,
``"regimen: ICI alone"`` or ``"histology: not given"`` (:func:`value_label`), and a model input
becomes the axis label of the plots (:data:`MODEL_INPUT_LABELS`). Nothing here imports matplotlib;
the vocabularies come from :mod:`icipredict.table.vocab`.

>>> value_label("tmb", 16.5, {"tmb_assay": "MSK-IMPACT"})
'TMB 16.5 mut/Mb (MSK-IMPACT)'
>>> value_label("histology", None)
'histology: not given'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from icipredict.table.vocab import DRIVER_GENES, MUTATION_GENES

__all__ = ["COLUMN_LABELS", "MODEL_INPUT_LABELS", "MISSING_INPUT_WORDS", "REGIMEN_WORDS", "GROUP_WORDS", "value_label",
           "column_label", "is_missing", "format_number", "percent", "points"]

#: Canonical predictor column -> (name as a clinician says it, unit written after the value).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "pdl1_tps": ("PD-L1 TPS", "%"),
    "pdl1_band": ("PD-L1 TPS band", "%"),
    "pdl1_sp142_tc": ("PD-L1 SP142 tumour-cell score", ""),
    "pdl1_sp142_ic": ("PD-L1 SP142 immune-cell score", ""),
    "pdl1_assay": ("PD-L1 assay", ""),
    "tmb": ("TMB", "mut/Mb"),
    "tmb_assay": ("TMB assay", ""),
    "til_pct": ("stromal TILs", "%"),
    "til_density": ("TIL density", "cells/mm²"),
    "cd8_density": ("CD8+ density", "cells/mm²"),
    "cd8_score": ("CD8 IHC score", ""),
    "immune_rna_score": ("RNA immune score", "(z-score)"),
    "til_status": ("TIL status", ""),
    **{f"mut_{g}": ("MET exon 14 skipping" if g == "met_ex14" else g.upper(), "") for g in MUTATION_GENES},
    "age": ("age", "years"),
    "sex": ("sex", ""),
    "smoking": ("smoking status", ""),
    "pack_years": ("smoking history", "pack-years"),
    "ecog": ("ECOG performance status", ""),
    "histology": ("histology", ""),
    "met_liver": ("liver metastasis", ""),
    "met_bone": ("bone metastasis", ""),
    "met_brain": ("brain metastasis", ""),
    "met_pleura": ("pleural metastasis or effusion", ""),
    "n_met_sites": ("metastatic organ sites", ""),
    "line_of_therapy": ("line of therapy", ""),
    "prior_systemic_therapy": ("prior systemic therapy", ""),
    "regimen": ("regimen", ""),
    "albumin": ("albumin", "g/dL"),
    "nlr": ("neutrophil-to-lymphocyte ratio", ""),
    "antibiotics": ("antibiotics around ICI start", ""),
}

def _name(column: str) -> str:
    return COLUMN_LABELS[column][0]


#: Model input (:data:`icipredict.model.features.INPUT_SOURCES`) -> axis label of the plots, with units: each
#: names its columns by their display names in :data:`COLUMN_LABELS`, the one table of names.
MODEL_INPUT_LABELS: dict[str, str] = {
    "pdl1": f"{_name('pdl1_tps')} (%)",
    "tmb": f"{_name('tmb')} (mut/Mb, tissue-panel scale)",
    "prior": f"{_name('prior_systemic_therapy')} (yes / no)",
    "ctla4": f"{_name('regimen')}: anti-CTLA-4 added (vs ICI alone)",
    "ecog": f"{_name('ecog')} (0, 1, >=2)",
    "never_smoker": f"{_name('smoking')}: never smoker (ICI without chemotherapy)",
    "female": f"{_name('sex')}: female (ICI without chemotherapy)",
    "age": f"{_name('age')} (years)",
    "squamous": f"{_name('histology')}: squamous",
    "cold": f"{_name('mut_stk11')} / {_name('mut_keap1')} altered",
    "driver": f"driver altered ({'/'.join(_name(f'mut_{g}') for g in DRIVER_GENES)})",
    "kras": f"{_name('mut_kras')} altered",
    "tp53": f"{_name('mut_tp53')} altered",
    "albumin": f"{_name('albumin')} (g/dL)",
    "pack_years": f"{_name('pack_years')} (pack-years)",
    "til": "TIL positive (any TIL measure)",
}

#: Model input -> what a missing input is called in words (its columns:
#: :data:`icipredict.model.features.MISSING_INPUT_COLUMNS`), from the same display names.
MISSING_INPUT_WORDS: dict[str, str] = {
    "pdl1": f"{_name('pdl1_tps')} or {_name('pdl1_band')}", "tmb": _name("tmb"),
    "prior": f"{_name('prior_systemic_therapy')} or {_name('line_of_therapy')}", "ctla4": _name("regimen"),
    "ecog": _name("ecog"), "never_smoker": _name("smoking"), "female": _name("sex"), "age": _name("age"),
    "squamous": _name("histology"), "cold": f"{_name('mut_stk11')} and {_name('mut_keap1')} status",
    "driver": f"driver genes ({'/'.join(_name(f'mut_{g}') for g in DRIVER_GENES)})",
    "kras": f"{_name('mut_kras')} status", "tp53": f"{_name('mut_tp53')} status", "albumin": _name("albumin"),
    "pack_years": f"{_name('pack_years')} (pack-years)", "til": "a TIL measure",
}

#: The regimen categories in words.
REGIMEN_WORDS: dict[str, str] = {"ici_mono": "ICI alone", "ici_ctla4": "ICI + anti-CTLA-4",
                                 "chemo_ici": "chemotherapy + ICI"}
#: ``benefit_group`` in words: a likelihood of benefit, never a "risk".
GROUP_WORDS: dict[str, str] = {"low": "low likelihood of durable benefit",
                               "intermediate": "intermediate likelihood of durable benefit",
                               "high": "high likelihood of durable benefit"}

_YES_NO = {"prior_systemic_therapy", "met_liver", "met_bone", "met_brain", "met_pleura", "antibiotics"}
#: Numeric inputs written in a fixed phrase around the number.
_NUMBER_WORDS = {"ecog": "ECOG {}", "line_of_therapy": "line of therapy {}", "n_met_sites": "{} metastatic organ sites",
                 "pdl1_sp142_tc": "PD-L1 SP142 tumour-cell score {}", "nlr": "NLR {}"}
_GENE_GROUPS = {**{f"mut_{g}": "driver genes (EGFR/ALK/ROS1/RET/ERBB2)" for g in DRIVER_GENES},
                "mut_stk11": "STK11 / KEAP1", "mut_keap1": "STK11 / KEAP1"}


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas NA, "" and the explanation's "not given".

    >>> is_missing(float("nan")), is_missing("not given"), is_missing(0)
    (True, True, False)
    """
    if value is None or value is pd.NA or (isinstance(value, str) and value.strip() in ("", "not given")):
        return True
    try:
        return isinstance(value, (float, int)) and not isinstance(value, bool) and math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def format_number(value: Any, digits: int = 4) -> str:
    """A number as people write it: no trailing zeros, at most ``digits`` significant digits.

    >>> format_number(60.0), format_number(16.5), format_number(0.123456)
    ('60', '16.5', '0.1235')
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{x:.{digits}g}"


def percent(p: float, digits: int = 0) -> str:
    """A probability as a percentage, the way the report prints it.

    >>> percent(0.4213)
    '42%'
    """
    return f"{100 * float(p):.{digits}f}%"


def points(delta: float, *, unit: bool = True) -> str:
    """A signed change in probability in percentage points (without the word when ``unit`` is false).

    >>> points(0.1086), points(-0.0485), points(0.1086, unit=False)
    ('+10.9 points', '-4.9 points', '+10.9')
    """
    number = f"{100 * float(delta):+.1f}"
    return f"{number} points" if unit else number


def column_label(column: str) -> str:
    """The name of a canonical column in words (the column itself when unknown).

    >>> column_label("pdl1_tps"), column_label("mut_stk11")
    ('PD-L1 TPS', 'STK11')
    """
    return COLUMN_LABELS.get(column, (column, ""))[0]


def value_label(column: str, value: Any, patient: Mapping[str, Any] | None = None) -> str:
    """One input as given, in words and units: ``"PD-L1 TPS 60%"``, ``"regimen: ICI alone"``.

    Parameters
    ----------
    column : str
        Canonical column name (``tmb``, ``pdl1_tps``, ``mut_stk11``...).
    value : object
        The value as given; None, NaN, "" or "not given" read as not given.
    patient : mapping, optional
        The patient's other canonical values, for context: the TMB assay beside the TMB.

    Returns
    -------
    str

    Examples
    --------
    >>> value_label("pdl1_tps", 60.0)
    'PD-L1 TPS 60%'
    >>> value_label("regimen", "ici_mono")
    'regimen: ICI alone'
    >>> value_label("mut_stk11", 1.0), value_label("mut_egfr", "not given")
    ('STK11: altered', 'driver genes (EGFR/ALK/ROS1/RET/ERBB2): not tested')
    """
    name, unit = COLUMN_LABELS.get(column, (column, ""))
    if is_missing(value):
        if column.startswith("mut_"):
            return f"{_GENE_GROUPS.get(column, name)}: not tested"
        return f"{name}: not given"
    if column.startswith("mut_"):
        return f"{name}: {'altered' if _as_float(value) == 1 else 'tested wild-type'}"
    if column in _YES_NO:
        return f"{name}: {'yes' if _as_float(value) == 1 else 'no'}"
    if column == "regimen":
        return f"regimen: {REGIMEN_WORDS.get(str(value), str(value))}"
    if column == "pdl1_band":
        return f"{name} {str(value).replace('>=', '≥')}%"
    if column in _NUMBER_WORDS:
        return _NUMBER_WORDS[column].format(format_number(value))
    if column == "tmb":
        assay = (patient or {}).get("tmb_assay")
        text = f"TMB {format_number(value)} mut/Mb"
        return text if is_missing(assay) else f"{text} ({assay})"
    if isinstance(value, str) and _as_float(value) is None:
        return f"{name}: {value}"
    number = format_number(value)
    if unit == "%":
        return f"{name} {number}%"
    return f"{name} {number} {unit}".rstrip()


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
