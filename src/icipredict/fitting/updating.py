"""Local model updating: a centre adapts a model to its own patients and outcomes.

``update(model, data, method="auto")`` implements the updating methods of Janssen et al. (J Clin
Epidemiol 2008; 61:76) and Steyerberg (Clinical Prediction Models, 2nd ed. 2019, ch. 20), on the
final log-odds ``L`` of the model:

* ``intercept``: recalibration in the large, ``L + b``;
* ``logistic``: logistic recalibration, ``a L + b``;
* ``refit``: every coefficient re-estimated on the local data with a ridge penalty toward the
  original ones (spline-logistic models), the penalty chosen by local cross-validation;
* ``extend``: the TIL term re-estimated on the local patients with a TIL measure, the model's own
  TIL term as its prior (:func:`icipredict.fitting.selection.learn_til_term`), then recalibration in the large.

``auto`` chooses by the local number of events (the smaller of durable benefit and primary
resistance, :data:`MIN_EVENTS`) and, among the methods the data can support, by closed testing
(Vergouwe et al., Stat Med 2017; 36:4529): a more complex update is kept only when a likelihood-ratio
test says it fits the local data better (P < 0.05) than the next simpler one, the original model
included. Fewer than ``MIN_EVENTS["intercept"]`` events is a refusal naming the count needed.

The report compares the original and the updated model by cross-validation on the local data (each
fold updated on the others), with AUC, calibration slope and calibration-in-the-large and their CIs.
The new bundle records its parent model and the local data's fingerprint, never a patient row or id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from icipredict.evaluation.distributions import chi2_sf
from icipredict.fitting.folds import stratified_folds
from icipredict.evaluation import format_metrics_markdown
from icipredict.evaluation.metrics import binary_metrics
from icipredict.evaluation.saved import read_labelled
from icipredict.exceptions import InvalidConfig, InvalidPatientData
from icipredict.model.features import MISSING_INPUT_NAMES
from icipredict.model.glm import _ridge_newton
from icipredict.model.bundle import check_bundle_target, save_bundle
from icipredict.fitting.sources import fingerprint
from icipredict.model.metadata import Calibrator, ParentModel, Uncertainty
from icipredict.model.models import IciModel, fit_calibrator
from icipredict.plots import figure_png, plot_update_calibration
from icipredict.progress import progress_iter
from icipredict.fitting.results import UpdateResult  # re-exported
from icipredict.fitting.curve_updating import (CURVE_METHODS, apply_curve_update, compare_curve_update,
                                               curve_closed_testing, local_calibration_table, updated_label)
from icipredict.fitting.curve_updating import with_calibration as _with_calibration
from icipredict.fitting.selection import learn_til_term
from icipredict.model.survival import pfs_rows
from icipredict.serve.predict import LoadedModel, load_model
from icipredict.table.run_limits import check_n_boot, check_seed
from icipredict.table.vocab import DCB_MONTHS, UPDATE_METHODS

__all__ = ["MIN_EVENTS", "UpdateResult", "update", "apply_update", "choose_method"]

#: Events (the smaller outcome class) a method needs: 10 for an intercept (the usual absolute minimum
#: of 10 events per estimated parameter), 25 for intercept and slope, and for refitting 10 per
#: re-estimated coefficient with at least 50 (Riley et al., BMJ 2020; 368:m441, for the sample sizes a
#: model's estimation needs; these cut-offs are the package's, stated here).
MIN_EVENTS: dict[str, int] = {"intercept": 10, "logistic": 25, "refit": 50, "extend": 10}
#: Ridge penalties (per patient, toward the original coefficients) tried by ``refit``.
REFIT_PENALTIES: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
#: Patients with a TIL measure that ``extend`` needs.
MIN_TIL_PATIENTS = 20


def _events(y: np.ndarray) -> int:
    return int(min(y.sum(), len(y) - y.sum()))


def _loglik(y: np.ndarray, logit: np.ndarray) -> float:
    return float(np.sum(y * logit - np.logaddexp(0.0, logit)))


# -- the methods -------------------------------------------------------------------------------------

def _refit(model: IciModel, clean: pd.DataFrame, y: np.ndarray, penalty: float) -> IciModel:
    """Coefficients re-estimated with a ridge penalty toward the original (spline-logistic models)."""
    base = model.base
    inputs = model.inputs(clean)
    a = model.calibrator.a
    start = np.concatenate([[a * base.intercept_ + model.calibrator.b], a * base.coef_])
    offset = model.til_term.contribution(inputs["til"].to_numpy(dtype=float))
    beta, _ = _ridge_newton(base.standardised(inputs), y, penalty, prior=start, offset=offset)
    new = type(base).from_dict({**base.to_dict(), "intercept": float(beta[0]), "coef": beta[1:].tolist()})
    return IciModel(model.family, new, Calibrator(method="none"), model.til_term, model.uncertainty, model.options,
                    model.fit_ids)


def _refit_penalty(model: IciModel, clean: pd.DataFrame, y: np.ndarray, seed: int) -> float:
    """The refit penalty with the best cross-validated log-likelihood on the local data."""
    folds = int(min(5, _events(y)))
    scores = []
    for penalty in REFIT_PENALTIES:
        total = 0.0
        for tr, te in stratified_folds(y, folds, seed):
            fitted = _refit(model, clean.iloc[tr], y[tr], penalty)
            total += _loglik(y[te], fitted.logit(clean.iloc[te]))
        scores.append(total)
    return REFIT_PENALTIES[int(np.argmax(scores))]


def _extend(model: IciModel, clean: pd.DataFrame, y: np.ndarray) -> IciModel:
    """The TIL term re-estimated on local TIL data (the current term as prior), then the intercept."""
    inputs = model.inputs(clean)
    til = inputs["til"].to_numpy(dtype=float)
    rest = model.calibrator.logit(model.base_logit(clean, inputs))
    prior = (model.til_term.beta, max(model.til_term.se, 1e-3))
    term = learn_til_term(til, y, rest, prior, centre=model.til_term.centre, min_patients=MIN_TIL_PATIENTS)
    term = term.model_copy(update={"note": f"re-estimated on {term.n_patients} local patients with a TIL measure, "
                                           f"the parent's TIL term (beta {prior[0]:.3f}, SE {prior[1]:.3f}) as prior"})
    extended = IciModel(model.family, model.base, model.calibrator, term, model.uncertainty, model.options,
                        model.fit_ids, baseline=model.baseline)
    b = fit_calibrator("intercept", extended.logit(clean), y).b
    return _with_calibration(extended, 1.0, b, model.calibrator.method if b == 0 else "intercept")


def _refuse_curve(model: IciModel) -> None:
    """A time-to-event model is not recalibrated on the 6-month log-odds: its calibration acts on the linear
    predictor, and a 6-month recalibration would silently bend the whole curve. :func:`update` takes such a
    model to :mod:`icipredict.fitting.curve_updating` (baseline and slope on local PFS) instead."""
    if model.has_curve:
        raise InvalidConfig(f"model: expected a 6-month model for a 6-month update. Got a {model.family} model with a "
                            "PFS curve: update it with icipredict.update (its baseline survival and slope are "
                            "recalibrated on the centre's own PFS).")


def apply_update(model: IciModel, clean: pd.DataFrame, y: np.ndarray, method: str, *, seed: int = 0) -> IciModel:
    """Fit one updating method on local patients (a clean table) and their 0/1 outcomes."""
    y = np.asarray(y, dtype=float)
    if method == "none":
        return model
    _refuse_curve(model)
    if method in ("intercept", "logistic"):
        cal = fit_calibrator(method, model.logit(clean), y)
        return _with_calibration(model, cal.a, cal.b, method)
    if method == "refit":
        if model.family != "spline_logistic":
            raise InvalidPatientData(f"update --method refit: expected a spline_logistic model (its coefficients are "
                                     f"re-estimated). Got a {model.family} model instead: use --method logistic.")
        return _refit(model, clean, y, _refit_penalty(model, clean, y, seed))
    if method == "extend":
        return _extend(model, clean, y)
    if method.endswith("+extend"):
        return _extend(apply_update(model, clean, y, method.removesuffix("+extend"), seed=seed), clean, y)
    raise ValueError(f"method: expected one of {list(UPDATE_METHODS)}. Got {method!r} instead.")


def _allowed(model: IciModel, clean: pd.DataFrame, events: int) -> list[str]:
    out = [m for m in ("intercept", "logistic") if events >= MIN_EVENTS[m]]
    n_coef = len(getattr(model.base, "coef_", [])) + 1
    if model.family == "spline_logistic" and events >= max(MIN_EVENTS["refit"], 10 * n_coef):
        out.append("refit")
    til_known = int(model.inputs(clean)["til"].notna().sum())
    if til_known >= MIN_TIL_PATIENTS and events >= MIN_EVENTS["extend"]:
        out.append("extend")
    return out


def choose_method(model: IciModel, clean: pd.DataFrame, y: np.ndarray, *, seed: int = 0,
                  alpha: float = 0.05) -> tuple[str, str, list[dict]]:
    """The updating method for these local data: ``(method, reason, likelihood-ratio tests)``.

    Closed testing along original -> intercept -> logistic -> refit: each step is kept only if it
    fits significantly better (likelihood ratio, ``alpha``) than the one kept before it. With enough
    local patients with a TIL measure, ``extend`` (the TIL term re-estimated) is then tested on top.
    """
    return _closed_testing(model, clean, y, seed=seed, alpha=alpha)[:3]


def _closed_testing(model: IciModel, clean: pd.DataFrame, y: np.ndarray, *, seed: int,
                    alpha: float) -> tuple[str, str, list[dict], IciModel]:
    """:func:`choose_method`, and the model it kept (fitted on these data), so that it is not fitted again."""
    y = np.asarray(y, dtype=float)
    events = _events(y)
    allowed = _allowed(model, clean, events)
    if not allowed:
        need = MIN_EVENTS["intercept"]
        raise InvalidPatientData(
            f"update: expected at least {need} patients with durable benefit and {need} with primary resistance "
            f"(evaluable, in the local data) to recalibrate the model. Got {int(y.sum())} and {int(len(y) - y.sum())} "
            f"instead: collect at least {need - events} more of the rarer outcome, or use the model as it is.")
    n_params = {"none": 0, "intercept": 1, "logistic": 2, "refit": len(getattr(model.base, "coef_", [])) + 1}
    kept, kept_model = "none", model
    kept_ll = _loglik(y, model.logit(clean))
    tests = []
    for method in ("intercept", "logistic", "refit"):
        if method not in allowed:
            continue
        fitted = apply_update(model, clean, y, method, seed=seed)
        ll = _loglik(y, fitted.logit(clean))
        df = n_params[method] - n_params[kept]
        stat = max(2 * (ll - kept_ll), 0.0)
        p = float(chi2_sf(stat, df))
        tests.append({"method": method, "versus": kept, "lr": stat, "df": df, "p": p})
        if p < alpha:
            kept, kept_model, kept_ll = method, fitted, ll
    if "extend" in allowed:
        fitted = _extend(kept_model, clean, y)
        ll = _loglik(y, fitted.logit(clean))
        stat = max(2 * (ll - kept_ll), 0.0)
        p = float(chi2_sf(stat, 2))
        tests.append({"method": "extend", "versus": kept, "lr": stat, "df": 2, "p": p})
        if p < alpha:
            kept, kept_model = ("extend" if kept == "none" else f"{kept}+extend"), fitted
    reason = (f"{events} local events (the rarer outcome) allow {', '.join(allowed)} "
              f"(minimum events: {', '.join(f'{m} {MIN_EVENTS[m]}' for m in allowed)}); closed testing kept "
              f"'{kept}'" + (" (no update fits the local data significantly better than the original model)"
                             if kept == "none" else ""))
    return kept, reason, tests, kept_model


# -- before / after --------------------------------------------------------------------------------------

def _compare(model: IciModel, clean: pd.DataFrame, y: np.ndarray, method: str, seed: int,
             n_boot: int, progress: Callable[[str], None] | None = None
             ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Original vs updated by cross-validation on the local data (each fold updated on the others)."""
    before = model.predict_proba(clean)
    after = before.copy()
    if method != "none":
        folds = int(min(5, _events(y)))
        splits = stratified_folds(y, folds, seed)
        for tr, te in progress_iter(progress, splits, "cross-validating the update", unit="folds", total=folds):
            fitted = apply_update(model, clean.iloc[tr], y[tr], method, seed=seed)
            after[te] = fitted.predict_proba(clean.iloc[te])
    label = updated_label(method)
    rows, curves = [], {}
    for name, p in progress_iter(progress if n_boot else None, (("original", before), (label, after)),
                                 f"bootstrap ({n_boot} resamples)", unit="models"):
        rows.append({"model": name, **binary_metrics(y, p, n_boot=n_boot, seed=seed)})
        curves[name] = local_calibration_table(y, p)
    return pd.DataFrame(rows), curves


def _labelled(data: pd.DataFrame | str | Path, *, format: str, label_source: str,
              benefit_months: float) -> tuple[pd.DataFrame, np.ndarray, int]:
    clean, target = read_labelled(data, format=format, label_source=label_source, benefit_months=benefit_months)
    ok = target.notna().to_numpy()
    return clean.loc[ok].reset_index(drop=True), target[ok].to_numpy(dtype=float), int((~ok).sum())


def update(model: str | Path | LoadedModel, data: pd.DataFrame | str | Path, *, method: str = "auto",
           out: str | Path | None = None, replace: bool = False, format: str = "auto",
           label_source: str = "derived", benefit_months: float = DCB_MONTHS, n_boot: int = 500, seed: int = 0,
           progress: Callable[[str], None] = lambda m: None) -> UpdateResult:
    """Update a model on a centre's own patients and outcomes, and write the new bundle.

    Parameters
    ----------
    model : anything :func:`icipredict.load_model` accepts
    data : DataFrame or path in any supported input format, with outcomes (PFS months and event,
        or best response)
    method : {"auto", "intercept", "logistic", "refit", "extend"}
        ``auto`` chooses by the local number of events and closed testing (module docstring).
    out : path, optional
        Where the updated bundle goes (a new directory; ``replace`` for an earlier bundle).
    n_boot, seed : int
        Bootstrap resamples of the before/after CIs, and the seed of every random step.

    Raises
    ------
    InvalidPatientData
        Too few local events for any update (the message names the count needed), or bad data.

    Examples
    --------
    >>> result = update("public", "local_outcomes.csv", out="models/local")  # doctest: +SKIP
    >>> result.method, result.comparison[["model", "roc_auc", "calibration_slope"]]  # doctest: +SKIP
    """
    if method not in UPDATE_METHODS:
        raise InvalidPatientData(f"method: expected one of {list(UPDATE_METHODS)}. Got {method!r} instead.")
    n_boot, seed = check_n_boot(n_boot), check_seed(seed)
    if out is not None:
        check_bundle_target(Path(out), replace=replace, models=[model])  # the model read is never written
    parent = load_model(model)
    if parent.model.has_curve:
        return _update_curve(parent, data, method=method, out=out, replace=replace, format=format,
                             label_source=label_source, benefit_months=benefit_months, n_boot=n_boot, seed=seed,
                             progress=progress)
    clean, y, n_not_evaluable = _labelled(data, format=format, label_source=label_source, benefit_months=benefit_months)
    progress(f"{len(y)} evaluable local patients ({int(y.sum())} durable benefit), {n_not_evaluable} not evaluable")
    if method == "auto":
        chosen, reason, tests, updated = _closed_testing(parent.model, clean, y, seed=seed, alpha=0.05)
    else:
        events = _events(y)
        need = MIN_EVENTS[method]
        if events < need:
            raise InvalidPatientData(
                f"update --method {method}: expected at least {need} patients with durable benefit and {need} with "
                f"primary resistance. Got {int(y.sum())} and {int(len(y) - y.sum())} instead: collect at least "
                f"{need - events} more of the rarer outcome, or choose a simpler method (--method auto).")
        if method == "extend" and int(parent.model.inputs(clean)["til"].notna().sum()) < MIN_TIL_PATIENTS:
            raise InvalidPatientData(
                f"update --method extend: expected at least {MIN_TIL_PATIENTS} local patients with "
                f"{MISSING_INPUT_NAMES['til']}. Got {int(parent.model.inputs(clean)['til'].notna().sum())} instead.")
        chosen, reason, tests = method, f"method '{method}' chosen by the user ({_events(y)} local events)", []
        updated = None
    progress(f"updating: {reason}")
    if updated is None:  # closed testing has already fitted the method it chose
        updated = apply_update(parent.model, clean, y, chosen, seed=seed)
    if chosen != "none":
        # the centre's own calibration replaces the between-centre spread; its precision stays in the interval
        se = 1 / np.sqrt(max(float(np.sum((p := updated.predict_proba(clean)) * (1 - p))), 1e-9))
        updated.uncertainty = Uncertainty(**{**parent.model.uncertainty.model_dump(), "tau": se,
                                             "tau_source": f"local update ({chosen}) on {len(y)} patients: the SE "
                                                           "of the local intercept"})
    comparison, curves = _compare(parent.model, clean, y, chosen, seed, n_boot, progress)
    return _finish(parent, updated, chosen, reason, comparison, curves, tests, y=y,
                   local=clean, n_events=int(y.sum()), n_not_evaluable=n_not_evaluable, out=out, replace=replace,
                   progress=progress)


def _update_curve(parent: LoadedModel, data, *, method: str, out, replace: bool, format: str, label_source: str,
                  benefit_months: float, n_boot: int, seed: int, progress: Callable[[str], None]) -> UpdateResult:
    """:func:`update` for a model with a PFS curve: every local patient with PFS, censored ones included."""
    clean, target = read_labelled(data, format=format, label_source=label_source, benefit_months=benefit_months)
    pfs = pfs_rows(clean)
    events = int(pfs["pfs_event"].sum())
    progress(f"{len(pfs)} local patients with PFS ({events} progressed or died, {len(pfs) - events} censored), "
             f"{len(clean) - len(pfs)} without; {int(target.notna().sum())} evaluable local patients for the 6-month "
             "metrics")
    if method == "auto":
        chosen, reason, tests, updated = curve_closed_testing(parent.model, pfs, min_events=MIN_EVENTS)
    else:
        if method not in CURVE_METHODS:
            raise InvalidPatientData(
                f"update --method {method}: expected one of {list(CURVE_METHODS)} for a model with a PFS curve (the "
                f"baseline survival, then its slope). Got '{method}' instead: use --method auto.")
        if events < MIN_EVENTS[method]:
            raise InvalidPatientData(
                f"update --method {method}: expected at least {MIN_EVENTS[method]} local patients with a progression "
                f"(or death). Got {events} instead: collect at least {MIN_EVENTS[method] - events} more, or choose a "
                "simpler method (--method auto).")
        chosen, reason, tests = method, f"method '{method}' chosen by the user ({events} local progressions)", []
        updated = apply_curve_update(parent.model, pfs, method)
    progress(f"updating: {reason}")
    if chosen != "none":
        # the centre's own baseline replaces the between-centre spread; the SE of its log(O/E) stays in the band
        updated.uncertainty = Uncertainty(**{**parent.model.uncertainty.model_dump(), "tau": 1 / np.sqrt(max(events, 1)),
                                             "tau_source": f"local update ({chosen}) on {len(pfs)} patients with PFS: "
                                                           "the SE of the local log observed/expected events"})
    comparison, curves, y = compare_curve_update(parent.model, pfs, chosen, seed=seed, n_boot=n_boot,
                                                 benefit_months=benefit_months, progress=progress)
    return _finish(parent, updated, chosen, reason, comparison, curves, tests, y=y,
                   local=pfs, n_events=events, n_not_evaluable=len(clean) - len(pfs), out=out, replace=replace,
                   progress=progress)


def _finish(parent: LoadedModel, updated: IciModel, chosen: str, reason: str, comparison: pd.DataFrame,
            curves: dict[str, pd.DataFrame], tests: list[dict], *, y: np.ndarray, local: pd.DataFrame, n_events: int,
            n_not_evaluable: int, out, replace: bool, progress: Callable[[str], None]) -> UpdateResult:
    """The end of both kinds of update: the updated model's metadata (with its parent), model card, calibration
    figure and, when ``out`` is given, its bundle. ``local`` holds the patients the update used.
    """
    meta = parent.metadata.model_copy(deep=True, update={
        "name": f"{parent.metadata.name}-updated", "calibrator": updated.calibrator, "til_term": updated.til_term,
        "uncertainty": updated.uncertainty,
        "parent": ParentModel(name=parent.metadata.name, version=parent.version, method=chosen,
                              n_patients=len(local), n_events=n_events, fingerprint=fingerprint(local))})
    result = UpdateResult(updated, meta, chosen, reason, comparison, curves, tests)
    result.card = _update_card(parent, result, n_not_evaluable)
    result.figures = {"update_calibration.png": figure_png(plot_update_calibration(y, comparison, curves))}
    if out is not None:
        result.bundle_path = save_bundle(Path(out), meta, updated.saved_state(), model_card=result.card,
                                         extra_files={f"plots/{k}": v for k, v in result.figures.items()},
                                         replace=replace)
        progress(f"updated model written to {result.bundle_path}")
    return result


def _s12_lines(result: UpdateResult) -> list[str]:
    """S(12) against the local Kaplan-Meier S(12), overall and by risk group (a curve model's update)."""
    comp = result.comparison
    if "mean_predicted_12m" not in comp.columns:
        return []
    lines = ["## S(12) on the local data (every patient with PFS, cross-validated)",
             "| model | n with PFS | mean predicted S(12) | Kaplan-Meier S(12) (95% CI) |", "|---|---:|---:|---|"]
    for _, r in comp.iterrows():
        lines.append(f"| {r['model']} | {int(r['n_pfs'])} | {r['mean_predicted_12m']:.3f} | {r['km_12m']:.3f} "
                     f"({r['km_12m_low']:.3f}-{r['km_12m_high']:.3f}) |")
    lines += ["", "By risk quarter (predicted S(12)):", "", "| model | group | n | events | mean predicted | "
              "Kaplan-Meier (95% CI) |", "|---|---:|---:|---:|---:|---|"]
    for name, table in result.curves.items():
        if not name.endswith("S(12)"):
            continue
        for _, r in table.iterrows():
            km = "NA" if pd.isna(r["observed"]) else f"{r['observed']:.3f} ({r['observed_low']:.3f}-{r['observed_high']:.3f})"
            lines.append(f"| {name.removesuffix(' S(12)')} | {int(r['group'])} | {int(r['n'])} | {int(r['n_events'])} | "
                         f"{r['mean_predicted']:.3f} | {km} |")
    return lines + [""]


def _update_card(parent: LoadedModel, result: UpdateResult, n_not_evaluable: int) -> str:
    comp = result.comparison.assign(cohort="local data", n_not_evaluable=n_not_evaluable)
    lines = [
        f"# Model card: {result.metadata.name}",
        "",
        f"Updated from `{parent.metadata.name}` ({parent.version}) on a centre's own patients: method "
        f"**{result.method}**. {result.reason}.",
        "",
        "## Before and after on the local data (cross-validated: each fold updated on the others)",
        format_metrics_markdown(comp, columns=("roc_auc", "calibration_slope", "calibration_intercept", "brier")),
        "",
        *_s12_lines(result),
        "## Closed testing (likelihood-ratio tests)",
        "| method | versus | LR | df | P |",
        "|---|---|---:|---:|---:|",
        *[f"| {t['method']} | {t['versus']} | {t['lr']:.2f} | {t['df']} | {t['p']:.3g} |" for t in result.tests],
        "",
        f"Local data fingerprint (no rows, no identifiers): {result.metadata.parent.fingerprint}.",
        "",
        "The parent model's card follows.",
        "",
        (parent.path / "model_card.md").read_text() if (parent.path / "model_card.md").is_file() else "",
    ]
    return "\n".join(lines) + "\n"
