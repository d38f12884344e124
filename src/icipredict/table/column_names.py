"""Column names as people write them, read as the canonical patient-table columns.

A header cell is matched to a canonical column (``schema.COLUMNS``) through its *key*: lower
case, a trailing parenthesised unit removed (``"TMB (mut/Mb)"``), every character that is not a
letter or digit dropped (``"PD-L1 TPS"``, ``"pdl1_tps"`` and ``"PDL1 TPS"`` share the key
``pdl1tps``). A key matches the canonical name's own key or one of :data:`COLUMN_ALIASES`. Two
header cells that land on one canonical column are refused (by ``schema.validate_patients``), and a
parenthesised unit that contradicts the canonical one (``"PFS (days)"``) is refused rather than
read in the wrong unit. Unknown names are kept as extra columns, unchanged.

Deliberately *not* aliases: ``id`` (too generic: a table without ``patient_id`` is refused with a
message naming the columns it has) and bare gene names (``EGFR``), which as often hold a protein
change or an expression value as a mutation status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from collections.abc import Iterable
from functools import lru_cache

from icipredict.table.vocab import MONTH_DAYS, MUTATION_GENES

__all__ = ["COLUMN_ALIASES", "UNIT_CONFLICTS", "name_key", "resolve_columns", "ColumnResolution"]

#: Other spellings of the canonical columns, written as people do; matched through :func:`name_key`.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": ("patient", "patient id", "patient identifier", "subject id", "case id"),
    "pdl1_tps": ("pd-l1", "pdl1", "pd-l1 tps", "pd-l1 tps %", "pd-l1 tumour proportion score",
                 "pd-l1 tumor proportion score", "tps", "pd-l1 %"),
    "pdl1_band": ("pd-l1 band", "pd-l1 category", "pd-l1 group"),
    "tmb": ("tumour mutational burden", "tumor mutational burden", "tmb mut/mb", "tmb score"),
    "tmb_assay": ("tmb assay", "tmb method", "tmb platform"),
    "til_pct": ("stromal tils", "stromal til", "stromal tils %", "til %", "tils %"),
    "til_density": ("til density", "tils per mm2", "til cells/mm2"),
    "til_status": ("til status", "tils status", "til group"),
    **{f"mut_{g}": (f"{g} mutation", f"{g} mutated", f"{g} mut", f"{g} status", f"{g} alteration")
       for g in MUTATION_GENES if g != "met_ex14"},
    "mut_met_ex14": ("met exon 14", "met ex14", "met exon 14 skipping", "met ex14 skipping", "met exon14"),
    "age": ("age at ici start", "age at treatment", "age years"),
    "sex": ("gender",),
    "smoking": ("smoking status", "smoker", "tobacco", "smoking history"),
    "pack_years": ("pack-years", "packyears", "pack years"),
    "ecog": ("ecog ps", "ecog performance status", "performance status", "ps", "who performance status"),
    "histology": ("histological type", "histologic type", "histology type", "histological subtype"),
    "met_liver": ("liver metastasis", "liver metastases", "liver mets"),
    "met_bone": ("bone metastasis", "bone metastases", "bone mets"),
    "met_brain": ("brain metastasis", "brain metastases", "brain mets"),
    "met_pleura": ("pleural metastasis", "pleural metastases", "pleural effusion", "pleura mets"),
    "n_met_sites": ("number of metastatic sites", "metastatic sites", "n metastatic sites"),
    "line_of_therapy": ("line", "treatment line", "therapy line", "ici line"),
    "prior_systemic_therapy": ("prior therapy", "prior systemic therapy", "previous systemic therapy",
                               "systemic therapy history"),
    "regimen": ("ici regimen", "treatment regimen"),
    "albumin": ("serum albumin", "albumin g/dl"),
    "nlr": ("neutrophil-to-lymphocyte ratio", "neutrophil to lymphocyte ratio", "neutrophil lymphocyte ratio"),
    "antibiotics": ("antibiotic use", "antibiotic", "abx"),
    "best_response": ("best overall response", "best response", "bor"),
    "pfs_months": ("pfs", "progression-free survival", "pfs months"),
    "pfs_event": ("pfs event", "pfs status"),
    "os_months": ("os", "overall survival", "os months"),
    "os_event": ("os event", "os status"),
}

#: A parenthesised unit (its key) that contradicts a canonical column's unit: read it and the
#: values would be silently wrong, so the column is refused with what to do.
UNIT_CONFLICTS: dict[str, tuple[tuple[str, ...], str]] = {
    "pfs_months": (("days", "day", "d", "weeks", "week", "wk", "years"), f"months (divide days by {MONTH_DAYS:g})"),
    "os_months": (("days", "day", "d", "weeks", "week", "wk", "years"), f"months (divide days by {MONTH_DAYS:g})"),
    "last_dose_months": (("days", "day", "d", "weeks", "week"), f"months (divide days by {MONTH_DAYS:g})"),
    "albumin": (("gl", "gperl", "gl1"), "g/dL (divide g/L by 10)"),
    "pdl1_tps": (("fraction", "01", "proportion"), "percent (multiply a fraction by 100)"),
    "til_pct": (("fraction", "01", "proportion"), "percent (multiply a fraction by 100)"),
    "age": (("months", "days"), "years"),
}

_UNIT = re.compile(r"^(?P<name>.*?\S)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _key(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def name_key(name: object) -> tuple[str, str]:
    """The matching key of a header cell and the key of its parenthesised unit ("" when none).

    >>> name_key("PD-L1 TPS (%)"), name_key("TMB (mut/Mb)"), name_key(" Age ")
    (('pdl1tps', ''), ('tmb', 'mutmb'), ('age', ''))
    """
    text = str(name).strip()
    m = _UNIT.match(text)
    if m and _key(m.group("name")):
        return _key(m.group("name")), _key(m.group("unit"))
    return _key(text), ""


@dataclass(frozen=True)
class ColumnResolution:
    """How the header cells of a table map to canonical columns.

    ``names`` has one entry per header cell: the canonical name, or the cell (stripped) when it is
    not a canonical column. ``renamed`` lists the cells read under another name, ``duplicates``
    the canonical columns given more than once (with every spelling), ``unit_conflicts`` the cells
    whose unit contradicts the canonical one (with the expected unit).
    """

    names: tuple[str, ...]
    renamed: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unit_conflicts: dict[str, tuple[str, str]] = field(default_factory=dict)


@lru_cache(maxsize=4)
def _lookup(canonical_names: tuple[str, ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical in canonical_names:
        table[_key(canonical)] = canonical
    for canonical, aliases in COLUMN_ALIASES.items():
        if canonical not in canonical_names:
            continue
        for alias in aliases:
            table.setdefault(_key(alias), canonical)
    return table


@lru_cache(maxsize=256)
def _resolve(cells: tuple[str, ...], canonical_names: tuple[str, ...]) -> ColumnResolution:
    lookup = _lookup(canonical_names)
    names: list[str] = []
    renamed: dict[str, str] = {}
    conflicts: dict[str, tuple[str, str]] = {}
    for cell in cells:
        text = cell.strip()
        key, unit = name_key(text)
        canonical = lookup.get(key)
        if canonical is None and unit:  # "Age (years)" without an alias: try the whole cell
            canonical = lookup.get(_key(text))
        if canonical is None:
            names.append(text)
            continue
        bad_units, expected = UNIT_CONFLICTS.get(canonical, ((), ""))
        if unit and unit in bad_units:
            conflicts[text] = (canonical, expected)
        names.append(canonical)
        if text != canonical:
            renamed[text] = canonical
    seen: dict[str, list[str]] = {}
    for cell, name in zip(cells, names):
        seen.setdefault(name, []).append(cell.strip())
    duplicates = {name: tuple(cells_) for name, cells_ in seen.items() if len(cells_) > 1}
    return ColumnResolution(tuple(names), renamed, duplicates, conflicts)


def resolve_columns(columns: Iterable[object], canonical_names: Iterable[str]) -> ColumnResolution:
    """Map header cells to the canonical column names (see the module docstring for the rule).

    >>> r = resolve_columns(["Patient_ID", "PDL1_TPS", "TMB (mut/Mb)", "hospital"], ["patient_id", "pdl1_tps", "tmb"])
    >>> r.names, r.renamed
    (('patient_id', 'pdl1_tps', 'tmb', 'hospital'), {'Patient_ID': 'patient_id', 'PDL1_TPS': 'pdl1_tps', \
'TMB (mut/Mb)': 'tmb'})
    """
    return _resolve(tuple(str(c) for c in columns), tuple(canonical_names))
