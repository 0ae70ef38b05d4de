"""`shipyard`: the commands the Makefile and the workflows call. Starts without heavy imports."""

from __future__ import annotations

import argparse
import sys


def _params(args: argparse.Namespace) -> None:
    from shipyard import params

    out = params.write(args.overrides, args.output, args.config_dir)
    print(
        f"params: composed {args.config_dir}/ -> {out}"
        + (f" with {' '.join(args.overrides)}" if args.overrides else "")
    )


def _check_params(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard import params

    expected = params.compose(args.overrides, args.config_dir)
    if Path(args.output).read_text(encoding="utf-8") != expected:
        sys.exit(f"{args.output} is out of sync with {args.config_dir}/: run `make params`")
    print(f"{args.output} matches {args.config_dir}/")


def _import_model(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.config import ServeConfig, load_section
    from shipyard.serving.store import import_bundle

    name = load_section("serve", ServeConfig, args.params).model_name
    print(import_bundle(Path(args.bundle), name))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shipyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (
        ("params", _params, "compose conf/ into params.yaml (as `dvc exp run` does)"),
        ("check-params", _check_params, "fail if params.yaml differs from a fresh composition"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model.lr=0.01")
        sub.add_argument("--output", default="params.yaml")
        sub.add_argument("--config-dir", default="conf")
        sub.set_defaults(func=func)
    sub = commands.add_parser(
        "import-model", help="put a bundle into BentoML's model store; prints its tag"
    )
    sub.add_argument("--bundle", default="models/bundle")
    sub.add_argument("--params", default="params.yaml")
    sub.set_defaults(func=_import_model)
    args = parser.parse_args(argv)

    from shipyard.config import ConfigError

    try:
        args.func(args)
    except ConfigError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
