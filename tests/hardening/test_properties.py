"""Property tests over the schema boundary (STYLE.md, habit 6).

Any table ``check_patients`` accepts predicts to finite probabilities in [0, 1], one row per patient
in input order; one injected invalid cell raises ``InvalidPatientData`` and nothing else; row order
and unknown extra columns do not change a prediction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from icipredict.exceptions import InvalidPatientData
from icipredict.table.schema import COLUMNS, MISSING_TOKENS, PREDICTORS, ColumnSpec, check_patients
from icipredict.serve.predict import LoadedModel, load_model, predict

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_MODEL: dict[str, LoadedModel] = {}


@pytest.fixture(scope="module")
def model(small_model) -> LoadedModel:
    """The session model, loaded once (hypothesis may not mix with function-scoped fixtures)."""
    if "m" not in _MODEL:
        _MODEL["m"] = load_model(small_model)
    return _MODEL["m"]


# -- strategies -----------------------------------------------------------------------------------

_MISSING = st.sampled_from(sorted(MISSING_TOKENS) + ["NA", "N/A", " n/a ", "Unknown"]) | st.sampled_from([None, np.nan])
_ID_PREFIX = st.sampled_from(["p", "P-00", "patiënt-ß-", "患者-", "id ", "MSK_"])


def _numeric(spec: ColumnSpec) -> st.SearchStrategy:
    low = spec.low if spec.low is not None else 0.0
    high = spec.high if spec.high is not None else 10_000.0
    if spec.kind == "int":
        lo = int(np.ceil(low)) + (0 if spec.low_inclusive else 1)
        hi = int(np.floor(high)) - (0 if spec.high_inclusive else 1)
        base = st.integers(lo, hi).map(float)
    else:
        base = st.floats(low, high, allow_nan=False, allow_infinity=False,
                         exclude_min=not spec.low_inclusive, exclude_max=not spec.high_inclusive)
    # a cell may come as a number or as the text a CSV reader hands over
    return base.flatmap(lambda v: st.sampled_from([v, repr(v), f" {v:g} ", f"{v:.6g}"]))


def _category(spec: ColumnSpec) -> st.SearchStrategy:
    words = sorted(set(spec.categories) | set(spec.aliases))
    return st.sampled_from(words).flatmap(lambda w: st.sampled_from([w, w.upper(), w.title(), f"  {w} "]))


_BINARY = st.sampled_from([0, 1, 0.0, 1.0, "0", "1", "yes", "no", "mutated", "WT", "True", "false"])


def _cell(spec: ColumnSpec) -> st.SearchStrategy:
    if spec.kind in ("float", "int"):
        value = _numeric(spec)
    elif spec.kind == "category":
        value = _category(spec)
    elif spec.kind == "binary":
        value = _BINARY
    else:
        value = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
    return st.one_of(value, value, value, _MISSING)


@st.composite
def patient_tables(draw, min_rows: int = 1, max_rows: int = 8) -> pd.DataFrame:
    n = draw(st.integers(min_rows, max_rows))
    prefix = draw(_ID_PREFIX)
    offset = draw(st.integers(0, 10_000))
    numbers = [offset + k for k in draw(st.permutations(range(n)))]
    cols = draw(st.lists(st.sampled_from(list(PREDICTORS)), unique=True, max_size=len(PREDICTORS)))
    data = {"patient_id": [f"{prefix}{k}" for k in numbers]}
    for name in cols:
        data[name] = draw(st.lists(_cell(COLUMNS[name]), min_size=n, max_size=n))
    return pd.DataFrame(data, dtype=object)


def _accepted(df: pd.DataFrame) -> pd.DataFrame:
    try:
        return check_patients(df)
    except InvalidPatientData:
        # whole-column verdicts (e.g. every PD-L1 value in 0-1 looks like a fraction) are legitimate
        assume(False)
        raise


def _check_output(out: pd.DataFrame, df: pd.DataFrame) -> None:
    assert len(out) == len(df)
    assert out["patient_id"].tolist() == [str(i) for i in df["patient_id"]]
    p = out["p_durable_benefit"].to_numpy(dtype=float)
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()


# -- (a) accepted tables predict ------------------------------------------------------------------

@SETTINGS
@given(df=patient_tables())
def test_accepted_tables_predict_finite_probabilities(df, model):
    _accepted(df)
    before = df.copy(deep=True)
    out = predict(df, model=model)
    _check_output(out, df)
    pd.testing.assert_frame_equal(df, before)


# -- (b) one invalid cell raises our exception, never another -----------------------------------

_NUMERIC = [c for c in PREDICTORS if COLUMNS[c].kind in ("float", "int")]
_CATEGORICAL = [c for c in PREDICTORS if COLUMNS[c].kind == "category"]
_BINARIES = [c for c in PREDICTORS if COLUMNS[c].kind == "binary"]


def _out_of_range(spec: ColumnSpec) -> st.SearchStrategy:
    options = []
    if spec.low is not None:
        options.append(st.floats(-1e6, spec.low, allow_nan=False, exclude_max=spec.low_inclusive))
    if spec.high is not None:
        options.append(st.floats(spec.high, 1e6, allow_nan=False, exclude_min=spec.high_inclusive))
    return st.one_of(*options).flatmap(lambda v: st.sampled_from([v, repr(v)]))


_UNKNOWN_WORD = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8).map(
    lambda s: f"zz{s}")


@st.composite
def invalid_tables(draw):
    df = draw(patient_tables(min_rows=2))
    n = len(df)
    row = draw(st.integers(0, n - 1))
    kind = draw(st.sampled_from(["range", "category", "binary", "text", "duplicate"]))
    if kind == "duplicate":
        other = draw(st.integers(0, n - 1).filter(lambda r: r != row))
        df.loc[row, "patient_id"] = df.loc[other, "patient_id"]
        return df, "patient_id"
    if kind == "range":
        col = draw(st.sampled_from(_NUMERIC))
        value = draw(_out_of_range(COLUMNS[col]))
    elif kind == "category":
        col = draw(st.sampled_from(_CATEGORICAL))
        value = draw(_UNKNOWN_WORD)
    elif kind == "binary":
        col = draw(st.sampled_from(_BINARIES))
        value = draw(st.sampled_from(["2", "-1", "maybe", 7, 0.5]))
    else:
        col = draw(st.sampled_from(_NUMERIC))
        value = draw(_UNKNOWN_WORD)
    if col not in df.columns:
        df[col] = None
    df[col] = df[col].astype(object)
    df.loc[row, col] = value
    return df, col


@SETTINGS
@given(case=invalid_tables())
def test_one_invalid_cell_raises_invalid_patient_data(case, model):
    df, col = case
    with pytest.raises(InvalidPatientData) as info:
        predict(df, model=model)
    assert any(p.column == col for p in info.value.problems), (col, str(info.value))
    with pytest.raises(InvalidPatientData):
        check_patients(df)


# -- (c) invariances ------------------------------------------------------------------------------

@SETTINGS
@given(df=patient_tables(min_rows=2), data=st.data())
def test_predictions_invariant_to_row_order_and_extra_columns(df, data, model):
    _accepted(df)
    base = predict(df, model=model).set_index("patient_id")["p_durable_benefit"]

    # permuted rows and unknown extra columns together: two predictions per example keep this quick
    order = data.draw(st.permutations(range(len(df))))
    changed = df.iloc[list(order)].copy()
    changed["hospital_code"] = data.draw(st.lists(st.text(max_size=5), min_size=len(df), max_size=len(df)))
    changed["Weird Column ☃"] = np.arange(len(df)) * 1.5
    out = predict(changed, model=model)
    _check_output(out, changed.reset_index(drop=True))
    again = out.set_index("patient_id")["p_durable_benefit"]
    np.testing.assert_allclose(again.loc[base.index].to_numpy(), base.to_numpy(), rtol=0, atol=1e-12)
