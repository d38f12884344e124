"""A saved model on new labelled patients, beside the baselines: ``icipredict evaluate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.clinical.outcomes import benefit_label, binary_target
from icipredict.evaluation.compare import MODEL_COLUMN, compare_scores
from icipredict.exceptions import InvalidPatientData, trim
from icipredict.io import read_patients
from icipredict.model.models import baseline_scores
from icipredict.model.survival import check_outcomes, pfs_rows
from icipredict.table.schema import check_patients
from icipredict.serve.predict import LoadedModel, load_model
from icipredict.table.run_limits import check_n_boot, check_seed
from icipredict.table.vocab import BASELINES, DCB_MONTHS

__all__ = ["evaluate", "evaluate_curve", "not_evaluable_counts", "read_labelled", "comparison_frame"]


def not_evaluable_counts(patients: pd.DataFrame, target: pd.Series) -> dict[str, int]:
    """Patients without an evaluable outcome, per cohort."""
    return {str(k): int(v) for k, v in target.isna().groupby(patients["cohort"]).sum().items()}


def read_labelled(data: pd.DataFrame | str | Path, *, format: str = "auto", label_source: str = "derived",
                  benefit_months: float = DCB_MONTHS, cohort_column: str = "cohort") -> tuple[pd.DataFrame, pd.Series]:
    """Patients (a DataFrame, copied, or a path in any supported input format), checked, and their 0/1
    target (NaN where the outcome is not evaluable); ``cohort_column`` names each patient's cohort."""
    table = read_patients(data, format=format) if not isinstance(data, pd.DataFrame) else data.copy()
    if cohort_column != "cohort" and cohort_column in table.columns:
        table["cohort"] = table[cohort_column]
    clean = check_patients(table)
    _require_outcomes(clean, table.columns, label_source)
    return clean, binary_target(benefit_label(clean, source=label_source, benefit_months=benefit_months))


#: The columns each label source reads an outcome from (benefit_label).
LABEL_COLUMNS = {"derived": ("pfs_months", "pfs_event", "best_response"), "reported": ("dcb_reported",),
                 "reported_then_derived": ("dcb_reported", "pfs_months", "pfs_event", "best_response")}


def _require_outcomes(clean: pd.DataFrame, given, label_source: str) -> None:
    """Refuse a table without any outcome column for ``label_source``, naming the columns looked for."""
    wanted = LABEL_COLUMNS.get(label_source, LABEL_COLUMNS["derived"])
    if any(c in clean.columns and clean[c].notna().any() for c in wanted):
        return
    shown = trim(", ".join(repr(str(c)) for c in given), 240)
    raise InvalidPatientData(
        f"no outcome column found for --label-source {label_source}: expected one of {', '.join(wanted)} (or an "
        f"alias such as PFS, 'PFS months', 'PFS status', 'Best response') with at least one value. Got the columns "
        f"{shown} instead.")


def comparison_frame(rows: pd.DataFrame, y: np.ndarray, p: np.ndarray, cohort: str | None = None,
                     baselines: tuple[str, ...] = BASELINES) -> pd.DataFrame:
    """What :func:`~icipredict.evaluation.compare.compare_scores` takes: each patient's cohort (``rows``'
    own, or ``cohort``), outcome ``y``, the model's probability ``p`` and the ``baselines``' scores."""
    frame = pd.DataFrame({"cohort": rows["cohort"].astype(str).to_numpy() if cohort is None else cohort,
                          "y": y, MODEL_COLUMN: p})
    base = baseline_scores(rows)
    for b in baselines:
        frame[b] = base[b].to_numpy()
    return frame


def evaluate(model: str | Path | LoadedModel, data: pd.DataFrame | str | Path, *, cohort_column: str = "cohort",
             format: str = "auto", label_source: str = "derived", benefit_months: float = DCB_MONTHS,
             n_boot: int = 1000, seed: int = 0, baselines: tuple[str, ...] = BASELINES,
             progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Metrics of a trained model on labelled patients, per cohort and pooled, beside the baselines.

    Parameters
    ----------
    model : anything :func:`icipredict.load_model` accepts
    data : DataFrame or path in any supported input format
    cohort_column : str
        Column that names each patient's cohort (default ``cohort``).
    label_source, benefit_months
        The label rule (see :func:`icipredict.clinical.benefit_label`).
    n_boot, seed : int
        Bootstrap resamples for the 95% CIs and their seed.
    progress : callable, optional
        A :class:`~icipredict.progress.Progress` shows a bar over the bootstrap.

    Returns
    -------
    DataFrame
        One row per (subset, cohort, score) as :func:`~icipredict.evaluation.compare.compare_scores`;
        patients whose outcome is not evaluable are excluded and counted.

    Examples
    --------
    >>> evaluate("public", "../shared/data/loris_nsclc/msk1.csv", n_boot=200)  # doctest: +SKIP
    """
    n_boot, seed = check_n_boot(n_boot), check_seed(seed)
    loaded = load_model(model)
    clean, target = read_labelled(data, format=format, label_source=label_source, benefit_months=benefit_months,
                                  cohort_column=cohort_column)
    if loaded.has_curve:  # the curve's outcomes first: a PFS without its event flag is refused, as in training
        check_outcomes(clean["pfs_months"], clean["pfs_event"], clean["patient_id"].astype(str).to_numpy())
    if clean["cohort"].isna().all():
        clean["cohort"] = "input"
    clean["cohort"] = clean["cohort"].fillna("unknown")
    ok = target.notna().to_numpy()
    if ok.sum() == 0 or target[ok].nunique() < 2:
        raise InvalidPatientData(
            "evaluation data: expected evaluable patients with both outcomes (durable benefit and primary "
            f"resistance, from pfs_months/pfs_event/best_response). Got {int(ok.sum())} evaluable patients "
            f"and classes {sorted(target[ok].unique().tolist())} instead.")
    rows = clean.loc[ok].reset_index(drop=True)
    frame = comparison_frame(rows, target[ok].astype(int).to_numpy(), loaded.predict_proba(rows), baselines=baselines)
    return compare_scores(frame, baselines=list(baselines), n_boot=n_boot, seed=seed,
                          n_not_evaluable=not_evaluable_counts(clean, target), progress=progress)


def evaluate_curve(model: str | Path | LoadedModel, data: pd.DataFrame | str | Path, *, cohort_column: str = "cohort",
                   format: str = "auto", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame | None:
    """PFS-curve metrics of a time-to-event model on patients with PFS, per cohort and pooled.

    Every patient with a PFS time and event flag counts, censored ones with their follow-up. Beside
    the model: the evaluated patients' own Kaplan-Meier curve and a Cox model on PD-L1 alone fitted
    on the same patients; both references see the outcomes they are scored on, so they are optimistic
    and the model's margin over them is conservative. Returns None for a model without a curve or
    data without PFS.

    Returns
    -------
    DataFrame or None
        :func:`icipredict.evaluation.curves.curve_metrics`: Harrell's and Uno's C, td-AUC and Brier
        at 6 and 12 months, integrated Brier, mean predicted S(t) against Kaplan-Meier, each with n
        and a 95% bootstrap CI.

    Examples
    --------
    >>> evaluate_curve("public", "../shared/data/loris_nsclc/msk1.csv", n_boot=200)  # doctest: +SKIP
    """
    from icipredict.evaluation.curves import DEFAULT_GRID, HeldOutCurves, curve_metrics, model_curve, reference_curves

    n_boot, seed = check_n_boot(n_boot), check_seed(seed)
    loaded = load_model(model)
    if not loaded.has_curve:
        return None
    clean, _ = read_labelled(data, format=format, cohort_column=cohort_column)
    clean["cohort"] = clean["cohort"].fillna("input") if clean["cohort"].notna().any() else "input"
    rows = pfs_rows(clean)
    if rows.empty or rows["pfs_event"].sum() == 0:
        return None
    held = HeldOutCurves(rows, DEFAULT_GRID)
    held.add("model", *model_curve(loaded.model, rows, DEFAULT_GRID))
    for name, (risk, surv) in reference_curves(rows, rows, DEFAULT_GRID).items():
        held.add(name, risk, surv)
    return curve_metrics(held, n_boot=n_boot, seed=seed)
