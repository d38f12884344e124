"""Reading and writing patient data: the only package code that touches data files.

Every reader returns a DataFrame in the canonical vocabulary (canonical column names and category
strings) with a ``cohort`` column, *not yet* passed through
:func:`icipredict.table.schema.check_patients`: the caller validates, once, at the boundary.

Layer 4 of docs/architecture.md: may import ``exceptions``, ``table`` and ``clinical``. The bundle format
(a model on disk) is :mod:`icipredict.model.bundle`; the MLflow store, :mod:`icipredict.serve.store`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.cbioportal import read_cbioportal_study, read_cbioportal_tsv
from icipredict.io.detect import detect_format
from icipredict.io.dijon import read_dijon
from icipredict.io.loris import read_loris
from icipredict.io.output import atomic_path
from icipredict.io.table import PARQUET_SUFFIXES, iter_table_chunks, read_table

__all__ = [
    "read_patients",
    "detect_format",
    "iter_patient_chunks",
    "write_table",
    "read_table",
    "read_cbioportal_study",
    "read_cbioportal_tsv",
    "read_loris",
    "read_dijon",
    "SourceFormat",
]

SourceFormat = Literal["auto", "table", "cbioportal", "cbioportal_tsv", "loris", "dijon"]

_READERS = {
    "table": read_table,
    "cbioportal": read_cbioportal_study,
    "cbioportal_tsv": read_cbioportal_tsv,
    "loris": read_loris,
    "dijon": read_dijon,
}


def read_patients(source: str | Path | pd.DataFrame, *, format: SourceFormat = "auto",
                  cohort: str | None = None, sheet: str | int | None = None, decimal: str | None = None,
                  numbers: bool = False) -> pd.DataFrame:
    """Read patients from any supported source into the canonical vocabulary.

    Parameters
    ----------
    source : str, Path or DataFrame
        A canonical CSV / TSV / Parquet table, a cBioPortal study folder, a cBioPortal web
        clinical export (.tsv), a LORIS/Chowell table or the Dijon (Fumet et al. 2018) table. A DataFrame
        is returned as a copy.
    format : {"auto", "table", "cbioportal", "cbioportal_tsv", "loris", "dijon"}
        ``"auto"`` uses :func:`detect_format`.
    cohort : str, optional
        Value of the ``cohort`` column; each reader defaults to the study folder or file stem.
    sheet, decimal, numbers
        Canonical tables only, as in :func:`icipredict.io.table.read_table`: the Excel sheet, the
        decimal mark of a text table, and parsing the number columns while reading.

    Returns
    -------
    DataFrame
        Not yet validated: pass it to :func:`icipredict.table.schema.check_patients`.

    Examples
    --------
    >>> from icipredict.table.schema import check_patients
    >>> df = check_patients(read_patients("../shared/data/loris_nsclc/msk1.csv"))  # doctest: +SKIP
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        if cohort is not None:
            df["cohort"] = cohort
        return df
    if format not in ("auto", *_READERS):
        raise InvalidPatientData(
            f"format must be one of {['auto', *_READERS]}. Got {format!r} instead.",
            [Problem(None, None, "a known format", repr(format))])
    fmt = detect_format(source) if format == "auto" else format
    if fmt == "table":
        return read_table(source, cohort=cohort, sheet=sheet, decimal=decimal, numbers=numbers)
    if sheet is not None or decimal is not None:
        raise InvalidPatientData(
            f"{source}: --sheet and --decimal apply to canonical tables; expected format 'table'. Got the {fmt!r} "
            "layout instead (name the format with --format table if the file is a canonical table).",
            [Problem(None, None, "format 'table'", repr(fmt))])
    try:
        return _READERS[fmt](source, cohort=cohort)
    except InvalidPatientData as exc:
        if format != "auto" or any(p.patient_id is not None for p in exc.problems):
            raise
        raise InvalidPatientData(
            f"{exc} (the layout was detected as {fmt!r} from the file's columns; if it is another layout, name it "
            f"with --format, e.g. --format table, or format='table' in Python)", exc.problems) from None


def iter_patient_chunks(path: str | Path, chunk_size: int, format: SourceFormat = "auto", *,
                        sheet: str | int | None = None, decimal: str | None = None,
                        numbers: bool = False) -> Iterator[pd.DataFrame]:
    """Yield a large canonical table in chunks of at most ``chunk_size`` rows.

    Only the canonical ``"table"`` format streams; the other layouts need the whole file (joins,
    cohort medians) and are refused. The chunks come from the parser of :func:`read_patients`
    (same delimiter, decimal mark and row checks); each is raw, like :func:`read_patients`, with a
    ``cohort`` column from the file stem when absent. Whole-column unit checks need every chunk:
    see :class:`icipredict.table.schema.UnitCheck`.

    Examples
    --------
    >>> for chunk in iter_patient_chunks("big.parquet", 10_000):  # doctest: +SKIP
    ...     check_patients(chunk)
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InvalidPatientData(f"chunk_size must be a positive integer. Got {chunk_size!r} instead.",
                                 [Problem(None, None, "a positive integer chunk_size", repr(chunk_size))])
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt != "table":
        raise InvalidPatientData(
            f"{path}: only canonical CSV / Parquet tables can be read in chunks; expected format 'table'. "
            f"Got {fmt!r} instead: read it whole (without --chunk-size), or name the format with --format table "
            "if it is a canonical table.",
            [Problem(None, None, "format 'table'", repr(fmt))])
    return _chunks(path, chunk_size, sheet, decimal, numbers)


def _chunks(path: Path, chunk_size: int, sheet, decimal, numbers: bool) -> Iterator[pd.DataFrame]:
    for chunk in iter_table_chunks(path, chunk_size, sheet=sheet, decimal=decimal, numbers=numbers):
        yield _with_cohort(chunk, path)


def _with_cohort(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    if "cohort" not in df.columns:
        df["cohort"] = path.stem
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a patient table as CSV (``.csv``), TSV (``.tsv``) or Parquet (``.parquet``).

    The table is written to a temporary file in the same folder and moved into place with
    ``os.replace``, so a reader never sees a half-written file.

    Examples
    --------
    >>> write_table(check_patients(df), "clean.parquet")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".tsv", *PARQUET_SUFFIXES}:
        raise ValueError(f"path must end in .csv, .tsv or .parquet. Got {path.name!r} instead.")
    with atomic_path(path) as tmp:
        if suffix in PARQUET_SUFFIXES:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
    return path
