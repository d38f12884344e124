"""How many rows a table file holds, cheaply and before reading it: the total of a progress bar.

A Parquet file says so in its footer; a text table is counted by its line breaks, in blocks of
bytes, without parsing (about 0.1 s per 100 MB). A quoted cell spanning lines makes the count a
little high, which a progress bar tolerates; anything else (Excel, a folder, an unreadable file)
gives None, an unknown total.
"""

from __future__ import annotations

from pathlib import Path

from icipredict.io.excel import EXCEL_SUFFIXES
from icipredict.io.table import PARQUET_SUFFIXES

__all__ = ["count_rows"]

_BLOCK = 1 << 20


def count_rows(path: str | Path) -> int | None:
    """Data rows of a canonical table file (header excluded), or None when it cannot be told cheaply.

    Examples
    --------
    >>> count_rows("patients.csv")  # doctest: +SKIP
    1000
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file() or suffix in EXCEL_SUFFIXES:
        return None
    try:
        if suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        lines, last = 0, b"\n"
        with path.open("rb") as fh:
            while block := fh.read(_BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"  # a last line without its line break
        return max(lines - 1, 0)
    except (OSError, ValueError):  # only a bar's total: the reader itself reports a bad file, properly
        return None
