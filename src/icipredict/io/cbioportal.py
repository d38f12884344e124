"""cBioPortal studies: a datahub study folder, and the portal's web-page clinical export (.tsv).

A study folder gives one row per patient: ``data_clinical_patient.txt`` joined to
``data_clinical_sample.txt`` (when a patient has several samples, the first by sample id is used
and the others are ignored), plus 1 / 0 / NaN alteration flags built from the MAF
(``data_mutations*.txt``), the fusions (``data_sv.txt``) and the gene panels. Datahub attribute
names are mapped to canonical columns by :data:`COMMON_ATTRIBUTES`, corrected per study by the
study vocabularies in :data:`STUDIES` (a code such as "Combination" means different things in
different studies). The study id is the ``cancer_study_identifier`` of ``meta_study.txt`` (else of
another ``meta_*.txt``), else the folder name, so a renamed folder reads the same. Unmapped
attributes are carried in snake_case. Values are mapped to the canonical vocabulary but not
checked: the caller runs ``check_patients``.

What ``mut_<gene>`` means, and how the MAF, fusions, panels and protein-change lists are read:
:mod:`icipredict.io.cbioportal_mutations`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.cbioportal_mutations import (  # the flag vocabulary is re-exported
    _MISSING, CLASS_SYNONYMS, FUSION_GENES, MAF_GENES, NON_SILENT_CLASSES, PANEL_GENES, SILENT_CLASSES, _alteration_flags,
    _annotation_flags, _report_unclassified, maf_class)
from icipredict.io.table import carry_extras, check_text_file, snake_case
from icipredict.table.vocab import MONTH_DAYS

__all__ = [
    "read_cbioportal_study", "read_cbioportal_tsv", "clinical_to_canonical", "study_identifier", "maf_class",
    "COMMON_ATTRIBUTES", "COMMON_VALUES", "STUDIES", "DISPLAY_NAMES",
    "NSCLC_PD1_MSK_2018", "LUNG_MSK_MIND_2020", "NSCLC_MSKCC_2018", "NSCLC_MSKCC_2015",
    "NON_SILENT_CLASSES", "SILENT_CLASSES", "CLASS_SYNONYMS", "MAF_GENES", "FUSION_GENES", "PANEL_GENES",
]

# ---------------------------------------------------------------- clinical vocabulary

#: Datahub attribute -> canonical column (or the name of a carried extra), for every study.
COMMON_ATTRIBUTES: dict[str, str] = {
    "PATIENT_ID": "patient_id", "SAMPLE_ID": "sample_id",
    "AGE": "age", "AGE_YRS": "age", "AGE_CURRENT": "age",
    "SEX": "sex", "GENDER": "sex",
    "SMOKER": "smoking", "SMOKING_STATUS": "smoking", "SMOKING_HISTORY": "smoking",
    "PACK_YEARS": "pack_years", "SMOKER_PACK_YEARS": "pack_years",
    "ECOG": "ecog", "ECOG_PERFORMANCE_STATUS": "ecog",
    "HISTOLOGY": "histology",
    "ALBUMIN": "albumin", "NLR": "nlr",
    "DNLR": "dnlr",  # derived NLR, neutrophils / (leukocytes - neutrophils): a different ratio from nlr
    "LINES_OF_TX": "line_of_therapy", "LINE_OF_THERAPY": "line_of_therapy", "IO_LINE": "line_of_therapy",
    "TREATMENT_TYPE": "regimen", "MONO_COMBO": "regimen",
    "PDL1_SCORE": "pdl1_tps", "CLINICAL_PDL1_SCORE": "pdl1_tps", "PDL1_EXP": "pdl1_tps",
    "PDL1_EXPRESSION": "pdl1_band",
    "TMB_NONSYNONYMOUS": "tmb",  # cBioPortal's nonsynonymous mutations per Mb (panel size, or ~30 Mb for WES)
    "TMB": "tmb_reported",
    "PFS_MONTHS": "pfs_months", "PFS_STATUS": "pfs_event",
    "OS_MONTHS": "os_months", "OS_STATUS": "os_event",
    "BOR": "best_response", "BEST_OVERALL_RESPONSE": "best_response", "OVERALL_RESPONSE": "best_response",
    "DURABLE_CLINICAL_BENEFIT": "dcb_reported",
}

#: Canonical column -> {raw value, lower case: canonical value}; other values pass to the schema.
COMMON_VALUES: dict[str, dict[str, str]] = {
    "smoking": {"ever": "ever", "never": "never", "former": "former", "current": "current",
                "never smoker": "never", "former smoker": "former",
                "current smoker (within 6 months of diagnosis)": "current"},
    "regimen": {"monotherapy": "ici_mono", "pd1 alone": "ici_mono", "pd1+ctla4": "ici_ctla4"},
    "best_response": {"pod": "PD", "progression of disease": "PD", "partial response": "PR",
                      "complete response": "CR", "stable response": "SD", "stable disease": "SD"},
    "dcb_reported": {"yes": "1", "no": "0", "ne": "", "dcb": "1", "ndb": "0", "durable clinical benefit": "1",
                     "no durable benefit": "0", "no durable clinical benefit": "0"},
    # Rizvi et al., Science 2015: strong >= 50 %, weak 1-49 %, negative < 1 % of tumour cells
    "pdl1_band": {"strong": ">=50", "weak": "1-49", "negative": "<1", "unknown": ""},
}

#: Rizvi et al., J Clin Oncol 2018: "Combination" is anti-PD-(L)1 plus anti-CTLA-4.
NSCLC_PD1_MSK_2018: dict[str, dict[str, object]] = {
    "attributes": {},
    "values": {"regimen": {"combination": "ici_ctla4"}},
    "constants": {"tmb_assay": "MSK-IMPACT panel"},
}
#: Vanguri et al., Nature Cancer 2022 (MSK-MIND). DCR is "Durable clinical response"; OS_INT is
#: OS in months for the deceased only (censored OS is rebuilt from the day-number dates).
LUNG_MSK_MIND_2020: dict[str, dict[str, object]] = {
    "attributes": {"DCR": "dcb_reported", "OS_INT": "os_months"},
    # PACK_YEARS holds "unk" (unknown) and "Cigars" (cigar smoker, pack-years not given) for 7 patients
    "values": {"pack_years": {"unk": "", "cigars": ""}},
    "constants": {"tmb_assay": "MSK-IMPACT panel"},
}
#: Hellmann et al., Cancer Cell 2018: first-line nivolumab + ipilimumab (CheckMate 012), WES.
#: NONSYNONYMOUS_MUTATION_BURDEN is a count, not mut/Mb: carried, never mapped to tmb.
NSCLC_MSKCC_2018: dict[str, dict[str, object]] = {
    "attributes": {},
    "values": {},
    "constants": {"regimen": "ici_ctla4", "line_of_therapy": "1", "prior_systemic_therapy": "0", "tmb_assay": "WES"},
}
#: Rizvi et al., Science 2015: pembrolizumab alone, WES. PRIOR_TREATMENT_OF_CYTOTOXIC_CHEMOTHERAPY
#: (number of prior chemotherapies) gives prior_systemic_therapy (> 0 -> 1).
NSCLC_MSKCC_2015: dict[str, dict[str, object]] = {
    "attributes": {},
    "values": {},
    "constants": {"regimen": "ici_mono", "tmb_assay": "WES"},
}
#: Study id (folder name or the export's "Study ID") -> its vocabulary.
STUDIES: dict[str, dict[str, dict[str, object]]] = {
    "nsclc_pd1_msk_2018": NSCLC_PD1_MSK_2018,
    "lung_msk_mind_2020": LUNG_MSK_MIND_2020,
    "nsclc_mskcc_2018": NSCLC_MSKCC_2018,
    "nsclc_mskcc_2015": NSCLC_MSKCC_2015,
}

#: Portal display name -> datahub attribute, where upper-snake-casing the display name does not
#: already give the attribute ("PFS Months" -> PFS_MONTHS needs no entry).
DISPLAY_NAMES: dict[str, str] = {
    "What is the patient's smoking status?": "SMOKING_STATUS",
    "Pack-year history": "PACK_YEARS",
    "Line of therapy": "IO_LINE",
    "Monotherapy vs. Combination": "MONO_COMBO",
    "Clinically reported PD-L1 score": "CLINICAL_PDL1_SCORE",
    "JS PD-L1 score": "JS_PDL1_SCORE",
    "TMB (nonsynonymous)": "TMB_NONSYNONYMOUS",
    "Durable clinical response": "DCR",
    "Overall survival": "OS_INT",
    "Is the patient deceased?": "VITAL_STATUS",
    "Date of Last Contact": "FOLLOW_UP_DATE",
    "Date of death": "DEATH_DATE",
    "Drug start date": "DRUG_START",
    "Diagnosis Age": "AGE",
    "Smoking History": "SMOKING_HISTORY",
    "Smoker": "SMOKER",
    "Overall Survival (Months)": "OS_MONTHS",
    "Overall Survival Status": "OS_STATUS",
    "Progress Free Survival (Months)": "PFS_MONTHS",
    "Progression Free Survival (Months)": "PFS_MONTHS",
    "Progression Free Status": "PFS_STATUS",
    "Progression Free Survival Status": "PFS_STATUS",
    "Durable Clinical Benefit": "DURABLE_CLINICAL_BENEFIT",
    "Best Overall Response": "BEST_OVERALL_RESPONSE",
    "Lines of Treatment": "LINES_OF_TX",
    "Treatment Type": "TREATMENT_TYPE",
    "PD-L1 Score (%)": "PDL1_SCORE",
    "ECOG Performance Status": "ECOG_PERFORMANCE_STATUS",
}

# ---------------------------------------------------------------- study folder

def read_cbioportal_study(folder: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read a cBioPortal datahub study folder into one canonical row per patient.

    Parameters
    ----------
    folder : str or Path
        The study folder (``data_clinical_patient.txt`` and/or ``data_clinical_sample.txt``,
        optionally ``data_mutations*.txt``, ``data_sv.txt``, ``data_gene_panel_matrix.txt``).
        A path to one of the two clinical files means its folder.
    cohort : str, optional
        Defaults to the study id (:func:`study_identifier`: ``meta_study.txt``, else the folder
        name), which also selects the study vocabulary.

    Returns
    -------
    DataFrame
        Canonical columns (``mut_*`` 1 altered / 0 tested wild-type / NaN not tested) and the
        unmapped attributes in snake_case; not yet checked by ``check_patients``.

    Examples
    --------
    >>> df = read_cbioportal_study("../shared/data/cbioportal/nsclc_pd1_msk_2018")  # doctest: +SKIP
    >>> len(df)  # doctest: +SKIP
    240
    """
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    patient_file, sample_file = folder / "data_clinical_patient.txt", folder / "data_clinical_sample.txt"
    if not patient_file.is_file() and not sample_file.is_file():
        raise InvalidPatientData(
            f"{folder}: not a cBioPortal study folder; expected data_clinical_patient.txt or "
            "data_clinical_sample.txt in it. Got neither instead.",
            [Problem(None, None, "a cBioPortal study folder", str(folder))])
    patients = _read_clinical(patient_file) if patient_file.is_file() else None
    samples = _read_clinical(sample_file) if sample_file.is_file() else None
    if samples is not None and "PATIENT_ID" in samples.columns:
        order = "SAMPLE_ID" if "SAMPLE_ID" in samples.columns else "PATIENT_ID"
        samples = samples.sort_values(order, kind="stable").drop_duplicates("PATIENT_ID", keep="first")
    if patients is None:
        raw = samples
    elif samples is None:
        raw = patients
    else:
        extra = [c for c in samples.columns if c not in patients.columns or c == "PATIENT_ID"]
        raw = patients.merge(samples[extra], on="PATIENT_ID", how="left")
    raw = raw.fillna("").reset_index(drop=True)
    study = study_identifier(folder)
    out, from_attributes = _to_canonical(raw, study)
    unclassified: list[dict[str, object]] = []
    maf_name = "MAF"
    if "sample_id" in out.columns:
        flags, unclassified = _alteration_flags(folder, raw)
        maf_name = flags.attrs.get("maf", maf_name)
        for col in flags.columns:
            from_files = out["sample_id"].map(flags[col]).astype(float)
            # the MAF and panels decide; the clinical driver attributes fill what they cannot tell
            out[col] = from_files.fillna(out[col]) if col in out.columns else from_files
        row_of = {sample: i for i, sample in enumerate(out["sample_id"])}
        # variants of a patient's other samples were not read, so they decide nothing
        unclassified = [{"row": row_of[r["sample_id"]], **r} for r in unclassified if r["sample_id"] in row_of]
    _report_unclassified(out, from_attributes, f"{folder.name}: protein-change attributes")
    _report_unclassified(out, unclassified, f"{folder.name}: {maf_name}")
    out["cohort"] = cohort or study
    return out


def study_identifier(folder: str | Path) -> str:
    """The study id of a datahub folder: ``cancer_study_identifier`` from its meta files, else its name.

    ``meta_study.txt`` is read first, then the other ``meta_*.txt`` files (each names its study).

    Examples
    --------
    >>> study_identifier("../shared/data/cbioportal/lung_msk_mind_2020")  # doctest: +SKIP
    'lung_msk_mind_2020'
    """
    folder = Path(folder)
    metas = sorted(folder.glob("meta_*.txt"), key=lambda p: (p.name != "meta_study.txt", p.name))
    for path in metas:
        with path.open(encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "cancer_study_identifier" and value.strip():
                    return value.strip()
    return folder.name


def _read_clinical(path: Path) -> pd.DataFrame:
    """A datahub clinical file: leading '#' lines are attribute metadata, then a header line."""
    check_text_file(path, sep="\t")
    with path.open(encoding="utf-8-sig") as fh:
        n_meta = 0
        for line in fh:
            if not line.startswith("#"):
                break
            n_meta += 1
    df = pd.read_csv(path, sep="\t", skiprows=n_meta, dtype=str, keep_default_na=False,
                     quoting=csv.QUOTE_NONE, encoding="utf-8-sig")
    df.columns = [c.strip() for c in df.columns]
    if "PATIENT_ID" not in df.columns:
        raise InvalidPatientData(
            f"{path}: no PATIENT_ID column; expected the datahub clinical layout. "
            f"Got columns {list(df.columns)[:10]} instead.", [Problem(None, "patient_id", "PATIENT_ID", "no such column")])
    return df


def clinical_to_canonical(raw: pd.DataFrame, study: str | None) -> pd.DataFrame:
    """Map datahub-named clinical columns (one row per patient) to the canonical vocabulary.

    Per-gene ``<GENE>_DRIVER`` / ``<GENE>_PROTEIN`` attributes give ``mut_*`` columns by the rule
    of the module docstring; remarks go to ``df.attrs["notes"]`` and protein-change entries that
    cannot be read to ``df.attrs["unclassified_variants"]``.
    """
    out, records = _to_canonical(raw, study)
    _report_unclassified(out, records, f"{study or 'clinical table'}: protein-change columns")
    return out


def _to_canonical(raw: pd.DataFrame, study: str | None) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """:func:`clinical_to_canonical`, returning the unreadable protein-change entries unreported."""
    vocab = STUDIES.get(study or "", {"attributes": {}, "values": {}, "constants": {}})
    attributes = {**COMMON_ATTRIBUTES, **vocab["attributes"]}  # type: ignore[dict-item]
    values = {k: {**v, **vocab["values"].get(k, {})} for k, v in COMMON_VALUES.items()}  # type: ignore[union-attr]
    for k, v in vocab["values"].items():
        values.setdefault(k, dict(v))  # type: ignore[arg-type]
    out = pd.DataFrame(index=raw.index)
    used: set[str] = set()
    for attr, target in attributes.items():
        if attr not in raw.columns:
            continue
        used.add(attr)
        col = raw[attr].astype(str).str.strip()
        col = col.where(~col.str.lower().isin(_MISSING), "")
        if target in ("pfs_event", "os_event"):
            col = col.str.replace(r"^\s*(\d)\s*:.*$", r"\1", regex=True)
        elif target == "best_response":
            col = col.str.replace(r"(?i)^pod/.*$", "POD", regex=True)
        elif target == "histology":
            col = col.map(_histology)
        if target in values:
            lookup = values[target]
            col = col.map(lambda v: lookup.get(v.lower(), v))
        out[target] = col if target not in out.columns else out[target].where(out[target] != "", col)
    _derive(out, raw)
    for name, value in vocab["constants"].items():  # type: ignore[union-attr]
        out[name] = value
    if "tmb_assay" not in out.columns and "GENE_PANEL" in raw.columns:
        out["tmb_assay"] = raw["GENE_PANEL"].map(lambda p: "MSK-IMPACT panel" if p.upper().startswith("IMPACT") else p)
    flags, records, notes = _annotation_flags(raw)
    for col in flags.columns:  # the driver / protein attributes stay carried, for users of the portal's calls
        out[col] = flags[col]
    out = carry_extras(out, raw, used)
    out.attrs["notes"] = notes
    return out, records


def _histology(value: str) -> str:
    v = value.strip().lower()
    if not v:
        return ""
    if v.startswith("adenocarcinoma"):
        return "adenocarcinoma"
    if v.startswith("squamous"):
        return "squamous"
    return "other"  # NOS, non-squamous, adenosquamous, large cell (neuroendocrine), pleomorphic, ...


#: Oncotree code -> histology, used when the study has no histology attribute.
_ONCOTREE_HISTOLOGY = {"LUAD": "adenocarcinoma", "LUSC": "squamous"}


def _derive(out: pd.DataFrame, raw: pd.DataFrame) -> None:
    """Canonical columns a study gives only indirectly."""
    if "histology" not in out.columns and "ONCOTREE_CODE" in raw.columns:
        code = raw["ONCOTREE_CODE"].str.strip().str.upper()
        out["histology"] = code.map(lambda c: _ONCOTREE_HISTOLOGY.get(c, "other" if c else ""))
    if "prior_systemic_therapy" not in out.columns:
        if "PRIOR_TREATMENT_OF_CYTOTOXIC_CHEMOTHERAPY" in raw.columns:
            n = pd.to_numeric(raw["PRIOR_TREATMENT_OF_CYTOTOXIC_CHEMOTHERAPY"], errors="coerce")
            out["prior_systemic_therapy"] = _flag(n > 0, n.isna())
        elif "line_of_therapy" in out.columns:
            # the ICI in line 2 or later means systemic therapy before it
            line = pd.to_numeric(out["line_of_therapy"], errors="coerce")
            out["prior_systemic_therapy"] = _flag(line > 1, line.isna())
    if {"DRUG_START", "FOLLOW_UP_DATE", "VITAL_STATUS"} <= set(raw.columns):
        # MSK day-number dates: OS for the censored patients, whose OS_INT is empty
        dead = raw["VITAL_STATUS"].str.strip().str.lower().map({"yes": 1.0, "no": 0.0})
        end = pd.to_numeric(raw.get("DEATH_DATE", pd.Series("", index=raw.index)), errors="coerce")
        end = end.where(dead == 1, pd.to_numeric(raw["FOLLOW_UP_DATE"], errors="coerce"))
        months = ((end - pd.to_numeric(raw["DRUG_START"], errors="coerce")) / MONTH_DAYS).round(2)
        given = out["os_months"] if "os_months" in out.columns else pd.Series("", index=raw.index)
        out["os_months"] = given.where(given != "", months.map(lambda m: "" if pd.isna(m) else f"{m:g}"))
        out["os_event"] = dead.map(lambda d: "" if pd.isna(d) else str(int(d)))


def _flag(condition: pd.Series, unknown: pd.Series) -> pd.Series:
    return condition.map({True: "1", False: "0"}).where(~unknown, "")


# ---------------------------------------------------------------- portal web export

def read_cbioportal_tsv(path: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read the clinical table downloaded from a cBioPortal study page (human-readable headers).

    Display names are mapped to datahub attributes (:data:`DISPLAY_NAMES`, "<GENE> driver" to
    ``<GENE>_DRIVER`` and "<GENE> protein change" to ``<GENE>_PROTEIN``, else upper snake case) and
    then to canonical columns as for a study folder; one row per patient (first sample by sample
    id). The export has no MAF; where it has per-gene driver and protein-change columns (MSK-MIND:
    EGFR, ALK, ERBB2, ROS1, RET, BRAF, MET, STK11) they give those genes' ``mut_*`` flags by the
    study folder's rule (module docstring); the other ``mut_*`` columns are left out (not tested),
    with a note in ``df.attrs["notes"]``.

    Parameters
    ----------
    path : str or Path
        The ``.tsv`` export (columns such as "Patient ID", "Sample ID", "PFS Months").
    cohort : str, optional
        Defaults to the export's "Study ID" when it holds one study, else the file stem.

    Examples
    --------
    >>> df = read_cbioportal_tsv("lung_msk_mind_2020_clinical_data.tsv")  # doctest: +SKIP
    """
    path = Path(path)
    check_text_file(path, sep="\t")
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8-sig")
    raw.columns = [_export_attribute(c) for c in raw.columns]
    if "PATIENT_ID" not in raw.columns:
        raise InvalidPatientData(
            f"{path}: no 'Patient ID' column; expected the cBioPortal clinical export. "
            f"Got columns {list(raw.columns)[:10]} instead.", [Problem(None, "patient_id", "Patient ID", "no such column")])
    raw = raw.replace({"NA": ""})
    studies = raw["STUDY_ID"].unique() if "STUDY_ID" in raw.columns else []
    study = str(studies[0]) if len(studies) == 1 else None
    order = raw["PATIENT_ID"].drop_duplicates()  # patients in the file's order
    if "SAMPLE_ID" in raw.columns:  # a patient's first sample by id stands for the patient
        raw = raw.sort_values("SAMPLE_ID", kind="stable")
    raw = raw.drop_duplicates("PATIENT_ID", keep="first").set_index("PATIENT_ID", drop=False)
    raw = raw.loc[order.to_numpy()].reset_index(drop=True)
    out = clinical_to_canonical(raw, study)
    every = (*MAF_GENES.values(), *FUSION_GENES.values(), "mut_met_ex14")
    absent = [c for c in every if c not in out.columns]
    if absent:
        which = "any gene" if len(absent) == len(every) else ", ".join(absent)
        out.attrs["notes"].append(f"{path.name}: the export has no alteration columns for {which}, so those mut_* "
                                  "columns are missing (not tested); the study folder's MAF has them")
    out["cohort"] = cohort or study or path.stem
    return out


def _export_attribute(display: str) -> str:
    """The datahub attribute of a column of the portal's export, from its display name."""
    name = display.strip()
    if name in DISPLAY_NAMES:
        return DISPLAY_NAMES[name]
    gene = re.match(r"^([A-Za-z0-9]+) (driver|protein change)$", name)
    if gene:  # the portal's per-gene annotation (MSK-MIND): "EGFR driver", "EGFR protein change"
        return f"{gene.group(1).upper()}_{'DRIVER' if gene.group(2) == 'driver' else 'PROTEIN'}"
    return snake_case(name).upper()
