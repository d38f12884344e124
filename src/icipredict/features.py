"""Patient table -> model matrix.

The matrix is numeric, one row per patient, missing values kept as NaN (XGBoost and random forests
split on missingness; the logistic model imputes inside its own pipeline with missing-indicators).
Every derived feature follows a clinical rule from :mod:`icipredict.clinical`, so the model sees
the same PD-L1 bands, TIME class and mutation groups as the reports.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.biomarkers import pdl1_band, tmb_assay_kind
from icipredict.clinical.mutations import mutation_groups
from icipredict.clinical.time_class import time_status_pair
from icipredict.metadata import FeatureOptions
from icipredict.schema import MUTATION_COLUMNS
from icipredict.vocab import PDL1_BANDS

__all__ = ["FeatureOptions", "build_features", "FEATURE_GROUPS", "prior_therapy"]

_BAND_ORDINAL = {band: float(i) for i, band in enumerate(PDL1_BANDS)}

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


def _flag(series: pd.Series, value: str) -> pd.Series:
    s = series.astype(object)
    return pd.Series(np.where(s.isna(), np.nan, (s == value).astype(float)), index=series.index)


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
    kind = tmb_assay_kind(p)
    X["tmb_plasma"] = _flag(kind, "plasma")
    X["tmb_wes"] = _flag(kind, "wes")
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
