"""Patient table -> model matrix.

The matrix is numeric, one row per patient, missing values kept as NaN (XGBoost and random forests
split on missingness; the logistic model imputes inside its own pipeline with missing-indicators).
Every derived feature follows a clinical rule from :mod:`icipredict.clinical`, so the model sees
the same PD-L1 bands, TIME class and mutation groups as the reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import PLASMA_ASSAY_WORDS, WES_ASSAY_WORDS, pdl1_band
from icipredict.clinical.mutations import DRIVER_COLUMNS, mutation_groups
from icipredict.clinical.time_class import time_status_pair
from icipredict.schema import MUTATION_COLUMNS

__all__ = ["FeatureOptions", "build_features", "FEATURE_GROUPS", "feature_names", "input_columns_for",
           "prior_therapy"]

_BAND_ORDINAL = {"<1": 0.0, "1-49": 1.0, ">=50": 2.0}

#: Which canonical input columns feed each feature (used to report missing inputs per patient).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "pdl1": ("pdl1_tps", "pdl1_band"),
    "tmb": ("tmb",),
    "til": ("til_pct", "til_density", "til_status"),
    "mutations": MUTATION_COLUMNS,
    "age": ("age",),
    "sex": ("sex",),
    "smoking": ("smoking", "pack_years"),
    "ecog": ("ecog",),
    "histology": ("histology",),
    "metastases": ("met_liver", "met_bone", "met_brain", "met_pleura", "n_met_sites"),
    "therapy": ("line_of_therapy", "prior_systemic_therapy", "regimen"),
    "albumin": ("albumin",),
    "nlr": ("nlr",),
    "antibiotics": ("antibiotics",),
}


@dataclass(frozen=True)
class FeatureOptions:
    """Cut-offs and switches of the feature builder (part of a training config)."""

    pdl1_cutoff: float = 1.0
    til_pct_cutoff: float = 10.0
    til_density_cutoff: float = 250.0
    exclude: tuple[str, ...] = ()
    mode: Literal["full", "clinical_genomic"] = "full"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["exclude"] = list(self.exclude)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureOptions":
        d = dict(d)
        d["exclude"] = tuple(d.get("exclude", ()))
        return cls(**d)


def _flag(series: pd.Series, value: str) -> pd.Series:
    s = series.astype(object)
    return pd.Series(np.where(s.isna(), np.nan, (s == value).astype(float)), index=series.index)


def _contains_any(series: pd.Series, words: tuple[str, ...]) -> pd.Series:
    if series.isna().all():
        return pd.Series(np.nan, index=series.index)
    text = series.astype("string").str.lower()
    hit = text.str.contains("|".join(words), regex=True)
    return pd.Series(np.where(text.isna(), np.nan, hit.fillna(False).astype(float)), index=series.index)


def build_features(patients: pd.DataFrame, options: FeatureOptions | None = None) -> pd.DataFrame:
    """Turn a clean patient table (output of ``check_patients``) into the model matrix.

    Parameters
    ----------
    patients : DataFrame
        Clean canonical table.
    options : FeatureOptions, optional
        Cut-offs for PD-L1 / TIL status and features to exclude.

    Returns
    -------
    DataFrame
        Float columns named as in :func:`feature_names`, NaN where unknown.

    Examples
    --------
    >>> from icipredict.schema import check_patients
    >>> X = build_features(check_patients(pd.DataFrame({"patient_id": ["a"], "pdl1_band": [">=50"]})))
    >>> float(X.loc[0, "pdl1_band_ord"])
    2.0
    """
    opt = options or FeatureOptions()
    p = patients
    # columns gathered in a dict and framed once: one-patient predictions stay fast
    X: dict[str, pd.Series] = {}
    band = pdl1_band(p)
    X["pdl1_tps"] = p["pdl1_tps"].astype(float)
    X["pdl1_band_ord"] = band.astype(object).map(_BAND_ORDINAL).astype(float)
    X["tmb_log"] = np.log1p(p["tmb"].astype(float))
    X["tmb_plasma"] = _contains_any(p["tmb_assay"], PLASMA_ASSAY_WORDS)
    X["tmb_wes"] = _contains_any(p["tmb_assay"], WES_ASSAY_WORDS)
    pair = time_status_pair(p, pdl1_cutoff=opt.pdl1_cutoff, til_pct_cutoff=opt.til_pct_cutoff,
                            til_density_cutoff=opt.til_density_cutoff)
    pd1 = pair["pdl1_positive"].astype("Float64").astype(float)
    til = pair["til_positive"].astype("Float64").astype(float)
    X["pdl1_positive"] = pd1
    X["til_positive"] = til
    X["time_pdl1pos_tilpos"] = pd1 * til
    X["time_pdl1neg_tilneg"] = (1 - pd1) * (1 - til)
    for col in MUTATION_COLUMNS:
        X[col] = p[col].astype(float)
    groups = mutation_groups(p)
    for col in groups.columns:
        X[col] = groups[col].astype(float)
    X["age"] = p["age"].astype(float)
    X["female"] = _flag(p["sex"], "female")
    X["never_smoker"] = _flag(p["smoking"], "never")
    X["current_smoker"] = _flag(p["smoking"], "current")
    X["pack_years"] = p["pack_years"].astype(float)
    X["ecog"] = p["ecog"].astype(float)
    X["squamous"] = _flag(p["histology"], "squamous")
    sites = p[["met_liver", "met_bone", "met_brain", "met_pleura"]].astype(float)
    for col in sites.columns:
        X[col] = sites[col]
    counted = sites.sum(axis=1, min_count=1)
    X["n_met_sites"] = p["n_met_sites"].astype(float).fillna(counted)
    X["line_of_therapy"] = p["line_of_therapy"].astype(float)
    X["prior_systemic_therapy"] = prior_therapy(p)
    X["regimen_ctla4"] = _flag(p["regimen"], "ici_ctla4")
    X["regimen_chemo"] = _flag(p["regimen"], "chemo_ici")
    mono = _flag(p["regimen"], "ici_mono")
    # female sex and never smoking lower benefit from ICI alone, not from chemo-ICI (domain.md, section 3)
    X["female_x_mono"] = X["female"] * mono
    X["never_smoker_x_mono"] = X["never_smoker"] * mono
    X["albumin"] = p["albumin"].astype(float)
    X["nlr_log"] = np.log(p["nlr"].astype(float))
    X["antibiotics"] = p["antibiotics"].astype(float)
    frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in X.items() if k not in opt.exclude},
                         index=p.index)
    return frame


def prior_therapy(patients: pd.DataFrame) -> pd.Series:
    """``prior_systemic_therapy``, filled from the line of therapy where missing (line > 1 means prior therapy)."""
    line = patients["line_of_therapy"].astype(float)
    from_line = pd.Series(np.where(line.isna(), np.nan, (line > 1).astype(float)), index=patients.index)
    return patients["prior_systemic_therapy"].astype(float).fillna(from_line)


def feature_names(options: FeatureOptions | None = None) -> list[str]:
    """Names of the model matrix columns for these options."""
    from icipredict.schema import check_patients

    probe = check_patients(pd.DataFrame({"patient_id": ["probe"]}))
    return list(build_features(probe, options).columns)


_FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "pdl1_tps": ("pdl1_tps",), "pdl1_band_ord": ("pdl1_tps", "pdl1_band"), "tmb_log": ("tmb",),
    "tmb_plasma": ("tmb_assay",), "tmb_wes": ("tmb_assay",),
    "pdl1_positive": ("pdl1_tps", "pdl1_band"), "til_positive": ("til_pct", "til_density", "til_status"),
    "time_pdl1pos_tilpos": ("pdl1_tps", "pdl1_band", "til_pct", "til_density", "til_status"),
    "time_pdl1neg_tilneg": ("pdl1_tps", "pdl1_band", "til_pct", "til_density", "til_status"),
    "driver_positive": DRIVER_COLUMNS, "positive_mutation": ("mut_kras", "mut_braf", "mut_met_ex14", "smoking"),
    "cold_tumour": ("mut_stk11", "mut_keap1"),
    "immune_evasion": ("mut_jak1", "mut_jak2", "mut_b2m", "mut_pten", "mut_ctnnb1", "mut_tp53"),
    "female": ("sex",), "never_smoker": ("smoking",), "current_smoker": ("smoking",), "squamous": ("histology",),
    "n_met_sites": ("n_met_sites", "met_liver", "met_bone", "met_brain", "met_pleura"),
    "prior_systemic_therapy": ("prior_systemic_therapy", "line_of_therapy"),
    "regimen_ctla4": ("regimen",), "regimen_chemo": ("regimen",),
    "female_x_mono": ("sex", "regimen"), "never_smoker_x_mono": ("smoking", "regimen"), "nlr_log": ("nlr",),
}


def input_columns_for(feature: str) -> tuple[str, ...]:
    """Canonical input columns a feature is computed from."""
    return _FEATURE_INPUTS.get(feature, (feature,))
