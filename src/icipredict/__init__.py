"""icipredict: durable benefit vs primary resistance to immune checkpoint inhibitors in advanced NSCLC.

Decision support for research, not a medical device. The public API is loaded lazily so that
``import icipredict`` stays fast (heavy libraries load on first use).

>>> from icipredict import predict            # doctest: +SKIP
>>> predict({"patient_id": "p1", "pdl1_tps": 60, "tmb": 14}, model="public")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "predict": "icipredict.serve.predict",
    "predict_curve": "icipredict.serve.predict",
    "load_model": "icipredict.serve.predict",
    "model_uri": "icipredict.serve.predict",
    "spark_udf": "icipredict.serve.spark",
    "train": "icipredict.fitting.training",
    "evaluate": "icipredict.evaluation.saved",
    "update": "icipredict.fitting.updating",
    "patient_report": "icipredict.report.patient",
    "load_config": "icipredict.config",
    "check_patients": "icipredict.table.schema",
    "validate_patients": "icipredict.table.schema",
    "read_patients": "icipredict.io",
    "synthetic_cohort": "icipredict.io.synthetic",
    "InvalidPatientData": "icipredict.exceptions",
    "InvalidConfig": "icipredict.exceptions",
    "ModelLoadError": "icipredict.exceptions",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.config import load_config
    from icipredict.exceptions import InvalidConfig, InvalidPatientData, ModelLoadError
    from icipredict.io import read_patients
    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.table.schema import check_patients, validate_patients
    from icipredict.evaluation.saved import evaluate
    from icipredict.serve.predict import load_model, model_uri, predict, predict_curve
    from icipredict.serve.spark import spark_udf
    from icipredict.report.patient import patient_report
    from icipredict.fitting.training import train
    from icipredict.fitting.updating import update


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'icipredict' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
