"""Checks that need more than one row at a time: whole-column unit verdicts and id uniqueness over chunks,
and :class:`ValidationReport`, what the checks of a table found.

Both work on one table or on the chunks of a streamed one, so that streaming reaches the verdicts
of the whole file: :class:`UnitCheck` collects every chunk's values (before lenient drops) and
decides at the end; :class:`IdSet` remembers every id seen, in O(n log n) time and about 8 bytes
per patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from icipredict.exceptions import Problem
from icipredict.table.vocab import MONTH_DAYS

__all__ = ["ValidationReport", "UnitCheck", "IdSet", "UNIT_CHECK_COLUMNS", "DAYS_MEDIAN", "DAYS_WHOLE_MAX", "DAYS_WHOLE_MEDIAN",
           "UNIT_CHECK_MIN_VALUES"]

#: Columns whose whole-column unit verdicts need every value of the table (see :class:`UnitCheck`).
UNIT_CHECK_COLUMNS: tuple[str, ...] = ("pdl1_tps", "pfs_months", "os_months", "albumin")
#: A months column with a median above this (6 years) holds days: no ICI cohort has such a median.
DAYS_MEDIAN = 72.0
#: Short follow-up in days: every value a whole number, the largest above this and the median above
#: the column's plausible median in months (:data:`DAYS_WHOLE_MEDIAN`) reads as days, not months.
DAYS_WHOLE_MAX = 60.0
#: Plausible upper median in months per column (median PFS on ICI in NSCLC is about 2-8 months,
#: median OS about 10-20 months), used with :data:`DAYS_WHOLE_MAX`.
DAYS_WHOLE_MEDIAN: dict[str, float] = {"pfs_months": 12.0, "os_months": 36.0}
#: Fewest values a whole-column unit verdict needs.
UNIT_CHECK_MIN_VALUES = 5


@dataclass
class ValidationReport:
    """What :func:`validate_patients` found.

    ``frame`` is the clean table; ``dropped`` lists the rows removed in lenient mode with their
    problems; ``unread`` the rows the reader did not read (a non-NSCLC row of a pan-cancer table,
    ...); ``notes`` are table-level remarks (ignored extra columns, columns read by another name,
    ...); ``renamed`` maps each header cell read under another name to its canonical column.

    A report can be passed to :func:`icipredict.predict` as it is: its frame is not checked again.
    """

    frame: pd.DataFrame
    dropped: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    unread: list[Problem] = field(default_factory=list)

    @property
    def n_dropped(self) -> int:
        return len({p.patient_id for p in self.dropped})

    @property
    def not_scored(self) -> list[str]:
        """Every row of the source that is not in ``frame`` (not read, or dropped), named once, in order."""
        return list(dict.fromkeys([str(p.patient_id) for p in self.unread] + [str(p.patient_id) for p in self.dropped]))


class UnitCheck:
    """Whole-column unit verdicts over one table, or over all the chunks of a streamed one.

    PD-L1 given as 0-1 fractions, PFS / OS in days (a median above :data:`DAYS_MEDIAN`, or short
    follow-up: whole numbers up to more than :data:`DAYS_WHOLE_MAX` with a median above
    :data:`DAYS_WHOLE_MEDIAN`), and albumin in g/L only show across a whole column. Streaming adds
    every chunk (before lenient drops, like the whole-file check) and asks for :meth:`problems` at
    the end, so both paths reach the same verdict on the same file.
    """

    def __init__(self) -> None:
        self._values: dict[str, list[np.ndarray]] = {c: [] for c in UNIT_CHECK_COLUMNS}
        self._given: set[str] = set()

    def add(self, clean: pd.DataFrame | Mapping[str, np.ndarray], given: set[str] | frozenset[str]) -> None:
        """Add a checked table's values (a frame, or its columns as arrays)."""
        for name in UNIT_CHECK_COLUMNS:
            if name in given:
                self._given.add(name)
                v = np.asarray(clean[name], dtype=float)
                self._values[name].append(v[~np.isnan(v)])

    def _column(self, name: str) -> np.ndarray | None:
        if name not in self._given:
            return None
        v = np.concatenate(self._values[name]) if self._values[name] else np.empty(0)
        return v if len(v) >= UNIT_CHECK_MIN_VALUES else None

    def problems(self) -> list[Problem]:
        problems: list[Problem] = []
        v = self._column("pdl1_tps")
        if v is not None and v.max() <= 1.0 and ((v > 0) & (v < 1)).any():
            problems.append(Problem(None, "pdl1_tps", "PD-L1 TPS in percent (0-100)",
                                    f"all {len(v)} values between 0 and 1 (max {v.max():g}): this looks like a "
                                    "fraction; multiply by 100"))
        for name in ("pfs_months", "os_months"):
            v = self._column(name)
            if v is None:
                continue
            median = float(np.median(v))
            if median > DAYS_MEDIAN:
                problems.append(Problem(None, name, f"{name} in months",
                                        f"median {median:g}: this looks like days; divide by {MONTH_DAYS:g}"))
            elif (v % 1 == 0).all() and v.max() > DAYS_WHOLE_MAX and median > DAYS_WHOLE_MEDIAN[name]:
                problems.append(Problem(None, name, f"{name} in months",
                                        f"whole numbers up to {v.max():g} with median {median:g}: this looks like "
                                        f"days (short follow-up); divide by {MONTH_DAYS:g}"))
        v = self._column("albumin")
        if v is not None and np.median(v) > 10:
            problems.append(Problem(None, "albumin", "albumin in g/dL (1-6)",
                                    f"median {float(np.median(v)):g}: this looks like g/L; divide by 10"))
        return problems


class IdSet:
    """Identifiers seen so far, as sorted runs of 64-bit hashes: O(n log n) duplicate checks over chunks.

    Each chunk's hashes become a sorted run; runs of similar size are merged (as in a binomial
    heap), so there are O(log n) runs and each id is re-sorted O(log n) times. A new chunk is
    checked against every run with ``searchsorted``. About 8 bytes per patient.

    >>> seen = IdSet()
    >>> seen.add(np.array(["a", "b"], dtype=object)).tolist(), seen.add(np.array(["c", "a"], dtype=object)).tolist()
    ([False, False], [False, True])
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []

    def add(self, ids: np.ndarray) -> np.ndarray:
        """Record ``ids``; return True where an id was already recorded by an earlier call."""
        hashes = pd.util.hash_array(np.asarray(ids, dtype=object))
        again = np.zeros(len(hashes), dtype=bool)
        for run in self._runs:
            pos = np.searchsorted(run, hashes)
            again |= run[np.minimum(pos, len(run) - 1)] == hashes
        self._runs.append(np.sort(hashes[~again]))
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.sort(np.concatenate([self._runs[-1], last]))
        return again

    @staticmethod
    def drop(report: "ValidationReport", again: np.ndarray) -> "ValidationReport":
        """The report without the rows whose id an earlier chunk had, each named in ``dropped``."""
        ids = report.frame["patient_id"].to_numpy(dtype=object)
        report.dropped = report.dropped + [Problem(str(i), "patient_id", "a unique identifier",
                                                   "an id already seen in an earlier chunk") for i in ids[again]]
        report.frame = report.frame.loc[~again].reset_index(drop=True)
        return report
