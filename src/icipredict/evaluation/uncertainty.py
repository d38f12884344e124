"""How the per-patient intervals behave, checked on the held-out studies of internal-external validation.

``p_low`` / ``p_high`` (:meth:`icipredict.model.models.IciModel.interval`) add, on the log-odds scale,
the variance of four things: the model's coefficients (sandwich covariance of the penalised fit),
each unknown input (the spread of that input's contribution among training patients who had it),
the centre (the between-study SD ``tau`` of calibration-in-the-large), and the TIL term. Two of
them can be checked against data the model never saw, and :func:`interval_checks` does so for
every held-out study:

* unknown inputs: hide an input the patient has; the nominal interval of that input's share alone
  should contain the prediction made with the input (``coverage`` near ``level``);
* the centre: a held-out study's own calibration-in-the-large should lie within the ``tau``
  interval of that outer fold's model (one yes/no per study: with four studies, a rough check); for
  a PFS-curve model both are on the linear predictor, the study's as its log observed / expected
  progressions.

For a PFS-curve model the variances are on its linear predictor, and so are the checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from icipredict.clinical.biomarkers import pdl1_band
from icipredict.evaluation.metrics import calibration_slope_intercept
from icipredict.model.features import INPUT_SOURCES
from icipredict.model.models import IciModel

__all__ = ["interval_checks", "mask_inputs"]


def mask_inputs(patients: pd.DataFrame, name: str, *, keep_band: bool = False) -> pd.DataFrame:
    """A copy of a clean table with the canonical columns of one model input set to missing.

    With ``keep_band`` (PD-L1 only) the TPS is hidden and its band kept, as when a centre reports
    only the band.
    """
    out = patients.copy()
    band = pdl1_band(patients) if keep_band else None
    for column in INPUT_SOURCES[name]:
        if column in out.columns:
            numeric = pd.api.types.is_numeric_dtype(out[column]) and not isinstance(out[column].dtype, pd.CategoricalDtype)
            out[column] = np.nan if numeric else pd.Series([None] * len(out), index=out.index, dtype=object)
    if keep_band:
        out["pdl1_band"] = band
    return out


def _input_coverage(model: IciModel, held: pd.DataFrame, level: float) -> dict[str, dict[str, float]]:
    z = ndtri(0.5 + level / 2)
    inputs = model.inputs(held)
    full = model.score(held, inputs)  # the scale the variances are on (log-odds, or a curve's linear predictor)
    a = model.calibrator.a
    out = {}
    variants = [(name, False) for name in model.uncertainty.input_variance] + [("pdl1", True)]
    for name, keep_band in variants:
        if name == "til" or name not in inputs.columns:
            continue
        has = inputs[name].notna().to_numpy().copy()
        if keep_band:
            has &= inputs["pdl1_band"].notna().to_numpy()
        if has.sum() < 10:
            continue
        masked = mask_inputs(held.loc[has], name, keep_band=keep_band)
        m_inputs = model.inputs(masked)
        centre = model.score(masked, m_inputs)
        if keep_band:
            band = m_inputs["pdl1_band"].to_numpy(dtype=object)
            var = np.array([model.uncertainty.band_variance.get(str(b), model.uncertainty.input_variance["pdl1"])
                            for b in band])
        else:
            var = np.full(len(masked), model.uncertainty.input_variance[name])
        half = z * a * np.sqrt(var)
        inside = np.abs(full[has] - centre) <= half + 1e-12
        key = "pdl1 (TPS hidden, band kept)" if keep_band else name
        out[key] = {"n": int(has.sum()), "coverage": float(inside.mean())}
    return out


def _log_observed_expected(model: IciModel, held: pd.DataFrame) -> float:
    """A curve model's calibration-in-the-large on a held-out study: log(observed / expected progressions),
    expected from each patient's cumulative hazard at the end of their follow-up (the scale of ``tau``)."""
    t = held["pfs_months"].to_numpy(dtype=float)
    e = held["pfs_event"].to_numpy(dtype=float)
    base = model.baseline
    pos = np.searchsorted(base.times, t, side="right") - 1
    cumhaz = np.where(pos >= 0, base.cumhaz[np.clip(pos, 0, None)], 0.0)
    expected = float(np.sum(cumhaz * np.exp(model.score(held))))
    return float(np.log(e.sum() / expected)) if e.sum() > 0 and expected > 0 else float("nan")


def interval_checks(models: dict[str, IciModel], rows: pd.DataFrame, y: np.ndarray, level: float) -> dict:
    """Coverage of the unknown-input and centre components on each held-out study (module docstring).

    ``models`` maps each held-out study to the outer-fold model that never saw it.
    """
    y = np.asarray(y, dtype=float)
    cohort = rows["cohort"].astype(str).to_numpy()
    z = ndtri(0.5 + level / 2)
    per_input: dict[str, list[tuple[int, float]]] = {}
    centres = []
    for study, model in models.items():
        held = rows.loc[cohort == study]
        for name, r in _input_coverage(model, held, level).items():
            per_input.setdefault(name, []).append((r["n"], r["coverage"]))
        if model.has_curve:  # on the linear predictor: log observed / expected progressions (PFS, censoring kept)
            citl = _log_observed_expected(model, held)
        else:
            p = model.predict_proba(held)
            _, citl = calibration_slope_intercept(y[cohort == study], p)
        tau = model.uncertainty.tau
        centres.append({"study": study, "n": int(len(held)), "citl": float(citl), "tau": float(tau),
                        "within": bool(abs(citl) <= z * tau)})
    inputs = {name: {"n": int(sum(n for n, _ in v)),
                     "coverage": float(sum(n * c for n, c in v) / max(sum(n for n, _ in v), 1))}
              for name, v in sorted(per_input.items())}
    return {"level": level, "scheme": "internal-external (each study held out)", "unknown_inputs": inputs,
            "centre": centres}
