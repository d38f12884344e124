"""Mutation groups named by the seed review (domain.md section 3).

Each gene is a ``mut_<gene>`` column, 1 altered, 0 tested and not altered, missing (or absent
column) not tested. A group is 1 when any of its genes is altered, 0 when none is altered and at
least one was tested, NaN when none was tested.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.columns import floats, texts
from icipredict.table.vocab import DRIVER_GENES, SMOKER_STATUSES

__all__ = [
    "DRIVER_GENES",
    "DRIVER_COLUMNS",
    "POSITIVE_ALWAYS",
    "POSITIVE_IN_SMOKERS",
    "POSITIVE",
    "COLD",
    "IMMUNE_EVASION",
    "SMOKER_STATUSES",
    "MUTATION_GROUPS",
    "mutation_groups",
    "mutation_group_values",
]

#: Their columns in the patient table.
DRIVER_COLUMNS: tuple[str, ...] = tuple(f"mut_{g}" for g in DRIVER_GENES)
#: Positive predictors in every patient; domain.md section 3.
POSITIVE_ALWAYS: tuple[str, ...] = ("kras",)
#: Positive predictors only in smokers (BRAF, MET exon 14 skipping); domain.md section 3.
POSITIVE_IN_SMOKERS: tuple[str, ...] = ("braf", "met_ex14")
#: All genes of the positive group.
POSITIVE: tuple[str, ...] = POSITIVE_ALWAYS + POSITIVE_IN_SMOKERS
#: Immune-cold subtype (STK11/LKB1 loss, KEAP1); domain.md section 3.
COLD: tuple[str, ...] = ("stk11", "keap1")
#: Impaired IFN-gamma signalling / antigen presentation; domain.md section 3 (MYC and MAPK are not
#: columns of the patient table).
IMMUNE_EVASION: tuple[str, ...] = ("jak1", "jak2", "b2m", "pten", "ctnnb1", "tp53")

#: Output column -> genes.
MUTATION_GROUPS: dict[str, tuple[str, ...]] = {
    "driver_positive": DRIVER_GENES,
    "positive_mutation": POSITIVE,
    "cold_tumour": COLD,
    "immune_evasion": IMMUNE_EVASION,
}


def _any_altered(genes: list[np.ndarray]) -> np.ndarray:
    """1 if any gene is 1, 0 if none is 1 and one is tested, NaN if none is tested."""
    altered = np.logical_or.reduce([g == 1 for g in genes])
    tested = np.logical_or.reduce([~np.isnan(g) for g in genes])
    return np.where(altered, 1.0, np.where(tested, 0.0, np.nan))


def mutation_groups(df: pd.DataFrame) -> pd.DataFrame:
    """Group flags from the ``mut_*`` columns.

    Parameters
    ----------
    df : DataFrame
        Uses ``mut_<gene>`` for the genes of :data:`MUTATION_GROUPS` and ``smoking``.

    Returns
    -------
    DataFrame with float columns ``driver_positive``, ``positive_mutation``, ``cold_tumour``,
    ``immune_evasion`` (1.0 / 0.0 / NaN), on ``df.index``.

    Notes
    -----
    A group is 1 when any gene is altered, 0 when none is altered and at least one gene was
    tested, NaN when no gene was tested. For ``positive_mutation``, a BRAF or MET exon 14
    alteration counts only in smokers (:data:`SMOKER_STATUSES`); in a never-smoker it counts as
    tested and not positive. When smoking is unknown, such an alteration makes the group NaN
    unless KRAS is altered.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"mut_kras": [0, 0], "mut_braf": [1, 1], "smoking": ["current", "never"]})
    >>> mutation_groups(df)["positive_mutation"].tolist()
    [1.0, 0.0]
    """
    return pd.DataFrame(mutation_group_values(df), index=df.index)


def mutation_group_values(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """:func:`mutation_groups` as float arrays by group name (the model's features use them as arrays)."""
    genes = {g: floats(df, f"mut_{g}") for group in MUTATION_GROUPS.values() for g in group}
    smoking = texts(df, "smoking")
    smoker = smoking.map(lambda v: 1.0 if v in SMOKER_STATUSES else 0.0, np.nan, float)
    out = {}
    for name, group in MUTATION_GROUPS.items():
        values = [genes[g] for g in group]
        ambiguous = np.zeros(len(smoker), dtype=bool)
        if name == "positive_mutation":
            for i, g in enumerate(group):
                if g in POSITIVE_IN_SMOKERS:
                    altered = values[i] == 1
                    ambiguous |= altered & np.isnan(smoker)
                    # an alteration in a never-smoker is tested-and-not-positive, so 0 rather than NaN
                    values[i] = np.where(altered, smoker, values[i])
        flag = _any_altered(values)
        out[name] = np.where(~ambiguous | (flag == 1), flag, np.nan)
    return out
