"""Writing result tables safely: never over an input, never half-written, never a spreadsheet formula.

- :func:`check_output` runs *before* any work: the suffix decides the format (``.csv``, ``.tsv``,
  ``.parquet``), the path must not be a directory, its folder must exist and take a new file
  (tried, with a temporary file this module creates and removes), and it must not be any of the
  inputs, however spelled (symbolic links, hard links, ``..``; compared by device and inode).
  Neither may it be a model folder the command reads, a file or folder inside one, or a folder
  holding one (:func:`refuse_model_folder`, compared after resolving links and ``..``): a model
  folder is read-only to every command.
- :func:`check_folder_output` is the same check for an output *folder* (a model bundle): its
  nearest existing parent must be a folder that takes a new entry, tried before any work.
- :class:`TableWriter` writes to a temporary file beside the output and moves it into place with
  ``os.replace`` only when :meth:`TableWriter.commit` is called, so a failure or an interruption
  leaves an existing output untouched and no partial file behind. An existing output that is not
  an input is replaced as a whole (a symbolic link is replaced, never its target).
  :func:`atomic_path` is the same for a file written in one go, within a ``with`` block. A write
  that fails part-way (a full disk, a read-only file system) raises :class:`OutputFailed`, one
  line saying what was kept; an interruption (Ctrl-C, SIGTERM, SIGHUP) removes the temporary file.
- Written files are private (mode 0600) whatever the umask; ``ICIPREDICT_SHARE_OUTPUTS=1`` lets
  the umask widen them (:data:`SHARE_ENV`).
- :func:`neutralise_formulas` (OWASP, "CSV injection"): in written CSV / TSV only, a text cell that
  begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so a
  spreadsheet shows it as text instead of running it. Numbers are unchanged; so is the Python API.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from icipredict.exceptions import IcipredictError, OutputFailed, OutputRefused

__all__ = ["OUTPUT_SUFFIXES", "FORMULA_PREFIXES", "SHARE_ENV", "check_output", "check_folder_output",
           "refuse_model_folder", "neutralise_formulas", "TableWriter", "atomic_path", "input_files", "write_failed"]

#: Set to 1 to let the umask decide the mode of written files (default: 0600, private to the user).
SHARE_ENV = "ICIPREDICT_SHARE_OUTPUTS"

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


def refuse_model_folder(path: str | Path, models: Iterable[str | Path], *, flag: str = "--output") -> None:
    """Raise :class:`OutputRefused` when ``path`` is one of the model folders ``models``, inside one, or holds
    one; or when it is inside any model bundle (a folder with ``model.json`` and ``checksums.sha256``).

    ``models`` are folders (``icipredict.model.bundle.model_folders`` finds them for model arguments,
    the shipped models included). Paths are compared after resolving symbolic links and ``..``, so
    no spelling gets around it.

    >>> refuse_model_folder("mymodel/x.csv", ["mymodel"])  # doctest: +SKIP
    Traceback (most recent call last):
    OutputRefused: --output 'mymodel/x.csv' is inside the model folder ...
    """
    target = Path(path).resolve()
    for folder in (Path(m).resolve() for m in models):
        if target == folder:
            how = "is the model folder"
        elif folder in target.parents:
            how = "is inside the model folder"
        elif target in folder.parents:
            how = "holds the model folder"
        else:
            continue
        raise OutputRefused(f"{flag} {str(path)!r} {how} {str(folder)!r}; expected a path outside every model "
                            "folder: a model folder is read-only to every command (a file added to it stops it "
                            "loading). Got a path in a model folder instead.")
    for folder in target.parents:  # any model bundle, even one the command does not read
        if (folder / "checksums.sha256").is_file() and (folder / "model.json").is_file():
            raise OutputRefused(f"{flag} {str(path)!r} is inside the model folder {str(folder)!r}; expected a path "
                                "outside every model folder: a model folder is read-only to every command (a file "
                                "added to it stops it loading). Got a path in a model folder instead.")


def _nearest_existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            return folder
    return Path(".")


def check_folder_output(path: str | Path, *, flag: str = "--output", models: Iterable[str | Path] = ()) -> Path:
    """Refuse an output folder (a model bundle) that cannot be created, before any work; return it.

    Its nearest existing parent must be a folder that takes a new entry (tried with a temporary
    folder this function creates and removes), and it must not touch a model folder of ``models``.

    Raises
    ------
    OutputRefused
    """
    path = Path(path)
    refuse_model_folder(path, models, flag=flag)
    parent = _nearest_existing(path.parent if str(path.parent) else Path("."))
    if not parent.is_dir():
        raise OutputRefused(f"{flag} {str(path)!r}: {str(parent)!r} is a file, not a folder; expected a path whose "
                            "parents are folders. Got a file in the way instead.")
    try:
        probe = tempfile.mkdtemp(dir=parent, prefix=".icipredict-probe-")
    except OSError as err:
        raise OutputRefused(f"{flag} {str(path)!r}: cannot create anything in {str(parent)!r}; expected a writable "
                            f"folder. Got {err.strerror or type(err).__name__} instead.") from None
    os.rmdir(probe)  # the probe is this function's own folder
    return path


def write_failed(what: str | Path, err: OSError, kept: str) -> OutputFailed:
    """The one-line error of a write that failed part-way: what failed, why, and what was kept."""
    reason = err.strerror or errno.errorcode.get(err.errno or 0, "") or type(err).__name__
    return OutputFailed(f"could not write {str(what)!r}: {reason}; {kept}")


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), *, flag: str = "--output",
                 suffixes: Iterable[str] = tuple(OUTPUT_SUFFIXES), models: Iterable[str | Path] = ()) -> Path:
    """Refuse an output path before any work is done; return it as a Path.

    Raises
    ------
    OutputRefused
        The suffix is not one of ``suffixes``, the path is a directory or one of ``inputs``, it is
        in (or holds) one of the model folders ``models``, or its folder is missing or does not take
        a new file.

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
    refuse_model_folder(path, models, flag=flag)
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
    """A new empty file of this process in ``path``'s folder (so ``os.replace`` onto ``path`` is atomic), mode 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _publish(tmp: Path, path: Path) -> None:
    """Move a finished temporary file onto ``path``: private (0600) unless the user asked to share outputs."""
    if os.environ.get(SHARE_ENV, "").strip() == "1":
        os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def _kept(path: Path) -> str:
    if os.path.lexists(path):
        return f"the earlier {path.name} is unchanged and no partial file was left"
    return "nothing was written under that name and no partial file was left"


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
    try:
        tmp = _temporary_beside(path, suffix)
    except OSError as err:
        raise write_failed(path, err, _kept(path)) from None
    try:
        yield tmp
        _publish(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, IcipredictError):  # the block's own error (a model that cannot load, ...)
            raise
        raise write_failed(path, err, _kept(path)) from None
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
            try:
                self._tmp = _temporary_beside(self.path, ".partial")
            except OSError as err:
                raise write_failed(self.path, err, _kept(self.path)) from None
        return self

    def write(self, df: pd.DataFrame) -> None:
        try:
            self._write(df)
        except BrokenPipeError:
            raise
        except OSError as err:
            if self.path is None:
                raise write_failed("standard output", err, f"{self.rows} row(s) were written before it") from None
            self._discard()
            raise write_failed(self.path, err, _kept(self.path)) from None

    def _write(self, df: pd.DataFrame) -> None:
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
                sys.stdout.flush()  # a full disk or closed pipe shows here, not at exit
            else:
                safe.to_csv(self._tmp, index=False, header=first, sep=sep, mode="w" if first else "a")
        self.rows += len(df)

    def commit(self) -> None:
        try:
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self._tmp is not None:
                _publish(self._tmp, self.path)
                self._tmp = None
        except OSError as err:
            self._discard()
            raise write_failed(self.path, err, _kept(self.path)) from None

    def _discard(self) -> None:
        if self._parquet is not None:
            try:
                self._parquet.close()
            except OSError:
                pass
            self._parquet = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __exit__(self, *exc) -> None:
        self._discard()
