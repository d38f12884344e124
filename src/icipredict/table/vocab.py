"""The package's vocabularies and fixed thresholds, in one place.

Every category, option name and clinical cut-off that more than one module needs is defined here
and imported where it is used (the schema, the clinical rules, the readers, the config, the CLI),
so that a rule is never written twice. This module imports nothing from the package.

Sources: ``shared/domain.md`` sections 2-3 unless a constant says otherwise.
"""

from __future__ import annotations

__all__ = [
    "PDL1_BANDS",
    "PDL1_BAND_RANGES",
    "REGIMENS",
    "SEXES",
    "SMOKING_STATUSES",
    "SMOKER_STATUSES",
    "HISTOLOGIES",
    "TIL_STATUSES",
    "BEST_RESPONSES",
    "MUTATION_GENES",
    "DRIVER_GENES",
    "INPUT_FORMATS",
    "LABEL_SOURCES",
    "BENEFIT_LABELS",
    "BENEFIT_GROUPS",
    "BENEFIT_GROUP_THRESHOLDS",
    "OUTPUT_COLUMNS",
    "CURVE_COLUMNS",
    "CURVE_MONTHS",
    "SPLINE_FAMILIES",
    "OUTPUT_NUMBER_PREFIXES",
    "MONTH_DAYS",
    "DCB_MONTHS",
    "TMB_HIGH_CUTOFF",
    "PDL1_POSITIVE_CUTOFF",
    "PLASMA_ASSAY_WORDS",
    "WES_ASSAY_WORDS",
    "TISSUE_PANEL_WORDS",
    "TIME_NUMBERINGS",
    "MODEL_NAMES",
    "SURVIVAL_FAMILIES",
    "CALIBRATION_METHODS",
    "UPDATE_METHODS",
    "BASELINES",
]

#: PD-L1 TPS bands (the KEYNOTE cut-offs 1 % and 50 %).
PDL1_BANDS: tuple[str, str, str] = ("<1", "1-49", ">=50")
#: TPS interval each band covers, [low, high) in percent (the last band includes 100).
PDL1_BAND_RANGES: dict[str, tuple[float, float]] = {"<1": (0.0, 1.0), "1-49": (1.0, 50.0), ">=50": (50.0, 100.0)}
#: PD-L1 positive at TPS >= 1 % by default (TIME class).
PDL1_POSITIVE_CUTOFF = 1.0
#: TMB-high cut-off in mut/Mb (KEYNOTE-158; panel dependent).
TMB_HIGH_CUTOFF = 10.0

#: ICI regimens: anti-PD-(L)1 alone, with anti-CTLA-4, with platinum chemotherapy.
REGIMENS: tuple[str, str, str] = ("ici_mono", "ici_ctla4", "chemo_ici")
SEXES: tuple[str, str] = ("female", "male")
SMOKING_STATUSES: tuple[str, ...] = ("never", "former", "current", "ever")
#: ``smoking`` values that count as a smoker.
SMOKER_STATUSES: tuple[str, ...] = ("former", "current", "ever")
HISTOLOGIES: tuple[str, str, str] = ("adenocarcinoma", "squamous", "other")
TIL_STATUSES: tuple[str, str] = ("positive", "negative")
#: RECIST best overall response.
BEST_RESPONSES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")

#: Genes with a ``mut_<gene>`` column (1 altered, 0 tested wild-type, empty not tested).
MUTATION_GENES: tuple[str, ...] = (
    "egfr", "alk", "ros1", "ret", "erbb2", "kras", "braf", "met_ex14",
    "stk11", "keap1", "tp53", "jak1", "jak2", "b2m", "pten", "ctnnb1",
)
#: Oncogenic drivers: negative predictors, usually excluded from ICI monotherapy.
DRIVER_GENES: tuple[str, ...] = ("egfr", "alk", "ros1", "ret", "erbb2")

#: Input layouts every ``--input`` / ``--data`` accepts; "auto" detects the layout.
INPUT_FORMATS: tuple[str, ...] = ("auto", "table", "cbioportal", "cbioportal_tsv", "loris", "dijon")
#: Where the benefit label comes from: the PFS rule, the study's own call, or the call where given.
LABEL_SOURCES: tuple[str, str, str] = ("derived", "reported", "reported_then_derived")
#: The three values of the benefit label.
BENEFIT_LABELS: tuple[str, str, str] = ("durable_benefit", "primary_resistance", "not_evaluable")

#: Likelihood of durable benefit, in words, from the calibrated probability.
BENEFIT_GROUPS: tuple[str, str, str] = ("low", "intermediate", "high")
#: Default group limits: low below 0.2, high from 0.4 (about 0.6x and 1.2x the pooled training
#: rate of 0.33), intermediate between.
BENEFIT_GROUP_THRESHOLDS: dict[str, float] = {"low": 0.2, "high": 0.4}
#: Columns of every prediction table, in order (``top{i}_*`` follow when ``explain=k``): what ``predict``
#: returns and what the MLflow pyfunc's signature declares.
#: The columns of a time-to-event model's PFS curve (empty for a model without one): S(t) at 3, 12 and 24 months
#: (S(6) is ``p_durable_benefit``), the median PFS with its interval, and 1 - S(24) / S(6).
CURVE_COLUMNS: tuple[str, ...] = ("p_pfs_3m", "p_pfs_12m", "p_pfs_24m", "median_pfs_months", "median_pfs_low",
                                  "median_pfs_high", "p_secondary_resistance_24m")
#: The months of the ``p_pfs_*`` columns.
CURVE_MONTHS: dict[str, float] = {"p_pfs_3m": 3.0, "p_pfs_12m": 12.0, "p_pfs_24m": 24.0}
OUTPUT_COLUMNS: tuple[str, ...] = ("patient_id", "p_durable_benefit", "p_low", "p_high", "benefit_group", "time_class",
                                   "til_source", "missing_inputs", "inputs_not_used", "warnings", "model_version",
                                   *CURVE_COLUMNS)
#: Prefixes of the output columns that hold numbers (double in the MLflow signature and the Spark result type);
#: every other output column holds text.
OUTPUT_NUMBER_PREFIXES: tuple[str, ...] = ("p_", "median_")

#: Days in a calendar month (365.25 / 12).
MONTH_DAYS = 30.4375
#: Progression-free months that count as durable clinical benefit.
DCB_MONTHS = 6.0

#: Words in ``tmb_assay`` naming a blood-based TMB (bTMB runs on another scale than tissue panels).
PLASMA_ASSAY_WORDS: tuple[str, ...] = ("plasma", "btmb", "blood", "ctdna", "liquid")
#: Words in ``tmb_assay`` naming whole-exome sequencing.
WES_ASSAY_WORDS: tuple[str, ...] = ("wes", "exome")
#: Words in ``tmb_assay`` naming a tissue panel. An assay named by none of the plasma, exome or
#: panel words is still read as a tissue panel, with a warning (it may be a blood assay).
TISSUE_PANEL_WORDS: tuple[str, ...] = ("impact", "panel", "foundation", "f1cdx", "cdx", "tso", "oncomine",
                                       "tissue", "tumour", "tumor", "caris", "tempus xt", "msk")

#: Names of the TIME class numberings (see ``clinical.time_class.NUMBERINGS``).
TIME_NUMBERINGS: tuple[str, str] = ("seed", "teng")

#: Model families compared by model selection, simplest first (the simpler wins ties).
#: ``spline_cox`` and ``xgboost_cox`` model the whole PFS curve (:mod:`icipredict.model.survival`); a config
#: compares either the 6-month families or the time-to-event ones.
MODEL_NAMES: tuple[str, ...] = ("spline_logistic", "random_forest", "xgboost", "spline_cox", "xgboost_cox")
#: The time-to-event families (the others predict the 6-month yes/no).
SURVIVAL_FAMILIES: tuple[str, ...] = ("spline_cox", "xgboost_cox")
#: The families on the spline design of :class:`icipredict.model.glm.SplineLogistic` (same inputs, same terms).
SPLINE_FAMILIES: tuple[str, ...] = ("spline_logistic", "spline_cox")
#: Calibration compared by model selection: none, or the slope of the leave-one-study-out
#: predictions (capped at 1) with the intercept re-estimated on the development data.
CALIBRATION_METHODS: tuple[str, ...] = ("none", "slope")
#: Local updating (Janssen et al., J Clin Epidemiol 2008): chosen by the local number of events
#: ("auto"), recalibration in the large, logistic recalibration, refitting with shrinkage toward the
#: original coefficients, extension with the TIL term.
UPDATE_METHODS: tuple[str, ...] = ("auto", "intercept", "logistic", "refit", "extend")
#: The most bootstrap resamples a run, ``evaluate`` or ``update`` draws (their indices are held at once: a million
#: resamples of 300 patients would be 2.4 GB).
MAX_RESAMPLES = 100_000
#: The most synthetic patients one call draws (1,000,000 take about 7 s and 2 GB; 100,000,000 would not fit in memory).
MAX_SYNTHETIC_PATIENTS = 1_000_000
#: Seeds are NumPy's: whole numbers from 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1
#: Published baselines reported beside every model: PD-L1 alone, TMB alone, LORIS.
BASELINES: tuple[str, ...] = ("pdl1", "tmb", "loris")
