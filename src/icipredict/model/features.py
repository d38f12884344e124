"""Patient table -> model inputs: named, harmonised, one float per input, NaN where unknown.

:func:`model_inputs` gives the inputs of the penalised spline-logistic model (:mod:`icipredict.model.glm`):
PD-L1 (TPS, with its band for imputation), TMB on the tissue-panel scale
(:mod:`icipredict.clinical.assays`), prior therapy, regimen, ECOG, mutation groups, clinical
features and TIL status (:mod:`icipredict.clinical.til`). :data:`INPUT_SOURCES` says which canonical
columns feed each input, so that missing inputs and explanations name what the user gave.

:func:`build_features` gives the wider numeric matrix of the tree models (XGBoost, random forest),
which split on missingness natively.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.assays import band_codes, band_names, harmonised_tmb, tmb_assay_kind, tmb_on_panel_scale
from icipredict.clinical.biomarkers import pdl1_band
from icipredict.clinical.columns import Table, floats, texts
from icipredict.clinical.mutations import DRIVER_COLUMNS, IMMUNE_EVASION, POSITIVE, mutation_group_values
from icipredict.clinical.til import TIL_MEASURES, til_status_values
from icipredict.clinical.time_class import time_status_pair
from icipredict.table.labels import MISSING_INPUT_WORDS
from icipredict.model.metadata import FeatureOptions
from icipredict.table.schema import MUTATION_COLUMNS
from icipredict.table.vocab import PDL1_BANDS, SPLINE_FAMILIES

__all__ = ["FeatureOptions", "model_inputs", "model_input_values", "build_features", "FEATURE_GROUPS", "INPUT_SOURCES", "INPUT_SETS",
           "MISSING_INPUT_COLUMNS", "MISSING_INPUT_NAMES", "TREE_INPUT_COLUMNS", "columns_used", "prior_therapy"]

_BAND_ORDINAL = {band: float(i) for i, band in enumerate(PDL1_BANDS)}

#: Which canonical input columns feed each feature (used to report missing inputs per patient).
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "pdl1": ("pdl1_tps", "pdl1_band", "pdl1_sp142_tc"),
    "tmb": ("tmb",),
    "til": TIL_MEASURES,
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

#: Model input -> the canonical columns it is computed from, in the order an explanation names them.
INPUT_SOURCES: dict[str, tuple[str, ...]] = {
    "pdl1": ("pdl1_tps", "pdl1_band", "pdl1_sp142_tc"),
    "tmb": ("tmb",),
    "prior": ("prior_systemic_therapy", "line_of_therapy"),
    "ctla4": ("regimen",),
    "ecog": ("ecog",),
    "never_smoker": ("smoking",),
    "female": ("sex",),
    "age": ("age",),
    "squamous": ("histology",),
    "cold": ("mut_stk11", "mut_keap1"),
    "driver": DRIVER_COLUMNS,
    "kras": ("mut_kras",),
    "tp53": ("mut_tp53",),
    "albumin": ("albumin",),
    "pack_years": ("pack_years",),
    "til": TIL_MEASURES,
}
#: Tree-model features that fold into no model input: the canonical columns an explanation names for them.
TREE_ONLY_SOURCES: dict[str, tuple[str, ...]] = {
    "positive_mutation": tuple(f"mut_{g}" for g in POSITIVE),
    "immune_evasion": tuple(f"mut_{g}" for g in IMMUNE_EVASION),
    "nlr_log": ("nlr",),
}
#: The canonical columns :func:`build_features` reads (the tree models): every predictor but the PD-L1 assay
#: name and the SP142 immune-cell score, which no rule turns into a number.
TREE_INPUT_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    ["pdl1_tps", "pdl1_band", "pdl1_sp142_tc", "tmb", "tmb_assay"]
    + [c for cols in FEATURE_GROUPS.values() for c in cols]))
#: The canonical column(s) that would give each input when it is missing (its words:
#: :data:`icipredict.table.labels.MISSING_INPUT_WORDS`).
MISSING_INPUT_COLUMNS: dict[str, str] = {
    "pdl1": "pdl1_tps or pdl1_band", "tmb": "tmb", "prior": "prior_systemic_therapy or line_of_therapy",
    "ctla4": "regimen", "ecog": "ecog", "never_smoker": "smoking", "female": "sex", "age": "age",
    "squamous": "histology", "cold": "mut_stk11 and mut_keap1", "driver": "mut_egfr/alk/ros1/ret/erbb2",
    "kras": "mut_kras", "tp53": "mut_tp53", "albumin": "albumin", "pack_years": "pack_years",
    "til": f"{', '.join(TIL_MEASURES[1:])} or {TIL_MEASURES[0]}",
}
#: How a missing input is named to the user (``predict``'s ``missing_inputs``): its canonical column(s);
#: the TIL input, any of six measures, says what they are first.
MISSING_INPUT_NAMES: dict[str, str] = {
    **MISSING_INPUT_COLUMNS, "til": f"{MISSING_INPUT_WORDS['til']} ({MISSING_INPUT_COLUMNS['til']})",
}
#: Input sets compared by model selection: the transportable core, and the core with every other
#: input the licensed training studies measure.
INPUT_SETS: dict[str, tuple[str, ...]] = {
    "core": ("pdl1", "tmb", "prior", "ctla4", "ecog", "cold", "driver", "never_smoker"),
    "extended": ("pdl1", "tmb", "prior", "ctla4", "ecog", "cold", "driver", "never_smoker", "age", "female",
                 "squamous", "kras", "tp53", "albumin", "pack_years"),
}


#: The metastatic sites counted into ``n_met_sites`` where it is not given.
_MET_SITES = ("met_liver", "met_bone", "met_brain", "met_pleura")


def _flag(series: pd.Series, value: str) -> np.ndarray:
    """1.0 where the cell is ``value``, 0.0 where it is another value, NaN where missing (each distinct
    value compared once)."""
    codes, distinct = pd.factorize(series.astype(object), use_na_sentinel=True)
    table = np.array([float(v == value) for v in distinct] + [np.nan])
    return table[codes]  # code -1, a missing cell, picks the NaN


def _any_altered(p: Table, columns: tuple[str, ...]) -> np.ndarray:
    """1.0 where any gene is altered, 0.0 where none is and one was tested, NaN where none was tested."""
    altered = tested = None
    for c in columns:
        gene = floats(p, c)
        altered = gene == 1 if altered is None else altered | (gene == 1)
        tested = ~np.isnan(gene) if tested is None else tested | ~np.isnan(gene)
    return np.where(altered, 1.0, np.where(tested, 0.0, np.nan))


def _flag_or_nan(p: Table, column: str, value: str) -> np.ndarray:
    """1.0 where the column is ``value``, 0.0 where it is another value, NaN where missing."""
    return texts(p, column, strip=False).map(lambda v: float(v == value), np.nan, float)


def model_inputs(patients: pd.DataFrame, options: FeatureOptions | None = None) -> pd.DataFrame:
    """Named model inputs of a clean patient table (output of ``check_patients``).

    ====================  ===============================================================================
    input                 rule
    ====================  ===============================================================================
    ``pdl1``              TPS % (``pdl1_band``: the band, also from an SP142 TC score, for imputation)
    ``tmb``               log(1 + TMB) on the tissue-panel mut/Mb scale (assay harmonised)
    ``prior``             systemic therapy before the ICI (from the line of therapy where not given)
    ``ctla4``             1 anti-CTLA-4 added, 0 anti-PD-(L)1 alone; unknown for chemo-ICI, a regimen
                          the licensed studies never saw
    ``ecog``              ECOG 0, 1, >= 2
    ``never_smoker``,     1 / 0, except under chemo-ICI, where they are 0: they lower the benefit of ICI
    ``female``            without chemotherapy only (domain.md section 3)
    ``cold``, ``driver``  STK11/KEAP1; EGFR/ALK/ROS1/RET/ERBB2 (1 any altered, 0 tested, NaN untested)
    ``til``               TIL positive (:func:`icipredict.clinical.til.til_status`)
    ====================  ===============================================================================

    Examples
    --------
    >>> from icipredict.table.schema import check_patients
    >>> D = model_inputs(check_patients(pd.DataFrame({"patient_id": ["a"], "tmb": [16.0], "tmb_assay": ["bTMB"]})))
    >>> round(float(D.loc[0, "tmb"]), 3)
    2.398
    """
    return pd.DataFrame(model_input_values(patients, options), index=patients.index)


def model_input_values(patients: Table, options: FeatureOptions | None = None, *,
                       til: np.ndarray | None = None, bands: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """:func:`model_inputs` as arrays, from a clean table or its checked columns; ``til`` (TIL positive)
    and ``bands`` (:func:`~icipredict.clinical.assays.band_codes`) when already known.

    >>> from icipredict.table.schema import check_patients
    >>> model_input_values(check_patients(pd.DataFrame({"patient_id": ["a"], "ecog": [3]})))["ecog"].tolist()
    [2.0]
    """
    opt = options or FeatureOptions()
    p = patients
    regimen = texts(p, "regimen", strip=False)
    chemo = regimen.map(lambda v: v == "chemo_ici", False, bool)
    ctla4 = np.where(chemo, np.nan, regimen.map(lambda v: float(v == "ici_ctla4"), np.nan, float))
    if til is None:
        til = til_status_values(p, opt.til_cutoffs()).positive
    return {
        "pdl1": floats(p, "pdl1_tps"),
        "pdl1_band": band_names(band_codes(p) if bands is None else bands),
        "tmb": np.log1p(tmb_on_panel_scale(p)),
        "prior": _prior_values(p),
        "ctla4": ctla4,
        "ecog": np.minimum(floats(p, "ecog"), 2.0),
        "never_smoker": np.where(chemo, 0.0, _flag_or_nan(p, "smoking", "never")),
        "female": np.where(chemo, 0.0, _flag_or_nan(p, "sex", "female")),
        "age": floats(p, "age"),
        "squamous": _flag_or_nan(p, "histology", "squamous"),
        "cold": _any_altered(p, ("mut_stk11", "mut_keap1")),
        "driver": _any_altered(p, DRIVER_COLUMNS),
        "kras": floats(p, "mut_kras"),
        "tp53": floats(p, "mut_tp53"),
        "albumin": floats(p, "albumin"),
        "pack_years": floats(p, "pack_years"),
        "til": np.asarray(til, dtype=float),
    }


def build_features(patients: pd.DataFrame, options: FeatureOptions | None = None) -> pd.DataFrame:
    """The numeric matrix of the tree models from a clean patient table (output of ``check_patients``).

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
    >>> from icipredict.table.schema import check_patients
    >>> X = build_features(check_patients(pd.DataFrame({"patient_id": ["a"], "pdl1_band": [">=50"]})))
    >>> float(X.loc[0, "pdl1_band_ord"])
    2.0
    """
    opt = options or FeatureOptions()
    p = patients
    # columns gathered in a dict and framed once: one-patient predictions stay fast
    X: dict[str, pd.Series | np.ndarray] = {}
    band = pdl1_band(p)
    X["pdl1_tps"] = floats(p, "pdl1_tps")
    X["pdl1_band_ord"] = band.astype(object).map(_BAND_ORDINAL).astype(float)
    X["tmb_log"] = np.log1p(harmonised_tmb(p).astype(float))
    kind = tmb_assay_kind(p)
    X["tmb_plasma"] = _flag(kind, "plasma")
    X["tmb_wes"] = _flag(kind, "wes")
    pair = time_status_pair(p, pdl1_cutoff=opt.pdl1_cutoff, til_cutoffs=opt.til_cutoffs())
    pd1 = pair["pdl1_positive"].astype("Float64").astype(float)
    til = pair["til_positive"].astype("Float64").astype(float)
    X["pdl1_positive"] = pd1
    X["til_positive"] = til
    X["time_pdl1pos_tilpos"] = pd1 * til
    X["time_pdl1neg_tilneg"] = (1 - pd1) * (1 - til)
    for col in MUTATION_COLUMNS:
        X[col] = floats(p, col)
    X.update(mutation_group_values(p))
    X["age"] = floats(p, "age")
    X["female"] = _flag_or_nan(p, "sex", "female")
    X["never_smoker"] = _flag_or_nan(p, "smoking", "never")
    X["current_smoker"] = _flag_or_nan(p, "smoking", "current")
    X["pack_years"] = floats(p, "pack_years")
    X["ecog"] = floats(p, "ecog")
    X["squamous"] = _flag_or_nan(p, "histology", "squamous")
    sites = np.column_stack([floats(p, col) for col in _MET_SITES])
    for k, col in enumerate(_MET_SITES):
        X[col] = sites[:, k]
    counted = np.where(np.isnan(sites).all(axis=1), np.nan, np.nansum(sites, axis=1))
    given = floats(p, "n_met_sites")
    X["n_met_sites"] = np.where(np.isnan(given), counted, given)
    X["line_of_therapy"] = floats(p, "line_of_therapy")
    X["prior_systemic_therapy"] = prior_therapy(p)
    X["regimen_ctla4"] = _flag_or_nan(p, "regimen", "ici_ctla4")
    X["regimen_chemo"] = _flag_or_nan(p, "regimen", "chemo_ici")
    mono = _flag_or_nan(p, "regimen", "ici_mono")
    # female sex and never smoking lower benefit from ICI alone, not from chemo-ICI (domain.md, section 3)
    X["female_x_mono"] = X["female"] * mono
    X["never_smoker_x_mono"] = X["never_smoker"] * mono
    X["albumin"] = floats(p, "albumin")
    X["nlr_log"] = np.log(floats(p, "nlr"))
    X["antibiotics"] = floats(p, "antibiotics")
    frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in X.items() if k not in opt.exclude},
                         index=p.index)
    return frame


def prior_therapy(patients: pd.DataFrame) -> pd.Series:
    """``prior_systemic_therapy``, filled from the line of therapy where missing (line > 1 means prior therapy)."""
    return pd.Series(_prior_values(patients), index=patients.index, name="prior_systemic_therapy")


def _prior_values(p: Table) -> np.ndarray:
    prior = floats(p, "prior_systemic_therapy")
    line = floats(p, "line_of_therapy")
    with np.errstate(invalid="ignore"):
        from_line = np.where(np.isnan(line), np.nan, (line > 1).astype(float))
    return np.where(np.isnan(prior), from_line, prior)


def columns_used(patients: Table, used: list[str], *, family: str = "spline_logistic",
                 til_source: np.ndarray | None = None) -> dict[str, np.ndarray | bool]:
    """Per canonical column, whether the model reads it for each patient (a bool array, or True for all).

    ``used`` are the model inputs the model uses (:data:`INPUT_SOURCES` names); ``til_source`` the index
    into :data:`~icipredict.clinical.til.TIL_MEASURES` of the measure that set each patient's TIL status
    (-1: none). A fallback column is read only where the column before it has no value: the PD-L1 band
    where no TPS is given, the SP142 tumour-cell score where neither is, the line of therapy where prior
    systemic therapy is not given; the TMB assay where a TMB is given. Under chemo-ICI, smoking and sex are
    not read (:func:`model_input_values` sets their inputs to 0): the regimen is. Of the TIL measures, only
    the one that set the status is read. A tree model reads every column of :data:`TREE_INPUT_COLUMNS`.

    >>> t = {"patient_id": np.array(["a", "b"], dtype=object), "pdl1_tps": np.array([60.0, np.nan])}
    >>> columns_used(t, ["pdl1"])["pdl1_band"].tolist()
    [False, True]
    """
    if family not in SPLINE_FAMILIES:
        return {c: True for c in TREE_INPUT_COLUMNS}

    def given(name: str) -> np.ndarray:
        return ~pd.isna(np.asarray(patients[name], dtype=object)) if name in patients else np.zeros(n, dtype=bool)

    n = len(np.asarray(patients["patient_id"]))
    chemo = texts(patients, "regimen", strip=False).map(lambda v: v == "chemo_ici", False, bool)
    out: dict[str, np.ndarray | bool] = {}
    for name in used:
        if name == "til":
            source = np.full(n, -1) if til_source is None else np.asarray(til_source)
            for k, measure in enumerate(TIL_MEASURES):
                out[measure] = source == k
        elif name == "pdl1":
            tps, band = given("pdl1_tps"), given("pdl1_band")
            out.update(pdl1_tps=True, pdl1_band=~tps, pdl1_sp142_tc=~tps & ~band)
        elif name == "tmb":
            out.update(tmb=True, tmb_assay=given("tmb"))
        elif name == "prior":
            out.update(prior_systemic_therapy=True, line_of_therapy=~given("prior_systemic_therapy"))
        elif name in ("never_smoker", "female"):
            out["smoking" if name == "never_smoker" else "sex"] = ~chemo
            out["regimen"] = True  # chemo-ICI switches the input off: the regimen is read
        else:
            for column in INPUT_SOURCES.get(name, ()):
                out[column] = True
    return out
