"""Outcome labels: durable benefit, primary/secondary resistance, fast progression, HPD, early death.

Every function takes a patient table with the canonical columns of :mod:`icipredict.table.schema`
(as returned by ``check_patients``) and returns a Series on the same index. A column that is
absent from the table is read as all-missing, so a cohort that never recorded, say, the date of
the last dose still gets labels from the columns it has.

Sources: the domain brief (``shared/domain.md`` sections 2-3), the SITC consensus on resistance to
PD-(L)1 blockade (Kluger et al., J Immunother Cancer 2020;8:e000398) and its update for
combinations (Rizvi et al., J Immunother Cancer 2023;11:e005920), and the hyperprogression
definitions of Champiat et al. (Clin Cancer Res 2017;23:1920), Ferrara et al. (JAMA Oncol
2018;4:1543) and Saada-Bouzid et al. (Ann Oncol 2017;28:1605).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from icipredict.clinical.columns import floats, texts
from icipredict.table.vocab import BENEFIT_LABELS, DCB_MONTHS, LABEL_SOURCES, MONTH_DAYS

__all__ = [
    "MONTH_DAYS",
    "DCB_MONTHS",
    "FAST_PROGRESSION_WEEKS",
    "EARLY_DEATH_WEEKS",
    "MIN_EXPOSURE_WEEKS",
    "STOP_WINDOW_WEEKS",
    "LATE_AFTER_STOP_MONTHS",
    "BENEFIT_LABELS",
    "BENEFIT_RULES",
    "SITC_CATEGORIES",
    "SITC_RULES",
    "HPD_DEFINITIONS",
    "weeks_to_months",
    "benefit_label",
    "binary_target",
    "sitc_category",
    "fast_progression",
    "early_death",
    "tumour_growth_rate",
    "tumour_growth_kinetics",
    "hyperprogression",
]

#: Progression before this many weeks is fast progression; domain.md section 2.
FAST_PROGRESSION_WEEKS = 6.0
#: Death before this many weeks is early death; domain.md section 2.
EARLY_DEATH_WEEKS = 12.0
#: ICI exposure needed to call primary resistance (2 cycles); SITC, Kluger et al. JITC 2020.
MIN_EXPOSURE_WEEKS = 6.0
#: Progression within this many weeks of the last dose is resistance; SITC, Kluger et al. JITC 2020.
STOP_WINDOW_WEEKS = 12.0
#: Progression this long after a planned stop is neither primary nor secondary; domain.md section 2.
LATE_AFTER_STOP_MONTHS = 6.0


#: Derived binary label, in decision order (domain.md section 2, "Where only PFS is known").
BENEFIT_RULES: tuple[tuple[str, str], ...] = (
    ("durable_benefit", "pfs_months >= benefit_months (any best response, or none recorded)"),
    ("not_evaluable", "would be primary resistance (next two rules) but pseudoprogression == 1"),
    ("primary_resistance", "pfs_event == 1 and pfs_months < benefit_months"),
    ("primary_resistance", "best_response == PD and pfs_months missing"),
    ("not_evaluable", "anything else (censored before benefit_months, no follow-up, no data)"),
)

#: The categories of :func:`sitc_category`, in the order of the categorical.
SITC_CATEGORIES: tuple[str, ...] = (
    "primary_resistance",
    "secondary_resistance",
    "durable_benefit_ongoing",
    "progression_after_stop_primary",
    "progression_after_stop_secondary",
    "late_progression_after_planned_stop",
    "pseudoprogression",
    "fast_progression",
    "not_evaluable",
)

#: SITC resistance categories in decision order (first match wins). "progressed" means
#: pfs_event == 1, or best_response == PD with pfs_event not 0; t = pfs_months; "prior benefit"
#: means t >= 6 months (with acquired_rule="expert_panel" also best_response CR/PR);
#: "after stop" means last_dose_months < t, gap = t - last_dose_months; "enough exposure" means
#: ici_weeks >= 6 or ici_weeks missing (treated until progression).
#: Sources: Kluger et al. JITC 2020 (SITC, PD-1 monotherapy), Rizvi et al. JITC 2023 (combinations),
#: domain.md section 2.
SITC_RULES: tuple[tuple[str, str], ...] = (
    ("pseudoprogression", "pseudoprogression == 1"),
    ("durable_benefit_ongoing", "not progressed, pfs_event == 0 and t >= 6 months"),
    ("not_evaluable", "not progressed otherwise (censored before 6 months, or no data)"),
    ("fast_progression", "progressed and t < 6 weeks (expert_panel: unless best response CR/PR)"),
    ("late_progression_after_planned_stop", "after stop, planned_stop == 1 and gap >= 6 months"),
    ("progression_after_stop_secondary", "after stop, gap <= 12 weeks and prior benefit"),
    ("progression_after_stop_primary", "after stop, gap <= 12 weeks, no prior benefit, enough exposure"),
    ("not_evaluable", "after stop, gap <= 12 weeks, no prior benefit, exposure < 6 weeks"),
    ("secondary_resistance", "prior benefit"),
    ("primary_resistance", "enough exposure and (t < 6 months, or t missing with best_response PD)"),
    ("not_evaluable", "anything else (exposure < 6 weeks, progression time unknown)"),
)

#: Hyperprogression definitions. Every definition also requires progression at the first evaluation
#: (best_response == PD, or sld_eval_mm > 1.2 * sld_baseline_mm), as in the three papers.
HPD_DEFINITIONS: dict[str, str] = {
    "champiat": "TGR_on / TGR_pre >= 2; when TGR_pre <= 0 the ratio is undefined and HPD means "
                "TGR_on > 0 (Champiat et al., Clin Cancer Res 2017)",
    "ferrara": "TGR_on - TGR_pre > 50 %/month (Ferrara et al., JAMA Oncol 2018)",
    "tgk_ratio": "TGK_on / TGK_pre >= 2 with TGK = (D1 - D0) / t in mm/month; when TGK_pre <= 0, "
                 "HPD means TGK_on > 0 (Saada-Bouzid et al., Ann Oncol 2017)",
}

_RESPONDED = ("CR", "PR")
_PD_GROWTH = 1.2  # RECIST 1.1: >= 20 % growth of the sum of diameters is progression


def weeks_to_months(weeks: float) -> float:
    """Convert calendar weeks to months of :data:`MONTH_DAYS` days.

    Examples
    --------
    >>> round(weeks_to_months(6), 4)
    1.3799
    """
    return weeks * 7.0 / MONTH_DAYS


def _float_column(df: pd.DataFrame, name: str) -> pd.Series:
    """:func:`~icipredict.clinical.columns.floats` as a Series on the table's index."""
    return pd.Series(floats(df, name), index=df.index, dtype=float)


def _text_column(df: pd.DataFrame, name: str) -> pd.Series:
    """:func:`~icipredict.clinical.columns.texts` as an object Series on the table's index (missing -> NaN)."""
    return pd.Series(texts(df, name).map(lambda v: v, np.nan), index=df.index, dtype=object)


def _check_option(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}. Got {value!r} instead.")


def _check_positive(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number of months. Got {value!r} instead.")
    return v


def benefit_label(
    df: pd.DataFrame,
    *,
    source: Literal[LABEL_SOURCES] = "derived",
    benefit_months: float = DCB_MONTHS,
) -> pd.Series:
    """Label each patient durable benefit, primary resistance or not evaluable.

    Parameters
    ----------
    df : DataFrame
        Patient table; uses ``pfs_months``, ``pfs_event``, ``best_response``,
        ``pseudoprogression`` and ``dcb_reported``. Absent columns are all-missing.
    source : {"derived", "reported", "reported_then_derived"}
        ``"derived"`` applies :data:`BENEFIT_RULES` (first match wins):

        1. ``pfs_months >= benefit_months`` -> durable_benefit (whatever the best response);
        2. primary resistance by rule 3 or 4 but ``pseudoprogression == 1`` -> not_evaluable;
        3. ``pfs_event == 1`` and ``pfs_months < benefit_months`` -> primary_resistance
           (fast progression included);
        4. ``best_response == "PD"`` with ``pfs_months`` missing -> primary_resistance;
        5. otherwise -> not_evaluable (censored early, too little follow-up, no data).

        ``"reported"`` uses the study's ``dcb_reported`` (1 durable_benefit, 0
        primary_resistance, missing not_evaluable). ``"reported_then_derived"`` uses the
        reported call where present and the derived label elsewhere.
    benefit_months : float
        Progression-free months that count as durable benefit.

    Returns
    -------
    Series of str
        One of :data:`BENEFIT_LABELS` per patient, on ``df.index``, named ``benefit_label``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pfs_months": [8.0, 2.0, 3.0], "pfs_event": [1, 1, 0]})
    >>> benefit_label(df).tolist()
    ['durable_benefit', 'primary_resistance', 'not_evaluable']
    """
    _check_option("source", source, LABEL_SOURCES)
    bm = _check_positive("benefit_months", benefit_months)
    benefit, resistant, unknown = BENEFIT_LABELS

    pfs = _float_column(df, "pfs_months")
    event = _float_column(df, "pfs_event")
    response = _text_column(df, "best_response")
    pseudo = _float_column(df, "pseudoprogression") == 1
    progressed_early = ((event == 1) & (pfs < bm)) | ((response == "PD") & pfs.isna())
    derived = np.select(
        [pfs >= bm, progressed_early & pseudo, progressed_early],
        [benefit, unknown, resistant],
        default=unknown,
    )
    derived = pd.Series(derived, index=df.index, dtype=object)

    dcb = _float_column(df, "dcb_reported")
    reported = pd.Series(np.select([dcb == 1, dcb == 0], [benefit, resistant], default=unknown),
                         index=df.index, dtype=object)
    if source == "derived":
        out = derived
    elif source == "reported":
        out = reported
    else:
        out = reported.where(dcb.isin([0.0, 1.0]), derived)
    return out.rename("benefit_label")


def binary_target(labels: pd.Series) -> pd.Series:
    """Training target from :func:`benefit_label`: 1.0 benefit, 0.0 primary resistance, NaN otherwise.

    Parameters
    ----------
    labels : Series
        Values from :data:`BENEFIT_LABELS` (missing values are allowed and give NaN).

    Returns
    -------
    Series of float, on the same index, named ``target``.

    Raises
    ------
    ValueError
        If a value is not one of :data:`BENEFIT_LABELS`.

    Examples
    --------
    >>> import pandas as pd
    >>> binary_target(pd.Series(["durable_benefit", "not_evaluable", "primary_resistance"])).tolist()
    [1.0, nan, 0.0]
    """
    values = pd.Series(labels, copy=False).astype(object)
    bad = values.notna() & ~values.isin(BENEFIT_LABELS)
    if bad.any():
        raise ValueError(
            f"labels must be one of {', '.join(map(repr, BENEFIT_LABELS))}. "
            f"Got {values[bad].iloc[0]!r} (index {values[bad].index[0]!r}) instead."
        )
    mapping = {"durable_benefit": 1.0, "primary_resistance": 0.0}
    return values.map(lambda v: mapping.get(v, np.nan)).astype(float).rename("target")


def sitc_category(
    df: pd.DataFrame,
    *,
    acquired_rule: Literal["sitc", "expert_panel"] = "sitc",
) -> pd.Series:
    """Classify each patient into a SITC resistance category.

    Parameters
    ----------
    df : DataFrame
        Patient table; uses ``pfs_months`` (t), ``pfs_event``, ``best_response``, ``ici_weeks``,
        ``last_dose_months``, ``planned_stop`` and ``pseudoprogression``.
    acquired_rule : {"sitc", "expert_panel"}
        ``"sitc"``: prior benefit (so secondary resistance) needs progression-free time >= 6
        months, whether by response or stable disease. ``"expert_panel"``: in addition, every
        progression after a CR/PR is secondary whatever its timing (CR/PR patients are never
        fast progressors nor primary resistant).

    Returns
    -------
    Series (categorical with categories :data:`SITC_CATEGORIES`), on ``df.index``.

    Notes
    -----
    Decision order (first match wins), as in :data:`SITC_RULES`. "Progressed" means
    ``pfs_event == 1``, or ``best_response == "PD"`` with ``pfs_event`` not 0. "After stop" means
    ``last_dose_months < t``, with gap = t - last_dose_months. "Enough exposure" means
    ``ici_weeks >= 6`` or ``ici_weeks`` missing (assumed treated until progression).

    1. ``pseudoprogression == 1`` -> pseudoprogression;
    2. not progressed, ``pfs_event == 0`` and t >= 6 months -> durable_benefit_ongoing;
    3. not progressed otherwise -> not_evaluable;
    4. t < 6 weeks -> fast_progression (expert_panel: not after CR/PR);
    5. after stop, ``planned_stop == 1`` and gap >= 6 months -> late_progression_after_planned_stop;
    6. after stop, gap <= 12 weeks, prior benefit -> progression_after_stop_secondary;
    7. after stop, gap <= 12 weeks, no prior benefit, enough exposure -> progression_after_stop_primary;
    8. after stop, gap <= 12 weeks, no prior benefit, exposure < 6 weeks -> not_evaluable;
    9. prior benefit -> secondary_resistance;
    10. enough exposure and (t < 6 months, or t missing with best response PD) -> primary_resistance;
    11. otherwise -> not_evaluable.

    Progression more than 12 weeks after a stop (and not the late planned-stop case) falls
    through to rules 9-11 by its timing from ICI start.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"pfs_months": [1.0, 4.0, 9.0], "pfs_event": [1, 1, 1],
    ...                    "best_response": ["PD", "SD", "PR"]})
    >>> sitc_category(df).tolist()
    ['fast_progression', 'primary_resistance', 'secondary_resistance']
    """
    _check_option("acquired_rule", acquired_rule, ("sitc", "expert_panel"))
    t = _float_column(df, "pfs_months")
    event = _float_column(df, "pfs_event")
    response = _text_column(df, "best_response")
    exposure = _float_column(df, "ici_weeks")
    last = _float_column(df, "last_dose_months")
    planned = _float_column(df, "planned_stop") == 1
    pseudo = _float_column(df, "pseudoprogression") == 1

    responded = response.isin(_RESPONDED)
    progressed = (event == 1) | ((response == "PD") & (event != 0))
    prior_benefit = t >= DCB_MONTHS
    fast = t < weeks_to_months(FAST_PROGRESSION_WEEKS)
    if acquired_rule == "expert_panel":
        prior_benefit = prior_benefit | responded
        fast = fast & ~responded
    enough_exposure = exposure.isna() | (exposure >= MIN_EXPOSURE_WEEKS)
    gap = t - last
    after_stop = progressed & (gap > 0)
    in_window = after_stop & (gap <= weeks_to_months(STOP_WINDOW_WEEKS))
    primary_time = (t < DCB_MONTHS) | (t.isna() & (response == "PD"))

    rules = [
        (pseudo, "pseudoprogression"),
        (~progressed & (event == 0) & (t >= DCB_MONTHS), "durable_benefit_ongoing"),
        (~progressed, "not_evaluable"),
        (fast, "fast_progression"),
        (after_stop & planned & (gap >= LATE_AFTER_STOP_MONTHS), "late_progression_after_planned_stop"),
        (in_window & prior_benefit, "progression_after_stop_secondary"),
        (in_window & enough_exposure, "progression_after_stop_primary"),
        (in_window, "not_evaluable"),
        (prior_benefit, "secondary_resistance"),
        (enough_exposure & primary_time, "primary_resistance"),
    ]
    out = np.select([c.to_numpy(dtype=bool) for c, _ in rules], [v for _, v in rules], default="not_evaluable")
    return pd.Series(pd.Categorical(out, categories=list(SITC_CATEGORIES)), index=df.index,
                     name="sitc_category")


def fast_progression(df: pd.DataFrame) -> pd.Series:
    """Progression (or death) within 6 weeks of ICI start.

    Parameters
    ----------
    df : DataFrame
        Uses ``pfs_months`` and ``pfs_event``.

    Returns
    -------
    Series of nullable boolean
        True: event with ``pfs_months`` < 6 weeks; False: ``pfs_months`` >= 6 weeks (progression
        free at 6 weeks); NA: no time, or censored / unknown event before 6 weeks.

    Examples
    --------
    >>> import pandas as pd
    >>> fast_progression(pd.DataFrame({"pfs_months": [1.0, 3.0, 1.0], "pfs_event": [1, 1, 0]})).tolist()
    [True, False, <NA>]
    """
    t = _float_column(df, "pfs_months")
    event = _float_column(df, "pfs_event")
    return _flag(t, event, weeks_to_months(FAST_PROGRESSION_WEEKS), "fast_progression")


def early_death(df: pd.DataFrame) -> pd.Series:
    """Death within 12 weeks of ICI start.

    Parameters
    ----------
    df : DataFrame
        Uses ``os_months`` and ``os_event``.

    Returns
    -------
    Series of nullable boolean
        True: ``os_event == 1`` and ``os_months`` < 12 weeks; False: ``os_months`` >= 12 weeks;
        NA otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> early_death(pd.DataFrame({"os_months": [2.0, 10.0], "os_event": [1, 1]})).tolist()
    [True, False]
    """
    t = _float_column(df, "os_months")
    event = _float_column(df, "os_event")
    return _flag(t, event, weeks_to_months(EARLY_DEATH_WEEKS), "early_death")


def _flag(t: pd.Series, event: pd.Series, limit: float, name: str) -> pd.Series:
    out = pd.Series(pd.NA, index=t.index, dtype="boolean", name=name)
    out[(t >= limit).to_numpy()] = False
    out[((event == 1) & (t < limit)).to_numpy()] = True
    return out


def _as_float_array(x: object) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(np.ravel(np.asarray(x, dtype=object))), errors="coerce"),
                      dtype=float).reshape(np.shape(x))


def _wrap(result: np.ndarray, *inputs: object) -> np.ndarray | pd.Series | float:
    for x in inputs:
        if isinstance(x, pd.Series):
            return pd.Series(result, index=x.index)
    return float(result) if result.ndim == 0 else result


def tumour_growth_rate(d0: object, d1: object, months: object) -> np.ndarray | pd.Series | float:
    """Tumour growth rate in percent per month.

    ``TGR = 100 * (exp(3 * ln(d1 / d0) / t) - 1)``: the monthly change of tumour volume, with
    volume taken as the cube of the sum of diameters (Ferte et al., Eur J Cancer 2014; domain.md
    section 2).

    Parameters
    ----------
    d0, d1 : float, array-like or Series
        Sum of target-lesion diameters (mm) at the start and end of the interval.
    months : float, array-like or Series
        Length of the interval in months.

    Returns
    -------
    float, ndarray or Series
        A Series (index of the first Series input) when any input is a Series. NaN where any
        input is missing or not positive (so a complete response, d1 = 0, has no TGR).

    Examples
    --------
    >>> round(tumour_growth_rate(50.0, 60.0, 2.0), 3)
    31.453
    """
    a, b, t = (_as_float_array(v) for v in (d0, d1, months))
    a, b, t = np.broadcast_arrays(a, b, t)
    ok = (a > 0) & (b > 0) & (t > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tgr = 100.0 * (np.exp(3.0 * np.log(np.where(ok, b, 1.0) / np.where(ok, a, 1.0)) / np.where(ok, t, 1.0)) - 1.0)
    return _wrap(np.where(ok, tgr, np.nan), d0, d1, months)


def tumour_growth_kinetics(d0: object, d1: object, months: object) -> np.ndarray | pd.Series | float:
    """Tumour growth kinetics in mm per month: ``(d1 - d0) / t`` (Saada-Bouzid et al., Ann Oncol 2017).

    NaN where any input is missing, a diameter is negative or the interval is not positive.

    Examples
    --------
    >>> tumour_growth_kinetics(50.0, 60.0, 2.0)
    5.0
    """
    a, b, t = (_as_float_array(v) for v in (d0, d1, months))
    a, b, t = np.broadcast_arrays(a, b, t)
    ok = (a >= 0) & (b >= 0) & (t > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tgk = (b - a) / np.where(ok, t, 1.0)
    return _wrap(np.where(ok, tgk, np.nan), d0, d1, months)


def hyperprogression(
    df: pd.DataFrame,
    *,
    definition: Literal["champiat", "ferrara", "tgk_ratio"] = "champiat",
) -> pd.Series:
    """Hyperprogressive disease (HPD) from three scans: pre-baseline, baseline and first evaluation.

    Parameters
    ----------
    df : DataFrame
        Uses ``sld_prebaseline_mm``, ``sld_baseline_mm``, ``sld_eval_mm``,
        ``months_prebaseline_to_baseline``, ``months_baseline_to_eval`` and ``best_response``.
    definition : {"champiat", "ferrara", "tgk_ratio"}
        See :data:`HPD_DEFINITIONS`. Every definition first needs progression at the first
        evaluation: ``best_response == "PD"`` or ``sld_eval_mm > 1.2 * sld_baseline_mm``.

    Returns
    -------
    Series of float
        1.0 HPD, 0.0 not HPD (including every patient known not to progress at the first
        evaluation), NaN when progression is unknown or a growth measure cannot be computed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"sld_prebaseline_mm": [40.0], "sld_baseline_mm": [44.0], "sld_eval_mm": [80.0],
    ...                    "months_prebaseline_to_baseline": [2.0], "months_baseline_to_eval": [2.0]})
    >>> hyperprogression(df).tolist()
    [1.0]
    """
    _check_option("definition", definition, tuple(HPD_DEFINITIONS))
    pre = _float_column(df, "sld_prebaseline_mm")
    base = _float_column(df, "sld_baseline_mm")
    ev = _float_column(df, "sld_eval_mm")
    t_pre = _float_column(df, "months_prebaseline_to_baseline")
    t_on = _float_column(df, "months_baseline_to_eval")
    response = _text_column(df, "best_response")

    by_response = response == "PD"
    by_size = ev > _PD_GROWTH * base
    size_known = ev.notna() & base.notna()
    progressed = pd.Series(np.nan, index=df.index)
    progressed[(response.notna() | size_known).to_numpy()] = 0.0
    progressed[(by_response | by_size).to_numpy()] = 1.0

    if definition == "tgk_ratio":
        g_pre = tumour_growth_kinetics(pre, base, t_pre)
        g_on = tumour_growth_kinetics(base, ev, t_on)
    else:
        g_pre = tumour_growth_rate(pre, base, t_pre)
        g_on = tumour_growth_rate(base, ev, t_on)
    if definition == "ferrara":
        hpd = g_on - g_pre > 50.0
    else:
        # a shrinking or stable tumour before ICI has no meaningful ratio: any growth on ICI is HPD
        with np.errstate(divide="ignore", invalid="ignore"):
            hpd = np.where(g_pre > 0, g_on / g_pre >= 2.0, g_on > 0)
        hpd = pd.Series(hpd, index=df.index)
    measured = g_pre.notna() & g_on.notna()
    out = pd.Series(np.where(measured, hpd.astype(float), np.nan), index=df.index)
    out = out.where(progressed == 1, np.where(progressed == 0, 0.0, np.nan))
    return out.astype(float).rename(f"hpd_{definition}")
