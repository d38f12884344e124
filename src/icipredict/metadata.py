"""The typed contract of a model bundle's ``model.json``.

Training builds one :class:`ModelMetadata`; :func:`icipredict.io.bundle.read_bundle` validates it
once on load (a missing or wrong key is a :class:`~icipredict.exceptions.ModelLoadError`), and every
reader (serving, report, model card, tracking) uses its attributes. Nothing here touches files or
imports a heavy library.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from icipredict.vocab import (BENEFIT_GROUP_THRESHOLDS, CALIBRATION_METHODS, DCB_MONTHS, LABEL_SOURCES, MODEL_NAMES,
                              TIME_NUMBERINGS)

__all__ = [
    "FORMAT_VERSION",
    "FeatureOptions",
    "Calibrator",
    "EstimatorSpec",
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
    """Cut-offs and switches of the feature builder (a training config section, kept in the bundle)."""

    pdl1_cutoff: float = Field(1.0, ge=0, le=100, description="TPS % for PD-L1 positive (TIME class)")
    til_pct_cutoff: float = Field(10.0, ge=0, le=100, description="stromal TIL % for TIL-high")
    til_density_cutoff: float = Field(250.0, ge=0, description="TIL cells/mm2 for TIL-high")
    exclude: list[str] = Field(default_factory=list, description="model features to leave out")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


class Calibrator(_Strict):
    """Map from the base model's score (log-odds) to a calibrated probability.

    ``sigmoid`` is Platt scaling, ``p = 1 / (1 + exp(-(a * score + b)))``; ``isotonic`` a monotone
    step function through ``(x_thresholds, y_thresholds)``; ``none`` the base model's own
    probability. Fitting lives in :func:`icipredict.models.fit_calibrator`.
    """

    method: Literal[CALIBRATION_METHODS] = "sigmoid"  # type: ignore[valid-type]
    a: float = 1.0
    b: float = 0.0
    x_thresholds: list[float] = Field(default_factory=list)
    y_thresholds: list[float] = Field(default_factory=list)

    def predict(self, score: np.ndarray) -> np.ndarray:
        score = np.asarray(score, dtype=float)
        if self.method == "sigmoid":
            return _sigmoid(self.a * score + self.b)
        if self.method == "isotonic":
            return np.interp(score, self.x_thresholds, self.y_thresholds)
        return _sigmoid(score)


class EstimatorSpec(_Strict):
    """How the base estimator was built: enough to rebuild the model object around its weights."""

    name: Literal[MODEL_NAMES]  # type: ignore[valid-type]
    file: str
    params: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, list[Any]] = Field(default_factory=dict)
    best_params: dict[str, Any] = Field(default_factory=dict)
    calibration: Literal[CALIBRATION_METHODS] = "sigmoid"  # type: ignore[valid-type]
    inner_folds: int = 5
    band_only_share: float = 0.0
    mask_share: float = 0.0
    monotone: bool = False
    random_state: int = 0


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
    feature_names: list[str]
    feature_options: FeatureOptions = Field(default_factory=FeatureOptions)
    calibrator: Calibrator
    label_rule: LabelRule = Field(default_factory=LabelRule)
    benefit_thresholds: BenefitThresholds = Field(default_factory=BenefitThresholds)
    benefit_groups_cv: list[dict[str, Any]] = Field(default_factory=list)
    time_numbering: Literal[TIME_NUMBERINGS] = "seed"  # type: ignore[valid-type]
    training: TrainingProfile
    config: dict[str, Any] = Field(default_factory=dict, description="the training config, without paths")
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    metrics_markdown: str = ""
    calibration_cv: list[dict[str, float]] = Field(default_factory=list)
