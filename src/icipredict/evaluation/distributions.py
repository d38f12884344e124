"""The chi-squared tail the likelihood-ratio and proportional-hazards tests read, from :mod:`scipy.special`.

``scipy.stats`` gives the same numbers (its ``chi2.sf`` is ``chdtrc``, its ``norm.ppf`` is ``ndtri``), but importing
it takes about a second, most of a command's start-up; the normal quantile is ``scipy.special.ndtri``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import chdtrc

__all__ = ["chi2_sf"]


def chi2_sf(x, df):
    """P(X > x) for X chi-squared with ``df`` degrees of freedom: ``scipy.stats.chi2.sf`` (1 at and below 0).

    >>> round(float(chi2_sf(3.841458820694124, 1)), 6)
    0.05
    >>> float(chi2_sf(-1e-12, 2))
    1.0
    """
    return chdtrc(df, np.maximum(x, 0.0))
