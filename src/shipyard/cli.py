"""`shipyard`: the commands the Makefile and the workflows call. Starts without heavy imports."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


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


def _gate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.config import GateConfig, load_section
    from shipyard.quality import run_gate

    cfg = load_section("gate", GateConfig, args.params)
    verdict, had_base = run_gate(cfg, args.base, args.metrics, args.predictions)
    if not had_base:
        print(f"gate: {args.base} has no metrics for '{cfg.model}': limits only")
    print(verdict.summary())
    if args.output:
        checks = [c.__dict__ for c in verdict.checks]
        Path(args.output).write_text(
            json.dumps({"passed": verdict.passed, "base": args.base, "checks": checks}, indent=2)
            + "\n"
        )
    if not verdict.passed:
        sys.exit(1)


def _report(args: argparse.Namespace) -> None:
    import subprocess
    from pathlib import Path

    from shipyard import report, revisions
    from shipyard.config import GateConfig, load_section
    from shipyard.quality import run_gate

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = revisions.resolve(args.base)
    verdict, had_base = run_gate(load_section("gate", GateConfig, args.params), base)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    changes = report.collect(base, out.parent)
    out.write_text(report.render(head or "workspace", args.base, changes, verdict, had_base))
    print(f"report: {out} (gate {'passed' if verdict.passed else 'FAILED'})")
    if not verdict.passed and args.fail_on_gate:
        sys.exit(1)


def _release_check(args: argparse.Namespace) -> None:
    from shipyard.release import unclean_stages

    unclean = unclean_stages()
    if unclean:
        sys.exit(
            "release: `dvc status` is not clean, so this is not what was reviewed and pushed "
            f"(stages: {', '.join(unclean)}). Reproduce and push in the pull request; "
            "a release never retrains."
        )
    print("release: dvc status is clean")


def _smoke(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.release import smoke

    try:
        answer = smoke(Path(args.bundle), bento=args.bento, url=args.url)
    except RuntimeError as err:
        sys.exit(str(err))
    target = args.url or args.bento
    said = answer["label"] if "label" in answer else answer["value"]
    print(f"smoke: {target} answered {said} from {answer['model_version']}")


def _model_version(args: argparse.Namespace) -> None:
    from shipyard.bundle import read_card

    print(read_card(args.bundle)["version"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="shipyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], None], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func)
        return sub

    for name, func, text in (
        ("params", _params, "compose conf/ into params.yaml (as `dvc exp run` does)"),
        ("check-params", _check_params, "fail if params.yaml differs from a fresh composition"),
    ):
        sub = add(name, func, text)
        sub.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. model.lr=0.01")
        sub.add_argument("--output", default="params.yaml")
        sub.add_argument("--config-dir", default="conf")
    for name, func, text in (
        ("gate", _gate, "check metrics against conf/gate and a base revision; exit 1 on failure"),
        ("report", _report, "write report.md (+ PNG plots beside it) against a base revision"),
    ):
        sub = add(name, func, text)
        sub.add_argument("--base", default="main", help="git revision to compare against")
        sub.add_argument("--params", default="params.yaml")
    gate = commands.choices["gate"]
    gate.add_argument("--metrics", default="reports/evaluate/metrics.json")
    gate.add_argument("--predictions", default="data/predictions")
    gate.add_argument("--output", help="also write the verdict as JSON here")
    report = commands.choices["report"]
    report.add_argument("--output", default="report/report.md")
    report.add_argument("--fail-on-gate", action="store_true", help="exit 1 if the gate fails")
    add("release-check", _release_check, "fail unless dvc status is clean (ship what was reviewed)")
    smoke = add("smoke", _smoke, "predict one row on a bento (served here) or a URL; check version")
    smoke.add_argument("--bento", default="shipyard:latest")
    smoke.add_argument("--url", help="a running service instead of a bento")
    smoke.add_argument("--bundle", default="models/bundle")
    add("model-version", _model_version, "print the bundle's model version").add_argument(
        "--bundle", default="models/bundle"
    )
    store = add("import-model", _import_model, "put a bundle in BentoML's model store; print tag")
    store.add_argument("--bundle", default="models/bundle")
    store.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    from shipyard.config import ConfigError

    try:
        args.func(args)
    except ConfigError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
