"""The model beside the published baselines, on the same patients, per cohort and pooled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from icipredict.evaluation.metrics import metrics_table, paired_auc_difference
from icipredict.progress import progress_bar

__all__ = ["MODEL_COLUMN", "compare_scores"]

#: Column of the model's probability in a comparison frame.
MODEL_COLUMN = "model"


def compare_scores(frame: pd.DataFrame, *, baselines: list[str], n_boot: int, seed: int,
                   n_not_evaluable: dict[str, int] | None = None,
                   progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The model beside each baseline, per cohort and pooled.

    Parameters
    ----------
    frame : DataFrame
        ``cohort``, ``y`` (1 durable benefit, 0 primary resistance), :data:`MODEL_COLUMN` and one
        column per baseline (NaN where the baseline cannot be computed).
    baselines : list of str
    n_boot, seed : int
        Bootstrap resamples and their seed.
    n_not_evaluable : dict, optional
        Patients not evaluable per cohort, carried into the table.
    progress : callable, optional
        A :class:`~icipredict.progress.Progress` shows a bar over the bootstrapped rows.

    Returns
    -------
    DataFrame
        ``subset == "all"``: every score on the patients where it exists. ``subset == "<baseline>
        available"``: the model and that baseline on exactly the same patients, so their AUCs
        compare, with the paired bootstrap AUC difference.
    """
    # one step per bootstrapped row (each cohort and the pool, each score) and per paired difference
    groups = frame["cohort"].nunique(dropna=False) + 1
    paired = sum(frame.loc[frame[b].notna(), "cohort"].nunique() + 1 for b in baselines)
    steps = groups * (1 + len(baselines)) + 3 * paired  # two rows and one difference per paired group
    with progress_bar(progress if n_boot else None, steps, f"bootstrap ({n_boot} resamples)", unit="rows") as bar:
        return _compare_scores(frame, baselines, n_boot, seed, n_not_evaluable, bar.update)


def _compare_scores(frame: pd.DataFrame, baselines: list[str], n_boot: int, seed: int,
                    n_not_evaluable: dict[str, int] | None, step: Callable[[int], None]) -> pd.DataFrame:
    scores = {MODEL_COLUMN: MODEL_COLUMN, **{b: b for b in baselines}}
    probability = [MODEL_COLUMN, "loris"]
    parts = [metrics_table(frame, scores=scores, probability_scores=probability, n_boot=n_boot, seed=seed,
                           n_not_evaluable=n_not_evaluable, step=step).assign(subset="all")]
    for b in baselines:
        sub = frame.loc[frame[b].notna()]
        if sub.empty or sub["y"].nunique() < 2:
            continue
        table = metrics_table(sub, scores={MODEL_COLUMN: MODEL_COLUMN, b: b}, probability_scores=probability,
                              n_boot=n_boot, seed=seed, step=step).assign(subset=f"{b} available")
        diffs = {}
        for cohort, part in [*sub.groupby("cohort"), ("pooled", sub)]:
            if part["y"].nunique() == 2 and len(part) >= 10:
                diffs[str(cohort)] = paired_auc_difference(part["y"].to_numpy(float),
                                                           part[MODEL_COLUMN].to_numpy(float),
                                                           part[b].to_numpy(float), n_boot=n_boot, seed=seed)
            step(1)
        for key, col in ((0, "auc_diff_vs_baseline"), (1, "auc_diff_low"), (2, "auc_diff_high")):
            table[col] = [diffs.get(c, (np.nan,) * 3)[key] if m == MODEL_COLUMN else np.nan
                          for c, m in zip(table["cohort"], table["model"])]
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    if frame["cohort"].nunique() == 1:  # the pooled row would repeat the cohort's own
        out = out.loc[out["cohort"] != "pooled"]
    # a score nobody had (LORIS without albumin and NLR) has no row rather than an empty one
    return out.loc[out["n"] > 0].reset_index(drop=True)
