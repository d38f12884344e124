"""Writing result tables safely: never over an input, never half-written, never a spreadsheet formula.

- :func:`check_output` runs *before* any work: the suffix decides the format (``.csv``, ``.tsv``,
  ``.parquet``), the path must not be a directory, its folder must exist and take a new file
  (tried, with a temporary file this module creates and removes), and it must not be any of the
  inputs, however spelled (symbolic links, hard links, ``..``; compared by device and inode).
- :class:`TableWriter` writes to a temporary file beside the output and moves it into place with
  ``os.replace`` only when :meth:`TableWriter.commit` is called, so a failure or an interruption
  leaves an existing output untouched and no partial file behind. An existing output that is not
  an input is replaced as a whole (a symbolic link is replaced, never its target).
  :func:`atomic_path` is the same for a file written in one go, within a ``with`` block.
- :func:`neutralise_formulas` (OWASP, "CSV injection"): in written CSV / TSV only, a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a
  spreadsheet shows it as text instead of running it. Numbers are unchanged; so is the Python API.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from icipredict.exceptions import OutputRefused

__all__ = ["OUTPUT_SUFFIXES", "FORMULA_PREFIXES", "check_output", "neutralise_formulas", "TableWriter", "atomic_path",
           "input_files"]

#: Output suffix -> format.
OUTPUT_SUFFIXES: dict[str, str] = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}
#: First characters a spreadsheet may read as the start of a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_VALUE_COLUMN = re.compile(r"top\d+_value$")


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every file an input path stands for: the file itself, or every file inside an input folder."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.append(p)
            out.extend(f for f in p.rglob("*") if f.is_file())
        elif p.exists():
            out.append(p)
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), *, flag: str = "--output",
                 suffixes: Iterable[str] = tuple(OUTPUT_SUFFIXES)) -> Path:
    """Refuse an output path before any work is done; return it as a Path.

    Raises
    ------
    OutputRefused
        The suffix is not one of ``suffixes``, the path is a directory or one of ``inputs``, or
        its folder is missing or does not take a new file.

    Examples
    --------
    >>> check_output("predictions.csv", ["patients.csv"])  # doctest: +SKIP
    PosixPath('predictions.csv')
    """
    path = Path(path)
    allowed = tuple(suffixes)
    if path.is_dir():
        raise OutputRefused(f"{flag} {str(path)!r} is a directory; expected a file name such as "
                            f"{str(path / ('predictions' + allowed[0]))!r}. Got a directory instead.")
    if path.suffix.lower() not in allowed:
        raise OutputRefused(f"{flag} {str(path)!r}: the suffix decides the format; expected one of "
                            f"{', '.join(allowed)}. Got {path.suffix or 'no suffix'!r} instead.")
    for src in input_files(inputs):
        if path.exists() and _same_file(path, src):
            raise OutputRefused(f"{flag} {str(path)!r} is the input {str(src)!r} (the same file); expected a new file "
                                "name: the package never writes over its inputs. Got one of the inputs instead.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputRefused(f"{flag} {str(path)!r}: the folder {str(folder)!r} does not exist; expected an existing "
                            "folder. Got a missing folder instead.")
    try:
        probe = _temporary_beside(path, ".probe")
    except OSError as err:
        raise OutputRefused(f"{flag} {str(path)!r}: cannot create a file in {str(folder)!r}; expected a writable "
                            f"folder. Got {err.strerror or type(err).__name__} instead.") from None
    probe.unlink()  # the probe is this function's own file
    return path


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a spreadsheet formula (a ``'`` is put in front).

    >>> neutralise_formulas(pd.DataFrame({"patient_id": ["=1+1", "a"], "p": [-0.5, 0.2]}))["patient_id"].tolist()
    ["'=1+1", 'a']
    """
    out = None
    for name in df.columns:
        col = df[name]
        if col.dtype.kind in "biufcmM":
            continue
        first = col.astype("string").str[:1] if col.dtype != object else col.str[:1]
        risky = first.isin(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool, copy=True)
        if col.dtype == object and risky.any():  # only text cells: a number in an object column stays a number
            risky &= col.map(type).eq(str).to_numpy(dtype=bool)
        if risky.any():
            if out is None:
                out = df.copy()
            values = col.astype(object).to_numpy(copy=True)
            values[risky] = ["'" + str(v) for v in values[risky]]
            out[name] = values
    return df if out is None else out


def _for_parquet(df: pd.DataFrame) -> pd.DataFrame:
    """Columns of values as given (``top{i}_value``) and object columns mixing numbers and text as
    text, so every piece of a streamed Parquet file has the same column types."""
    out = df
    for name in df.columns:
        col = df[name]
        as_given = _VALUE_COLUMN.match(str(name)) is not None
        if (as_given and col.dtype != object) or (
                col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty")):
            if out is df:
                out = df.copy()
            out[name] = col.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return out


def _temporary_beside(path: Path, suffix: str) -> Path:
    """A new empty file of this process in ``path``'s folder (so ``os.replace`` onto ``path`` is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return Path(tmp)


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` to write to; moved onto ``path`` when the block ends without an error.

    On an error (or an interruption) the temporary file is removed and ``path`` stays as it was, so a
    reader never sees a half-written file. :class:`TableWriter` is the same for a table written in
    pieces, moved into place by an explicit :meth:`TableWriter.commit`.

    >>> with atomic_path("clean.csv") as tmp:  # doctest: +SKIP
    ...     df.to_csv(tmp, index=False)
    """
    path = Path(path)
    tmp = _temporary_beside(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class TableWriter:
    """Write a table in one or more pieces to a temporary file; :meth:`commit` moves it into place.

    ``path=None`` writes CSV to standard output (no temporary file). Use as a context manager: an
    exception (or a missing commit) removes the temporary file and leaves any existing output as
    it was.
    """

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)
        self.format = "csv" if self.path is None else OUTPUT_SUFFIXES[self.path.suffix.lower()]
        self._tmp: Path | None = None
        self._parquet = None
        self._schema = None
        self.rows = 0

    def __enter__(self) -> "TableWriter":
        if self.path is not None:
            self._tmp = _temporary_beside(self.path, ".partial")
        return self

    def write(self, df: pd.DataFrame) -> None:
        first = self.rows == 0
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(_for_parquet(df), preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(str(self._tmp), self._schema)
            self._parquet.write_table(table.cast(self._schema))
        else:
            safe = neutralise_formulas(df)
            sep = "\t" if self.format == "tsv" else ","
            if self._tmp is None:
                safe.to_csv(sys.stdout, index=False, header=first, sep=sep)
            else:
                safe.to_csv(self._tmp, index=False, header=first, sep=sep, mode="w" if first else "a")
        self.rows += len(df)

    def commit(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None

    def __exit__(self, *exc) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
