"""cBioPortal alterations: the ``mut_<gene>`` flags of a study folder (MAF, fusions, gene panels) and of
the protein-change lists of a clinical table. :mod:`icipredict.io.cbioportal` reads the clinical data.

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
from icipredict.io.table import check_text_file

__all__ = ["maf_class", "NON_SILENT_CLASSES", "SILENT_CLASSES", "CLASS_SYNONYMS", "MAF_GENES", "FUSION_GENES",
           "PANEL_GENES", "EGFR_CODONS", "MET_EX14_PROTEIN", "MET_EX14_CDNA"]

#: Cell values that mean "not known" in a cBioPortal table.
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
        check_text_file(sv_file, sep="\t")
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
    check_text_file(path, sep="\t")
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
        check_text_file(matrix, sep="\t")
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
