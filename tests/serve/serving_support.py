"""Helpers of the serving tests: a model trained and tracked in a real (temporary) MLflow store.

Not a ``conftest.py``: a second conftest module would replace ``tests/conftest.py`` as the module
``conftest`` that other tests import from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import FAST_TRAIN


@dataclass(frozen=True)
class TrackedRun:
    tracking_uri: str
    run_id: str
    store: Path

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/model"


_RUN: TrackedRun | None = None


def get_tracked_run(tmp_path_factory, new_store) -> TrackedRun:
    """A small real model logged as a pyfunc to a temporary SQLite MLflow store (trained once per session)."""
    global _RUN
    if _RUN is None:
        from icipredict.fitting.training import train

        store = tmp_path_factory.mktemp("mlflow")
        uri = new_store(store)
        result = train(overrides=[*FAST_TRAIN, f"tracking.uri={uri}", "explain.enabled=false"], quiet=True)
        assert result.run_id
        _RUN = TrackedRun(uri, result.run_id, store)
    return _RUN


def synthetic_patients(n: int, seed: int = 11) -> pd.DataFrame:
    """Predictor columns of ``n`` synthetic patients (no outcomes), as a user would send them."""
    from icipredict.io.synthetic import synthetic_cohort

    return synthetic_cohort(n=n, seed=seed, outcomes=False).drop(columns=["cohort"], errors="ignore")


def json_records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready records: numbers as floats, missing values omitted."""
    out = []
    for row in df.to_dict(orient="records"):
        rec = {}
        for k, v in row.items():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                v = float(v)
            rec[k] = v
        out.append(rec)
    return out


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(test_file: str) -> str:
    """The fenced code block that follows ``<!-- tested verbatim by <test_file> -->`` in the README."""
    text = README.read_text(encoding="utf-8")
    marker = f"<!-- tested verbatim by {test_file} -->"
    assert text.count(marker) == 1, f"README.md: expected one {marker!r}"
    after = text.split(marker, 1)[1].lstrip("\n")
    assert after.startswith("```"), f"README.md: {marker!r} is not followed by a code block"
    return after.split("\n", 1)[1].split("\n```", 1)[0] + "\n"
