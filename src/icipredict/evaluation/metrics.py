"""Metrics of a model's predictions, summarised per cohort with their confidence intervals.

The metrics themselves live by job in :mod:`~icipredict.evaluation.discrimination`,
:mod:`~icipredict.evaluation.calibration`, :mod:`~icipredict.evaluation.utility` and
:mod:`~icipredict.evaluation.bootstrap` (re-exported here); this module puts them together:
:func:`binary_metrics`, :func:`metrics_table`, :func:`format_metrics_markdown`.

Pure numeric functions: arrays or frames in, numbers or frames out; no file I/O, no tracking.
The outcome ``y`` is 1 for durable clinical benefit and 0 for primary resistance, so a "positive"
decision means "treat expecting benefit". Reporting follows TRIPOD+AI (Collins et al., BMJ 2024):
discrimination and calibration, per cohort and pooled, each with a 95% confidence interval.

>>> import numpy as np
>>> y = np.array([0, 0, 1, 1])
>>> round(binary_metrics(y, np.array([0.1, 0.4, 0.35, 0.8]), n_boot=0)["roc_auc"], 2)
0.75
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from icipredict.evaluation.bootstrap import bootstrap_ci, paired_auc_difference  # re-exported
from icipredict.evaluation.calibration import (calibration_ci, calibration_curve_table,  # re-exported
                                               calibration_slope_intercept, dersimonian_laird)
from icipredict.evaluation.discrimination import (FastMetric, average_precision, both_classes,  # re-exported
                                                  check_probability, check_y_score, log_loss_each, roc_auc, rowwise)
from icipredict.evaluation.utility import decision_curve, sensitivity_specificity  # re-exported

__all__ = [
    "bootstrap_ci",
    "calibration_slope_intercept",
    "binary_metrics",
    "metrics_table",
    "paired_auc_difference",
    "calibration_curve_table",
    "decision_curve",
    "sensitivity_specificity",
    "format_metrics_markdown",
    "roc_auc",
    "average_precision",
    "log_loss_each",
    "dersimonian_laird",
    "calibration_ci",
]


# --------------------------------------------------------------------------- summaries


def binary_metrics(
    y, score, *, is_probability: bool = True, n_boot: int = 1000, seed: int = 0
) -> dict[str, float | int]:
    """Discrimination (and, for probabilities, calibration) of one score, with 95% bootstrap CIs.

    Patients with a NaN score are left out and counted in ``n_missing_score``. Raw scores such as
    PD-L1 TPS or TMB (``is_probability=False``) get ROC AUC and average precision only.

    Returns
    -------
    dict
        ``n, n_pos, n_neg, n_missing_score, prevalence, roc_auc(_low/_high), pr_auc(_low/_high)``
        and, for probabilities, ``brier(_low/_high), brier_null, calibration_slope,
        calibration_intercept, mean_predicted``. ``brier_null`` is the Brier score of predicting
        the prevalence for everyone.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1, 1], [0.1, 0.3, 0.2, 0.8, None], n_boot=0)
    >>> m["n"], m["n_missing_score"], round(m["roc_auc"], 2)
    (4, 1, 0.75)
    """
    y_arr, s_arr = check_y_score(y, score)
    if is_probability:
        check_probability(s_arr, name="score")
    keep = ~np.isnan(s_arr)
    n_missing = int((~keep).sum())
    y_arr, s_arr = y_arr[keep], s_arr[keep]
    n, n_pos = int(y_arr.size), int(y_arr.sum())
    prevalence = n_pos / n if n else np.nan
    out: dict[str, float | int] = {
        "n": n, "n_pos": n_pos, "n_neg": n - n_pos, "n_missing_score": n_missing, "prevalence": prevalence,
    }
    usable = both_classes(y_arr)
    names: list[FastMetric] = ["roc_auc", "pr_auc"] + (["brier"] if is_probability else [])
    for name in names:
        point = float(rowwise(name, y_arr[None, :], s_arr[None, :])[0]) if n else np.nan
        low, high = bootstrap_ci(y_arr, s_arr, name, n_boot=n_boot, seed=seed) if usable else (np.nan, np.nan)
        out.update({name: point, f"{name}_low": low, f"{name}_high": high})
    if is_probability:
        out.update(
            {
                "brier_null": prevalence * (1 - prevalence),
                **calibration_ci(y_arr, s_arr),
                "mean_predicted": float(s_arr.mean()) if n else np.nan,
                "log_loss": float(log_loss_each(y_arr, s_arr).mean()) if n else np.nan,
            }
        )
    return out


_TABLE_COLUMNS = [
    "cohort", "model", "n", "n_pos", "n_not_evaluable", "n_missing_score", "same_patients", "prevalence",
    "roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high",
    "brier", "brier_low", "brier_high", "brier_null", "calibration_slope", "calibration_slope_low",
    "calibration_slope_high", "calibration_intercept", "calibration_intercept_low", "calibration_intercept_high",
    "mean_predicted", "log_loss",
]


def metrics_table(
    frame: pd.DataFrame,
    *,
    y: str = "y",
    scores: Mapping[str, str] | Sequence[str],
    group: str | None = "cohort",
    probability_scores: Collection[str] = (),
    n_boot: int = 1000,
    seed: int = 0,
    n_not_evaluable: Mapping[str, int] | None = None,
    step: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row of :func:`binary_metrics` per (cohort, score), per cohort and pooled.

    Parameters
    ----------
    frame : DataFrame
        One row per patient with the outcome, the scores and the group column.
    y : str, default="y"
        Outcome column (0/1). Rows with a missing outcome are dropped and counted as not evaluable.
    scores : mapping of model name -> column, or list of columns (named after themselves)
        The scores to compare. Each is evaluated on the patients where it is available; the
        ``n`` column says how many, and ``same_patients`` is True when, within the cohort, every
        score was evaluated on exactly the same patients. Use :func:`paired_auc_difference` for a
        like-for-like comparison.
    group : str or None, default="cohort"
        Column defining cohorts; None gives only the pooled rows.
    probability_scores : collection of str
        Model names (or columns) that are probabilities and get calibration metrics; other scores
        (PD-L1 TPS, TMB) get discrimination only.
    n_boot, seed : int
        Bootstrap resamples and seed, the same for every row.
    n_not_evaluable : mapping of cohort -> int, optional
        Patients already removed from ``frame`` because their outcome could not be assessed;
        ``"pooled"`` defaults to the sum over cohorts.
    step : callable, optional
        Called with 1 after each row, e.g. a progress bar's ``update``.

    Examples
    --------
    >>> df = pd.DataFrame({"cohort": list("aabbbb"), "y": [0, 1, 0, 1, 1, 0], "p": [.2, .7, .4, .6, .9, .1]})
    >>> metrics_table(df, scores=["p"], probability_scores=["p"], n_boot=0)[["cohort", "n"]].values.tolist()
    [['a', 2], ['b', 4], ['pooled', 6]]
    """
    named = dict(scores) if isinstance(scores, Mapping) else {c: c for c in scores}
    needed = [y, *named.values()] + ([group] if group is not None else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame must have the columns {needed}. Got no column(s) {missing} instead.")
    missing_y = frame[y].isna()
    extra = dict(n_not_evaluable or {})
    groups: list[tuple[str, pd.DataFrame, pd.Series]] = []
    if group is not None:
        for key, part in frame.groupby(group, sort=True, dropna=False):
            groups.append((str(key), part, missing_y.loc[part.index]))
    groups.append(("pooled", frame, missing_y))
    if "pooled" not in extra:
        extra["pooled"] = sum(v for k, v in extra.items())
    rows = []
    for cohort, part, part_missing_y in groups:
        part = part.loc[~part_missing_y]
        # the same patients when each row has a score from every model or from none
        available = [part[c].notna().to_numpy() for c in named.values()]
        same = bool((np.logical_and.reduce(available) | ~np.logical_or.reduce(available)).all()) if available else True
        for model, column in named.items():
            is_prob = model in probability_scores or column in probability_scores
            metrics = binary_metrics(
                part[y].to_numpy(dtype=float, na_value=np.nan),
                part[column].to_numpy(dtype=float, na_value=np.nan),
                is_probability=is_prob, n_boot=n_boot, seed=seed,
            )
            rows.append(
                {
                    **metrics,
                    "cohort": cohort,
                    "model": model,
                    "n_not_evaluable": int(extra.get(cohort, 0)) + int(part_missing_y.sum()),
                    "same_patients": same,
                }
            )
            if step is not None:
                step(1)
    return pd.DataFrame(rows).reindex(columns=_TABLE_COLUMNS)


#: Columns whose CI bounds are not named ``<column>_low`` / ``<column>_high``.
_BOUNDS = {"auc_diff_vs_baseline": ("auc_diff_low", "auc_diff_high")}

_LABELS = {
    "auc_diff_vs_baseline": "AUC difference (model - baseline)", "log_loss": "Log-loss",
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "brier": "Brier", "brier_null": "Brier (prevalence)",
    "calibration_slope": "Calibration slope", "calibration_intercept": "Calibration intercept",
    "mean_predicted": "Mean predicted", "prevalence": "Observed rate",
}


def format_metrics_markdown(
    table: pd.DataFrame,
    *,
    columns: Sequence[str] = ("roc_auc", "pr_auc", "brier", "calibration_slope", "calibration_intercept"),
    digits: int = 2,
) -> str:
    """Markdown table of a :func:`metrics_table`, one line per row, cells like ``0.71 (0.65-0.77)``.

    Examples
    --------
    >>> t = pd.DataFrame({"cohort": ["a"], "model": ["m"], "n": [10], "n_pos": [4],
    ...                   "roc_auc": [0.7123], "roc_auc_low": [0.6], "roc_auc_high": [0.8]})
    >>> print(format_metrics_markdown(t, columns=["roc_auc"]))
    | Cohort | Model | n | Events | ROC AUC |
    |---|---|---:|---:|---|
    | a | m | 10 | 4 | 0.71 (0.60-0.80) |
    """

    def fmt(v) -> str:
        return "NA" if v is None or pd.isna(v) else f"{v:.{digits}f}"

    def cell(row: pd.Series, col: str) -> str:
        text = fmt(row.get(col))
        low_key, high_key = _BOUNDS.get(col, (f"{col}_low", f"{col}_high"))
        low, high = row.get(low_key), row.get(high_key)
        if text != "NA" and low is not None and high is not None and not (pd.isna(low) or pd.isna(high)):
            text += f" ({fmt(low)}-{fmt(high)})"
        return text

    head = ["Cohort", "Model", "n", "Events", *(_LABELS.get(c, c) for c in columns)]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---:|---:|" + "---|" * len(columns)]
    for _, row in table.iterrows():
        cells = [str(row["cohort"]), str(row["model"]), str(int(row["n"])), str(int(row["n_pos"]))]
        lines.append("| " + " | ".join(cells + [cell(row, c) for c in columns]) + " |")
    return "\n".join(lines)
