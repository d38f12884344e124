"""Typed training configuration, loaded from YAML and ``--set key=value`` overrides.

Every choice a training run makes is here: data sources, label rule, features, model and
hyperparameters, cross-validation, calibration, explanations, benefit groups, tracking and seed.
An invalid file or override raises :class:`~icipredict.exceptions.InvalidConfig` naming the key.

>>> cfg = load_config(None, overrides=["model.families=[xgboost]", "seed=3"])
>>> cfg.model.families, cfg.seed
(['xgboost'], 3)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from icipredict.exceptions import InvalidConfig
from icipredict.model.features import INPUT_SETS
from icipredict.model.metadata import BenefitThresholds, FeatureOptions
from icipredict.table.vocab import (BASELINES, CALIBRATION_METHODS, INPUT_FORMATS, LABEL_SOURCES, MAX_RESAMPLES, MAX_SEED,
                                     MAX_SYNTHETIC_PATIENTS, MODEL_NAMES, SURVIVAL_FAMILIES)

__all__ = ["Config", "DataSource", "load_config", "apply_overrides", "config_to_dict"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataSource(_Strict):
    """One cohort: a file or folder in a supported format, or the synthetic generator."""

    name: str
    format: Literal[INPUT_FORMATS + ("synthetic",)] = "auto"  # type: ignore[valid-type]
    path: str | None = None
    n: int = Field(1000, ge=20, le=MAX_SYNTHETIC_PATIENTS, description="synthetic only: number of patients")
    seed: int | None = Field(None, description="synthetic only: defaults to the run seed")
    shift: float = Field(0.0, ge=-3, le=3, description="synthetic only: a centre's shift of the log-odds of benefit")
    til_effect: float = Field(1.0, ge=0, le=10, description="synthetic only: strength of the TIME class effect")
    role: Literal["train", "external"] = "train"

    @model_validator(mode="after")
    def _path_needed(self) -> "DataSource":
        if self.format != "synthetic" and not self.path:
            raise ValueError(f"source {self.name!r} has format {self.format!r} and needs a 'path'")
        return self


class DataConfig(_Strict):
    sources: list[DataSource] = Field(default_factory=lambda: [
        DataSource(name=f"centre_{c}", format="synthetic", n=n, seed=seed, shift=shift)
        for c, n, seed, shift in (("a", 300, 7, 0.0), ("b", 250, 8, 0.3), ("c", 250, 9, -0.3), ("d", 200, 10, 0.1))])
    root: str | None = Field(None, description="directory that relative source paths start from")
    lenient: bool = False

    @field_validator("sources")
    @classmethod
    def _non_empty(cls, v: list[DataSource]) -> list[DataSource]:
        if not any(s.role == "train" for s in v):
            raise ValueError("at least one source must have role 'train'")
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must be unique, got {names}")
        return v


class LabelConfig(_Strict):
    source: Literal[LABEL_SOURCES] = "derived"  # type: ignore[valid-type]
    benefit_months: float = Field(6.0, gt=0, le=24)


_SPLINE_KEYS = {"inputs": "an input set (core, extended)", "knots": "0, 3, 4 or 5", "penalty": "a number > 0"}
_TREE_KEYS = {"xgboost": ("max_depth", "min_child_weight", "n_estimators", "learning_rate", "subsample",
                          "colsample_bytree", "reg_lambda", "monotone", "band_only_share", "mask_share"),
              "xgboost_cox": ("max_depth", "min_child_weight", "n_estimators", "learning_rate", "subsample",
                              "colsample_bytree", "reg_lambda", "monotone", "band_only_share", "mask_share"),
              "random_forest": ("n_estimators", "min_samples_leaf", "max_features", "max_depth", "band_only_share",
                                "mask_share")}


def _values(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _whole(low: int):
    return lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= low


def _number(test):
    return lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and test(x)


#: What each tree setting accepts (checked here, so that XGBoost or scikit-learn never fails after the data loaded).
_TREE_VALUES: dict[str, tuple[Any, str]] = {
    "max_depth": (lambda x: x is None or _whole(1)(x), "a whole number of at least 1"),
    "min_child_weight": (_number(lambda x: x >= 0), "a number >= 0"),
    "n_estimators": (_whole(1), "a whole number of at least 1"),
    "learning_rate": (_number(lambda x: x > 0), "a number > 0"),
    "subsample": (_number(lambda x: 0 < x <= 1), "a number > 0 and <= 1"),
    "colsample_bytree": (_number(lambda x: 0 < x <= 1), "a number > 0 and <= 1"),
    "reg_lambda": (_number(lambda x: x >= 0), "a number >= 0"),
    "monotone": (lambda x: isinstance(x, bool), "true or false"),
    "band_only_share": (_number(lambda x: 0 <= x < 1), "a number >= 0 and < 1"),
    "mask_share": (_number(lambda x: 0 <= x < 1), "a number >= 0 and < 1"),
    "min_samples_leaf": (lambda x: _whole(1)(x) or isinstance(x, float) and 0 < x < 1,
                         "a whole number of at least 1 or a share > 0 and < 1"),
    "max_features": (lambda x: x is None or x in ("sqrt", "log2") or _whole(1)(x)
                     or _number(lambda f: 0 < f <= 1)(x), "sqrt, log2, a whole number >= 1 or a share > 0 and <= 1"),
}


def _check_grid(field: str, key: str, values: Any, allowed, expected: str) -> None:
    """A grid setting's values: a list searches each (never empty), a single value is fixed."""
    if isinstance(values, list) and not values:
        raise ValueError(f"{field}.{key} is an empty list, which searches nothing; expected at least one value")
    for x in _values(values):
        if not allowed(x):
            raise ValueError(f"{field}.{key} must be {expected}, got {x!r}")


class ModelConfig(_Strict):
    """The model families compared by leave-one-study-out, each with its grid (a list is searched).

    Either the 6-month families (``spline_logistic``, ``random_forest``, ``xgboost``: a yes/no at 6
    months) or the time-to-event ones (``spline_cox``, ``xgboost_cox``: the whole PFS curve, chosen on
    out-of-study concordance); a config does not mix them.
    """

    families: list[Literal[MODEL_NAMES]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["spline_logistic", "xgboost"], min_length=1)
    spline_logistic: dict[str, Any] = Field(default_factory=lambda: {
        "inputs": ["core", "extended"], "knots": [0, 3], "penalty": [0.003, 0.01, 0.03, 0.1, 0.3]})
    xgboost: dict[str, Any] = Field(default_factory=lambda: {
        "max_depth": [1, 2], "min_child_weight": [5, 20], "n_estimators": 300, "learning_rate": 0.03,
        "monotone": True, "band_only_share": 0.25, "mask_share": 0.1})
    random_forest: dict[str, Any] = Field(default_factory=lambda: {"min_samples_leaf": [10, 30]})
    spline_cox: dict[str, Any] = Field(default_factory=lambda: {
        "inputs": ["core", "extended"], "knots": [0, 3], "penalty": [0.003, 0.01, 0.03, 0.1, 0.3]})
    xgboost_cox: dict[str, Any] = Field(default_factory=lambda: {
        "max_depth": [1, 2], "min_child_weight": [5, 20], "n_estimators": 300, "learning_rate": 0.03,
        "monotone": True, "band_only_share": 0.25, "mask_share": 0.1})

    @model_validator(mode="after")
    def _one_outcome(self) -> "ModelConfig":
        kinds = {f in SURVIVAL_FAMILIES for f in self.families}
        if len(kinds) > 1:
            raise ValueError(f"families {self.families} mix 6-month families with time-to-event ones "
                             f"({', '.join(SURVIVAL_FAMILIES)}); expected one kind")
        return self

    @property
    def survival(self) -> bool:
        """True when the families are the time-to-event ones."""
        return self.families[0] in SURVIVAL_FAMILIES

    @field_validator("spline_logistic", "spline_cox")
    @classmethod
    def _spline_grid(cls, v: dict[str, Any], info) -> dict[str, Any]:
        allowed = {"inputs": lambda x: x in INPUT_SETS, "knots": lambda x: x in (0, 3, 4, 5),
                   "penalty": _number(lambda x: x > 0)}
        for key, values in v.items():
            if key not in _SPLINE_KEYS:
                raise ValueError(f"unknown {info.field_name} setting {key!r}; expected {sorted(_SPLINE_KEYS)}")
            _check_grid(info.field_name, key, values, allowed[key], _SPLINE_KEYS[key])
        return v

    @field_validator("xgboost", "random_forest", "xgboost_cox")
    @classmethod
    def _tree_grid(cls, v: dict[str, Any], info) -> dict[str, Any]:
        unknown = sorted(set(v) - set(_TREE_KEYS[info.field_name]))
        if unknown:
            raise ValueError(f"unknown {info.field_name} setting(s) {unknown}; expected {list(_TREE_KEYS[info.field_name])}")
        for key, values in v.items():
            _check_grid(info.field_name, key, values, *_TREE_VALUES[key])
        return v

    def grids(self) -> dict[str, dict[str, list[Any]]]:
        return {"spline_logistic": self.spline_logistic, "xgboost": self.xgboost, "random_forest": self.random_forest,
                "spline_cox": self.spline_cox, "xgboost_cox": self.xgboost_cox}


class CalibrationConfig(_Strict):
    """Calibration methods compared on leave-one-study-out predictions (the slope is never raised above 1)."""

    methods: list[Literal[CALIBRATION_METHODS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(CALIBRATION_METHODS), min_length=1)


class SelectionConfig(_Strict):
    min_group_n: int = Field(30, ge=5, description="studies smaller than this are never validation groups")
    folds: int = Field(5, ge=2, le=20, description="random folds when fewer than two studies qualify")


class UncertaintyConfig(_Strict):
    level: float = Field(0.9, gt=0.5, lt=1, description="coverage of p_low / p_high")


class TilConfig(_Strict):
    prior: Literal["rakaee2023", "none"] = "rakaee2023"
    min_patients: int = Field(30, ge=5, description="TIL-measured training patients needed to learn the TIL effect")


class EvaluationConfig(_Strict):
    internal_external: bool = Field(True, description="hold out each study in turn (the headline)")
    cv_folds: int = Field(5, ge=0, le=20, description="stratified pooled folds (secondary; 0 skips them)")
    n_boot: int = Field(1000, ge=0, le=MAX_RESAMPLES)
    thresholds: list[float] = Field(default_factory=lambda: [0.2, 0.3, 0.5])
    baselines: list[Literal[BASELINES]] = Field(default_factory=lambda: list(BASELINES))  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _measured(self) -> "EvaluationConfig":
        if not self.internal_external and self.cv_folds < 2:
            raise ValueError(f"internal_external is false and cv_folds is {self.cv_folds}: nothing would measure the "
                             "model out of sample; expected internal_external true or cv_folds of 2 or more")
        return self

    @field_validator("thresholds")
    @classmethod
    def _in_unit(cls, v: list[float]) -> list[float]:
        bad = [t for t in v if not 0 < t < 1]
        if bad:
            raise ValueError(f"thresholds must lie strictly between 0 and 1, got {bad}")
        return v


class ExplainConfig(_Strict):
    enabled: bool = True
    max_display: int = Field(15, ge=1)
    dependence: list[str] = Field(default_factory=lambda: ["pdl1", "tmb"])
    max_patients: int = Field(2000, ge=10, description="patients sampled for the global SHAP plots")


class TrackingConfig(_Strict):
    enabled: bool = True
    uri: str | None = Field(None, description="MLflow store; unset: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db")
    experiment: str = "icipredict"
    run_name: str | None = None
    registered_model: str | None = Field(None, description="also register the model under this name (models:/name/1)")


class OutputConfig(_Strict):
    model_dir: str | None = Field(None, description="where the model bundle is written (none: only MLflow); "
                                  "relative to the config file; must not exist unless `replace`")
    model_name: str = "icipredict"
    replace: bool = Field(False, description="replace an earlier icipredict bundle at model_dir (--force)")
    plots: bool = Field(True, description="draw the training plots (bundle `plots/` and MLflow); false: a quicker "
                        "exploratory run whose bundle and run carry no plots")


class Config(_Strict):
    """A whole training run."""

    seed: int = Field(7, ge=0, le=MAX_SEED, description="every random step of the run (NumPy's seed range)")
    data: DataConfig = Field(default_factory=DataConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    features: FeatureOptions = Field(default_factory=FeatureOptions)
    model: ModelConfig = Field(default_factory=ModelConfig)
    calibration: CalibrationConfig = Field(default_factory=CalibrationConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    uncertainty: UncertaintyConfig = Field(default_factory=UncertaintyConfig)
    til: TilConfig = Field(default_factory=TilConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    benefit_groups: BenefitThresholds = Field(default_factory=BenefitThresholds)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    base_dir: str | None = Field(None, description="directory of the config file (set by load_config)")

    def source_path(self, source: DataSource) -> Path | None:
        """Absolute path of a source: relative paths start at ``data.root``, itself relative to the file."""
        if source.path is None:
            return None
        base = Path(self.base_dir) if self.base_dir else Path.cwd()
        root = Path(self.data.root) if self.data.root else Path(".")
        if not root.is_absolute():
            root = base / root
        p = Path(source.path)
        return (p if p.is_absolute() else root / p).resolve()


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        got = err.get("input")
        got_text = "" if err["type"] in ("missing",) else f" Got {got!r} instead."
        parts.append(f"config key '{key}': {msg}.{got_text}")
    return f"Invalid configuration ({origin}): " + " ".join(parts)


def _parse_value(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a raw config dict.

    Overrides are applied in sorted key order so that their order on the command line never
    changes the result; giving the same key twice is an error.
    """
    out = copy.deepcopy(raw)
    pairs = []
    for item in overrides:
        if "=" not in item:
            raise InvalidConfig(f"--set {item!r}: expected key=value (e.g. model.families=[xgboost]). Got no '=' instead.")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), value))
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise InvalidConfig(f"--set: each key may be given once. Got {sorted(k for k in keys if keys.count(k) > 1)} "
                            "more than once instead.")
    for key, value in sorted(pairs):
        node: Any = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise InvalidConfig(f"config key '{key}': '{part}' is not an index of a list of {len(node)}.")
                node = node[int(part)]
            else:
                if part not in node or node[part] is None:
                    node[part] = {}
                node = node[part]
            if not isinstance(node, (dict, list)):
                raise InvalidConfig(f"config key '{key}': '{'.'.join(parts[:i + 1])}' is a value, not a section.")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise InvalidConfig(f"config key '{key}': '{last}' is not an index of a list of {len(node)}.")
            node[int(last)] = _parse_value(value)
        else:
            node[last] = _parse_value(value)
    return out


def _merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None, *, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config (or the built-in defaults when ``path`` is None) and apply overrides.

    Raises
    ------
    InvalidConfig
        Unreadable file, bad YAML, unknown key, wrong type or value; the message names the key.
    """
    import yaml

    raw: dict = {}
    origin = "defaults"
    if path is not None:
        path = Path(path)
        origin = str(path)
        if not path.is_file():
            raise InvalidConfig(f"config file {str(path)!r} does not exist; expected a YAML file such as "
                                "configs/default.yaml.")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InvalidConfig(f"config file {str(path)!r} is not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise InvalidConfig(f"config file {str(path)!r}: expected a mapping of sections at the top level. "
                                f"Got {type(raw).__name__} instead.")
        raw.setdefault("base_dir", str(path.resolve().parent))
        if "risk_groups" in raw:
            raise InvalidConfig(f"config file {str(path)!r}: key 'risk_groups' was renamed 'benefit_groups' (low / "
                                "intermediate / high likelihood of durable benefit); rename it.")
    # start from the defaults so that an override may reach into a default list (data.sources.0.n=500)
    raw = apply_overrides(_merge(Config().model_dump(mode="json"), raw), overrides)
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise InvalidConfig(_format_validation_error(exc, origin)) from None


def config_to_dict(config: Config) -> dict:
    """Plain dict of a config (for logging), without the machine-specific ``base_dir``."""
    d = config.model_dump(mode="json")
    d.pop("base_dir", None)
    return d
