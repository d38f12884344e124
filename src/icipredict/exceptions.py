"""Exceptions raised by icipredict.

Every error a user can cause derives from ``ValueError`` or ``OSError`` so that callers who do not
know this package still catch it with the usual built-in types.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "InvalidPatientData", "InvalidConfig", "ModelLoadError", "OutputRefused", "IcipredictError",
           "InputWarning"]


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
            where.append(f"patient {_trim(self.patient_id)!r}")
        if self.column is not None:
            where.append(f"column {_trim(self.column)!r}")
        prefix = ", ".join(where) if where else "table"
        return f"{prefix}: expected {_trim(self.expected, 240)}. Got {_trim(self.got, 160)} instead."


def _trim(text: object, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class InvalidPatientData(IcipredictError, ValueError):
    """A patient table (or one of its rows) does not follow the canonical schema.

    ``problems`` lists each offending cell with the patient id, column, expectation and value.
    """

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = list(problems or [])
        super().__init__(message)

    @classmethod
    def from_problems(cls, problems: list[Problem], *, limit: int = 8) -> "InvalidPatientData":
        shown = "; ".join(str(p) for p in problems[:limit])
        more = f" (and {len(problems) - limit} more problems)" if len(problems) > limit else ""
        n_rows = len({p.patient_id for p in problems if p.patient_id is not None})
        head = f"Invalid patient data in {n_rows} row(s): " if n_rows else "Invalid patient data: "
        return cls(head + shown + more, problems)


class InvalidConfig(IcipredictError, ValueError):
    """A configuration file or override is invalid; the message names the key."""


class ModelLoadError(IcipredictError, OSError):
    """A model could not be found, verified or loaded."""


class OutputRefused(IcipredictError, FileExistsError):
    """Writing would overwrite or delete a file or folder the package did not create, or one of its inputs."""


class InputWarning(UserWarning):
    """Something about the input the caller should know, which does not stop the prediction.

    For example a column read by another name (``PDL1_TPS`` read as ``pdl1_tps``).
    """
