"""The checks of a run's own numbers: bootstrap resamples and seeds, against the limits in :mod:`icipredict.table.vocab`.

One definition for the synthetic generator, ``evaluate`` and ``update`` (the training config states the same limits
as its fields' bounds).
"""

from __future__ import annotations

import numpy as np

from icipredict.exceptions import InvalidConfig
from icipredict.table.vocab import MAX_RESAMPLES, MAX_SEED

__all__ = ["check_n_boot", "check_seed"]


def check_n_boot(n_boot) -> int:
    """``n_boot`` as a number of resamples from 0 (no intervals) to ``MAX_RESAMPLES``, else InvalidConfig.

    >>> check_n_boot(1000)
    1000
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or not 0 <= n_boot <= MAX_RESAMPLES:
        raise InvalidConfig(f"n_boot: expected a whole number of bootstrap resamples from 0 (no confidence intervals) "
                            f"to {MAX_RESAMPLES}. Got {n_boot!r} instead.")
    return int(n_boot)


def check_seed(seed) -> int:
    """``seed`` as NumPy takes it (a whole number from 0 to ``MAX_SEED``), else InvalidConfig.

    >>> check_seed(7)
    7
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise InvalidConfig(f"seed: expected a whole number from 0 to {MAX_SEED}. Got {seed!r} instead.")
    return int(seed)
