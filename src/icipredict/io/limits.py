"""The limits of what one request or one file may make the package hold: defined here, once.

The calculator (``icipredict serve``: the form, uploads and ``/invocations``), the MLflow pyfunc
and the Python API read them from these environment variables:

===============================  ==========  =====================================================
variable                         default     bounds
===============================  ==========  =====================================================
``ICIPREDICT_MAX_REQUEST_ROWS``  50,000      patients in one request or upload (calculator, pyfunc)
``ICIPREDICT_MAX_REQUEST_BYTES`` 128 MiB     bytes of one request body, with or without Content-Length
``ICIPREDICT_MAX_JSON_DEPTH``    8           nesting of a JSON body (a patient record needs 3)
``ICIPREDICT_MAX_EXCEL_RATIO``   100         unpacked / packed size of an Excel workbook, once it
                                             unpacks to more than 8 MiB (every reader: CLI, calculator,
                                             Python); an upload's rows are counted while it is read
``ICIPREDICT_MAX_COLUMNS``       10,000      columns of a text table or Excel sheet (every reader),
                                             checked on the header before any row is parsed
===============================  ==========  =====================================================

A value over a limit is an error naming the variable (HTTP 413 for a body over the byte limit,
400 otherwise), never a partial answer. A variable that is not a positive integer is an
:class:`~icipredict.exceptions.InvalidConfig` naming it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from icipredict.exceptions import InvalidConfig, InvalidPatientData, Problem, trim

__all__ = ["Limits", "limit", "MAX_ROWS_ENV", "MAX_BYTES_ENV", "MAX_DEPTH_ENV", "MAX_EXCEL_RATIO_ENV", "MAX_COLUMNS_ENV",
           "DEFAULT_MAX_ROWS", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_EXCEL_RATIO", "DEFAULT_MAX_COLUMNS",
           "EXCEL_RATIO_FLOOR", "check_width", "json_depth", "too_deep"]

MAX_ROWS_ENV = "ICIPREDICT_MAX_REQUEST_ROWS"
MAX_BYTES_ENV = "ICIPREDICT_MAX_REQUEST_BYTES"
MAX_DEPTH_ENV = "ICIPREDICT_MAX_JSON_DEPTH"
MAX_EXCEL_RATIO_ENV = "ICIPREDICT_MAX_EXCEL_RATIO"
MAX_COLUMNS_ENV = "ICIPREDICT_MAX_COLUMNS"
DEFAULT_MAX_ROWS = 50_000
DEFAULT_MAX_BYTES = 128 * 2**20  # 50,000 JSON records of every column fit with room to spare
DEFAULT_MAX_DEPTH = 8  # {"dataframe_records": [{...}]} is 3 deep
DEFAULT_MAX_EXCEL_RATIO = 100  # sheet XML packs 5-20 times; 330 times is a workbook of empty rows
DEFAULT_MAX_COLUMNS = 10_000  # pandas parses 100,000 columns in about a minute; a patient table needs hundreds
#: Unpacked bytes below which any packing ratio is accepted (a small, very regular sheet).
EXCEL_RATIO_FLOOR = 8 * 2**20


def limit(env: str, default: int, value: int | None = None) -> int:
    """A limit: ``value`` when given, else the environment variable ``env``, else ``default``.

    Raises
    ------
    InvalidConfig
        The limit is not a positive integer (the message names ``env``).

    Examples
    --------
    >>> limit(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, 100)
    100
    """
    if value is None:
        text = os.environ.get(env, str(default))
        try:
            value = int(text)
        except ValueError:
            raise InvalidConfig(f"{env}: expected a positive integer. Got {trim(text)!r} instead.") from None
    if isinstance(value, bool) or value < 1:
        raise InvalidConfig(f"{env}: expected a positive integer. Got {value} instead.")
    return int(value)


@dataclass(frozen=True)
class Limits:
    """The request limits in force: arguments first, then the environment variables, then the defaults.

    >>> Limits.read(rows=10).rows
    10
    """

    rows: int = DEFAULT_MAX_ROWS
    bytes: int = DEFAULT_MAX_BYTES
    depth: int = DEFAULT_MAX_DEPTH
    excel_ratio: int = DEFAULT_MAX_EXCEL_RATIO
    columns: int = DEFAULT_MAX_COLUMNS

    @classmethod
    def read(cls, *, rows: int | None = None, bytes: int | None = None, depth: int | None = None,
             excel_ratio: int | None = None, columns: int | None = None) -> "Limits":
        return cls(limit(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, rows), limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, bytes),
                   limit(MAX_DEPTH_ENV, DEFAULT_MAX_DEPTH, depth),
                   limit(MAX_EXCEL_RATIO_ENV, DEFAULT_MAX_EXCEL_RATIO, excel_ratio),
                   limit(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS, columns))


def check_width(path: str | Path, n_columns: int) -> None:
    """Refuse a table wider than ``ICIPREDICT_MAX_COLUMNS`` before its rows are parsed.

    >>> check_width("patients.csv", 12)
    """
    most = Limits.read().columns
    if n_columns > most:
        raise InvalidPatientData(
            f"{path}: the header has {n_columns:,} columns; expected at most {most:,} ({MAX_COLUMNS_ENV}; a patient "
            "table has a few hundred at most). Got a wider table instead: keep the columns the model reads "
            "(icipredict validate lists them) or raise the limit.",
            [Problem(None, None, f"at most {most} columns", f"{n_columns} columns")])


_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without parsing it (strings skipped).

    >>> json_depth(b'{"dataframe_records": [{"patient_id": "[[["}]}')
    3
    """
    import numpy as np

    skeleton = np.frombuffer(_STRINGS.sub(b"", bytes(body)), dtype=np.uint8) | 0x20  # [ ] as { }
    brackets = skeleton[(skeleton == ord("{")) | (skeleton == ord("}"))]
    steps = np.where(brackets == ord("{"), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max(initial=0))


def too_deep(depth: int, most: int) -> str:
    """The refusal of a JSON body nested deeper than ``most`` (every server that reads one says it this way)."""
    return (f"the JSON body nests {depth} levels deep; expected at most {most} ({MAX_DEPTH_ENV}; a patient record "
            "needs 3). Got deeper nesting instead.")
