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

What ``mut_<gene>`` means, in both readers: 1 when the tumour carries a somatic alteration of the
kind the column names, 0 when the gene was sequenced and carries none, NaN when it was not
sequenced or the data cannot tell. The rule is variant-level, so that it reads the same from every
study (whole-exome or panel, curated or not):

- EGFR, ERBB2, KRAS, BRAF, STK11, KEAP1, TP53, JAK1, JAK2, B2M, PTEN, CTNNB1: a non-silent variant
  (:data:`NON_SILENT_CLASSES`); for EGFR only inside the kinase domain (:data:`EGFR_CODONS`).
- ALK, ROS1, RET: a fusion with another named gene (:data:`FUSION_GENES`).
- ``mut_met_ex14``: MET exon 14 skipping variants (:data:`MET_EX14_PROTEIN`, :data:`MET_EX14_CDNA`).
- Copy-number calls (amplification, deep deletion) and intragenic rearrangements never count;
  ``data_cna.txt`` is not read.

The study folder applies the rule to its MAF, ``data_sv.txt`` and gene panels. The portal's web
export has no MAF, but for some studies (MSK-MIND) it has, per gene, ``<GENE> driver`` (TRUE /
FALSE / NA: the portal's OncoKB driver call) and ``<GENE> protein change`` (every alteration of the
gene in the sample: "L858R (driver)", "AMP", "HOMDEL", "EML4-ALK fusion", "STK11-intragenic", ...);
the folder's datahub clinical file has the same two attributes (``EGFR_DRIVER``, ``EGFR_PROTEIN``).
The rule is applied to the protein-change list, and the driver column only says whether the gene
was assessed (TRUE or FALSE: tested; NA: not). The driver call itself is not the flag: it counts
amplifications (EGFR, ERBB2, MET) and deep deletions (STK11), and leaves out variants of unknown
significance, a curated definition only some studies carry. A driver column without its
protein-change column is read as 1 TRUE / 0 FALSE (for MET, TRUE stays missing: it need not be exon
14 skipping), with a note that it follows the portal's definition. Genes the export has no columns
for (KRAS, KEAP1, TP53, ... in MSK-MIND) stay missing: read the study folder for them. In a study
folder the MAF decides; the clinical attributes fill only what the MAF and panels cannot tell.

Nothing unreadable is turned into "wild-type". MAF ``Variant_Classification`` values are matched
case-insensitively, with the Oncotator and Sequence Ontology spellings of the same classes
(:data:`CLASS_SYNONYMS`). A variant whose class does not say whether the protein changes
(``Unknown``, ``Targeted_Region``, empty, or a class this reader has never seen), or a
protein-change entry it cannot parse, leaves that patient's flag missing unless another variant
sets it to 1. Each such variant is listed in ``df.attrs["unclassified_variants"]`` (patient, sample,
gene, column, the value as written, the resulting flag), summarised in ``df.attrs["notes"]`` and
warned (``UserWarning``).
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
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

_MISSING = {"", "na", "nan", "n/a", "unknown", "not available", "[not available]"}

# ---------------------------------------------------------------- mutation vocabulary

#: MAF Variant_Classification values that change the protein (MAF specification 2.4; MET exon 14
#: skipping is recognised separately).
NON_SILENT_CLASSES = frozenset({
    "Missense_Mutation", "Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "In_Frame_Del",
    "In_Frame_Ins", "Splice_Site", "Translation_Start_Site", "Nonstop_Mutation",
})
#: Known classes that leave the protein unchanged or lie outside the coding sequence (MAF 2.4, plus
#: vcf2maf's Splice_Region and Oncotator's lincRNA / De_novo_Start_*): they never set a flag.
SILENT_CLASSES = frozenset({
    "Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA", "lincRNA", "Splice_Region",
    "De_novo_Start_InFrame", "De_novo_Start_OutOfFrame",
})
#: Other spellings of those classes, lower case: Oncotator's start/stop codon classes and the
#: Sequence Ontology consequences (VEP) that some MAFs carry, mapped as vcf2maf maps them. Only
#: membership of NON_SILENT_CLASSES / SILENT_CLASSES matters, so a frameshift of either kind is one.
CLASS_SYNONYMS: dict[str, str] = {
    "start_codon_snp": "Translation_Start_Site", "start_codon_del": "Translation_Start_Site",
    "start_codon_ins": "Translation_Start_Site", "stop_codon_del": "Nonstop_Mutation",
    "stop_codon_ins": "Nonstop_Mutation",
    "missense_variant": "Missense_Mutation", "stop_gained": "Nonsense_Mutation",
    "frameshift_variant": "Frame_Shift_Del", "inframe_deletion": "In_Frame_Del", "inframe_insertion": "In_Frame_Ins",
    "splice_acceptor_variant": "Splice_Site", "splice_donor_variant": "Splice_Site",
    "start_lost": "Translation_Start_Site", "stop_lost": "Nonstop_Mutation", "synonymous_variant": "Silent", "stop_retained_variant": "Silent",
    "splice_region_variant": "Splice_Region", "intron_variant": "Intron", "5_prime_utr_variant": "5'UTR",
    "3_prime_utr_variant": "3'UTR", "upstream_gene_variant": "5'Flank", "downstream_gene_variant": "3'Flank",
    "intergenic_variant": "IGR", "non_coding_transcript_exon_variant": "RNA",
}
_CLASS_KEYS: dict[str, str] = {
    **{c.lower(): c for c in NON_SILENT_CLASSES | SILENT_CLASSES}, **CLASS_SYNONYMS,
}
#: Genes whose non-silent MAF variants set the flag.
MAF_GENES: dict[str, str] = {
    "EGFR": "mut_egfr", "ERBB2": "mut_erbb2", "KRAS": "mut_kras", "BRAF": "mut_braf", "STK11": "mut_stk11",
    "KEAP1": "mut_keap1", "TP53": "mut_tp53", "JAK1": "mut_jak1", "JAK2": "mut_jak2", "B2M": "mut_b2m",
    "PTEN": "mut_pten", "CTNNB1": "mut_ctnnb1",
}
#: EGFR counts only inside the kinase domain (codons 688-875, exons 18-21: L858R, exon 19
#: deletions, G719X, exon 20 insertions, ...); elsewhere EGFR variants are mostly passengers.
EGFR_CODONS = (688, 875)
#: ALK, ROS1 and RET count as altered only through a fusion with another gene (data_sv.txt);
#: their point mutations are mostly passengers in NSCLC.
FUSION_GENES: dict[str, str] = {"ALK": "mut_alk", "ROS1": "mut_ros1", "RET": "mut_ret"}
#: MET exon 14 skipping: splice variants at the exon 14 boundaries (c.2888-N acceptor, c.3028+N
#: donor, reported by the annotator as X963_splice / X1010_splice) and D1010 substitutions (the
#: last base of exon 14). Intron-class deletions deeper in intron 13 are not counted.
_MET_EX14 = r"(?:X963_splice|X1010_splice|D1010[A-Z*])"
MET_EX14_PROTEIN = re.compile(rf"^p\.{_MET_EX14}")
MET_EX14_CDNA = re.compile(r"c\.(?:2888-\d+|3028\+\d+)")
_ALL_GENES = frozenset(MAF_GENES) | frozenset(FUSION_GENES) | {"MET"}
#: Genes of this package on each panel when no gene panel file is in the folder. The three
#: MSK-IMPACT versions carry all of them (and every one is mutated in these studies' MAFs).
PANEL_GENES: dict[str, frozenset[str]] = {"IMPACT341": _ALL_GENES, "IMPACT410": _ALL_GENES, "IMPACT468": _ALL_GENES}

#: One entry of a "<GENE> protein change" list: a protein change ("L858R", "E746_A750del",
#: "X963_splice", "P281Rfs*6"), a copy-number call, or a rearrangement ("EML4-ALK fusion",
#: "STK11-intragenic", "MET-intragenic - Archer"). A trailing "(driver)" is dropped first.
_PROTEIN_ENTRY = re.compile(r"^(?:p\.)?([A-Z*])(\d+)(\S*)$")
_CNA_ENTRY = re.compile(r"^(?:AMP|AMPLIFICATION|GAIN|HOMDEL|DEEP_?DELETION|HETLOSS|LOSS|DEL)$", re.IGNORECASE)
_FUSION_ENTRY = re.compile(r"^([A-Za-z0-9.]+)-([A-Za-z0-9.]+) fusion\b", re.IGNORECASE)
_INTRAGENIC_ENTRY = re.compile(r"^[A-Za-z0-9.]+-intragenic\b", re.IGNORECASE)
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


def maf_class(value: str) -> str | None:
    """The MAF class of a ``Variant_Classification`` value, or None when it does not say one.

    Case, surrounding blanks and spaces or hyphens for underscores do not matter; Oncotator and
    Sequence Ontology spellings map to their MAF class (:data:`CLASS_SYNONYMS`).

    >>> maf_class("missense_mutation"), maf_class("Missense Mutation"), maf_class("stop_gained")
    ('Missense_Mutation', 'Missense_Mutation', 'Nonsense_Mutation')
    >>> maf_class("Unknown") is None
    True
    """
    key = re.sub(r"[\s\-]+", "_", str(value).strip()).lower()
    key = re.split(r"[&,]", key, maxsplit=1)[0]  # VEP lists several consequences, most severe first
    return _CLASS_KEYS.get(key)


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
    check_text_file(path)
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


# ---------------------------------------------------------------- alterations

def _alteration_flags(folder: Path, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """1 / 0 / NaN per sample for every mut_* column the folder's files can tell.

    Also returns one record per MAF variant of unknown class on a gene of the package (sample,
    gene, column, the class as written); ``flags.attrs["maf"]`` names the MAF.
    """
    sample_ids = pd.Index(raw["SAMPLE_ID"].astype(str).unique())
    maf_files = sorted(folder.glob("data_mutations*.txt"), key=lambda p: (p.name != "data_mutations_extended.txt",
                                                                           p.name != "data_mutations.txt", p.name))
    panels = _sample_panels(folder, raw)
    panel_genes = {**PANEL_GENES, **_panel_files(folder)}
    flags = pd.DataFrame(index=sample_ids)
    records: list[dict[str, object]] = []
    if maf_files:
        flags.attrs["maf"] = maf_files[0].name
        maf, sequenced = _read_maf(maf_files[0])
        if sequenced is None and (folder / "case_lists" / "cases_sequenced.txt").is_file():
            sequenced = _case_list(folder / "case_lists" / "cases_sequenced.txt")
        if sequenced is None and not panels:
            # no panel and no sequenced list (WES studies): a sample with any call was sequenced
            sequenced = set(maf["Tumor_Sample_Barcode"])
        classes = maf["Variant_Classification"].map(maf_class)
        coding = maf[classes.isin(NON_SILENT_CLASSES).to_numpy()]
        unknown = maf[classes.isna().to_numpy()]
        for gene, col in MAF_GENES.items():
            hits, maybe = coding[coding["Hugo_Symbol"] == gene], unknown[unknown["Hugo_Symbol"] == gene]
            if gene == "EGFR":
                if "HGVSp_Short" in maf.columns:  # without the protein change any coding EGFR call counts
                    hits = hits[_egfr_codon(hits).between(*EGFR_CODONS).to_numpy()]
                # an unknown class decides nothing when its codon lies outside the kinase domain
                codon = _egfr_codon(maybe)
                maybe = maybe[(codon.isna() | codon.between(*EGFR_CODONS)).to_numpy()]
            flags[col] = _flag_column(sample_ids, set(hits["Tumor_Sample_Barcode"]), gene, "mutations",
                                      panels, panel_genes, sequenced, set(maybe["Tumor_Sample_Barcode"]))
            records += _records(maybe, gene, col)
        if "HGVSp_Short" in maf.columns:
            met = maf[maf["Hugo_Symbol"] == "MET"]
            met_class = classes[met.index]
            cdna_text = met["HGVSc"] if "HGVSc" in met.columns else pd.Series("", index=met.index)
            protein, cdna = met["HGVSp_Short"].str.match(MET_EX14_PROTEIN), cdna_text.str.contains(MET_EX14_CDNA)
            ex14 = set(met.loc[(protein | (cdna & met_class.isin({"Splice_Site", "Splice_Region"}))).to_numpy(),
                               "Tumor_Sample_Barcode"])
            # an unknown class at the exon 14 boundaries, or with no change written at all, may be skipping
            blank = (met["HGVSp_Short"].str.strip() == "") & (cdna_text.str.strip() == "")
            maybe = met[(met_class.isna() & ~protein & (cdna | blank)).to_numpy()]
            flags["mut_met_ex14"] = _flag_column(sample_ids, ex14, "MET", "mutations", panels, panel_genes,
                                                 sequenced, set(maybe["Tumor_Sample_Barcode"]))
            records += _records(maybe, "MET", "mut_met_ex14")
    sv_file = folder / "data_sv.txt"
    if sv_file.is_file():
        sv = pd.read_csv(sv_file, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
        site1 = sv.get("Site1_Hugo_Symbol", pd.Series("", index=sv.index)).str.strip()
        site2 = sv.get("Site2_Hugo_Symbol", pd.Series("", index=sv.index)).str.strip()
        for gene, col in FUSION_GENES.items():
            # a fusion: the gene at one breakpoint and a different, named gene at the other
            fused = ((site1 == gene) & ~site2.isin({"", gene})) | ((site2 == gene) & ~site1.isin({"", gene}))
            hits = set(sv.loc[fused.to_numpy(), "Sample_Id"])
            flags[col] = _flag_column(sample_ids, hits, gene, "structural_variants", panels, panel_genes, None)
    return flags, records


def _egfr_codon(maf: pd.DataFrame) -> pd.Series:
    protein = maf["HGVSp_Short"] if "HGVSp_Short" in maf.columns else pd.Series("", index=maf.index, dtype=str)
    return pd.to_numeric(protein.str.extract(r"^p\.[A-Z*]?(\d+)")[0], errors="coerce")


def _records(variants: pd.DataFrame, gene: str, col: str) -> list[dict[str, object]]:
    return [{"sample_id": s, "gene": gene, "column": col, "value": v}
            for s, v in zip(variants["Tumor_Sample_Barcode"], variants["Variant_Classification"])]


def _flag_column(samples: pd.Index, altered: set[str], gene: str, profile: str,
                 panels: dict[str, dict[str, str]], panel_genes: dict[str, frozenset[str]],
                 sequenced: set[str] | None, uncertain: set[str] | frozenset[str] = frozenset()) -> np.ndarray:
    """1 altered; NaN when a variant of unknown effect may alter it; 0 tested; NaN not tested."""
    values = np.full(len(samples), np.nan)
    for i, s in enumerate(samples):
        panel = panels.get(s, {}).get(profile, "")
        if panel:
            tested = gene in panel_genes.get(panel.upper(), frozenset())
        else:
            tested = sequenced is not None and s in sequenced
        if s in altered:
            values[i] = 1.0
        elif tested and s not in uncertain:
            values[i] = 0.0
    return values


def _report_unclassified(out: pd.DataFrame, records: list[dict[str, object]], source: str) -> None:
    """Put the alterations of unknown effect in ``out.attrs`` (and a note and a warning) for the user.

    Each record names its ``row`` of ``out`` and its ``column``; the flag it ended with is read there.
    """
    out.attrs.setdefault("notes", [])
    out.attrs.setdefault("unclassified_variants", [])
    if not records:
        return
    records = [{"patient_id": out["patient_id"].iloc[r["row"]], "sample_id": r.get("sample_id", ""),
                "gene": r["gene"], "column": r["column"], "value": r["value"],
                "flag": float(out[r["column"]].iloc[r["row"]])} for r in records]
    out.attrs["unclassified_variants"] += records
    missing = [r for r in records if pd.isna(r["flag"])]
    values = sorted({str(r["value"]) for r in records})

    def who(rs: list[dict[str, object]]) -> str:
        pairs = sorted({f"{r['patient_id']} {r['column']}" for r in rs})
        return ", ".join(pairs[:10]) + (f" and {len(pairs) - 10} more" if len(pairs) > 10 else "")

    note = (f"{source}: {len(records)} alteration(s) of unknown effect ({', '.join(map(repr, values[:8]))}) on genes "
            f"the package uses; expected a known MAF Variant_Classification or protein change. ")
    if missing:
        note += f"Left missing (not tested) for: {who(missing)}. "
    decided = [r for r in records if not pd.isna(r["flag"])]
    if decided:
        note += f"Set by another variant for: {who(decided)}. "
    note += 'Each is listed in df.attrs["unclassified_variants"].'
    out.attrs["notes"].append(note)
    warnings.warn(note, UserWarning, stacklevel=3)


def _annotation_flags(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, object]], list[str]]:
    """mut_* flags from per-gene ``<GENE>_DRIVER`` / ``<GENE>_PROTEIN`` clinical attributes.

    Returns the flags (only the columns some attribute tells), one record per protein-change entry
    that cannot be read, and notes. See the module docstring for the rule.
    """
    flags = pd.DataFrame(index=raw.index)
    records: list[dict[str, object]] = []
    notes: list[str] = []
    driver_only: list[str] = []
    sample = raw["SAMPLE_ID"] if "SAMPLE_ID" in raw.columns else pd.Series("", index=raw.index)
    targets = {**{g: (c, "mutation") for g, c in MAF_GENES.items()},
               **{g: (c, "fusion") for g, c in FUSION_GENES.items()}, "MET": ("mut_met_ex14", "met_ex14")}
    for gene, (col, kind) in targets.items():
        driver_col, protein_col = f"{gene}_DRIVER", f"{gene}_PROTEIN"
        if driver_col not in raw.columns and protein_col not in raw.columns:
            continue
        driver = raw[driver_col] if driver_col in raw.columns else pd.Series("", index=raw.index)
        driver = driver.str.strip().str.lower()
        values = np.full(len(raw), np.nan)
        if protein_col not in raw.columns:
            driver_only.append(col)
            values[driver.isin(_FALSE).to_numpy()] = 0.0
            if kind != "met_ex14":  # a MET driver call may be an amplification, not exon 14 skipping
                values[driver.isin(_TRUE).to_numpy()] = 1.0
            flags[col] = values
            continue
        for i, text in enumerate(raw[protein_col].astype(str)):
            cell = "" if text.strip().lower() in _MISSING else text
            entries = [re.sub(r"\s*\([^)]*\)\s*$", "", e).strip() for e in cell.split(",")]
            entries = [e for e in entries if e]
            verdicts = [_entry_alters(e, gene, kind) for e in entries]
            if True in verdicts:
                values[i] = 1.0
            elif None in verdicts or (not entries and driver.iloc[i] in _TRUE):
                bad = [e for e, v in zip(entries, verdicts) if v is None] or ["driver TRUE without a change"]
                records += [{"row": i, "sample_id": sample.iloc[i], "gene": gene, "column": col, "value": e}
                            for e in bad]
            elif driver.iloc[i] in _TRUE | _FALSE or (driver_col not in raw.columns and entries):
                values[i] = 0.0
        flags[col] = values
    if driver_only:
        notes.append(f"{', '.join(driver_only)} read from the portal's '<GENE> driver' calls alone (no protein-change "
                     "column): they follow its OncoKB driver definition (amplifications count, variants of unknown "
                     "significance do not), not the MAF rule of the study folder")
    return flags, records, notes


def _entry_alters(entry: str, gene: str, kind: str) -> bool | None:
    """Whether one protein-change entry sets the gene's flag; None when it cannot be read."""
    if _CNA_ENTRY.match(entry) or _INTRAGENIC_ENTRY.match(entry):
        return False  # copy number and intragenic rearrangements never count
    fusion = _FUSION_ENTRY.match(entry)
    if fusion:
        partners = {fusion.group(1).upper(), fusion.group(2).upper()}
        return kind == "fusion" and gene in partners and len(partners) == 2
    protein = _PROTEIN_ENTRY.match(entry)
    if not protein:
        return None
    first, codon, rest = protein.groups()
    if rest in (first, "=", ""):
        return False  # synonymous (or a bare position)
    if kind == "met_ex14":
        return bool(re.match(_MET_EX14, f"{first}{codon}{rest}"))
    if kind == "fusion":
        return False  # ALK, ROS1, RET point mutations are mostly passengers
    return gene != "EGFR" or EGFR_CODONS[0] <= int(codon) <= EGFR_CODONS[1]


def _read_maf(path: Path) -> tuple[pd.DataFrame, set[str] | None]:
    sequenced: set[str] | None = None
    with path.open(encoding="utf-8-sig") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if line.lower().startswith("#sequenced_samples:"):
                sequenced = set(line.split(":", 1)[1].split())
    wanted = {c.lower(): c for c in ("Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification",
                                     "HGVSp_Short", "HGVSc")}
    maf = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE,
                      usecols=lambda c: c.strip().lower() in wanted, encoding="utf-8-sig")
    maf.columns = [wanted[c.strip().lower()] for c in maf.columns]
    missing = {"Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification"} - set(maf.columns)
    if missing:
        raise InvalidPatientData(
            f"{path}: the MAF lacks {sorted(missing)}; expected the standard MAF columns. "
            f"Got {sorted(maf.columns)} instead.", [Problem(None, None, "MAF columns", str(sorted(missing)))])
    maf["Hugo_Symbol"] = maf["Hugo_Symbol"].str.strip()
    maf["Tumor_Sample_Barcode"] = maf["Tumor_Sample_Barcode"].str.strip()
    return maf.reset_index(drop=True), sequenced


def _case_list(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("case_list_ids:"):
            return set(line.split(":", 1)[1].split())
    return set()


def _sample_panels(folder: Path, raw: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Sample id -> {profile: panel id}, from the gene panel matrix or the GENE_PANEL attribute."""
    matrix = folder / "data_gene_panel_matrix.txt"
    if matrix.is_file():
        m = pd.read_csv(matrix, sep="\t", dtype=str, keep_default_na=False).set_index("SAMPLE_ID")
        m = m.replace({"NA": ""})
        return {s: row.to_dict() for s, row in m.iterrows()}
    if "GENE_PANEL" in raw.columns:
        return {s: {"mutations": p, "structural_variants": p}
                for s, p in zip(raw["SAMPLE_ID"], raw["GENE_PANEL"]) if p}
    return {}


def _panel_files(folder: Path) -> dict[str, frozenset[str]]:
    """Gene panel definitions shipped in the folder (``stable_id:`` and ``gene_list:`` lines)."""
    panels: dict[str, frozenset[str]] = {}
    for path in folder.glob("*gene_panel_*.txt"):
        if path.name == "data_gene_panel_matrix.txt":
            continue
        fields = dict(line.split(":", 1) for line in path.read_text(encoding="utf-8").splitlines() if ":" in line)
        if "stable_id" in fields and "gene_list" in fields:
            panels[fields["stable_id"].strip().upper()] = frozenset(fields["gene_list"].split())
    return panels


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
    check_text_file(path)
    raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8-sig")
    raw.columns = [_export_attribute(c) for c in raw.columns]
    if "PATIENT_ID" not in raw.columns:
        raise InvalidPatientData(
            f"{path}: no 'Patient ID' column; expected the cBioPortal clinical export. "
            f"Got columns {list(raw.columns)[:10]} instead.", [Problem(None, "patient_id", "Patient ID", "no such column")])
    raw = raw.replace({"NA": ""})
    studies = raw["STUDY_ID"].unique() if "STUDY_ID" in raw.columns else []
    study = str(studies[0]) if len(studies) == 1 else None
    if "SAMPLE_ID" in raw.columns:
        raw = raw.sort_values("SAMPLE_ID", kind="stable")
    raw = raw.drop_duplicates("PATIENT_ID", keep="first").reset_index(drop=True)
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
