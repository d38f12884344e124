"""Pins of the prediction path's outputs: the vectorised code equals the plain per-row rules.

The per-row functions below are the rules as first written (one patient at a time, in Python);
the package computes the same texts per distinct pattern. Any difference in a warning, a missing
input list or a TIME class label fails here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import icipredict
from icipredict.clinical.assays import TMB_SCALE_SOURCES, tmb_assay_kind
from icipredict.clinical.mutations import DRIVER_COLUMNS
from icipredict.clinical.time_class import NUMBERINGS, describe_pair, time_class, time_status_pair
from icipredict.model.features import MISSING_INPUT_NAMES
from icipredict.io.synthetic import synthetic_cohort
from icipredict.table.schema import check_patients
from icipredict.serve.predict import _missing_inputs, _unknown, _used_inputs, _warnings


def _reference_missing(unknown: np.ndarray, used: list[str]) -> list[str]:
    names = [MISSING_INPUT_NAMES[u] for u in used]
    return ["; ".join(n for n, miss in zip(names, row) if miss) for row in unknown]


def _reference_warnings(clean: pd.DataFrame, meta, unknown: np.ndarray) -> list[str]:
    train = meta.training
    notes: list[list[str]] = [[] for _ in range(len(clean))]
    drivers = clean[list(DRIVER_COLUMNS)].astype(float).to_numpy() == 1
    for i in np.flatnonzero(drivers.any(axis=1)):
        genes = ", ".join(c[4:].upper() for c, hit in zip(DRIVER_COLUMNS, drivers[i]) if hit)
        notes[i].append(f"driver-positive tumour ({genes}): usually excluded from ICI monotherapy, "
                        f"{train.driver_positive_share:.0%} of training patients")
    seen = set(train.regimens)
    if seen:
        reg = clean["regimen"].astype(object)
        for i in np.flatnonzero((reg.notna() & ~reg.isin(seen)).to_numpy()):
            notes[i].append(f"regimen {reg.iloc[i]} never seen in training (seen: {', '.join(sorted(seen))}): the "
                            "model has no term for it"
                            + (", and only switches off the smoking input (it modifies the benefit of ICI "
                               "alone)" if reg.iloc[i] == "chemo_ici" else ", and reads the regimen as not given"))
    kinds = set(train.tmb_assay_kinds)
    kind = tmb_assay_kind(clean)
    for i in range(len(clean)):
        assay = clean["tmb_assay"].iloc[i]
        if kinds and kind.iloc[i] is not None and kind.iloc[i] not in kinds:
            notes[i].append(f"TMB assay kind {kind.iloc[i]} ({assay}) never seen in training: put on the tissue-panel "
                            f"scale by {TMB_SCALE_SOURCES[kind.iloc[i]]}")
        if not pd.isna(assay) and not any(w in str(assay).lower() for w in (
                "plasma", "btmb", "blood", "ctdna", "liquid", "wes", "exome", "impact", "panel", "foundation",
                "f1cdx", "cdx", "tso", "oncomine", "tissue", "tumour", "tumor", "caris", "tempus xt", "msk")):
            notes[i].append(f"TMB assay {str(assay)[:40]!r} not recognised as a tissue panel, exome or plasma "
                            "assay: read as a tissue panel (a blood-based TMB runs on another scale)")
    for col, r in train.ranges.items():
        v = clean[col].astype(float).to_numpy()
        for i in np.flatnonzero((v < r.min) | (v > r.max)):
            notes[i].append(f"{col} {v[i]:g} outside the training range {r.min:g}-{r.max:g}")
    n_used = unknown.shape[1]
    given = n_used - unknown.sum(axis=1)
    for i in np.flatnonzero(given < n_used / 2):
        notes[i].append(f"only {int(given[i])} of the {n_used} inputs this model uses given: the unknown ones are read "
                        f"as the training average, and the {meta.uncertainty.level:.0%} interval is wide")
    return ["; ".join(x) for x in notes]


def _reference_time_class(clean: pd.DataFrame, numbering: str) -> list[str]:
    pair = time_status_pair(clean)
    labels = []
    for p, t in zip(pair["pdl1_positive"].to_numpy(), pair["til_positive"].to_numpy()):
        known = not (np.isnan(p) or np.isnan(t))
        labels.append(f"{NUMBERINGS[numbering][(int(p), int(t))] if known else 'unknown'} ({describe_pair(p, t)})")
    return labels


@pytest.fixture(scope="module")
def varied() -> pd.DataFrame:
    df = synthetic_cohort(n=1500, seed=17, outcomes=False)
    rng = np.random.default_rng(2)
    n = len(df)
    df.loc[rng.choice(n, 150, replace=False), "tmb_assay"] = rng.choice(["plasma bTMB", "Guardant360", "WES", "x"], 150)
    df.loc[rng.choice(n, 100, replace=False), "regimen"] = "chemo_ici"
    for col in ("mut_egfr", "mut_alk", "mut_ros1"):
        df.loc[rng.choice(n, 120, replace=False), col] = 1.0
    df.loc[rng.choice(n, 80, replace=False), "albumin"] = 5.95
    df.loc[rng.choice(n, 200, replace=False), ["pdl1_tps", "tmb", "age", "sex", "smoking", "ecog"]] = np.nan
    df.loc[rng.choice(n, 60, replace=False), "til_status"] = rng.choice(["positive", "negative"], 60)
    return check_patients(df)


@pytest.mark.parametrize("rows", [1, 7, 1500], ids=["one", "seven", "all"])
def test_warnings_and_missing_inputs_equal_the_per_row_rules(varied, rows):
    loaded = icipredict.load_model("public")
    clean = varied.head(rows)
    used = _used_inputs(loaded.model)
    unknown = _unknown(loaded.model.inputs(clean), used)
    assert _missing_inputs(unknown, used) == _reference_missing(unknown, used)
    assert _warnings(clean, loaded.metadata, unknown, used) == _reference_warnings(clean, loaded.metadata, unknown)


@pytest.mark.parametrize("numbering", list(NUMBERINGS))
def test_time_class_equals_the_per_row_rule(varied, numbering):
    assert time_class(varied, numbering=numbering).tolist() == _reference_time_class(varied, numbering)
