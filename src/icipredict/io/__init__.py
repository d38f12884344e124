"""Reading and writing patient data: the only package code that touches data files.

Every reader returns a DataFrame in the canonical vocabulary (canonical column names and category
strings) with a ``cohort`` column, *not yet* passed through
:func:`icipredict.schema.check_patients`: the caller validates, once, at the boundary.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.io.cbioportal import read_cbioportal_study, read_cbioportal_tsv
from icipredict.io.detect import detect_format
from icipredict.io.dijon import read_dijon
from icipredict.io.loris import read_loris
from icipredict.io.table import PARQUET_SUFFIXES, check_text_file, read_table, sniff_delimiter

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
                  cohort: str | None = None) -> pd.DataFrame:
    """Read patients from any supported source into the canonical vocabulary.

    Parameters
    ----------
    source : str, Path or DataFrame
        A canonical CSV / TSV / Parquet table, a cBioPortal study folder, a cBioPortal web
        clinical export (.tsv), a LORIS/Chowell table or the Dijon (Fumet 2020) table. A DataFrame
        is returned as a copy.
    format : {"auto", "table", "cbioportal", "cbioportal_tsv", "loris", "dijon"}
        ``"auto"`` uses :func:`detect_format`.
    cohort : str, optional
        Value of the ``cohort`` column; each reader defaults to the study folder or file stem.

    Returns
    -------
    DataFrame
        Not yet validated: pass it to :func:`icipredict.schema.check_patients`.

    Examples
    --------
    >>> from icipredict.schema import check_patients
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
    return _READERS[fmt](source, cohort=cohort)


def iter_patient_chunks(path: str | Path, chunk_size: int,
                        format: SourceFormat = "auto") -> Iterator[pd.DataFrame]:
    """Yield a large canonical CSV or Parquet table in chunks of at most ``chunk_size`` rows.

    Only the canonical ``"table"`` format streams; the other layouts need the whole file (joins,
    cohort medians) and are refused. Each chunk is raw, like :func:`read_patients`; a ``cohort``
    column is added from the file stem when absent.

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
            f"Got {fmt!r} instead: read it whole with read_patients().",
            [Problem(None, None, "format 'table'", repr(fmt))])
    return _chunks(path, chunk_size)


def _chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_size):
            yield _with_cohort(batch.to_pandas(), path)
        return
    head = check_text_file(path)
    header = head.decode("utf-8-sig", errors="replace").split("\n", 1)[0].rstrip("\r")
    try:
        reader = pd.read_csv(path, sep=sniff_delimiter(header), dtype=str, keep_default_na=False,
                             chunksize=chunk_size, encoding="utf-8-sig")
        with reader:
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield _with_cohort(chunk, path)
    except UnicodeDecodeError as err:
        raise InvalidPatientData(
            f"{path}: the file is not valid UTF-8 ({err.reason}); expected UTF-8 text. Re-save it as 'CSV UTF-8'. "
            "Got another encoding instead.", [Problem(None, None, "UTF-8 text", err.reason)]) from None


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if suffix in PARQUET_SUFFIXES:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
