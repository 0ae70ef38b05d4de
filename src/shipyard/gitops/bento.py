"""Build the bento from bentofile.yaml plus what has one source elsewhere: the model's
name in BentoML's store (`serve.model_name` in conf/) and this package's wheel, the one
`make bento` just built into dist/ (its version is pyproject.toml's)."""

from __future__ import annotations

from pathlib import Path


def build(bentofile: Path, model_name: str, wheels: Path, labels: dict[str, str]) -> str:
    """The new bento's tag. The completed bentofile is written beside the wheels (build
    output, not a source) and built with the working directory as build context."""
    import bentoml
    import yaml

    spec = yaml.safe_load(bentofile.read_text())
    built = sorted(wheels.glob("shipyard-*.whl"))
    if len(built) != 1:
        raise ValueError(f"expected one shipyard wheel in {wheels}/, found {len(built)}")
    spec["models"] = [f"{model_name}:latest"]  # resolved to the exact version at build time
    spec.setdefault("python", {})["wheels"] = [str(built[0])]
    complete = wheels / "bentofile.yaml"
    complete.write_text(yaml.safe_dump(spec, sort_keys=False))
    bento = bentoml.bentos.build_bentofile(str(complete), build_ctx=".", labels=labels)
    return str(bento.tag)


def built_for(name: str, model_version: str) -> str | None:
    """The newest bento `name` built for `model_version` (its label), or None. Not
    `name:latest`: after a failed build that still names the previous model's bento."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        bentos = bentoml.list(name)
    except NotFound:
        return None
    mine = [b for b in bentos if b.info.labels.get("model_version") == model_version]
    newest = max(mine, key=lambda b: b.info.creation_time, default=None)
    return str(newest.tag) if newest else None
