"""The cohorts of a training config: read, checked, pooled, and fingerprinted without identifiers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from icipredict.exceptions import InvalidConfig, InvalidPatientData
from icipredict.io import detect_format, read_patients
from icipredict.io.synthetic import synthetic_cohort
from icipredict.model.metadata import DataSummary, SourceSummary
from icipredict.table.schema import check_patients

if TYPE_CHECKING:  # pragma: no cover
    from icipredict.config import Config

__all__ = ["LoadedSources", "load_sources", "fingerprint"]


@dataclass
class LoadedSources:
    """The pooled training table, one table per external cohort, and what was done to them."""

    train: pd.DataFrame
    external: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: DataSummary = field(default_factory=DataSummary)


def fingerprint(table: pd.DataFrame) -> str:
    """SHA-256 of a table's content without identifiers (which rows, not who they are).

    >>> fingerprint(pd.DataFrame({"patient_id": ["a"], "age": [60.0]})) == fingerprint(
    ...     pd.DataFrame({"patient_id": ["b"], "age": [60.0]}))
    True
    """
    body = table.drop(columns=["patient_id"], errors="ignore")
    body = body.reindex(sorted(body.columns), axis=1).astype(str)
    digest = hashlib.sha256()
    digest.update(",".join(body.columns).encode())
    digest.update(pd.util.hash_pandas_object(body, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _read_source(config: "Config", src) -> pd.DataFrame:
    if src.format == "synthetic":
        return synthetic_cohort(n=src.n, seed=config.seed if src.seed is None else src.seed, cohort=src.name,
                                logit_shift=src.shift, id_prefix=src.name.upper(), til_effect=src.til_effect)
    path: Path = config.source_path(src)
    if not path.exists():
        raise InvalidConfig(f"config key 'data.sources' ({src.name}): path {str(path)!r} does not exist. "
                            "Set data.root or the source path (e.g. --set data.root=/path/to/data).")
    if src.format in ("table", "auto") and detect_format(path) == "table":
        # a table keeps its own cohort column (several centres in one file); else the source's name
        raw = read_patients(path, format="table")
        if "cohort" not in raw.columns or raw["cohort"].astype(str).str.strip().isin(["", path.stem]).all():
            raw["cohort"] = src.name
        return raw
    return read_patients(path, format=src.format, cohort=src.name)


def load_sources(config: "Config", progress: Callable[[str], None] = lambda m: None) -> LoadedSources:
    """Read and check every source of a config; pool the training ones.

    Training sources are pooled and deduplicated by patient id (the first source wins); a patient of
    an external cohort who is also in training is removed from that cohort. Each patient's cohort is
    the source's name, except that a canonical table keeps its own ``cohort`` column (several centres
    in one file: internal-external validation then holds each out). Counts go to the summary.
    """
    parts, external = [], {}
    summary = DataSummary()
    for src in config.data.sources:
        raw = _read_source(config, src).copy()
        try:
            clean = check_patients(raw, lenient=config.data.lenient)
        except InvalidPatientData as exc:
            raise InvalidPatientData(f"source {src.name!r}: {exc}", exc.problems) from None
        progress(f"loaded {src.name}: {len(clean)} patients ({src.role})")
        summary.sources[src.name] = SourceSummary(n=len(clean), role=src.role, format=src.format,
                                                  fingerprint=fingerprint(clean))
        if src.role == "train":
            parts.append(clean)
        else:
            external[src.name] = clean
    pooled = pd.concat(parts, ignore_index=True)
    dup = pooled["patient_id"].duplicated(keep="first")
    summary.duplicates_removed = int(dup.sum())
    if dup.any():
        progress(f"removed {int(dup.sum())} duplicate patient(s) shared between training sources (first kept)")
    pooled = pooled.loc[~dup].reset_index(drop=True)
    for name, table in external.items():
        overlap = table["patient_id"].isin(set(pooled["patient_id"]))
        if overlap.any():
            external[name] = table.loc[~overlap].reset_index(drop=True)
            summary.sources[name].removed_overlap_with_training = int(overlap.sum())
            progress(f"external {name}: removed {int(overlap.sum())} patient(s) also in training")
    return LoadedSources(train=pooled, external=external, summary=summary)
