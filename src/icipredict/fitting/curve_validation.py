"""The PFS curve validated study by study during training, and its proportional-hazards check.

After internal-external validation of a time-to-event model, each training study's patients with
PFS (censored ones included) are predicted by the fold model that never saw the study, and set
beside the Kaplan-Meier null and a PD-L1-only Cox model fitted on the same other studies
(:mod:`icipredict.evaluation.curves`). The final model's design is checked for proportional hazards
(:mod:`icipredict.evaluation.proportional_hazards`). The result goes into the training curves
(CSV beside the bundle and in MLflow), the model card, ``model.json`` and a calibration figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from icipredict.evaluation.curves import DEFAULT_GRID, HeldOutCurves, curve_calibration, curve_metrics, held_out_curves
from icipredict.evaluation.proportional_hazards import proportional_hazards_check, proportional_hazards_summary
from icipredict.model.metadata import CurveValidation

__all__ = ["CurveValidationResult", "validate_curves"]


@dataclass
class CurveValidationResult:
    """Held-out curves and what was measured on them (patient rows stay in memory, never saved)."""

    held: HeldOutCurves
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    proportional_hazards: pd.DataFrame
    n_boot: int

    def tables(self) -> dict[str, pd.DataFrame]:
        """The training curves' entries (written as CSV beside the bundle and to MLflow)."""
        return {"curve_metrics_iecv": self.metrics, "curve_calibration_iecv": self.calibration,
                "proportional_hazards": self.proportional_hazards}

    def metadata(self) -> CurveValidation:
        def records(frame: pd.DataFrame) -> list[dict]:
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                    for r in frame.to_dict(orient="records")]

        return CurveValidation(n_boot=self.n_boot, metrics=records(self.metrics), calibration=records(self.calibration),
                               proportional_hazards=records(self.proportional_hazards),
                               proportional_hazards_summary=proportional_hazards_summary(self.proportional_hazards))


def validate_curves(pfs: pd.DataFrame, fold_models: Mapping[str, object], final, *, n_boot: int, seed: int,
                    say: Callable[[str], None] = lambda m: None) -> CurveValidationResult:
    """Each held-out study's curves beside the references, and the final model's Schoenfeld check.

    ``fold_models`` maps a study to the model fitted without it; ``final`` is the model fitted on
    every study (checked for proportional hazards on ``pfs``, the patients it was fitted on).
    """
    held = held_out_curves(pfs, fold_models, DEFAULT_GRID)
    say(f"PFS curves of {len(held.patients)} held-out patients beside Kaplan-Meier and PD-L1 alone "
        f"({n_boot} bootstrap resamples)")
    metrics = curve_metrics(held, n_boot=n_boot, seed=seed)
    calibration = curve_calibration(held, "model")
    ph = proportional_hazards_check(final, pfs)
    return CurveValidationResult(held, metrics, calibration, ph, n_boot)
