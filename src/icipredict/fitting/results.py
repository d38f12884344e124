"""What a training run and an update produce: :class:`TrainingResult` and :class:`UpdateResult`.

Both live here, apart from the code that makes them, so that the card, the figures and the MLflow
logging of a run read them without importing training or updating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from icipredict.config import Config
from icipredict.fitting.selection import IECVResult, Selection
from icipredict.model.metadata import ModelMetadata
from icipredict.model.models import IciModel

__all__ = ["TrainingResult", "UpdateResult"]


@dataclass
class TrainingResult:
    """What a training run produced (patient-level predictions stay in memory, never logged)."""

    model: IciModel
    metadata: ModelMetadata
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    config: Config
    selection: Selection | None = None
    iecv: IECVResult | None = None
    bundle_path: Path | None = None
    run_id: str | None = None
    contributions: tuple[pd.DataFrame, pd.DataFrame] | None = None
    external: dict[str, pd.DataFrame] = field(default_factory=dict)
    fold_models: list[IciModel] = field(default_factory=list)
    fold_test_ids: list[frozenset] = field(default_factory=list)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    card: str = ""
    figures: dict[str, bytes] = field(default_factory=dict)


@dataclass
class UpdateResult:
    """An updated model and how it compares with its parent on the local data."""

    model: IciModel
    metadata: ModelMetadata
    method: str
    reason: str
    comparison: pd.DataFrame
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    tests: list[dict] = field(default_factory=list)
    card: str = ""
    figures: dict[str, bytes] = field(default_factory=dict)
    bundle_path: Path | None = None
    run_id: str | None = None
