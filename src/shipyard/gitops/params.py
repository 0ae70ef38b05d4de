"""Compose conf/ into params.yaml exactly as DVC's Hydra integration does on `dvc exp run`.

`dvc repro` never composes, so `make params` runs this; byte-identical output keeps
`dvc exp run` from showing spurious params diffs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shipyard.config import ConfigError, Params


def compose(
    overrides: Sequence[str] = (), config_dir: str | Path = "conf", config_name: str = "config"
) -> str:
    """The params.yaml text for these Hydra overrides (resolved, as DVC writes it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(str(Path(config_dir).resolve()), version_base=None):
            cfg = hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:  # a bad override or group
        said = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
        said = said.split(" Config search path")[0]  # Hydra's search path: noise here
        raise ConfigError(f"{config_dir}/: {said}") from None
    OmegaConf.resolve(cfg)
    return OmegaConf.to_yaml(cfg)


def check(params: Params) -> None:
    """What no single section can check alone: the data's task and labels, the gate's
    rules against that task's metrics, the baseline's `_target_`. ConfigError if not."""
    from shipyard.config import MODELS, check_features, check_target
    from shipyard.pipeline.task import check_data

    kind = check_data(params.data)
    check_target(params.data.source, "data.source")
    check_target(params.baseline, "baseline")
    check_features(params.features)
    if params.gate is not None:
        unknown = sorted(set(params.gate.rules) - set(kind.metrics))
        if unknown:
            raise ConfigError(
                f"gate.rules: {unknown} are not {kind.name} metrics ({list(kind.metrics)})"
            )
        if params.gate.model not in MODELS:
            raise ConfigError(f"gate.model: '{params.gate.model}' is not one of {MODELS}")


def write(
    overrides: Sequence[str] = (),
    output: str | Path = "params.yaml",
    config_dir: str | Path = "conf",
) -> Path:
    """Compose, check the result against the typed schemas, then write it."""
    from shipyard.config import load_params

    text = compose(overrides, config_dir)
    out = Path(output)
    tmp = out.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        check(load_params(tmp))  # a bad override fails here, not three stages later
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
