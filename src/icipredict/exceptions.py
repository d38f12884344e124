"""Exceptions raised by icipredict.

Every error a user can cause derives from ``ValueError`` or ``OSError`` so that callers who do not
know this package still catch it with the usual built-in types.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Problem", "InvalidPatientData", "InvalidConfig", "ModelLoadError", "OutputRefused", "OutputFailed",
           "IcipredictError", "InputWarning", "Stopped", "stop_signals", "trim", "TRIM", "problems_text"]


class IcipredictError(Exception):
    """Base class of every error this package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell (or one column) of a patient table."""

    patient_id: str | None
    column: str | None
    expected: str
    got: str

    def __str__(self) -> str:
        # user-supplied parts are trimmed: a 10 MB cell or id is never echoed whole
        where = []
        if self.patient_id is not None:
            where.append(f"patient {trim(self.patient_id)!r}")
        if self.column is not None:
            where.append(f"column {trim(self.column)!r}")
        prefix = ", ".join(where) if where else "table"
        return f"{prefix}: expected {trim(self.expected, 240)}. Got {trim(self.got, 160)} instead."


#: Longest user-supplied value quoted back in a message (messages quoting a list allow a few times this).
TRIM = 80


def trim(text: object, limit: int = TRIM) -> str:
    """``text`` as a string of at most ``limit`` characters: a user-supplied value is never echoed whole.

    >>> trim("x" * 100, 10)
    'xxxxxxx...'
    """
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def problems_text(problems: Sequence[Problem], limit: int = 8, show: Callable[[Problem], str] = str) -> str:
    """The first ``limit`` problems, each as ``show`` writes it, joined by "; ", then how many more there are.

    >>> problems_text([Problem("p1", "age", "a number", "old")] * 3, limit=1)
    "patient 'p1', column 'age': expected a number. Got old instead. (and 2 more problems)"
    """
    shown = "; ".join(show(p) for p in problems[:limit])
    more = f" (and {len(problems) - limit} more problems)" if len(problems) > limit else ""
    return shown + more


class InvalidPatientData(IcipredictError, ValueError):
    """A patient table (or one of its rows) does not follow the canonical schema.

    ``problems`` lists each offending cell with the patient id, column, expectation and value.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)

    @classmethod
    def from_problems(cls, problems: list[Problem], *, limit: int = 8) -> "InvalidPatientData":
        n_rows = len({p.patient_id for p in problems if p.patient_id is not None})
        head = f"Invalid patient data in {n_rows} row(s): " if n_rows else "Invalid patient data: "
        return cls(head + problems_text(problems, limit), problems)


class InvalidConfig(IcipredictError, ValueError):
    """A configuration file or override is invalid; the message names the key."""


class ModelLoadError(IcipredictError, OSError):
    """A model could not be found, verified or loaded."""


class OutputRefused(IcipredictError, FileExistsError):
    """Writing would overwrite or delete a file or folder the package did not create, or one of its inputs."""


class OutputFailed(IcipredictError, OSError):
    """Writing an output failed part-way (a full disk, a read-only file system); the message says what was kept."""


class Stopped(KeyboardInterrupt):
    """The process was asked to stop (SIGTERM, SIGHUP): handled exactly like Ctrl-C, so nothing half-written stays."""

    def __init__(self, signum: int, name: str):
        self.signum = signum
        self.name = name
        super().__init__(name)


#: The signals that stop a command like Ctrl-C does: a job scheduler's kill and a closed terminal.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _stop(signum, frame) -> None:
    raise Stopped(signum, signal.Signals(signum).name)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` (a ``KeyboardInterrupt``), as Ctrl-C does.

    Every writer of the package cleans up on ``KeyboardInterrupt`` (temporary files removed, the
    previous output left as it was), so a stopped process leaves what an interrupted one leaves.
    Outside the main thread (where Python allows no signal handler) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class InputWarning(UserWarning):
    """Something about the input the caller should know, which does not stop the prediction.

    For example a column read by another name (``PDL1_TPS`` read as ``pdl1_tps``).
    """
