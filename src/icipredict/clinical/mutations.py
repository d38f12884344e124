"""Mutation groups named by the seed review (domain.md section 3).

Each gene is a ``mut_<gene>`` column, 1 altered, 0 tested and not altered, missing (or absent
column) not tested. A group is 1 when any of its genes is altered, 0 when none is altered and at
least one was tested, NaN when none was tested.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icipredict.clinical.outcomes import _float_column, _text_column
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


def _any_altered(genes: pd.DataFrame) -> pd.Series:
    """1 if any gene is 1, 0 if none is 1 and one is tested, NaN if none is tested."""
    altered = (genes == 1).any(axis=1)
    tested = genes.notna().any(axis=1)
    return pd.Series(np.where(altered, 1.0, np.where(tested, 0.0, np.nan)), index=genes.index)


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
    genes = {g: _float_column(df, f"mut_{g}") for group in MUTATION_GROUPS.values() for g in group}
    smoking = _text_column(df, "smoking")
    smoker = pd.Series(np.where(smoking.isin(SMOKER_STATUSES), 1.0, np.where(smoking.notna(), 0.0, np.nan)),
                       index=df.index)
    out = pd.DataFrame(index=df.index)
    for name, group in MUTATION_GROUPS.items():
        values = pd.DataFrame({g: genes[g] for g in group}, index=df.index)
        ambiguous = pd.Series(False, index=df.index)
        if name == "positive_mutation":
            for g in POSITIVE_IN_SMOKERS:
                altered = values[g] == 1
                ambiguous |= altered & smoker.isna()
                # an alteration in a never-smoker is tested-and-not-positive, so 0 rather than NaN
                values[g] = values[g].where(~altered, smoker)
        flag = _any_altered(values)
        out[name] = flag.where(~ambiguous | (flag == 1), np.nan)
    return out
