"""Which reader a path needs, from its layout and header line (never from its values)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.table import PARQUET_SUFFIXES, sniff_delimiter

__all__ = ["detect_format", "Format", "CBIOPORTAL_CLINICAL_FILES", "LORIS_MARKERS", "DIJON_MARKERS",
           "CBIOPORTAL_TSV_MARKERS", "CANONICAL_ID"]

Format = Literal["table", "cbioportal", "cbioportal_tsv", "loris", "dijon"]

#: A folder holding either file is a cBioPortal (datahub) study.
CBIOPORTAL_CLINICAL_FILES = ("data_clinical_patient.txt", "data_clinical_sample.txt")
#: Header columns that mark the portal's web-page clinical export (any one of them).
CBIOPORTAL_TSV_MARKERS = frozenset({"Patient ID", "Sample ID"})
#: Header columns that mark the LORIS / Chowell layout (all of them).
LORIS_MARKERS = frozenset({"PDL1_TPS(%)", "Systemic_therapy_history"})
#: The canonical identifier column: a header holding it is a canonical table.
CANONICAL_ID = "patient_id"
#: Header columns that mark the Fumet et al. 2018 (Dijon) table (all of them).
DIJON_MARKERS = frozenset({"CD8_IHC"})


def detect_format(path: str | Path) -> Format:
    """Name the layout of a patient data source.

    A directory with ``data_clinical_patient.txt`` or ``data_clinical_sample.txt`` (or one of those
    files itself) is ``"cbioportal"``. A header with the canonical ``patient_id`` column (in that
    lower-case spelling; LORIS tables say ``PATIENT_ID``) is the canonical ``"table"``, whatever other columns it carries: no other
    layout has that column, so a canonical table with an extra ``Sample ID`` or ``CD8_IHC``
    column stays canonical. Otherwise a text table whose header has ``Patient ID`` or ``Sample ID``
    is ``"cbioportal_tsv"``, the LORIS and Dijon tables are known by their columns, and anything
    else is the canonical ``"table"``. ``--format`` (``format=`` in Python) overrides this.

    Examples
    --------
    >>> detect_format("../shared/data/cbioportal/nsclc_pd1_msk_2018")  # doctest: +SKIP
    'cbioportal'
    """
    path = Path(path)
    if not path.exists():
        raise InvalidPatientData(
            f"{path}: no such file or directory; expected an existing patient table or cBioPortal study folder. "
            "Got a path that does not exist instead.", [Problem(None, None, "an existing path", str(path))])
    if path.is_dir():
        if any((path / name).is_file() for name in CBIOPORTAL_CLINICAL_FILES):
            return "cbioportal"
        raise InvalidPatientData(
            f"{path}: is a directory but not a cBioPortal study folder; expected {' or '.join(CBIOPORTAL_CLINICAL_FILES)} "
            f"inside it. Got {sorted(p.name for p in path.iterdir())[:8]} instead.",
            [Problem(None, None, "a cBioPortal study folder", "a directory without clinical files")])
    if path.name in CBIOPORTAL_CLINICAL_FILES:
        return "cbioportal"
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return "table"
    with path.open("rb") as fh:
        head = fh.read(65536).decode("utf-8-sig", errors="replace")
    line = head.split("\n", 1)[0].rstrip("\r")
    columns = {c.strip().strip('"').strip() for c in line.split(sniff_delimiter(line))}
    if CANONICAL_ID in columns:
        return "table"
    if columns & CBIOPORTAL_TSV_MARKERS:
        return "cbioportal_tsv"
    if LORIS_MARKERS <= columns:
        return "loris"
    if DIJON_MARKERS <= columns:
        return "dijon"
    return "table"
