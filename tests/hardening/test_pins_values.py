"""Pins of every value ``predict`` returns: the package equals plain per-patient rules.

The references below take one patient at a time, in plain Python, straight from the rules as the
module docstrings state them (:mod:`icipredict.model.features`, :mod:`icipredict.model.glm`,
:mod:`icipredict.model.models`, :mod:`icipredict.clinical.til`, :mod:`icipredict.model.explain`). They share no
code with the vectorised prediction path, so a faster path that changes a model input, a TIL
status, an interval, an explanation or a one-patient result fails here. Probabilities are compared
to 1e-12 (the references sum in another order); every text is compared exactly.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import icipredict
from icipredict.clinical.assays import SP142_TC_BANDS, TMB_TO_PANEL_SCALE
from icipredict.clinical.til import DEFAULT_TIL_CUTOFFS, MIN_MEDIAN_PATIENTS, TIL_MEASURES
from icipredict.model.features import INPUT_SOURCES, model_inputs
from icipredict.model.glm import CONTINUOUS_INPUTS
from icipredict.io.synthetic import synthetic_cohort
from icipredict.model.metadata import Calibrator
from icipredict.table.schema import COLUMNS, check_patients, check_record, checked_columns
from icipredict.table.vocab import PLASMA_ASSAY_WORDS, WES_ASSAY_WORDS

TOL = 1e-12


def _nan(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# -- the rules, one patient at a time ------------------------------------------------------------------

def _ref_band(row) -> str | None:
    tps = row["pdl1_tps"]
    if not _nan(tps):
        return "<1" if tps < 1 else "1-49" if tps < 50 else ">=50"
    if not _nan(row["pdl1_band"]):
        return row["pdl1_band"]
    if not _nan(row["pdl1_sp142_tc"]):
        return SP142_TC_BANDS[int(row["pdl1_sp142_tc"])]
    return None


def _ref_til(clean: pd.DataFrame, cutoffs: dict) -> tuple[list[float], list[str | None]]:
    cut = {**DEFAULT_TIL_CUTOFFS, **cutoffs}
    thresholds = {}
    for m in TIL_MEASURES[1:]:
        known = [v for v in clean[m] if not _nan(v)]
        if cut[m] == "median":
            thresholds[m] = float(np.median(known)) if len(known) >= MIN_MEDIAN_PATIENTS else math.nan
        else:
            thresholds[m] = float(cut[m])
    positive, source = [], []
    for _, row in clean.iterrows():
        status = row["til_status"]
        if not _nan(status) and status.lower() in ("positive", "negative"):
            positive.append(1.0 if status.lower() == "positive" else 0.0)
            source.append("til_status")
            continue
        for m in TIL_MEASURES[1:]:
            if not _nan(row[m]) and not math.isnan(thresholds[m]):
                positive.append(1.0 if row[m] >= thresholds[m] else 0.0)
                source.append(m)
                break
        else:
            positive.append(math.nan)
            source.append(None)
    return positive, source


def _ref_kind(assay) -> str | None:
    if _nan(assay):
        return None
    text = str(assay).lower()
    if any(w in text for w in PLASMA_ASSAY_WORDS):
        return "plasma"
    if any(w in text for w in WES_ASSAY_WORDS):
        return "wes"
    return "panel"


def _any(row, genes) -> float:
    values = [row[g] for g in genes]
    if any(v == 1 for v in values):
        return 1.0
    return math.nan if all(_nan(v) for v in values) else 0.0


def _ref_inputs(clean: pd.DataFrame, cutoffs: dict) -> list[dict]:
    til, _ = _ref_til(clean, cutoffs)
    out = []
    for i, (_, row) in enumerate(clean.iterrows()):
        regimen = row["regimen"]
        chemo = regimen == "chemo_ici"

        def flag(col, value, zero_under_chemo=False):
            if zero_under_chemo and chemo:
                return 0.0
            return math.nan if _nan(row[col]) else float(row[col] == value)

        prior = row["prior_systemic_therapy"]
        if _nan(prior) and not _nan(row["line_of_therapy"]):
            prior = float(row["line_of_therapy"] > 1)
        tmb = row["tmb"]
        kind = _ref_kind(row["tmb_assay"]) or "panel"
        out.append({
            "pdl1": row["pdl1_tps"], "pdl1_band": _ref_band(row),
            "tmb": math.nan if _nan(tmb) else math.log1p(tmb * TMB_TO_PANEL_SCALE[kind]),
            "prior": math.nan if _nan(prior) else float(prior),
            "ctla4": math.nan if _nan(regimen) or chemo else float(regimen == "ici_ctla4"),
            "ecog": math.nan if _nan(row["ecog"]) else min(row["ecog"], 2.0),
            "never_smoker": flag("smoking", "never", True), "female": flag("sex", "female", True),
            "age": row["age"], "squamous": flag("histology", "squamous"),
            "cold": _any(row, ("mut_stk11", "mut_keap1")),
            "driver": _any(row, ("mut_egfr", "mut_alk", "mut_ros1", "mut_ret", "mut_erbb2")),
            "kras": row["mut_kras"], "tp53": row["mut_tp53"], "albumin": row["albumin"],
            "pack_years": row["pack_years"], "til": til[i],
        })
    return out


def _rcs(x: float, knots: list[float]) -> list[float]:
    if len(knots) < 3:
        return [x]
    t, k = knots, len(knots)
    cube = lambda v: max(v, 0.0) ** 3  # noqa: E731
    norm2 = (t[-1] - t[0]) ** 2
    return [x] + [(cube(x - t[j]) - cube(x - t[k - 2]) * (t[k - 1] - t[j]) / (t[k - 1] - t[k - 2])
                   + cube(x - t[k - 1]) * (t[k - 2] - t[j]) / (t[k - 1] - t[k - 2])) / norm2 for j in range(k - 2)]


def _ref_standardised(base, inp: dict) -> dict[str, list[float]]:
    """Per used input, its standardised design columns (unknown: the training mean, PD-L1 by band)."""
    out, j = {}, 0
    for name in base.used_inputs_:
        x = inp[name]
        knots = base.knots_.get(name, []) if name in CONTINUOUS_INPUTS else []
        width = 1 + max(len(knots) - 2, 0)
        if _nan(x):
            if name == "pdl1" and inp["pdl1_band"] in base.band_means_:
                cols = list(base.band_means_[inp["pdl1_band"]])
            else:
                cols = list(base.column_means_[j:j + width])
        else:
            cols = _rcs(float(x), knots)
        out[name] = [(c - base.center_[j + m]) / base.scale_[j + m] for m, c in enumerate(cols)]
        j += width
    return out


def _ref_prediction(fitted, inp: dict) -> dict:
    base, a, b = fitted.base, fitted.calibrator.a, fitted.calibrator.b
    z_cols = _ref_standardised(base, inp)
    flat = [1.0] + [c for cols in z_cols.values() for c in cols]
    coef = list(base.coef_)
    phi, k = {}, 0
    for name, cols in z_cols.items():
        phi[name] = a * sum(c * coef[k + m] for m, c in enumerate(cols))
        k += len(cols)
    til, term = inp["til"], fitted.til_term
    til_phi = 0.0 if _nan(til) else term.beta * (til - term.centre)
    phi["til"] = phi.get("til", 0.0) + til_phi
    z = a * (base.intercept_ + sum(c * coef[m] for m, c in enumerate(flat[1:]))) + b + til_phi
    u = fitted.uncertainty
    var = u.tau ** 2
    if u.parameter == "covariance":
        V = base.covariance_
        rows = flat if len(V) == len(flat) else flat[1:]  # a Cox model has no intercept in its covariance
        var += a ** 2 * sum(rows[r] * V[r][c] * rows[c] for r in range(len(rows)) for c in range(len(rows)))
    for name, v in u.input_variance.items():
        if name == "til" or name not in inp or not _nan(inp[name]):
            continue
        if name == "pdl1" and inp["pdl1_band"] in u.band_variance:
            var += a ** 2 * u.band_variance[inp["pdl1_band"]]
        else:
            var += a ** 2 * v
    spread = term.centre * (1 - term.centre)
    var += spread * (term.beta ** 2 + term.se ** 2) if _nan(til) else (til - term.centre) ** 2 * term.se ** 2
    half = norm.ppf(0.5 + u.level / 2) * math.sqrt(var)
    if fitted.has_curve:
        return _ref_curve(fitted, z, half, phi, a * base.intercept_ + b)
    return {"p": _sigmoid(z), "low": _sigmoid(z - half), "high": _sigmoid(z + half), "z": z, "phi": phi,
            "base": a * base.intercept_ + b}


def _ref_cumhaz(baseline, t: float, *, cut: bool = True) -> float:
    """The Breslow step function at t: the cumulative hazard of the last event time at or before t."""
    if cut and t > baseline.horizon:
        return math.nan
    h = 0.0
    for time, value in zip(baseline.times, baseline.cumhaz):
        if time > t:
            break
        h = float(value)
    return h


def _ref_median(baseline, lp: float) -> float:
    """The first event time, up to the horizon, at which S = exp(-H0 exp(lp)) is at most 0.5."""
    for time, value in zip(baseline.times, baseline.cumhaz):
        if time > baseline.horizon:
            break
        if value >= math.log(2) * math.exp(-lp):
            return float(time)
    return math.nan


def _ref_curve(fitted, lp: float, half: float, phi: dict, lp0: float) -> dict:
    """A curve model's values: S(t) = exp(-H0(t) exp(lp)); p_durable_benefit = S(6), its interval S(6) at
    lp -/+ half; contributions scaled to the log-odds of S(6) by (logit S6(lp) - logit S6(lp0)) / (lp - lp0)."""
    b = fitted.baseline

    def s(t, x):
        return math.exp(-_ref_cumhaz(b, t) * math.exp(x))

    def logit6(x):
        return math.log(s(6.0, x)) - math.log1p(-s(6.0, x))

    if abs(lp - lp0) > 1e-9:
        factor = (logit6(lp) - logit6(lp0)) / (lp - lp0)
    else:
        factor = -_ref_cumhaz(b, 6.0) * math.exp(lp) / (1 - s(6.0, lp))
    median = _ref_median(b, lp)
    return {"p": s(6.0, lp), "low": s(6.0, lp + half), "high": s(6.0, lp - half), "z": logit6(lp),
            "phi": {k: v * factor for k, v in phi.items()}, "base": logit6(lp0),
            "curve": {"p_pfs_3m": s(3.0, lp), "p_pfs_12m": s(12.0, lp), "p_pfs_24m": s(24.0, lp),
                      "median_pfs_months": median,
                      "median_pfs_low": math.nan if math.isnan(median) else _ref_median(b, lp + half),
                      "median_pfs_high": _ref_median(b, lp - half),
                      "p_secondary_resistance_24m": 1 - s(24.0, lp) / s(6.0, lp)}}


def _given(v):
    if _nan(v):
        return "not given"
    if isinstance(v, float):
        return int(v) if v.is_integer() else v  # a whole number as given (60, not 60.0)
    return str(v)


def _ref_explanations(fitted, clean: pd.DataFrame, inputs: list[dict], til_source: list, k: int) -> pd.DataFrame:
    preds = [_ref_prediction(fitted, inp) for inp in inputs]
    names = list(preds[0]["phi"])
    names = [n for n in names if max(abs(p["phi"][n]) for p in preds) > 0]
    rows = []
    for i, pred in enumerate(preds):
        row = clean.iloc[i]
        values = [pred["phi"][n] for n in names]
        order = sorted(range(len(names)), key=lambda c: -abs(values[c]))  # sorted() is stable
        rec = {}
        for j in range(k):
            if j >= len(order):
                rec.update({f"top{j + 1}_feature": None, f"top{j + 1}_value": None,
                            f"top{j + 1}_effect": math.nan, f"top{j + 1}_shap": math.nan})
                continue
            name = names[order[j]]
            value = None
            if name == "til":
                feature = til_source[i] or "til_status"
            elif name in ("never_smoker", "female") and row["regimen"] == "chemo_ici":
                feature, value = "regimen", "chemo_ici"  # chemo-ICI switches their effect off: it is named
            else:
                sources = INPUT_SOURCES[name]
                known = [c for c in sources if not _nan(row[c])]
                feature = known[0] if known else sources[0]
                if name in ("cold", "driver"):
                    altered = [c for c in sources if row[c] == 1]
                    feature = altered[0] if altered else feature
            shap = values[order[j]]
            rec.update({f"top{j + 1}_feature": feature, f"top{j + 1}_value": value or _given(row[feature]),
                        f"top{j + 1}_effect": _sigmoid(pred["z"]) - _sigmoid(pred["z"] - shap),
                        f"top{j + 1}_shap": shap})
        rows.append(rec)
    return pd.DataFrame(rows)


# -- the patients --------------------------------------------------------------------------------------

def _varied(n: int, seed: int) -> pd.DataFrame:
    """Synthetic patients with every input path used: assays, bands, SP142, TIL measures, regimens, gaps."""
    df = synthetic_cohort(n=n, seed=seed, outcomes=False)
    rng = np.random.default_rng(seed)

    def some(share: int) -> np.ndarray:
        return rng.choice(n, max(1, n // share), replace=False)

    rows = some(10)
    df.loc[rows, "tmb_assay"] = rng.choice(["plasma bTMB", "Guardant360", "WES", "x", "FoundationOne CDx"], len(rows))
    df.loc[some(15), "regimen"] = "chemo_ici"
    df.loc[some(15), "regimen"] = "ici_ctla4"
    for col in ("mut_egfr", "mut_alk", "mut_ros1", "mut_stk11"):
        df.loc[some(12), col] = 1.0
    df.loc[some(20), "albumin"] = 5.95
    df.loc[some(7), ["pdl1_tps", "tmb", "age", "sex", "smoking", "ecog"]] = np.nan
    rows = some(25)
    df.loc[rows, "til_status"] = rng.choice(["positive", "negative"], len(rows))
    rows = some(6)
    df.loc[rows, "pdl1_band"] = rng.choice(["<1", "1-49", ">=50", None], len(rows))
    df.loc[rows, "pdl1_tps"] = np.nan
    df["pdl1_sp142_tc"] = np.nan
    rows = some(10)
    df.loc[rows, "pdl1_sp142_tc"] = rng.choice([0.0, 1.0, 2.0, 3.0], len(rows))
    df.loc[some(10), "pdl1_tps"] = np.nan
    df["pdl1_assay"] = None
    rows = some(5)
    df.loc[rows, "pdl1_assay"] = rng.choice(["22C3", "SP142", "E1L3N", "28-8"], len(rows))
    for measure, scale in (("til_density", 500.0), ("cd8_density", 800.0), ("cd8_score", 20.0)):
        df[measure] = np.nan
        rows = some(8)
        df.loc[rows, measure] = np.round(rng.random(len(rows)) * scale, 2)
    df["immune_rna_score"] = np.nan
    rows = some(8)
    df.loc[rows, "immune_rna_score"] = np.round(rng.normal(size=len(rows)), 2)
    df.loc[some(10), "til_pct"] = np.nan
    df.loc[some(10), "prior_systemic_therapy"] = np.nan
    rows = some(10)
    df.loc[rows, "line_of_therapy"] = rng.choice([1.0, 2.0, 3.0, np.nan], len(rows))
    df.loc[some(30), list(df.columns[1:])] = np.nan
    return df


@pytest.fixture(scope="module")
def varied() -> pd.DataFrame:
    return _varied(1500, 23)


@pytest.fixture(scope="module", params=["public", "calibrated"])
def loaded(request):
    """The shipped model, and a copy with a calibration slope, intercept and between-centre tau."""
    public = icipredict.load_model("public")
    if request.param == "public":
        return public
    fitted = dataclasses.replace(public.model, calibrator=Calibrator(method="slope", a=0.8, b=0.1),
                                 uncertainty=public.model.uncertainty.model_copy(update={"tau": 0.2}))
    return dataclasses.replace(public, model=fitted, version="calibrated-copy")


def _assert_inputs_equal(got: pd.DataFrame, ref: list[dict]) -> None:
    for name in ref[0]:
        expected = [r[name] for r in ref]
        if name == "pdl1_band":
            assert [None if _nan(v) else v for v in got[name]] == expected, name
        else:
            np.testing.assert_allclose(got[name].to_numpy(dtype=float), np.array(expected, dtype=float),
                                       rtol=TOL, atol=0, err_msg=name)


# -- the pins ------------------------------------------------------------------------------------------

def test_model_inputs_equal_the_per_patient_rules(varied):
    clean = check_patients(varied)
    cutoffs = icipredict.load_model("public").metadata.feature_options.til_cutoffs()
    _assert_inputs_equal(model_inputs(clean), _ref_inputs(clean, cutoffs))


@pytest.mark.parametrize("rows", [1, 9, 1500], ids=["one", "nine", "all"])
def test_probabilities_intervals_and_til_source_equal_the_per_patient_rules(varied, loaded, rows):
    clean = check_patients(varied.head(rows))
    cutoffs = loaded.metadata.feature_options.til_cutoffs()
    inputs = _ref_inputs(clean, cutoffs)
    ref = [_ref_prediction(loaded.model, inp) for inp in inputs]
    out = icipredict.predict(varied.head(rows), model=loaded)
    for got, key in (("p_durable_benefit", "p"), ("p_low", "low"), ("p_high", "high")):
        np.testing.assert_allclose(out[got].to_numpy(), [r[key] for r in ref], rtol=TOL, atol=0, err_msg=got)
    assert loaded.model.has_curve  # the shipped model carries the PFS curve (issue 22)
    for name in ref[0]["curve"]:
        # months are event times, compared exactly; probabilities to TOL (the references sum in another order)
        np.testing.assert_allclose(out[name].to_numpy(dtype=float), [r["curve"][name] for r in ref], rtol=TOL,
                                   atol=1e-15, equal_nan=True, err_msg=name)
    thr = loaded.metadata.benefit_thresholds
    assert out["benefit_group"].tolist() == ["low" if r["p"] < thr.low else "high" if r["p"] >= thr.high
                                             else "intermediate" for r in ref]
    _, source = _ref_til(clean, cutoffs)
    assert out["til_source"].tolist() == [s or "" for s in source]
    assert out["patient_id"].tolist() == clean["patient_id"].tolist()
    assert (out["model_version"] == loaded.version).all()


@pytest.mark.parametrize("k", [1, 3, 9], ids=["top1", "top3", "all"])
def test_explanations_equal_the_per_patient_rules(varied, loaded, k):
    patients = varied.head(400)
    clean = check_patients(patients)
    cutoffs = loaded.metadata.feature_options.til_cutoffs()
    inputs = _ref_inputs(clean, cutoffs)
    _, source = _ref_til(clean, cutoffs)
    ref = _ref_explanations(loaded.model, clean, inputs, source, k)
    out = icipredict.predict(patients, model=loaded, explain=k)
    for j in range(1, k + 1):
        assert out[f"top{j}_feature"].tolist() == ref[f"top{j}_feature"].tolist()
        assert out[f"top{j}_value"].tolist() == ref[f"top{j}_value"].tolist()
        for col in (f"top{j}_effect", f"top{j}_shap"):
            np.testing.assert_allclose(out[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float),
                                       rtol=1e-9, atol=1e-15, err_msg=col)


def _as_dict(row: pd.Series) -> dict:
    return {k: v for k, v in row.to_dict().items() if not _nan(v)}


def test_one_patient_as_a_dict_a_row_and_a_record_equals_the_table(varied, loaded):
    """The one-patient path gives that patient's row of the whole table's prediction (the last bit may
    differ: a matrix product of one row and of many rows sums in another order)."""
    table = icipredict.predict(varied.head(30), model=loaded)
    for i in range(30):
        expected = table.iloc[[i]].reset_index(drop=True)
        if expected["til_source"].iloc[0] in ("cd8_density", "cd8_score"):
            continue  # a cut-off at the cohort median needs the patients scored together
        one = _as_dict(varied.iloc[i])
        for patients in (one, varied.iloc[[i]].reset_index(drop=True), [one]):
            pd.testing.assert_frame_equal(icipredict.predict(patients, model=loaded), expected, check_exact=False,
                                          rtol=TOL, atol=0)


def test_one_patient_explanations_equal_the_per_patient_rules(varied, loaded):
    cutoffs = loaded.metadata.feature_options.til_cutoffs()
    for i in range(20):
        one = _as_dict(varied.iloc[i])
        clean = check_patients(varied.iloc[[i]].reset_index(drop=True))
        ref = _ref_explanations(loaded.model, clean, _ref_inputs(clean, cutoffs), _ref_til(clean, cutoffs)[1], 3)
        got = icipredict.predict(one, model=loaded, explain=3)
        for j in range(1, 4):
            assert got[f"top{j}_feature"].tolist() == ref[f"top{j}_feature"].tolist(), i
            assert got[f"top{j}_value"].tolist() == ref[f"top{j}_value"].tolist(), i
            for col in (f"top{j}_effect", f"top{j}_shap"):
                np.testing.assert_allclose(got[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float),
                                           rtol=1e-9, atol=1e-15, err_msg=col)


ODD_ONE_PATIENT = {
    "aliases-and-text": {"patient_id": "a", "PDL1_TPS": "60%", "Sex": "F", "smoking": "Ex-smoker", "ECOG": "1",
                         "albumin": "3.9"},
    "missing-tokens": {"patient_id": 7, "tmb": "NA", "age": "unknown", "mut_egfr": "-", "til_status": "-",
                       "regimen": "PD1 alone"},
    "float-id-and-words": {"patient_id": 12.0, "mut_kras": True, "mut_stk11": "mutated", "mut_keap1": "wt",
                           "histology": "LUSC"},
    "band-and-plasma": {"patient_id": " x ", "pdl1_band": "≥50%", "tmb_assay": "bTMB", "tmb": 30, "til_density": 300},
    "sp142": {"patient_id": "y", "pdl1_sp142_tc": 3, "pdl1_assay": "SP142", "cd8_density": 500},
    "numpy-scalars": {"patient_id": "q3", "tmb": np.float32(4.5), "age": np.int64(60), "mut_tp53": np.bool_(True)},
    "none-nan-na": {"patient_id": "q4", "pdl1_tps": None, "tmb": np.nan, "sex": pd.NA},
    "numbers-in-text-columns": {"patient_id": "q5", "tmb_assay": 123, "pdl1_assay": 22.0, "cohort": 5},
    "outside-training-ranges": {"patient_id": "q", "line_of_therapy": 2, "ecog": 3, "albumin": 5.95,
                                "pack_years": 250, "age": 95},
    "extra-and-outcome-columns": {"patient_id": "q7", "best_response": "PR", "pfs_months": 12, "extra": "x"},
    "spaces-and-case": {"patient_id": "b23", "sex": "  Female  ", "histology": "squamous   cell",
                        "til_status": "+", "mut_egfr": "+"},
}


@pytest.mark.parametrize("name", list(ODD_ONE_PATIENT), ids=list(ODD_ONE_PATIENT))
def test_one_odd_patient_as_a_dict_equals_the_same_patient_as_a_table(name, loaded):
    one = ODD_ONE_PATIENT[name]
    # a column read by another name, or one the package does not know, is said once (an InputWarning)
    said = any(k != k.lower() or k == "extra" for k in one)
    with pytest.warns() if said else _no_warning():
        got = icipredict.predict(one, model=loaded, explain=2)
    frame = pd.DataFrame({k: [v] for k, v in one.items()})  # the one-row table a dict stands for
    with pytest.warns() if said else _no_warning():
        expected = icipredict.predict(frame, model=loaded, explain=2)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


# -- the one-patient check equals the one-row table's ---------------------------------------------------

_USUAL = st.sampled_from([None, np.nan, "NA", "", 0, 1, 0.0, 1.0, True, "0", "1", "yes", "wt", 2, 3.9, "3.9", 60,
                          "60", "60%", " 4 ", np.float32(45.5), np.int64(3), np.bool_(False), "F", "male", "never",
                          "Ex-smoker", "LUSC", "squamous", "ici_mono", "PD1 alone", ">=50", "1-49", "positive", "-",
                          "+", "MSK-IMPACT", "bTMB", "WES", "22C3", "SP142", "E1L3N", "site A"])
_CELL = _USUAL | _USUAL | st.one_of(
    st.none(), st.just(pd.NA), st.just(np.nan), st.booleans(), st.integers(-5, 300),
    st.integers(2 ** 63 - 2, 2 ** 64 + 2), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.float32(0.1), np.float32(45.5), np.int64(3), np.uint8(1), np.bool_(True), np.str_(" x ")]),
    st.sampled_from(["", " ", "NA", "-", "+", "1", "0", "yes", "wt", "60%", "3,5", "F", "male", "Ex-smoker", "LUSC",
                     "PD1 alone", ">=50", "≥50%", "positive", "bTMB", "SP142", "abc", "1.0", " 2 ", "1e2", "inf"]),
    st.text(max_size=6), st.just(b"x"), st.just(1 + 2j), st.just([1, 2]),
)
_KEYS = st.sampled_from(["pdl1_tps", "PDL1_TPS", "pdl1_band", "tmb", "TMB", "tmb_assay", "pdl1_assay", "pdl1_sp142_tc",
                         "til_status", "til_pct", "cd8_density", "mut_egfr", "mut_kras", "age", "Sex", "smoking",
                         "ecog", "histology", "regimen", "albumin", "nlr", "line_of_therapy", "cohort", "extra",
                         "pfs_months (days)", "albumin (g/L)", 7])


def _valid(key: object) -> st.SearchStrategy:
    """Cells the schema accepts in the column ``key`` names, as numbers, texts or numpy scalars."""
    name = str(key).lower().split(" (")[0]
    spec = COLUMNS.get(name)
    if spec is None or spec.kind in ("text", "id"):
        return st.sampled_from(["MSK-IMPACT", "bTMB", "22C3", "x", None, "NA"])
    if spec.kind == "category":
        return st.sampled_from([*spec.aliases, None, "NA", ""]).map(lambda w: w if w is None else f" {w.upper()} ")
    if spec.kind == "binary":
        return st.sampled_from([0, 1, 0.0, True, np.bool_(True), np.float32(1), "1", "wt", "-", "+", None, np.nan])
    low, high = spec.low or 0.0, spec.high or 100.0
    number = st.integers(int(np.ceil(low)) + 1, int(np.floor(high)) - 1)
    return number.flatmap(lambda v: st.sampled_from([v, float(v), str(v), f" {v}.0 ", np.int64(v), np.float32(v),
                                                     None, np.nan, "NA"]))


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as exc:  # the comparison is of what each path does, whatever it is
        return "error", type(exc).__name__, str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patient_id=st.one_of(st.just("p1"), st.just(" p2 "), st.just(12.0), st.just(7), st.just(""), st.none(),
                            st.just(np.nan), st.just(1.5)),
       cells=st.lists(_KEYS, unique_by=lambda k: str(k).lower(), max_size=6).flatmap(
           lambda keys: st.fixed_dictionaries({k: _valid(k) | _valid(k) | _valid(k) | _CELL for k in keys})))
def test_one_patient_check_equals_the_one_row_table_check(patient_id, cells):
    """``check_record`` (no DataFrame) gives the columns ``checked_columns`` gives for the one-row table
    ``pd.DataFrame({k: [v]})``, or declines (None) so that the table path runs: never another answer."""
    record = {"patient_id": patient_id, **cells}
    lean = _outcome(lambda: check_record(record))
    table = _outcome(lambda: checked_columns(pd.DataFrame({str(k): [v] for k, v in record.items()})))
    if lean[0] == "error":
        pytest.fail(f"check_record raised {lean[1:]} for {record!r}")
    if lean[1] is None:
        return
    assert table[0] == "ok", (record, table)
    (got, got_renamed), (want, want_renamed) = lean[1], table[1]
    assert got_renamed == want_renamed
    assert list(got) == list(want)
    for name in want:
        a, b = got[name], want[name]
        if isinstance(b, pd.Categorical):
            assert isinstance(a, pd.Categorical) and a.dtype == b.dtype and list(a.codes) == list(b.codes), name
        else:
            assert list(np.asarray(a, dtype=object)) == list(np.asarray(b, dtype=object)) or (
                np.asarray(b).dtype.kind == "f" and np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)), name
