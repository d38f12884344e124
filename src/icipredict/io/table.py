"""The canonical patient table on disk: CSV / TSV / semicolon CSV, Parquet and Excel workbooks.

Text tables are read with every column as a string (``keep_default_na=False``) so that
:func:`icipredict.table.schema.check_patients` sees the raw tokens and can name the bad ones; Parquet
keeps its own column types. Files must be UTF-8: a file in another encoding is refused with the
byte offset of the first bad byte rather than guessed (a silent latin-1 fallback can turn "µ" or
"≥50" into something plausible but wrong).

One parser (:func:`iter_table_chunks`) reads a file whole (:func:`read_table`), in blocks for
streaming, or from memory (:func:`read_table_bytes`, the web calculator's uploads), so every path
accepts and refuses the same tables:

- the delimiter is the one of ``,``, tab and ``;`` most frequent in the header line; a
  pipe-delimited table is refused with a message saying so;
- a ``;`` table whose number cells use a decimal comma (``3,9`` and no ``3.9``) is European and
  its canonical number columns are read with the comma as decimal mark (``decimal=","`` names it);
- a row with more fields than the header is refused with its line and its patient (values would
  shift); an empty trailing field on every row (a trailing delimiter) is dropped; a short row's
  missing fields are empty;
- an Excel workbook is read from its first sheet unless ``sheet`` names another, with a note when
  it has several; it is read row by row (openpyxl's read-only mode), after its zip listing shows
  it does not unpack beyond ``ICIPREDICT_MAX_EXCEL_RATIO`` times its size (:mod:`icipredict.io.limits`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.table.column_names import resolve_columns
from icipredict.exceptions import InvalidPatientData, Problem, trim as _trim
from icipredict.io.excel import EXCEL_SUFFIXES, read_excel
from icipredict.io.limits import check_width
from icipredict.table.schema import COLUMNS, MISSING_TOKENS, READ_NOTES_ATTR

__all__ = ["read_table", "read_table_bytes", "iter_table_chunks", "sniff_delimiter", "check_text_file", "snake_case", "carry_extras",
           "PARQUET_SUFFIXES", "EXCEL_SUFFIXES", "DELIMITERS"]

#: Suffixes read as Parquet.
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
#: Delimiters recognised in a text table's header line, by preference on ties.
DELIMITERS = (",", "\t", ";")
_SNIFF_BYTES = 4096
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^[-+]?\d+\.\d+$")
_COMMA_NUMBER = r"^(\s*[-+]?\d*),(\d+\s*%?\s*)$"


def _fail(path: Path, message: str, expected: str, got: str) -> InvalidPatientData:
    return InvalidPatientData(f"{path}: {message}", [Problem(None, None, expected, got)])


def check_text_file(path: str | Path, sep: str | None = None) -> bytes:
    """Return the first bytes of a text table after the checks every reader shares.

    Raises :class:`InvalidPatientData` for a missing path, a directory, an empty file or a binary
    file (NUL bytes in the first 4 KB: an Excel workbook, a Parquet file without its suffix, ...).
    With ``sep`` (readers that hand the file to pandas themselves: cBioPortal files), also a header
    line wider than ``ICIPREDICT_MAX_COLUMNS``, counted before any row is parsed ('#' lines skipped,
    any line end).
    """
    path = Path(path)
    _check_is_file(path)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
        _check_text_head(head, path)
        if sep is not None:
            fh.seek(0)
            check_width(path, _header_line(fh).count(sep.encode()) + 1)
    return head


def _header_line(fh) -> bytes:
    """The first line of an open binary file that is not a '#' comment (at most MAX_HEADER_BYTES of it)."""
    pending = b""
    while True:
        block = fh.read(_SNIFF_BYTES * 16)
        pending += block
        while True:
            ends = [i for i in (pending.find(b"\n"), pending.find(b"\r")) if i >= 0]
            if not ends:
                break
            line, pending = pending[:min(ends)], pending[min(ends) + 1:]
            if line.strip(b"\xef\xbb\xbf \t\r\n") and not line.lstrip(b"\xef\xbb\xbf").startswith(b"#"):
                return line
        if not block or len(pending) >= MAX_HEADER_BYTES:
            return pending


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


def _first_line(text: str) -> str:
    """The header line: up to the first line end, LF, CRLF or a lone CR (the parser ends lines at each)."""
    return re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]


def read_table(path: str | Path, *, cohort: str | None = None, sheet: str | int | None = None,
               decimal: str | None = None, numbers: bool = False) -> pd.DataFrame:
    """Read a canonical patient table (CSV, TSV, semicolon CSV, Parquet or an Excel workbook).

    Parameters
    ----------
    path : str or Path
        The table. ``.parquet`` / ``.pq`` is read with pyarrow, ``.xlsx`` / ``.xlsm`` with the
        optional openpyxl (``pip install "icipredict[excel]"``); anything else as delimited text.
    cohort : str, optional
        Value of the ``cohort`` column. By default an existing ``cohort`` column is kept and a
        missing one is filled with the file stem.
    sheet : str or int, optional
        Excel only: the sheet's name or 0-based position (default: the first sheet; a workbook
        with several sheets says which one was read, in the table's notes).
    decimal : {".", ","}, optional
        Decimal mark of a text table (default: detected; a ``;``-separated table whose numbers
        use a decimal comma is read as European).
    numbers : bool
        Parse the canonical number and 0/1 columns as numbers while reading (the CLI's fast path);
        a block of rows holding any other token is read as text, so messages quote it as given.

    Returns
    -------
    DataFrame
        Raw tokens as strings (Parquet: its own types; with ``numbers``: canonical numeric columns
        as floats), not yet checked by ``check_patients``. Reader notes are in
        ``df.attrs[schema.READ_NOTES_ATTR]``.

    Examples
    --------
    >>> df = read_table("patients.csv")  # doctest: +SKIP
    """
    return _collect(iter_table_chunks(path, None, sheet=sheet, decimal=decimal, numbers=numbers), path, cohort)


def read_table_bytes(data: bytes, name: str, *, cohort: str | None = None, sheet: str | int | None = None,
                     decimal: str | None = None, max_rows: int | None = None) -> pd.DataFrame:
    """Read a canonical patient table held in memory, e.g. an uploaded file; nothing touches the disk.

    The bytes go through the same parser and checks as :func:`read_table`.

    Parameters
    ----------
    data : bytes
        The file's content.
    name : str
        The file's name as given by the user: its suffix picks the parser (as in
        :func:`read_table`) and it names the table in error messages.
    cohort, sheet, decimal
        As in :func:`read_table`.
    max_rows : int, optional
        The most rows accepted (a request's limit): an Excel sheet is refused while it is read, at
        the first row over it (a text table is counted once parsed; its bytes are bounded already).

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
    path = Path(Path(str(name)).name or "upload")
    return _collect(_chunks(bytes(data), path, None, sheet, decimal, False, max_rows=max_rows), path, cohort)


def iter_table_chunks(path: str | Path, chunk_size: int | None, *, sheet: str | int | None = None,
                      decimal: str | None = None, numbers: bool = False) -> Iterator[pd.DataFrame]:
    """The one parser behind :func:`read_table` and streaming: the table in blocks of ``chunk_size`` rows.

    ``chunk_size=None`` yields the whole table as one block. Every block gets the same checks (a
    row longer than the header is refused with its line and patient, whatever block it is in).
    No ``cohort`` column is added here.
    """
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES and path.is_dir():  # a partitioned Parquet dataset
        yield _read_parquet(path, path)
        return
    _check_is_file(path)
    yield from _chunks(path, path, chunk_size, sheet, decimal, numbers)


def _collect(chunks: Iterator[pd.DataFrame], path: str | Path, cohort: str | None) -> pd.DataFrame:
    parts = list(chunks)
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return _set_cohort(df, cohort, Path(path).stem)


def _chunks(source: bytes | Path, path: Path, chunk_size: int | None, sheet, decimal, numbers: bool,
            max_rows: int | None = None) -> Iterator[pd.DataFrame]:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        yield from _parquet_chunks(source, path, chunk_size)
    elif suffix in EXCEL_SUFFIXES:
        raw = source if isinstance(source, bytes) else source.read_bytes()
        yield from _slices(read_excel(raw, path, sheet, max_rows), chunk_size)
    else:
        if sheet is not None:
            raise _fail(path, f"--sheet applies to Excel workbooks (.xlsx); expected no sheet for a {suffix or 'text'} "
                        f"table. Got --sheet {_trim(sheet)!r} instead.", "no --sheet", repr(sheet))
        if decimal not in (None, ".", ","):
            raise _fail(path, f"--decimal must be '.' or ','. Got {_trim(decimal)!r} instead.", "'.' or ','",
                        repr(decimal))
        yield from _text_chunks(source, path, chunk_size, decimal, numbers)


def _slices(df: pd.DataFrame, chunk_size: int | None) -> Iterator[pd.DataFrame]:
    if chunk_size is None or len(df) <= chunk_size:
        yield df
        return
    for start in range(0, len(df), chunk_size):
        yield df.iloc[start:start + chunk_size].reset_index(drop=True)


def _parquet_chunks(source: bytes | Path, path: Path, chunk_size: int | None) -> Iterator[pd.DataFrame]:
    if chunk_size is None:
        yield _finish_columns(_read_parquet(source, path))
        return
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        batches = reader.iter_batches(batch_size=chunk_size)
        for batch in batches:
            yield _finish_columns(batch.to_pandas())
    except Exception as err:  # pyarrow raises several unrelated types for a corrupt file
        raise _fail(path, "could not read the Parquet file; expected a valid Parquet table. "
                    f"Got {type(err).__name__}: {_trim(err)} instead.", "a Parquet table", type(err).__name__) from None


def _finish_columns(df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    return df


# -- delimited text ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _TextLayout:
    """What the header and the first bytes say about a delimited text table."""

    sep: str
    decimal: str
    names: tuple[str, ...]
    numeric: tuple[int, ...]  # positions of canonical number columns
    binary: tuple[int, ...]  # positions of canonical 0/1 columns
    decimal_detected: bool = False


def _text_layout(head: str, path: Path, decimal: str | None) -> _TextLayout:
    header = _first_line(head)
    sep = sniff_delimiter(header)
    try:
        names = tuple(next(csv.reader([header], delimiter=sep)) if header else [])
    except csv.Error as err:  # a header the csv module cannot split (a stray control character, ...)
        raise _fail(path, f"could not read the header line ({err}); expected column names separated by comma, tab "
                    "or semicolon. Got an unreadable header instead.", "a header line", str(err)) from None
    detected = False
    if decimal is None:
        decimal, detected = ".", False
        if sep != ",":
            cells = [c.strip().strip('"') for line in head.splitlines()[1:-1] for c in line.split(sep)]
            commas = sum(bool(_DECIMAL_COMMA.match(c)) for c in cells)
            points = sum(bool(_DECIMAL_POINT.match(c)) for c in cells)
            if commas and not points:
                decimal, detected = ",", True
    _check_single_column(path, names)
    check_width(path, len(names))
    resolution = resolve_columns(names, COLUMNS)
    kinds = [COLUMNS[n].kind if n in COLUMNS else "" for n in resolution.names]
    numeric = tuple(i for i, k in enumerate(kinds) if k in ("float", "int"))
    binary = tuple(i for i, k in enumerate(kinds) if k == "binary")
    return _TextLayout(sep, decimal, names, numeric, binary, detected)


def _na_variants(tokens) -> list[str]:
    return sorted({v for t in tokens for v in (t, t.upper(), t.capitalize(), t.title())})


_NA_NUMERIC = _na_variants(MISSING_TOKENS)
_NA_BINARY = _na_variants(MISSING_TOKENS - {"-"})


class _Fallback(Exception):
    """A block of rows holds a token the typed parse cannot keep as given: re-read it as text."""


#: Bytes of a header line read to find its columns; a longer header is refused with this number.
MAX_HEADER_BYTES = 16 * 2**20


def _head(text: str) -> str:
    """The first bytes of a table that decide its layout: at least 64 KB, and always the whole header line."""
    end = text.find("\n", _SNIFF_BYTES * 16)
    first = text.find("\n")
    if first < 0:  # one line (a header alone, or CR line ends): all of it
        return text
    if first >= _SNIFF_BYTES * 16:  # a header longer than the usual head: all of it, to its line end
        return text[:first + 1]
    return text[:_SNIFF_BYTES * 16] if end < 0 else text[:end]


def _head_bytes(fh) -> bytes:
    """The head of an open file for streaming: 64 KB, extended to the header line's end (up to MAX_HEADER_BYTES)."""
    raw = fh.read(_SNIFF_BYTES * 16)
    while b"\n" not in raw and b"\r" not in raw[:-1] and len(raw) < MAX_HEADER_BYTES:
        more = fh.read(_SNIFF_BYTES * 16)
        if not more:
            break
        raw += more
    return raw


def _open_text(source: str | Path):
    if isinstance(source, str):
        return io.StringIO(source)
    return open(source, encoding="utf-8-sig", newline="")


def _text_chunks(source: bytes | Path, path: Path, chunk_size: int | None, decimal: str | None,
                 numbers: bool) -> Iterator[pd.DataFrame]:
    text: str | Path
    if isinstance(source, bytes):
        _check_text_head(source, path)
        text = _decode(path, source)  # the whole text: a bad byte is named with its offset
        head = _head(text)
    else:  # iter_table_chunks has checked that the path is a file: it is opened once
        with path.open("rb") as fh:
            _check_text_head(fh.read(_SNIFF_BYTES), path)
            fh.seek(0)
            raw = fh.read() if chunk_size is None else _head_bytes(fh)
        if chunk_size is not None and len(raw) >= MAX_HEADER_BYTES and b"\n" not in raw and b"\r" not in raw:
            raise _fail(path, f"the header line is longer than {MAX_HEADER_BYTES:,} bytes; expected a header of "
                        "column names. Got a longer first line instead (not a patient table?).",
                        "a header line", f"more than {MAX_HEADER_BYTES} bytes")
        # the whole file is decoded at once when it is read whole, so a bad byte is named exactly
        text = _decode(path, raw) if chunk_size is None else path
        head = _head(raw.decode("utf-8-sig", errors="replace"))
        if "\n" not in head and "\r" in head and chunk_size is not None:  # old Mac line ends: read it whole
            text = _decode(path, path.read_bytes())
    if isinstance(text, str) and "\n" not in head and "\r" in head:
        text = text.replace("\r", "\n")  # old Mac line ends (CR only): lines as everywhere else
        head = _head(text)
    layout = _text_layout(head, path, decimal)
    typed = numbers and layout.decimal == "." and bool(layout.numeric or layout.binary)
    done = 0  # blocks already yielded: a fallback re-reads as text from the next one
    while True:
        try:
            for block in _parse_blocks(text, path, layout, chunk_size, typed, skip=done):
                yield block
                done += 1
            return
        except _Fallback:
            typed = False


def _parse_blocks(source: str | Path, path: Path, layout: _TextLayout, chunk_size: int | None, typed: bool,
                  skip: int) -> Iterator[pd.DataFrame]:
    n = len(layout.names)
    dtype: dict[int, str] = {i: "str" for i in range(n + 1)}
    na_values: dict[int, list[str]] = {}
    if typed:
        for i in layout.numeric:
            dtype[i], na_values[i] = "float64", _NA_NUMERIC
        for i in layout.binary:
            dtype[i], na_values[i] = "float64", _NA_BINARY
    # one spare column catches a row with one field too many (shifted values) without pandas
    # silently turning the first column into an index
    kwargs = dict(sep=layout.sep, header=None, skiprows=1, names=list(range(n + 1)), dtype=dtype,
                  keep_default_na=False, na_values=na_values, chunksize=chunk_size)
    stream = _open_text(source)
    try:
        with stream:
            reader = pd.read_csv(stream, **kwargs)
            blocks = [reader] if chunk_size is None else reader
            row0 = 0
            for k, block in enumerate(blocks):
                if k < skip:
                    row0 += len(block)
                    continue
                if typed and not _typed_block_is_exact(block, layout):
                    raise _Fallback
                yield _finish_block(block, layout, path, row0)
                row0 += len(block)
    except InvalidPatientData:
        raise
    except UnicodeDecodeError as err:
        raise _fail(path, f"the file is not valid UTF-8 ({err.reason}); expected UTF-8 text. Re-save it as 'CSV "
                    "UTF-8'. Got another encoding instead.", "UTF-8 text", err.reason) from None
    except pd.errors.EmptyDataError:  # a header without rows: the schema says so with the columns
        yield pd.DataFrame({name.strip(): pd.Series([], dtype=object) for name in layout.names})
    except pd.errors.ParserError as err:
        raise _parser_error(err, layout, path, source) from None
    except (ValueError, TypeError):
        if not typed:
            raise
        raise _Fallback from None  # a token that is not a number: read the block as text


def _typed_block_is_exact(block: pd.DataFrame, layout: _TextLayout) -> bool:
    """A typed block is used only when the text path would read the same values (else messages differ)."""
    for i in layout.numeric:
        if np.isinf(block[i].to_numpy(dtype=float)).any():
            return False
    for i in layout.binary:
        v = block[i].to_numpy(dtype=float)
        if not ((v == 0) | (v == 1) | np.isnan(v)).all():
            return False
    return True


def _long_row(path: Path, layout: _TextLayout, line: int, saw: str, first: str) -> InvalidPatientData:
    n = len(layout.names)
    who = f" (line {line} is patient {_trim(first)!r}: values shifted by an extra field?)" if first else ""
    return _fail(path, f"some rows have more fields than the header ({n} columns, delimiter {layout.sep!r}); expected "
                 f"one field per header column. Got Expected {n} fields in line {line}, saw {saw}{who} instead.",
                 "a rectangular table", f"{saw} fields in line {line}")


def _finish_block(block: pd.DataFrame, layout: _TextLayout, path: Path, row0: int) -> pd.DataFrame:
    n = len(layout.names)
    if not isinstance(block.index, pd.RangeIndex):
        # pandas turns surplus leading fields of a row longer than every column into an index
        first = block.index[0][0] if isinstance(block.index, pd.MultiIndex) else block.index[0]
        raise _long_row(path, layout, row0 + 2, "more", str(first).strip())
    spare = block[n]
    extra = spare.notna() & (spare.astype("string").str.strip() != "")
    if extra.any():
        r = int(np.flatnonzero(extra.to_numpy(dtype=bool))[0])
        raise _long_row(path, layout, row0 + r + 2, str(n + 1), str(block.iloc[r, 0]).strip())
    block = block.drop(columns=n)
    names = list(layout.names)
    keep = []
    for i, name in enumerate(names):
        if name.strip() == "":
            values = block[i]
            if not (values.isna() | (values.astype("string").str.strip() == "")).all():
                names[i] = f"Unnamed: {i}"
                keep.append(i)
        else:
            keep.append(i)
    block = block[keep] if len(keep) != len(names) else block
    block.columns = [names[i].strip() for i in keep]
    if layout.decimal == ",":
        for i in layout.numeric:
            if i in keep:
                col = keep.index(i)
                block.isetitem(col, block.iloc[:, col].astype("string").str.replace(_COMMA_NUMBER, r"\1.\2",
                                                                                    regex=True))
    block = block.reset_index(drop=True)
    if layout.decimal_detected:
        block.attrs[READ_NOTES_ATTR] = [f"read as a European table ({layout.sep!r} separator, decimal commas); "
                                        "name the decimal mark with --decimal if that is wrong"]
    return block


def _parser_error(err: Exception, layout: _TextLayout, path: Path, source: str | Path) -> InvalidPatientData:
    m = re.search(r"in line (\d+), saw (\d+)", str(err))
    if not m:
        return _fail(path, f"could not parse the table with delimiter {layout.sep!r}; expected one row per patient "
                     f"with the header's number of fields. Got {_trim(str(err).strip(), 160)} instead.",
                     "a rectangular table", _trim(str(err).strip()))
    line = int(m.group(1))
    return _long_row(path, layout, line, m.group(2), _field_of_line(source, line, layout.sep))


def _field_of_line(source: str | Path, line: int, sep: str) -> str:
    """The first field of a physical line (1-based), for an error message."""
    with _open_text(source) as fh:
        for number, text in enumerate(fh, start=1):
            if number == line:
                return text.split(sep, 1)[0].strip().strip('"')
    return ""



def _check_single_column(path: Path, names: tuple[str, ...]) -> None:
    if len(names) == 1:
        header = names[0]
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
                    f"Got {type(err).__name__}: {_trim(err)} instead.", "a Parquet table", type(err).__name__) from None


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
