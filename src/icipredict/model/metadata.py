"""The typed contract of a model bundle's ``model.json``.

Training builds one :class:`ModelMetadata`; :func:`icipredict.model.bundle.read_bundle` validates it
once on load (a missing or wrong key is a :class:`~icipredict.exceptions.ModelLoadError`), and every
reader (serving, report, model card, tracking) uses its attributes. Nothing here touches files or
imports a heavy library.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from icipredict.clinical.til import DEFAULT_TIL_CUTOFFS, Cutoff
from icipredict.model.glm import sigmoid
from icipredict.table.vocab import BENEFIT_GROUP_THRESHOLDS, DCB_MONTHS, LABEL_SOURCES, MODEL_NAMES, TIME_NUMBERINGS

__all__ = [
    "FORMAT_VERSION",
    "FeatureOptions",
    "Calibrator",
    "EstimatorSpec",
    "TilTerm",
    "Uncertainty",
    "Signal",
    "ParentModel",
    "BenefitThresholds",
    "LabelRule",
    "ValueRange",
    "CohortCounts",
    "SourceSummary",
    "DataSummary",
    "TrainingProfile",
    "ModelMetadata",
]

#: Version of the bundle layout this package reads and writes.
FORMAT_VERSION = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class FeatureOptions(_Strict):
    """Cut-offs and switches of the feature builder (a training config section, kept in the bundle).

    TIL cut-offs and their sources: :mod:`icipredict.clinical.til`.
    """

    pdl1_cutoff: float = Field(1.0, ge=0, le=100, description="TPS % for PD-L1 positive (TIME class)")
    til_density_cutoff: Cutoff = Field(DEFAULT_TIL_CUTOFFS["til_density"],
                                       description="TIL cells/mm2 on H&E (Rakaee et al. 2023)")
    til_pct_cutoff: Cutoff = Field(DEFAULT_TIL_CUTOFFS["til_pct"],
                                   description="stromal TIL % on H&E (Gataa et al. 2021)")
    cd8_density_cutoff: Cutoff = Field(DEFAULT_TIL_CUTOFFS["cd8_density"], description="CD8+ cells/mm2 by IHC")
    cd8_score_cutoff: Cutoff = Field(DEFAULT_TIL_CUTOFFS["cd8_score"], description="a published CD8 IHC score")
    immune_rna_cutoff: Cutoff = Field(DEFAULT_TIL_CUTOFFS["immune_rna_score"],
                                      description="RNA immune score (within-cohort z-score)")
    exclude: list[str] = Field(default_factory=list, description="tree-model features to leave out")

    def til_cutoffs(self) -> dict[str, Cutoff]:
        """Cut-off per TIL measure, as :func:`icipredict.clinical.til.til_status` takes them."""
        return {"til_density": self.til_density_cutoff, "til_pct": self.til_pct_cutoff,
                "cd8_density": self.cd8_density_cutoff, "cd8_score": self.cd8_score_cutoff,
                "immune_rna_score": self.immune_rna_cutoff}


class Calibrator(_Strict):
    """Map from the base model's log-odds ``z`` to the calibrated log-odds ``a * z + b``.

    ``none`` is the identity; ``slope`` (training) shrinks ``z`` by the slope of the
    leave-one-study-out predictions, capped at 1, and re-estimates the intercept on the development
    data; ``intercept`` and ``logistic`` are local updates (:mod:`icipredict.fitting.updating`). Fitting
    lives in :func:`icipredict.model.models.fit_calibrator`.
    """

    method: Literal["none", "slope", "intercept", "logistic"] = "none"
    a: float = 1.0
    b: float = 0.0

    def logit(self, z: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(z, dtype=float) + self.b

    def predict(self, z: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(z))


class EstimatorSpec(_Strict):
    """The base model's family and hyperparameters; its fitted state lives in ``file``."""

    name: Literal[MODEL_NAMES]  # type: ignore[valid-type]
    file: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str = ""
    random_state: int = 0
    feature_names: list[str] = Field(default_factory=list, description="tree models: their feature columns")


class TilTerm(_Strict):
    """The TIL term added to the calibrated log-odds: ``beta * (til_positive - centre)``, 0 when unknown.

    ``source`` says where ``beta`` comes from: the cited prior alone, or the prior updated by TIL
    data (a normal prior times the likelihood, Laplace approximation), with the data's size.
    """

    beta: float = 0.0
    se: float = 0.0
    centre: float = 0.5
    source: Literal["prior", "learned", "none"] = "none"
    prior_beta: float = 0.0
    prior_se: float = 0.0
    n_patients: int = 0
    n_events: int = 0
    note: str = ""

    def contribution(self, til: np.ndarray) -> np.ndarray:
        til = np.asarray(til, dtype=float)
        return np.where(np.isnan(til), 0.0, self.beta * (til - self.centre))

    def variance(self, til: np.ndarray) -> np.ndarray:
        """Variance of the term: from ``se`` when TIL is known; when unknown, also the spread of the
        term over a TIL-high share of ``centre``."""
        til = np.asarray(til, dtype=float)
        spread = self.centre * (1 - self.centre)
        known = (til - self.centre) ** 2 * self.se ** 2
        unknown = spread * (self.beta ** 2 + self.se ** 2)
        return np.where(np.isnan(til), unknown, known)


class Uncertainty(_Strict):
    """What ``p_low`` / ``p_high`` are made of, on the calibrated log-odds scale (``icipredict.model.models``)."""

    level: float = Field(0.9, gt=0, lt=1)
    tau: float = Field(0.0, ge=0, description="between-centre SD of calibration-in-the-large")
    tau_source: str = ""
    parameter: Literal["covariance", "none"] = "none"
    input_variance: dict[str, float] = Field(default_factory=dict, description="per model input, unknown")
    band_variance: dict[str, float] = Field(default_factory=dict, description="PD-L1 within each TPS band")
    checks: dict[str, Any] = Field(default_factory=dict, description="how the intervals behaved, and on what")


class Signal(_Strict):
    """Whether the fitted model carries signal: ``none`` is reported loudly by training and prediction."""

    status: Literal["ok", "weak", "none"] = "ok"
    reasons: list[str] = Field(default_factory=list)


class ParentModel(_Strict):
    """The model an updated bundle was derived from, and the local data it was updated on (no rows)."""

    name: str
    version: str
    method: str
    n_patients: int
    n_events: int
    fingerprint: str


class BenefitThresholds(_Strict):
    """Limits of the benefit groups: low below ``low``, high from ``high``."""

    low: float = Field(BENEFIT_GROUP_THRESHOLDS["low"], gt=0, lt=1)
    high: float = Field(BENEFIT_GROUP_THRESHOLDS["high"], gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> "BenefitThresholds":
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class LabelRule(_Strict):
    source: Literal[LABEL_SOURCES] = "derived"  # type: ignore[valid-type]
    benefit_months: float = DCB_MONTHS
    positive_class: Literal["durable_benefit"] = "durable_benefit"


class ValueRange(_Strict):
    min: float
    max: float
    p01: float
    p99: float
    missing_share: float


class CohortCounts(_Strict):
    n: int
    durable_benefit: int
    primary_resistance: int
    not_evaluable: int


class SourceSummary(_Strict):
    n: int
    role: Literal["train", "external"]
    format: str
    fingerprint: str
    removed_overlap_with_training: int = 0


class DataSummary(_Strict):
    sources: dict[str, SourceSummary] = Field(default_factory=dict)
    duplicates_removed: int = 0


class TrainingProfile(_Strict):
    """What the training population looked like (for out-of-distribution warnings at prediction)."""

    n: int
    n_evaluable: int
    n_durable_benefit: int
    ranges: dict[str, ValueRange] = Field(default_factory=dict)
    regimens: list[str] = Field(default_factory=list)
    tmb_assay_kinds: list[str] = Field(default_factory=list)
    driver_positive_share: float = 0.0
    cohorts: list[str] = Field(default_factory=list)
    til_measured_share: float = 0.0
    labels: dict[str, int] = Field(default_factory=dict)
    per_cohort: dict[str, CohortCounts] = Field(default_factory=dict)
    data: DataSummary = Field(default_factory=DataSummary)
    loco_skipped: list[str] = Field(default_factory=list)


class ModelMetadata(_Strict):
    """Everything ``model.json`` holds. Counts and metrics only: never a patient row or identifier."""

    format_version: Literal[FORMAT_VERSION] = FORMAT_VERSION  # type: ignore[valid-type]
    name: str
    icipredict_version: str
    estimator: EstimatorSpec
    feature_options: FeatureOptions = Field(default_factory=FeatureOptions)
    calibrator: Calibrator
    til_term: TilTerm = Field(default_factory=TilTerm)
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    signal: Signal = Field(default_factory=Signal)
    parent: ParentModel | None = None
    label_rule: LabelRule = Field(default_factory=LabelRule)
    benefit_thresholds: BenefitThresholds = Field(default_factory=BenefitThresholds)
    benefit_groups_cv: list[dict[str, Any]] = Field(default_factory=list)
    time_numbering: Literal[TIME_NUMBERINGS] = "seed"  # type: ignore[valid-type]
    training: TrainingProfile
    config: dict[str, Any] = Field(default_factory=dict, description="the training config, without paths")
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    metrics_markdown: str = ""
    calibration_cv: list[dict[str, float]] = Field(default_factory=list)
    selection: list[dict[str, Any]] = Field(default_factory=list, description="candidates and their scores")
    time_class_rates: dict[str, dict[str, int]] = Field(default_factory=dict,
                                                        description="durable benefit / n per TIME class in training")
    pdl1_status_rates: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="durable benefit / n per PD-L1 status (at the TIME cut-off) in training")
