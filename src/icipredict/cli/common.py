"""What every command shares: reading --input as every command reads it, progress and "written to"
confirmations on standard error, and the lenient report of rows not read or dropped.

Standard output carries a command's result; standard error its progress (see
:mod:`icipredict.progress`), notes, confirmations, warnings and errors; ``--quiet`` leaves only
warnings and errors.
"""

from __future__ import annotations

import sys

from icipredict.io import read_patients
from icipredict.progress import Progress
from icipredict.table.schema import validate_patients

__all__ = ["progress", "confirm", "raw_table", "read_table", "report_rows", "not_scored_text"]


def progress(args) -> Progress:
    return Progress(quiet=args.quiet, verbose=args.verbose)


def confirm(args, message: str) -> None:
    """A "written to" confirmation: on stderr, so that stdout stays the result."""
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def raw_table(args, numbers: bool = False):
    """The raw patient table at --input, read as every command reads it."""
    return read_patients(args.input, format=args.format, sheet=args.sheet, decimal=args.decimal, numbers=numbers)


def read_table(args, lenient: bool = False, numbers: bool = False):
    return validate_patients(raw_table(args, numbers=numbers), lenient=lenient)


def report_rows(report, *, quiet: bool, skip_notes: tuple[str, ...] = (), out=None) -> None:
    """The lenient report on stderr (or ``out``): notes, then every row not read or dropped, one line each."""
    out = sys.stderr if out is None else out
    if not quiet:
        for note in report.notes:
            if not note.startswith(skip_notes):
                print(f"note: {note}", file=out)
    for p in report.unread:
        print(f"not read: {p}", file=out)
    for p in report.dropped:
        print(f"dropped: {p}", file=out)


def not_scored_text(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
    return f"{len(names)} row(s) not scored: {shown}"
