"""What the patient report says: :class:`PatientReport` and :func:`build_report`, no rendering, no I/O.

:func:`build_report` turns one row of :func:`icipredict.predict` (with ``explain=k``) and the
model's metadata into a :class:`PatientReport` whose properties are the report's sentences, each
written once: the HTML (:mod:`icipredict.report.html`) and the one-page figure
(:mod:`icipredict.report.figures`) both read them. Writing files is :mod:`icipredict.report.patient`.

>>> import icipredict
>>> row = icipredict.predict({"patient_id": "p1", "pdl1_tps": 60}, explain=3).iloc[0]
>>> build_report(row, icipredict.load_model("public").metadata).group_text
'High likelihood of durable benefit'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from icipredict.clinical.time_class import NUMBERINGS, describe_pair, read_pair
from icipredict.model.features import MISSING_INPUT_COLUMNS, MISSING_INPUT_NAMES
from icipredict.table.labels import (GROUP_WORDS, MISSING_INPUT_WORDS, column_label, is_missing, percent, points,
                                    value_label)
from icipredict.model.groups import benefit_group_meanings, benefit_groups_text, scheme_text as _scheme_text
from icipredict.model.metadata import ModelMetadata
from icipredict.report.curve import NO_CURVE_TEXT, CurveSummary
from icipredict.table.vocab import BENEFIT_GROUP_THRESHOLDS, DCB_MONTHS

__all__ = ["PatientReport", "Contribution", "TimeCell", "build_report", "REPORT_EXPLAIN", "MIN_EFFECT",
           "benefit_group_meanings", "benefit_groups_text"]

#: Contributions asked of ``predict`` for the report.
REPORT_EXPLAIN = 8
#: Contributions smaller than this (in probability, 0.05 points) are left out: they would print as 0.0.
MIN_EFFECT = 0.0005
#: Where each TIME class numbering (:data:`~icipredict.clinical.time_class.NUMBERINGS`) comes from.
_NUMBERING_SOURCES = {"seed": "this package's default", "teng": "Teng et al., Cancer Res 2015"}
#: A ``missing_inputs`` item -> (canonical columns, words) of its input.
_MISSING_ITEMS = {MISSING_INPUT_NAMES[k]: (MISSING_INPUT_COLUMNS[k], MISSING_INPUT_WORDS[k])
                  for k in MISSING_INPUT_NAMES}


def _missing_item(text: str) -> tuple[str, str]:
    """A ``missing_inputs`` item as (canonical columns, words); an item of no known input as itself twice."""
    return _MISSING_ITEMS.get(text, (text, text))


@dataclass(frozen=True)
class Contribution:
    """One input that moved the estimate: canonical column, words, probability points, log-odds."""

    feature: str
    label: str
    effect: float
    shap: float

    @property
    def points_text(self) -> str:
        """The effect in signed percentage points, as the table and the chart print it: ``"+10.9"``."""
        return points(self.effect, unit=False)


@dataclass(frozen=True)
class TimeCell:
    """One cell of the TIME class 2x2: its status pair, its label in the numbering, what training saw."""

    pdl1: int
    til: int
    label: str
    n: int | None = None
    durable_benefit: int | None = None

    @property
    def pair(self) -> str:
        return describe_pair(self.pdl1, self.til)

    @property
    def rate_text(self) -> str:
        if self.n is None:
            return "rate not known"
        if self.n == 0:
            return "no training patients"
        return f"{self.durable_benefit} of {self.n} ({percent(self.durable_benefit / self.n)}) had durable benefit"


@dataclass
class PatientReport:
    """Everything the report says about one patient, with the sentences it says it in."""

    patient_id: str
    p: float
    p_low: float | None
    p_high: float | None
    level: float
    group: str | None
    thresholds: tuple[float, float]
    model_version: str
    time_class: str
    pdl1_status: int | None
    til_status: int | None
    numbering: str
    cells: list[TimeCell]
    til_source: str
    til_source_text: str
    til_effect_text: str
    rates_text: str
    contributions: list[Contribution]
    calibration: pd.DataFrame
    calibration_scheme: str
    missing: list[tuple[str, str]]
    not_used: list[tuple[str, str]]
    warnings: list[str]
    groups_text: str
    update_text: str
    extra: dict[str, Any] = field(default_factory=dict)
    #: The progression-free curve, when the model has one (:mod:`icipredict.report.curve`;
    #: :func:`icipredict.report.patient.add_curve` sets it).
    curve: CurveSummary | None = None

    # -- sentences -------------------------------------------------------------------------------
    #: Said in place of the progression-free curve when the model has none.
    no_curve_text = NO_CURVE_TEXT
    #: Said in place of the contributions when no input moved the estimate.
    no_contributions_text = "No input moved this estimate: it is the training average."
    #: Heads the caveat (:attr:`update_text`).
    caveat_title = "Before using these numbers elsewhere:"

    @property
    def p_text(self) -> str:
        """The probability as the report prints it (``predict``'s value rounded to a whole percent)."""
        return percent(self.p)

    @property
    def interval_text(self) -> str:
        if self.p_low is None or self.p_high is None:
            return ""
        return f"{self.level:.0%} interval: {percent(self.p_low)} to {percent(self.p_high)}"

    @property
    def group_text(self) -> str:
        words = GROUP_WORDS.get(self.group or "", self.group or "")
        return words[:1].upper() + words[1:]

    @property
    def outcome_text(self) -> str:
        return (f"probability of durable clinical benefit (progression-free for at least {DCB_MONTHS:g} months "
                "on immune checkpoint inhibitor therapy)")

    @property
    def time_status_text(self) -> str:
        """The TIME class in words: the class, or which status is not known."""
        if self.pdl1_status is not None and self.til_status is not None:
            return f"TIME class {self.time_class}"
        unknown = [name for name, s in (("PD-L1", self.pdl1_status), ("TIL", self.til_status)) if s is None]
        return f"TIME class {self.time_class}: {' and '.join(unknown)} not given"

    @property
    def numbering_text(self) -> str:
        if self.numbering not in NUMBERINGS:
            return f"Numbering: {self.numbering}."
        classes = sorted((label, describe_pair(*pair)) for pair, label in NUMBERINGS[self.numbering].items())
        return (f"Numbering: {_NUMBERING_SOURCES.get(self.numbering, self.numbering)} "
                f"({', '.join(f'{label} {pair}' for label, pair in classes)}).")

    def patient_cell(self, cell: TimeCell) -> Literal["this", "maybe", ""]:
        """Whether ``cell`` is the patient's TIME cell: "this"; "maybe" when one status is known and the cell
        has it (the patient is in one of two cells); "" otherwise."""
        if (cell.pdl1, cell.til) == (self.pdl1_status, self.til_status):
            return "this"
        if ((self.til_status is None and self.pdl1_status == cell.pdl1)
                or (self.pdl1_status is None and self.til_status == cell.til)):
            return "maybe"
        return ""

    @property
    def nearest_bin(self) -> pd.Series | None:
        if self.calibration.empty:
            return None
        return self.calibration.loc[(self.calibration["mean_predicted"] - self.p).abs().idxmin()]

    @property
    def calibration_text(self) -> str:
        """Where the patient sits on the calibration curve, in one sentence."""
        c = self.calibration
        if c.empty:
            return "This model carries no calibration curve: how well its probabilities match outcomes is not known."
        lo, hi = float(c["mean_predicted"].min()), float(c["mean_predicted"].max())
        if self.p < lo - 0.05 or self.p > hi + 0.05:
            return (f"This estimate lies beyond most training predictions (bin averages {percent(lo)} to "
                    f"{percent(hi)}): the calibration curve does not check it.")
        b = self.nearest_bin
        return (f"Training patients predicted near this value ({int(b['n'])} patients, average prediction "
                f"{percent(b['mean_predicted'])}) had durable benefit in {percent(b['observed'])} "
                f"(95% CI {percent(b['observed_low'])} to {percent(b['observed_high'])}).")

    @property
    def calibration_caption(self) -> str:
        low, high = (percent(t) for t in self.thresholds)
        return (f"Dots: training patients grouped by their predicted probability ({self.calibration_scheme}); "
                "the height of each dot is the share who had durable benefit, its bar the 95% confidence interval. "
                "Dots on the diagonal mean the predictions matched outcomes on average. Shaded columns: the "
                f"benefit groups (low below {low}, intermediate, high from {high}). Solid line: this patient's "
                f"estimate; hatched band: its {self.level:.0%} interval.")

    @property
    def not_used_text(self) -> str:
        """What the inputs given but not used (``inputs_not_used``) mean."""
        if not self.not_used:
            return "Every input given was used."
        return ("Given, but not used by this model for this patient: the estimate is the same with or without "
                "them.")

    @property
    def missing_text(self) -> str:
        if not self.missing:
            return "Every input the model uses was given."
        interval = f" ({percent(self.p_low)} to {percent(self.p_high)})" if self.p_low is not None else ""
        return ("An input not given is read as unknown: the estimate rests on the inputs given, and its "
                f"{self.level:.0%} interval{interval} includes the uncertainty about the unknown ones.")


def _cells(meta: ModelMetadata | None) -> list[TimeCell]:
    numbering = NUMBERINGS[meta.time_numbering if meta is not None else "seed"]
    rates = meta.time_class_rates if meta is not None else {}
    cells = []
    for til in (1, 0):
        for pdl1 in (0, 1):
            r = rates.get(describe_pair(pdl1, til)) if rates else None
            n = int(r["n"]) if r else (0 if rates else None)
            cells.append(TimeCell(pdl1, til, numbering[(pdl1, til)], n, int(r["durable_benefit"]) if r else
                                  (0 if rates else None)))
    return cells


def _til_texts(row: Mapping[str, Any], meta: ModelMetadata | None,
               patient: Mapping[str, Any] | None) -> tuple[str, str, str]:
    """(which measure set the TIL status, where the TIL effect comes from, what is known of class rates)."""
    source = "" if is_missing(row.get("til_source")) else str(row.get("til_source"))
    if source:
        value = (patient or {}).get(source)
        shown = value_label(source, value) if not is_missing(value) else source
        source_text = f"TIL status set by {shown} (column {source})."
    else:
        source_text = "No TIL measure given: the TIL status is unknown."
    if meta is None:
        return source_text, "", "Class-level durable-benefit rates not known (no model metadata)."
    term = meta.til_term
    measured = bool(meta.time_class_rates)
    if term.source == "none":
        effect = "This model has no TIL term: the TIL status does not change its probability."
    elif term.source == "prior" or not measured:
        effect = (f"TIL not measured in the training data; the TIL effect is a cited prior (log-odds "
                  f"{term.beta:+.2f} for TIL positive vs negative, SE {term.se:.2f}; see the model card).")
    else:
        effect = (f"The TIL effect was learned from {term.n_patients} training patients with a TIL measure "
                  f"({term.n_events} with durable benefit), shrunk toward the cited prior: log-odds "
                  f"{term.beta:+.2f} for TIL positive vs negative, SE {term.se:.2f}.")
    if measured:
        n = sum(int(v["n"]) for v in meta.time_class_rates.values())
        rates = (f"Rates per class: the {n} training patients whose PD-L1 and TIL status were both known "
                 "(not adjusted for anything else).")
    else:
        rates = "Class-level durable-benefit rates not known: no training patient has a TIME class."
        by_pdl1 = [f"{k} {v['durable_benefit']}/{v['n']} ({v['durable_benefit'] / v['n']:.0%})"
                   for k, v in meta.pdl1_status_rates.items() if v["n"]]
        if by_pdl1:
            cut = meta.feature_options.pdl1_cutoff
            rates += f" By PD-L1 alone (TPS cut-off {cut:g}%), durable benefit in training: {', '.join(by_pdl1)}."
    return source_text, effect, rates


def _contributions(row: Mapping[str, Any], patient: Mapping[str, Any] | None) -> list[Contribution]:
    ranks = sorted({int(m.group(1)) for k in row if (m := re.match(r"top(\d+)_feature$", str(k)))})
    out = []
    for i in ranks:
        feature, effect, shap = row.get(f"top{i}_feature"), row.get(f"top{i}_effect"), row.get(f"top{i}_shap")
        if is_missing(feature) or is_missing(effect) or is_missing(shap) or abs(float(effect)) < MIN_EFFECT:
            continue  # an input that moved nothing explains nothing
        value = row.get(f"top{i}_value")
        out.append(Contribution(str(feature), value_label(str(feature), value, patient), float(effect), float(shap)))
    return out


def _update_text(meta: ModelMetadata | None) -> str:
    command = "icipredict update --model MODEL --input local_outcomes.csv --output models/local"
    if meta is not None and meta.parent is not None:
        par = meta.parent
        return (f"This model was updated on local outcomes ({par.method}, {par.n_patients} patients, {par.n_events} "
                f"with durable benefit) from {par.name}. Update it again when the case mix or assays change "
                f"({command}).")
    cohorts = ", ".join(meta.training.cohorts) if meta is not None and meta.training.cohorts else "the training studies"
    return (f"The probabilities are calibrated to {cohorts}. Before reading them as absolute probabilities at "
            f"another centre, recalibrate on local outcomes ({command}); the ranking of patients transfers better "
            "than the absolute level.")


def build_report(row: Mapping[str, Any], metadata: ModelMetadata | None = None,
                 patient: Mapping[str, Any] | None = None) -> PatientReport:
    """The report's content for one row of :func:`icipredict.predict`.

    Parameters
    ----------
    row : mapping
        One row of ``predict``'s output, ideally with ``explain=k`` (``top{i}_*`` columns).
    metadata : ModelMetadata, optional
        The model's metadata (thresholds, calibration curve, TIME numbering and rates, TIL term);
        without it the report says what it cannot tell.
    patient : mapping, optional
        The patient's canonical values (e.g. the TMB assay, shown beside the TMB).

    Returns
    -------
    PatientReport

    Examples
    --------
    >>> import icipredict
    >>> row = icipredict.predict({"patient_id": "p1", "pdl1_tps": 60, "tmb": 16.5}, explain=3).iloc[0]
    >>> rep = build_report(row, icipredict.load_model("public").metadata, {"tmb_assay": "MSK-IMPACT"})
    >>> rep.contributions[0].label
    'PD-L1 TPS 60%'
    """
    row = dict(row)
    meta = metadata
    p = float(row["p_durable_benefit"])
    low, high = row.get("p_low"), row.get("p_high")
    thr = meta.benefit_thresholds if meta is not None else None
    thresholds = (thr.low, thr.high) if thr is not None else (BENEFIT_GROUP_THRESHOLDS["low"],
                                                             BENEFIT_GROUP_THRESHOLDS["high"])
    time_class = str(row.get("time_class") or "unknown (PD-L1?/TIL?)")
    pdl1_status, til_status = read_pair(time_class)
    source_text, effect_text, rates_text = _til_texts(row, meta, patient)
    missing = [_missing_item(m) for m in str(row.get("missing_inputs") or "").split("; ") if m]
    calibration = pd.DataFrame(meta.calibration_cv if meta is not None else [])
    if not calibration.empty:
        calibration = calibration.sort_values("mean_predicted").reset_index(drop=True)
    return PatientReport(
        patient_id=str(row["patient_id"]), p=p,
        p_low=None if is_missing(low) else float(low), p_high=None if is_missing(high) else float(high),
        level=meta.uncertainty.level if meta is not None else 0.9,
        group=None if is_missing(row.get("benefit_group")) else str(row["benefit_group"]), thresholds=thresholds,
        model_version=str(row.get("model_version") or (meta.name if meta is not None else "")),
        time_class=time_class, pdl1_status=pdl1_status, til_status=til_status,
        numbering=meta.time_numbering if meta is not None else "seed", cells=_cells(meta),
        til_source="" if is_missing(row.get("til_source")) else str(row["til_source"]),
        til_source_text=source_text, til_effect_text=effect_text, rates_text=rates_text,
        contributions=_contributions(row, patient), calibration=calibration,
        calibration_scheme=_scheme_text(meta) if meta is not None else "",
        missing=missing, not_used=[(c, column_label(c)) for c in str(row.get("inputs_not_used") or "").split("; ") if c],
        warnings=[w for w in str(row.get("warnings") or "").split("; ") if w],
        groups_text=benefit_groups_text(meta), update_text=_update_text(meta))
