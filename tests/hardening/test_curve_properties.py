"""Property tests of the PFS curve over tables the schema accepts (issue 22, "Must hold").

For every patient of any accepted table, with the shipped time-to-event model: the curve is
non-increasing; S(6) is ``p_durable_benefit`` (1e-9); ``p_pfs_3m >= p_durable_benefit >= p_pfs_12m >=
p_pfs_24m``; ``p_secondary_resistance_24m`` is 1 - S(24) / S(6); every value lies within its interval
(the curve's band, ``p_low``/``p_high``, the median's).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from test_properties import SETTINGS, _accepted, patient_tables

from icipredict.serve.predict import LoadedModel, load_model, predict, predict_curve

GRID = [0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 24.0]
_MODEL: dict[str, LoadedModel] = {}


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    """The shipped model, loaded once; it carries the PFS curve."""
    if "m" not in _MODEL:
        _MODEL["m"] = load_model("public")
    assert _MODEL["m"].has_curve and _MODEL["m"].metadata.curve.horizon >= 24
    return _MODEL["m"]


@SETTINGS
@given(df=patient_tables())
def test_the_curve_and_its_columns_agree_for_every_accepted_table(df, model):
    _accepted(df)
    out = predict(df, model=model)
    curve = predict_curve(df, model=model, times=GRID)
    n, k = len(out), len(GRID)
    assert len(curve) == n * k and curve["patient_id"].tolist() == [i for i in out["patient_id"] for _ in GRID]
    s = curve["s"].to_numpy(float).reshape(n, k)
    low = curve["s_low"].to_numpy(float).reshape(n, k)
    high = curve["s_high"].to_numpy(float).reshape(n, k)
    assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s, axis=1) <= 0).all() and (np.diff(low, axis=1) <= 0).all() and (np.diff(high, axis=1) <= 0).all()
    assert ((low <= s) & (s <= high)).all()
    p = out["p_durable_benefit"].to_numpy(float)
    six, twelve, three, last = (GRID.index(t) for t in (6.0, 12.0, 3.0, 24.0))
    np.testing.assert_allclose(s[:, six], p, rtol=0, atol=1e-9)
    np.testing.assert_allclose(low[:, six], out["p_low"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(high[:, six], out["p_high"], rtol=0, atol=1e-9)
    for name, j in (("p_pfs_3m", three), ("p_pfs_12m", twelve), ("p_pfs_24m", last)):
        got = out[name].to_numpy(float)
        np.testing.assert_allclose(got, s[:, j], rtol=0, atol=1e-12)
        assert ((low[:, j] <= got) & (got <= high[:, j])).all()
    assert (out["p_pfs_3m"] >= out["p_durable_benefit"]).all()
    assert (out["p_durable_benefit"] >= out["p_pfs_12m"]).all() and (out["p_pfs_12m"] >= out["p_pfs_24m"]).all()
    np.testing.assert_allclose(out["p_secondary_resistance_24m"], 1 - s[:, last] / s[:, six], rtol=0, atol=1e-9)
    assert ((out["p_low"] <= p) & (p <= out["p_high"])).all()
    med, mlow, mhigh = (out[c].to_numpy(float) for c in ("median_pfs_months", "median_pfs_low", "median_pfs_high"))
    has = np.isfinite(med)
    assert (mlow[has] <= med[has]).all() and np.isnan(mhigh[~has]).all()
    both = has & np.isfinite(mhigh)
    assert (med[both] <= mhigh[both]).all()
    # the median is where the curve first reaches 0.5: not yet at the grid times before it
    for i in np.flatnonzero(has):
        assert (s[i, np.array(GRID) < med[i]] > 0.5).all()
