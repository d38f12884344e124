"""The canonical patient table on disk: CSV / TSV / semicolon CSV, and Parquet.

Text tables are read with every column as a string (``keep_default_na=False``) so that
:func:`icipredict.schema.check_patients` sees the raw tokens and can name the bad ones; Parquet
keeps its own column types. Files must be UTF-8: a file in another encoding is refused with the
byte offset of the first bad byte rather than guessed (a silent latin-1 fallback can turn "µ" or
"≥50" into something plausible but wrong).

A file (:func:`read_table`) and an uploaded table held in memory (:func:`read_table_bytes`) go
through the same parser, so the web calculator accepts and refuses exactly what the CLI does.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem
from icipredict.schema import COLUMNS

__all__ = ["read_table", "read_table_bytes", "sniff_delimiter", "check_text_file", "snake_case", "carry_extras",
           "PARQUET_SUFFIXES", "EXCEL_SUFFIXES", "DELIMITERS"]

#: Suffixes read as Parquet.
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
#: Suffixes read as Excel workbooks (first sheet), with the optional openpyxl.
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
#: Delimiters recognised in a text table's header line, by preference on ties.
DELIMITERS = (",", "\t", ";")
_SNIFF_BYTES = 4096


def _fail(path: Path, message: str, expected: str, got: str) -> InvalidPatientData:
    return InvalidPatientData(f"{path}: {message}", [Problem(None, None, expected, got)])


def check_text_file(path: str | Path) -> bytes:
    """Return the first bytes of a text table after the checks every reader shares.

    Raises :class:`InvalidPatientData` for a missing path, a directory, an empty file or a binary
    file (NUL bytes in the first 4 KB: an Excel workbook, a Parquet file without its suffix, ...).
    """
    path = Path(path)
    _check_is_file(path)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    _check_text_head(head, path)
    return head


def _check_is_file(path: Path) -> None:
    if not path.exists():
        raise _fail(path, "no such file; expected an existing file. Got a path that does not exist instead.",
                    "an existing file", str(path))
    if path.is_dir():
        raise _fail(path, "is a directory; expected a patient table file (or a cBioPortal study folder). "
                    "Got a directory without data_clinical_patient.txt or data_clinical_sample.txt instead.",
                    "a file", "a directory")


def _check_text_head(head: bytes, path: Path) -> None:
    """Refuse an empty or binary table from its first bytes (``path`` names it in the message)."""
    head = head[:_SNIFF_BYTES]
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise _fail(path, "the file is empty; expected a header line and at least one patient row. "
                    "Got an empty file instead.", "a header line", "an empty file")
    if b"\x00" in head:
        kind = ("an Excel workbook (save the sheet as CSV)" if head.startswith(b"PK\x03\x04")
                else "a Parquet file (give it a .parquet suffix)" if head.startswith(b"PAR1")
                else "binary data")
        raise _fail(path, f"this is not a text table; expected UTF-8 CSV/TSV text or Parquet. Got {kind} instead.",
                    "a UTF-8 text table", kind)


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        bad = raw[err.start:err.start + 4]
        raise _fail(path, f"the file is not valid UTF-8 (byte {bad[:1]!r} at offset {err.start})"
                    f"{_where_byte(raw, err.start)}; expected UTF-8 text. Re-save it as 'CSV UTF-8'. Got another "
                    "encoding (latin-1 / cp1252?) instead.",
                    "UTF-8 text", f"byte {bad[:1]!r} at offset {err.start}") from None


def _where_byte(raw: bytes, offset: int) -> str:
    """' in line N, column 'name'' for a byte offset, as far as it can be told (no quote handling)."""
    before = raw[:offset]
    line_no = before.count(b"\n") + 1
    header = raw.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    sep = sniff_delimiter(header)
    names = [c.strip() for c in header.split(sep)]
    field = before.rsplit(b"\n", 1)[-1].count(sep.encode())
    where = f" in line {line_no}"
    if line_no > 1 and field < len(names):
        first = before.rsplit(b"\n", 1)[-1].split(sep.encode(), 1)[0].decode("utf-8", errors="replace").strip()
        where += f", column {names[field]!r}" + (f" of patient {first!r}" if field > 0 and first else "")
    return where


def sniff_delimiter(first_line: str) -> str:
    """The delimiter (comma, tab or semicolon) that occurs most often in a header line.

    >>> sniff_delimiter("patient_id;age;sex")
    ';'
    """
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def snake_case(name: str) -> str:
    """Lower snake_case for a source column carried as an extra.

    >>> snake_case("Year of ICI treatment start")
    'year_of_ici_treatment_start'
    """
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_") or "column"


def _which_patient(text: str, err: Exception, sep: str) -> str:
    """' (patient 'x': ...)' for a pandas error naming a line, so a shifted row can be found."""
    m = re.search(r"in line (\d+), saw (\d+)", str(err))
    if not m:
        return ""
    lines = text.splitlines()
    n = int(m.group(1))
    if not 1 < n <= len(lines):
        return ""
    first = lines[n - 1].split(sep, 1)[0].strip().strip('"')
    return f" (line {n} is patient {first!r}: values shifted by an extra field?)"


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")


def read_table(path: str | Path, *, cohort: str | None = None) -> pd.DataFrame:
    """Read a canonical patient table (CSV, TSV, semicolon CSV or Parquet).

    Parameters
    ----------
    path : str or Path
        The table. ``.parquet`` / ``.pq`` is read with pyarrow, ``.xlsx`` (first sheet) with the
        optional openpyxl; anything else as delimited text.
    cohort : str, optional
        Value of the ``cohort`` column. By default an existing ``cohort`` column is kept and a
        missing one is filled with the file stem.

    Returns
    -------
    DataFrame
        Raw tokens as strings (Parquet: its own types), not yet checked by ``check_patients``.

    Examples
    --------
    >>> df = read_table("patients.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES and path.is_dir():  # a partitioned Parquet dataset
        return _finish(_read_parquet(path, path), path, cohort)
    _check_is_file(path)
    return _parse_table(path.read_bytes(), path, cohort)


def read_table_bytes(data: bytes, name: str, *, cohort: str | None = None) -> pd.DataFrame:
    """Read a canonical patient table held in memory, e.g. an uploaded file; nothing touches the disk.

    The bytes go through the same parser and checks as :func:`read_table`.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name as given by the user: its suffix picks the parser (as in
        :func:`read_table`) and it names the table in error messages.
    cohort : str, optional
        Value of the ``cohort`` column (default: an existing column, else the name's stem).

    Returns
    -------
    DataFrame
        Raw tokens as strings (Parquet: its own types), not yet checked by ``check_patients``.

    Examples
    --------
    >>> read_table_bytes(b"patient_id,pdl1_tps\\np1,60\\n", "upload.csv")["pdl1_tps"].tolist()
    ['60']
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected bytes. Got {type(data).__name__} instead.")
    return _parse_table(bytes(data), Path(Path(str(name)).name or "upload"), cohort)


def _parse_table(raw: bytes, path: Path, cohort: str | None) -> pd.DataFrame:
    """The one parser behind :func:`read_table` and :func:`read_table_bytes`; ``path`` names the table."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        df = _read_parquet(raw, path)
    elif suffix in EXCEL_SUFFIXES:
        df = _read_excel(raw, path)
    else:
        _check_text_head(raw, path)
        df = _read_text(raw, path)
    return _finish(df, path, cohort)


def _finish(df: pd.DataFrame, path: Path, cohort: str | None) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    return _set_cohort(df, cohort, path.stem)


def _read_text(raw: bytes, path: Path) -> pd.DataFrame:
    text = _decode(path, raw)
    header = _first_line(text)
    sep = sniff_delimiter(header)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise _fail(path, f"could not parse the table with delimiter {sep!r}; expected one row per patient "
                    f"with the header's number of fields. Got {str(err).strip()}{_which_patient(text, err, sep)} "
                    "instead.", "a rectangular table", str(err).strip()) from None
    if not isinstance(df.index, pd.RangeIndex):
        # pandas silently turns surplus leading fields into an index: refuse instead
        first = df.index[0][0] if isinstance(df.index, pd.MultiIndex) else df.index[0]
        raise _fail(path, f"some rows have more fields than the header ({len(df.columns)} columns); expected "
                    f"one field per header column. Got row {df.index[0]!r} (patient {first!r}: values shifted "
                    "by an extra field?) ... instead.",
                    "a rectangular table", "rows longer than the header")
    _check_single_column(path, df)
    return df


def _check_single_column(path: Path, df: pd.DataFrame) -> None:
    if df.shape[1] == 1:
        header = str(df.columns[0])
        for sep, name in (("|", "pipe"), (";", "semicolon")):
            if sep in header:
                raise _fail(path, f"the table has a single column {header[:60]!r}; it looks {name}-delimited "
                            f"({sep!r}). Expected comma, tab or semicolon delimiters. Re-save with commas. "
                            f"Got a header with {sep!r} instead.", "comma, tab or semicolon delimiters", repr(sep))


def _read_parquet(source: bytes | Path, path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(source) if isinstance(source, bytes) else source)
    except Exception as err:  # pyarrow raises several unrelated types for a corrupt file
        raise _fail(path, f"could not read the Parquet file; expected a valid Parquet table. "
                    f"Got {type(err).__name__}: {err} instead.", "a Parquet table", type(err).__name__) from err


def _read_excel(raw: bytes, path: Path) -> pd.DataFrame:
    try:
        import openpyxl  # noqa: F401  (pandas' reader for .xlsx; optional)
    except ImportError:
        raise _fail(path, "reading an Excel workbook needs the optional package openpyxl, which is not installed; "
                    "expected a CSV table, or openpyxl installed (pip install openpyxl). Save the sheet as "
                    "'CSV UTF-8' or install openpyxl. Got an Excel workbook without openpyxl instead.",
                    "a CSV table or openpyxl", "an Excel workbook without openpyxl") from None
    try:
        # every cell as text, like a CSV, so the schema sees the raw tokens
        return pd.read_excel(io.BytesIO(raw), sheet_name=0, dtype=str, keep_default_na=False)
    except Exception as err:  # openpyxl raises several unrelated types for a corrupt workbook
        raise _fail(path, f"could not read the Excel workbook; expected a valid .xlsx file. "
                    f"Got {type(err).__name__}: {err} instead.", "an .xlsx workbook", type(err).__name__) from err


def _set_cohort(df: pd.DataFrame, cohort: str | None, default: str) -> pd.DataFrame:
    if cohort is not None:
        df["cohort"] = cohort
    elif "cohort" not in df.columns:
        df["cohort"] = default
    return df


def carry_extras(out: pd.DataFrame, src: pd.DataFrame, used: set[str] | frozenset[str]) -> pd.DataFrame:
    """Add the source columns not in ``used`` to ``out`` under lower snake_case names.

    A name that would collide with a canonical column (or one already in ``out``) gets a ``src_``
    prefix, so an unmapped source column can never pose as a canonical one.
    """
    for col in src.columns:
        if col in used:
            continue
        name = snake_case(col)
        while name in COLUMNS or name in out.columns:
            name = "src_" + name
        out[name] = src[col].to_numpy()
    return out
