"""Typed views of params.yaml: each stage loads only the sections it declares in dvc.yaml.

params.yaml is composed from conf/ by Hydra; here each section is merged into a
dataclass schema so an unknown or mistyped key fails fast with its full name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PARAMS_FILE = "params.yaml"


# What evaluate scores, as metrics.json and the gate (gate.model) name them.
MODELS = ("mlp", "baseline")
# package.model: ship the better of MODELS by the gate's main metric (ties: the baseline,
# the simpler model), or name one of them.
BEST = "best"

# The largest magnitude a raw number may have, in training data and in requests alike:
# beyond it, standardized features and a float32 network overflow to inf/NaN.
MAX_ABS_VALUE = 1e12


class ConfigError(ValueError):
    """A params.yaml section that does not match its schema."""


@dataclass
class DataChecks:
    """Dataset-level checks, on top of the per-column schema. No defaults here: what
    `validate` accepts is in conf/ and params.yaml, where DVC sees it change."""

    min_rows: int
    min_rows_per_class: int  # classification: every declared label needs this many
    max_duplicate_rows: int  # rows repeated exactly (features and target)
    imbalance_warning_ratio: float  # warn when largest class / smallest class exceeds it


@dataclass
class DataConfig:
    name: str
    task: str  # "classification" or "regression"
    source: dict[str, Any]  # a Hydra `_target_` spec returning a DataFrame
    target: str
    labels: list[Any] | None  # classification: the allowed label set; regression: null
    numeric_features: list[str]
    checks: DataChecks
    categorical_features: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)  # columns read but never used (IDs)
    nullable: list[str] = field(default_factory=list)  # features that may be missing
    ranges: dict[str, list[Any]] = field(default_factory=dict)  # column: [min, max]

    def __post_init__(self) -> None:
        declared = [*self.features, self.target, *self.drop]
        twice = sorted({c for c in declared if declared.count(c) > 1})
        if twice:
            raise ConfigError(f"data: columns declared more than once: {twice}")
        for key, names in (("nullable", self.nullable), ("ranges", list(self.ranges))):
            unknown = sorted(set(names) - set(declared))
            if unknown:
                raise ConfigError(f"data.{key}: not declared columns: {unknown}")
        for column, bounds in self.ranges.items():
            numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            if len(bounds) != 2 or not numbers or bounds[0] > bounds[1]:
                raise ConfigError(f"data.ranges.{column}: expected [min, max], got {bounds}")

    @property
    def features(self) -> list[str]:
        """Model inputs in bundle order: numeric, then categorical."""
        return [*self.numeric_features, *self.categorical_features]


@dataclass
class SplitConfig:
    val_size: float
    test_size: float


@dataclass
class NumericTransform:
    imputer: dict[str, Any]  # `_target_` specs of scikit-learn transformers
    scaler: dict[str, Any]


@dataclass
class CategoricalTransform:
    imputer: dict[str, Any]
    encoder: dict[str, Any]


@dataclass
class FeaturesConfig:
    split: SplitConfig
    numeric: NumericTransform
    categorical: CategoricalTransform
    # The most train rows what is fit in memory sees: the featurizer, and the baseline
    # (a seeded sample when the train split is larger; all of it otherwise).
    fit_rows: int

    def __post_init__(self) -> None:
        if self.fit_rows < 1:
            raise ConfigError(f"features.fit_rows: must be at least 1, got {self.fit_rows}")


def check_features(cfg: FeaturesConfig) -> None:
    """Each transformer's `_target_` imports and takes its arguments; else ConfigError.
    Not on load: it imports scikit-learn (a second or more), which only what builds the
    featurizer needs, not the stages that merely record these params (package)."""
    for part, spec in (
        ("numeric.imputer", cfg.numeric.imputer),
        ("numeric.scaler", cfg.numeric.scaler),
        ("categorical.imputer", cfg.categorical.imputer),
        ("categorical.encoder", cfg.categorical.encoder),
    ):
        check_target(spec, f"features.{part}")


@dataclass
class ModelConfig:
    name: str
    hidden_sizes: list[int]
    dropout: float
    lr: float
    weight_decay: float
    batch_size: int


@dataclass
class TrainerConfig:
    accelerator: str
    devices: Any  # "auto", a count, or a list of device ids
    strategy: str
    precision: str
    max_epochs: int
    patience: int
    deterministic: bool


@dataclass
class EvaluateConfig:
    plot_rows: int  # the most test rows drawn in plots (metrics use them all)


@dataclass
class PackageConfig:
    model: str  # BEST, or one of MODELS

    def __post_init__(self) -> None:
        if self.model not in (BEST, *MODELS):
            raise ConfigError(f"package.model: '{self.model}' is not one of {[BEST, *MODELS]}")


@dataclass
class BatchingConfig:
    enabled: bool
    max_batch_size: int
    max_latency_ms: int


@dataclass
class LogConfig:
    path: str | None  # relative paths are under SHIPYARD_STATE_DIR; None = no log
    max_bytes: int  # rotate past this size
    backups: int  # rotated files kept


@dataclass
class ShadowConfig:
    bundle: str | None  # a candidate bundle directory; None = no shadow
    queue: int  # requests waiting for the candidate; beyond, logged without it (counted)
    max_busy: float  # share of the time the candidate may run (it shares the cores)


@dataclass
class ServeConfig:
    model_name: str
    max_rows: int
    max_body_bytes: int | None  # None: sized so that any request of max_rows rows fits
    body_timeout_s: float
    batching: BatchingConfig
    timeout_s: int
    torch_threads: int
    prediction_log: LogConfig
    feedback_log: LogConfig
    shadow: ShadowConfig

    def __post_init__(self) -> None:
        if not 0 < self.body_timeout_s < self.timeout_s:
            raise ConfigError(
                "serve.body_timeout_s: must be above 0 and below serve.timeout_s "
                "(a slow client is a 408 before the request timeout's 504)"
            )
        log = self.prediction_log
        logs = (log, self.feedback_log)
        if self.shadow.queue < 1 or any(x.max_bytes < 1 or x.backups < 1 for x in logs):
            # (backups: 0 would never rotate: the standard library's handler only rotates
            # into a backup)
            raise ConfigError("serve.shadow.queue, serve.*_log.max_bytes and .backups: >= 1")
        if self.shadow.bundle and not log.path:
            raise ConfigError(
                "serve.shadow.bundle: its answers are logged; set serve.prediction_log.path"
            )
        if not 0 < self.shadow.max_busy <= 1:
            raise ConfigError("serve.shadow.max_busy: a share of the time, in (0, 1]")


@dataclass
class MonitorConfig:
    """`shipyard monitor`: which window of logged rows it judges, and when a column drifts
    (shipyard.monitor.drift)."""

    window_rows: int  # the newest logged rows judged together
    min_rows: int  # a smaller window is "insufficient data"
    min_labels: int  # fewer labelled rows in the window: no realized-metric verdict
    alpha: float  # false discovery rate over the columns tested (Benjamini-Hochberg)
    metric_alpha: float  # significance of a realized-metric drop on the labelled rows
    numeric_effect: float  # Wasserstein distance / reference std, at least
    categorical_effect: float  # Jensen-Shannon distance (base 2, 0..1), at least
    max_model_age_days: float | None = None  # older (and labels to learn from): retrain

    def __post_init__(self) -> None:
        if not (0 < self.alpha < 1 and 0 < self.metric_alpha < 1):
            raise ConfigError("monitor.alpha, monitor.metric_alpha: rates in (0, 1)")
        if not 0 < self.min_rows <= self.window_rows:
            raise ConfigError("monitor.min_rows: at least 1 and at most monitor.window_rows")
        if self.min_labels < 1 or self.numeric_effect < 0 or self.categorical_effect < 0:
            raise ConfigError("monitor.min_labels: >= 1; monitor.*_effect: >= 0")


@dataclass
class MetricRule:
    """Which way is better is the metric's own (shipyard.pipeline.task), not the rule's."""

    limit: float | None = None
    tolerance: float = 0.0


@dataclass
class BootstrapConfig:
    samples: int
    confidence: float
    seed: int


@dataclass
class GateConfig:
    model: str
    main_metric: str
    rules: dict[str, MetricRule]
    bootstrap: BootstrapConfig

    def __post_init__(self) -> None:
        if self.main_metric not in self.rules:
            raise ConfigError(
                f"gate.main_metric: '{self.main_metric}' has no rule in gate.rules "
                f"(rules: {sorted(self.rules)})"
            )
        if not 0 < self.bootstrap.confidence < 1 or self.bootstrap.samples < 1:
            raise ConfigError("gate.bootstrap: confidence in (0, 1) and samples >= 1")


@dataclass
class Params:
    """Every section, for the stages that need several (package writes them into the card)."""

    seed: int
    data: DataConfig
    features: FeaturesConfig
    model: ModelConfig
    baseline: dict[str, Any] = field(default_factory=dict)  # a `_target_` estimator spec
    trainer: TrainerConfig | None = None
    serve: ServeConfig | None = None
    gate: GateConfig | None = None
    evaluate: EvaluateConfig | None = None
    monitor: MonitorConfig | None = None
    package: PackageConfig | None = None


# Hydra's own keys in a `_target_` spec, not arguments of the target.
HYDRA_KEYS = {"_target_", "_partial_", "_convert_", "_recursive_", "_args_"}


def check_target(spec: dict[str, Any], where: str) -> None:
    """`spec` names an importable class or function (`_target_`) and only arguments it
    takes; else a ConfigError naming the key."""
    import importlib
    import inspect

    target = spec.get("_target_") if isinstance(spec, dict) else None
    if not isinstance(target, str) or "." not in target:
        raise ConfigError(f"{where}._target_: expected a dotted path, got {target!r}")
    module, _, name = target.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"{where}._target_: cannot import '{target}'") from None
    try:
        accepted = inspect.signature(found).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return
    unknown = sorted(set(spec) - HYDRA_KEYS - set(accepted))
    if unknown:
        raise ConfigError(
            f"{where}: {unknown} not accepted by {target} (it takes {sorted(accepted)})"
        )


def validated(schema: type[T], node: Any, where: str) -> T:
    """`node` merged into the dataclass `schema`; a bad key raises ConfigError naming it."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        msg = getattr(err, "msg", None) or str(err)
        raise ConfigError(f"{where}: bad key '{key}': {msg.splitlines()[0]}") from None


def _read(params_file: str | Path) -> Any:
    from omegaconf import OmegaConf

    path = Path(params_file)
    if not path.exists():
        raise ConfigError(f"{path} not found: run `make params` to compose it from conf/")
    return OmegaConf.load(path)


def load_section(name: str, schema: type[T], params_file: str | Path = PARAMS_FILE) -> T:
    """One section of params.yaml as a dataclass; unknown or mistyped keys raise ConfigError."""
    raw = _read(params_file)
    if name not in raw:
        raise ConfigError(f"{params_file} has no '{name}' section: run `make params`")
    return validated(schema, raw[name], f"{params_file} [{name}]")


def load_value(name: str, params_file: str | Path = PARAMS_FILE) -> Any:
    """A top-level scalar such as `seed`."""
    raw = _read(params_file)
    if name not in raw:
        raise ConfigError(f"{params_file} has no '{name}' key: run `make params`")
    return raw[name]


def load_seed(params_file: str | Path = PARAMS_FILE) -> int:
    """The top-level `seed`, an int."""
    seed = load_value("seed", params_file)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{params_file}: seed must be an integer, not {seed!r}")
    return seed


def load_dict(name: str, params_file: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """A free-form section (a `_target_` spec) as a plain dict."""
    from omegaconf import OmegaConf

    raw = _read(params_file)
    if name not in raw:
        raise ConfigError(f"{params_file} has no '{name}' section: run `make params`")
    return OmegaConf.to_container(raw[name], resolve=True)  # type: ignore[return-value]


def load_params(params_file: str | Path = PARAMS_FILE) -> Params:
    """All of params.yaml, validated against the schemas above."""
    return validated(Params, _read(params_file), str(params_file))
