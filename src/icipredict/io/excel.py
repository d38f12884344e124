"""Excel workbooks (``.xlsx``, ``.xlsm``): one sheet read as a table of text cells, bounded before and while reading.

The zip listing is checked first (:func:`_check_packing`): a workbook that unpacks to more than
``ICIPREDICT_MAX_EXCEL_RATIO`` times its size (once over 8 MiB) is refused before anything is
unpacked. The sheet is then read row by row in openpyxl's read-only (streaming) mode: its header
must stay within ``ICIPREDICT_MAX_COLUMNS`` and, for a request, its rows within ``max_rows`` (the
reading stops at the first row over it). Cells come out as a CSV would give them (empty for none,
whole floats without ``.0``), so the schema sees the same tokens whatever the file type.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from icipredict.exceptions import InvalidPatientData, Problem, trim
from icipredict.io.limits import EXCEL_RATIO_FLOOR, MAX_EXCEL_RATIO_ENV, MAX_ROWS_ENV, Limits, check_width
from icipredict.table.schema import READ_NOTES_ATTR

__all__ = ["read_excel", "EXCEL_SUFFIXES"]

#: Suffixes read as Excel workbooks (first sheet unless ``sheet`` says), with the optional openpyxl.
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})


def _fail(path: Path, message: str, expected: str, got: str) -> InvalidPatientData:
    return InvalidPatientData(f"{path}: {message}", [Problem(None, None, expected, got)])


def _check_packing(raw: bytes, path: Path) -> None:
    """Refuse a workbook that unpacks far beyond its size (a "zip bomb"), from the zip listing alone.

    Nothing is unpacked: the members' declared sizes are compared with their packed sizes, against
    ``ICIPREDICT_MAX_EXCEL_RATIO`` (:mod:`icipredict.io.limits`).
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except Exception as err:  # zipfile raises several unrelated types for a damaged archive
        raise _fail(path, f"could not read the Excel workbook; expected a valid .xlsx file (a zip archive). Got "
                    f"{type(err).__name__}: {trim(err)} instead.", "an .xlsx workbook", type(err).__name__) from None
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    ratio = Limits.read().excel_ratio
    if unpacked > EXCEL_RATIO_FLOOR and unpacked > ratio * packed:
        raise _fail(path, f"the workbook unpacks to {unpacked:,} bytes from {len(raw):,} ({unpacked / packed:.0f} "
                    f"times); expected at most {ratio} times ({MAX_EXCEL_RATIO_ENV}). Got a workbook that expands "
                    "too far instead: save the sheet as CSV.", f"at most {ratio} times", f"{unpacked / packed:.0f}")


def _excel_text(value) -> str:
    """A cell as a CSV would give it: empty for none, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_excel(raw: bytes, path: Path, sheet: str | int | None, max_rows: int | None = None) -> pd.DataFrame:
    """The chosen sheet, every cell as text, read row by row in openpyxl's read-only (streaming) mode.

    The packing is checked before anything is unpacked, and ``max_rows`` while reading: a sheet
    of a million rows is refused at row ``max_rows + 1``, not after it is all in memory.
    """
    try:
        import openpyxl
    except ImportError:
        raise _fail(path, "reading an Excel workbook needs the optional package openpyxl, which is not installed; "
                    "expected a CSV table, or openpyxl installed (pip install \"icipredict[excel]\"). Save the "
                    "sheet as 'CSV UTF-8' or install the extra. Got an Excel workbook without openpyxl instead.",
                    "a CSV table or openpyxl", "an Excel workbook without openpyxl") from None
    _check_packing(raw, path)
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises several unrelated types for a corrupt workbook
        raise _fail(path, f"could not read the Excel workbook; expected a valid .xlsx file. "
                    f"Got {type(err).__name__}: {trim(err)} instead.", "an .xlsx workbook", type(err).__name__) from None
    try:
        names = [str(n) for n in book.sheetnames]
        if not names:
            raise _fail(path, "the workbook has no sheet; expected a sheet of patients. Got none instead.",
                        "a sheet", "none")
        chosen = _choose_sheet(names, sheet, path)
        header: list[str] | None = None
        rows: list[list[str]] = []
        width = 0
        try:
            for values in book[chosen].iter_rows(values_only=True):
                cells = [_excel_text(v) for v in values]
                while cells and cells[-1] == "":
                    cells.pop()
                if header is None:
                    header = cells
                    check_width(path, len(header))
                    continue
                if not cells:  # a blank row, skipped as a CSV reader skips a blank line
                    continue
                rows.append(cells)
                width = max(width, len(cells))
                if max_rows is not None and len(rows) > max_rows:
                    raise _fail(path, f"too many patients in one request: expected at most {max_rows} "
                                f"({MAX_ROWS_ENV}). Got more rows instead (stopped reading at row {len(rows) + 1}). "
                                "Send smaller batches.", f"at most {max_rows} rows", "more rows")
        except InvalidPatientData:
            raise
        except Exception as err:  # a sheet whose XML is broken part-way
            raise _fail(path, f"could not read sheet {trim(chosen)!r} of the Excel workbook; expected a valid .xlsx "
                        f"file. Got {type(err).__name__}: {trim(err)} instead.", "an .xlsx workbook",
                        type(err).__name__) from None
    finally:
        book.close()
    header = header or []
    names_out = [h.strip() if h.strip() else f"Unnamed: {i}" for i, h in enumerate(header)]
    names_out += [f"Unnamed: {i}" for i in range(len(names_out), width)]
    n = len(names_out)
    df = pd.DataFrame([r + [""] * (n - len(r)) for r in rows], columns=range(n), dtype=object)
    df.columns = names_out
    if not rows:
        df = pd.DataFrame({c: pd.Series([], dtype=object) for c in names_out})
    df.columns = [str(c).strip() for c in df.columns]
    if len(names) > 1 and sheet is None:
        df.attrs[READ_NOTES_ATTR] = [f"read sheet {chosen!r}, the first of {len(names)} sheets "
                                     f"({', '.join(map(repr, names[:6]))}{' ...' if len(names) > 6 else ''}); "
                                     "choose another with --sheet NAME|INDEX"]
    return df


def _choose_sheet(names: list[str], sheet: str | int | None, path: Path) -> str:
    if sheet is None:
        return names[0]
    if str(sheet) in names:
        return str(sheet)
    if isinstance(sheet, int) or str(sheet).strip().isdigit():
        k = int(sheet)
        if 0 <= k < len(names):
            return names[k]
    raise _fail(path, f"no sheet {trim(sheet)!r} in the workbook; expected a sheet name or a 0-based index "
                f"({', '.join(map(repr, names[:10]))}). Got {trim(sheet)!r} instead.", "a sheet of the workbook",
                repr(sheet))
