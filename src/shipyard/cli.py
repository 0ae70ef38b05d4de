"""`shipyard`: the commands the Makefile and the workflows call. Starts without heavy imports."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


def _params(args: argparse.Namespace) -> None:
    from shipyard.gitops import params

    out = params.write(args.overrides, args.output, args.config_dir)
    print(
        f"params: composed {args.config_dir}/ -> {out}"
        + (f" with {' '.join(args.overrides)}" if args.overrides else "")
    )


def _check_params(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops import params

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
    from shipyard.gitops.quality import run_gate
    from shipyard.gitops.revisions import Unavailable

    cfg = load_section("gate", GateConfig, args.params)
    try:
        verdict, _ = run_gate(cfg, args.base, args.metrics, args.predictions, args.fetch_timeout)
    except Unavailable as err:  # this run's own metrics: nothing to judge
        sys.exit(f"gate: {err}")
    print(verdict.summary())
    if args.output:
        checks = [c.__dict__ for c in verdict.checks]
        verdict_json = {
            "passed": verdict.passed,
            "base": args.base,
            "checks": checks,
            "notes": verdict.notes,
        }
        Path(args.output).write_text(json.dumps(verdict_json, indent=2) + "\n")
    # A degraded run (base partly out of reach) still passes or fails on what it checked.
    if not verdict.passed:
        sys.exit(1)


def _report(args: argparse.Namespace) -> None:
    import subprocess
    from pathlib import Path

    from shipyard.config import GateConfig, load_section
    from shipyard.gitops import report, revisions
    from shipyard.gitops.quality import run_gate
    from shipyard.pipeline.bundle import read_card, shipped

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = load_section("gate", GateConfig, args.params)
    try:
        verdict, base = run_gate(cfg, args.base, timeout=args.fetch_timeout)
    except revisions.Unavailable as err:  # this run's own metrics: nothing to report
        sys.exit(f"report: {err}")
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    # base None (not to be had): this run alone, the verdict's note says why.
    changes = report.collect(base, out.parent, timeout=args.fetch_timeout)
    try:
        card = read_card(args.bundle)
        version: str | None = card["version"]
        ships: str | None = shipped(card)
    except (OSError, ValueError, KeyError):  # not packaged (yet), or not a card
        version = ships = None
    try:
        repro = report.read_repro_log(Path(args.repro_log))
    except ValueError as err:  # a broken log costs its section, not the report
        repro = None
        changes.missing.append(str(err))
    text = report.render(
        head or "workspace",
        args.base,
        changes,
        verdict,
        model_version=version,
        repro=repro,
        image_url=args.image_url,
        shipped=ships,
    )
    out.write_text(text)
    print(f"report: {out} (gate {'passed' if verdict.passed else 'FAILED'})")
    for note in verdict.notes + changes.missing:
        print(f"report: {note}")
    if not verdict.passed and args.fail_on_gate:
        sys.exit(1)


def _release_check(args: argparse.Namespace) -> None:
    from shipyard.gitops.release import unclean_stages

    try:
        unclean = unclean_stages()
    except RuntimeError as err:
        sys.exit(f"release: {err}")
    if unclean:
        sys.exit(
            "release: `dvc status` is not clean, so this is not what was reviewed and pushed "
            f"(stages: {', '.join(unclean)}). Reproduce and push in the pull request; "
            "a release never retrains."
        )
    print("release: dvc status is clean")


def _smoke(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.release import smoke

    if not (args.url or args.bento):
        sys.exit("smoke: give --bento TAG (`shipyard bento-tag`) or --url URL")
    try:
        answer = smoke(Path(args.bundle), bento=args.bento, url=args.url)
    except RuntimeError as err:
        sys.exit(str(err))
    target = args.url or args.bento
    said = {k: v for k, v in answer.items() if k != "model_version"}  # the task's answer
    print(f"smoke: {target} answered {json.dumps(said)[:120]} from {answer['model_version']}")


def _model_version(args: argparse.Namespace) -> None:
    from shipyard.pipeline.bundle import read_card

    print(read_card(args.bundle)["version"])


def _bento(args: argparse.Namespace) -> None:
    import subprocess
    from pathlib import Path

    from shipyard.config import ServeConfig, load_section
    from shipyard.gitops.bento import build
    from shipyard.pipeline.bundle import read_card

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    labels = {"model_version": read_card(args.bundle)["version"], "git_commit": commit}
    name = load_section("serve", ServeConfig, args.params).model_name
    try:
        tag = build(Path(args.bentofile), name, Path(args.wheels), labels)
    except ValueError as err:
        sys.exit(f"bento: {err}")
    print(f"__tag__:{tag}")  # as `bentoml build -o tag` prints it


def _bento_tag(args: argparse.Namespace) -> None:
    from pathlib import Path

    import yaml

    from shipyard.gitops.bento import built_for
    from shipyard.pipeline.bundle import read_card

    version = read_card(args.bundle)["version"]
    name = yaml.safe_load(Path(args.bentofile).read_text())["name"]
    tag = built_for(name, version)
    if tag is None:
        sys.exit(f"bento-tag: no bento '{name}' built for model version {version}: make bento")
    print(tag)


def _check_lock(args: argparse.Namespace) -> None:
    from shipyard.gitops.lock import check

    found = check()
    if found:
        lines = [f"  {stage}: {', '.join(items)}" for stage, items in found.items()]
        sys.exit(
            "check-lock: dvc.lock does not describe this workspace's code and params:\n"
            + "\n".join(lines)
            + "\nRun `make repro` and commit dvc.lock with the metrics, plots and reports "
            "it changed."
        )
    print("check-lock: dvc.lock describes every stage's code, params and command")


def _repro(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.repro import repro

    code = repro(args.dvc_args, Path(args.log))
    if code:
        sys.exit(code)


def _record(args: argparse.Namespace) -> None:
    from shipyard.gitops.git import GitError, set_output
    from shipyard.gitops.lock import check
    from shipyard.gitops.record import record

    if check():
        sys.exit("record: the workspace is not a complete reproduction (run `shipyard check-lock`)")
    try:
        commit = record(args.message, args.push_to)
    except GitError as err:
        sys.exit(f"record: {err}")
    set_output(commit=commit or "")
    if commit is None:
        print("record: dvc.lock and the pipeline's git-tracked outputs are already committed")
    else:
        where = f", pushed to {args.push_to}" if args.push_to else ""
        print(f"record: committed the reproduction as {commit[:12]}{where}")


def _commit_status(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.github import post_status, verdict_state

    state, description = verdict_state(Path(args.gate))
    post_status(args.sha, state, description, args.url)
    print(f"commit-status: {args.sha[:12]} {state}: {description}")


def _publish_plots(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.git import GitError
    from shipyard.gitops.plots import publish

    files = sorted(Path(args.dir).glob("*.png"))
    if not files:
        print(f"publish-plots: no PNG in {args.dir}/")
        return
    try:
        commit = publish(files, args.branch, args.folder)
    except GitError as err:
        sys.exit(f"publish-plots: {err}")
    print(f"publish-plots: {len(files)} plots -> {args.branch}:{args.folder}/ ({commit[:12]})")


def _release_plan(args: argparse.Namespace) -> None:
    from shipyard.gitops.git import set_output
    from shipyard.gitops.registry import plan
    from shipyard.pipeline.bundle import read_card

    try:
        version = read_card(args.bundle)["version"]
    except (OSError, KeyError, ValueError) as err:
        sys.exit(f"release-plan: no model card in {args.bundle} ({err}): was it pulled?")
    needed, why = plan(args.name, version)
    set_output(release=str(needed).lower())
    print(f"release-plan: {'release' if needed else 'nothing to release'}: {why}")


def _contract_test(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.serving.contract import contract_test

    bundle = Path(args.bundle) if args.bundle and not args.bento else None
    code = contract_test(bundle, args.bento or None, args.max_examples, Path(args.params))
    if code:
        sys.exit(f"contract-test: schemathesis found failures (exit {code})")
    print("contract-test: the service answers as its OpenAPI document says")


ISSUE_TITLE = "Production drift (shipyard monitor)"
ISSUE_LABEL = "shipyard-monitoring"


def _monitor_config(args: argparse.Namespace) -> Any:
    from shipyard.config import ConfigError, MonitorConfig, load_section

    try:
        return load_section("monitor", MonitorConfig, args.params)
    except ConfigError as err:
        sys.exit(f"monitor: {err}")


def _model_age_days() -> float | None:
    """Days since the commit that last changed dvc.lock (the model's build), if in git."""
    import subprocess
    import time

    found = subprocess.run(
        ["git", "log", "-1", "--format=%ct", "--", "dvc.lock"], capture_output=True, text=True
    )
    stamp = found.stdout.strip()
    return (time.time() - int(stamp)) / 86400 if found.returncode == 0 and stamp else None


def _monitor(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.monitor.logs import exists
    from shipyard.monitor.report import monitor, write

    config = _monitor_config(args)
    if not exists(args.log, "predictions"):
        sys.exit(f"monitor: no prediction log at {args.log} (serve.prediction_log.path)")
    report, shown, labelled = monitor(
        args.log,
        Path(args.reference),
        Path(args.bundle),
        config,
        args.feedback,
        model_age_days=_model_age_days(),
    )
    write(report, shown, labelled, Path(args.out))
    drift, decision = report["drift"], report["decision"]
    print(
        f"monitor: {drift['verdict']} ({drift['rows']} rows"
        + (f"; drifted: {', '.join(drift['drifted'])}" if drift.get("drifted") else "")
        + f"); decision: {decision['action']} ({decision['reason']}) -> {args.out}/report.md"
    )


def _monitor_collect(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.monitor.store import collect, dvc_remote_store

    try:
        store = args.store or dvc_remote_store()
    except ValueError as err:
        sys.exit(f"monitor collect: {err}")
    for kind, log in (("predictions", args.log), ("feedback", args.feedback)):
        written = collect(Path(log), store, kind)
        print(f"monitor collect: {len(written)} new {kind} partitions -> {store}/{kind}")


def _monitor_labels(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.monitor.labels import LabelError, import_labels

    try:
        n = import_labels(Path(args.file), Path(args.feedback), Path(args.bundle))
    except LabelError as err:
        sys.exit(f"monitor labels: {err}")
    print(f"monitor labels: {n} labels appended to {args.feedback}")


def _monitor_issue(args: argparse.Namespace) -> None:
    import os
    from pathlib import Path

    from shipyard.monitor.report import markdown

    report = json.loads((Path(args.report) / "report.json").read_text())
    decision = report["decision"]
    if decision["action"] != "issue":
        print(f"monitor issue: nothing to do: the decision is {decision['action']}")
        return
    if not os.environ.get("GITHUB_REPOSITORY"):
        print(f"monitor issue: {decision['reason']}; outside GitHub, the issue is report.md")
        return
    from shipyard.gitops.github import open_or_update_issue

    done, number = open_or_update_issue(ISSUE_TITLE, markdown(report), ISSUE_LABEL)
    print(f"monitor issue: #{number} {done} ({decision['reason']})")


def _monitor_retrain_pr(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.git import GitError
    from shipyard.monitor.retrain import retrain_pr

    try:
        print("monitor retrain-pr: " + retrain_pr(Path(args.report), args.branch, args.base))
    except (GitError, RuntimeError) as err:
        sys.exit(f"monitor retrain-pr: {err}")


def _predict(args: argparse.Namespace) -> None:
    import time
    from pathlib import Path

    from shipyard.config import MAX_ABS_VALUE
    from shipyard.pipeline.inference import Bundle
    from shipyard.serving.batch import rejects_path, score_file
    from shipyard.serving.columns import ColumnProblems, Contract

    source, output = Path(args.input), Path(args.output)
    if not source.is_file():
        sys.exit(f"predict: no file at {source}")
    rejects = Path(args.rejects) if args.rejects else rejects_path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rejects.parent.mkdir(parents=True, exist_ok=True)
    bundle = Bundle.load(args.bundle)
    contract = Contract.of(bundle.schema, MAX_ABS_VALUE)
    start = time.perf_counter()
    try:
        summary = score_file(
            bundle, contract, source, output, rejects, args.batch_rows, bundle.schema.target
        )
    except (ColumnProblems, ValueError) as err:
        sys.exit(f"predict: {source}: {err}")
    seconds = time.perf_counter() - start
    print(
        f"predict: {summary.rows} rows in {seconds:.1f} s ({summary.rows / seconds:,.0f} rows/s)"
        f" with {bundle.version}: {summary.scored} scored -> {output}; "
        f"{summary.rejected_rows} rejected ({summary.problems} problems) -> {rejects}"
    )


def _validate_deploy(args: argparse.Namespace) -> None:
    from pathlib import Path

    import yaml

    from shipyard.gitops.deploy import check, render

    targets = [Path(o) for o in args.overlays] or sorted(
        p for p in Path(args.deploy, "overlays").iterdir() if (p / "kustomization.yaml").exists()
    )
    failed = 0
    for target in targets:
        try:
            if target.is_file():  # a render already made (kubectl kustomize ... > file)
                resources = [d for d in yaml.safe_load_all(target.read_text()) if d]
            else:
                resources = render(target, args.kubectl)
        except (RuntimeError, OSError, yaml.YAMLError) as err:
            print(f"validate-deploy: {target}: {err}", file=sys.stderr)
            failed += 1
            continue
        problems = check(resources, args.k8s_versions)
        failed += bool(problems)
        for problem in problems:
            print(f"validate-deploy: {target}: {problem}", file=sys.stderr)
        if not problems:
            print(
                f"validate-deploy: {target}: {len(resources)} resources valid for Kubernetes "
                f"{', '.join(args.k8s_versions)} (strict) and every rule"
            )
    if failed:
        sys.exit(f"validate-deploy: {failed} of {len(targets)} failed")


def _deploy(args: argparse.Namespace) -> None:
    from pathlib import Path

    from shipyard.gitops.deploy import NotStarted, StepFailed, live_slot, plan, run_step
    from shipyard.gitops.registry import in_stage
    from shipyard.pipeline.bundle import read_card

    try:
        candidate = read_card(args.bundle)["version"]
    except (OSError, KeyError, ValueError) as err:
        sys.exit(f"{args.phase}: no model card in {args.bundle} ({err}): was it pulled?")
    current = in_stage(args.name)
    stable = current[1] if current else None
    slot = live_slot(args.kubectl) if args.strategy == "blue-green" else "blue"
    urls = {name: url for name, url in (("shipyard", args.deploy_url),) if url}
    if args.candidate_url:
        urls["shipyard-canary"] = urls["shipyard-preview"] = args.candidate_url

    def step(phase: str) -> str:
        chosen = plan(args.strategy, phase, args.image, candidate, stable, args.overlays, slot)
        return run_step(chosen, Path(args.out), args.kubectl, urls, Path(args.bundle))

    try:
        said = step(args.phase)
    except StepFailed as err:
        if args.phase != "deploy" or isinstance(err, NotStarted):
            sys.exit(f"{args.phase}: {err}")
        if stable is None:
            sys.exit(f"deploy: {err}; no version in prod to go back to")
        print(f"deploy: {err}; back to {stable} (abort)", file=sys.stderr)
        try:
            step("abort")
        except StepFailed as again:
            sys.exit(f"deploy: abort failed too: {again}")
        sys.exit(1)
    print(f"{args.phase} ({args.strategy}): {said}")


def _rollback_target(args: argparse.Namespace) -> None:
    from shipyard.gitops.git import git
    from shipyard.gitops.registry import previous_good

    try:
        tag, version = previous_good(args.name)
    except ValueError as err:
        sys.exit(f"rollback: {err}")
    print(git("rev-list", "-n", "1", tag), version)


def _promotion_check(args: argparse.Namespace) -> None:
    import os
    from pathlib import Path

    from shipyard.config import ConfigError, MonitorConfig, load_section
    from shipyard.monitor.logs import newest_lines
    from shipyard.monitor.promotion import Limits, compare, markdown

    try:
        config = load_section("monitor", MonitorConfig, args.params)
    except ConfigError as err:
        sys.exit(f"promotion-check: {err}")
    logs = [Path(args.stable)] + ([Path(args.canary)] if args.canary else [])
    for log in logs:
        if not log.exists():
            sys.exit(f"promotion-check: no prediction log at {log}")
    stable = newest_lines(logs[0], config.window_rows)
    canary = newest_lines(logs[1], config.window_rows) if args.canary else None
    metrics = None
    if args.stable_metrics and args.canary_metrics:
        metrics = (Path(args.stable_metrics).read_text(), Path(args.canary_metrics).read_text())
    limits = Limits(args.max_error_increase, args.max_latency_ratio, args.min_agreement)
    result = compare(stable, canary, config, limits, metrics)
    text = markdown(result)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    out.with_suffix(".md").write_text(text)
    if summary := os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(summary, "a", encoding="utf-8") as job:
            job.write(text)
    print(text)
    if result["verdict"] != "promote":
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    from shipyard.gitops.deploy import K8S_VERSIONS, PHASES, STRATEGIES

    parser = argparse.ArgumentParser(prog="shipyard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], None], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func)
        return sub

    sub = add("monitor", _monitor, "drift of the newest logged rows from the training rows")
    logs = "a log file, or a store of collected partitions (folder or s3://)"
    sub.add_argument("--log", default="logs/predictions.jsonl", help=f"predictions: {logs}")
    sub.add_argument("--feedback", default="logs/feedback.jsonl", help=f"labels: {logs}")
    sub.add_argument("--reference", default="data/raw/dataset.parquet", help="training rows")
    sub.add_argument("--bundle", default="models/bundle")
    sub.add_argument("--out", default="reports/monitoring")
    sub.add_argument("--params", default="params.yaml")
    steps = sub.add_subparsers(dest="step", metavar="{collect,labels,issue,retrain-pr}")
    step = steps.add_parser("collect", help="rotated logs -> Parquet partitions in a store")
    step.set_defaults(func=_monitor_collect)
    step.add_argument("--log", default="logs/predictions.jsonl")
    step.add_argument("--feedback", default="logs/feedback.jsonl")
    step.add_argument("--store", default="", help="folder or s3://; default: DVC remote's")
    step = steps.add_parser("labels", help="append a file of labels (CSV/Parquet) as feedback")
    step.set_defaults(func=_monitor_labels)
    step.add_argument("file", help="columns request_id, row (default 0), label or value")
    step.add_argument("--feedback", default="logs/feedback.jsonl")
    step.add_argument("--bundle", default="models/bundle")
    step = steps.add_parser("issue", help="open or update one issue when the decision is issue")
    step.set_defaults(func=_monitor_issue)
    step.add_argument("--report", default="reports/monitoring")
    step = steps.add_parser("retrain-pr", help="the retraining pull request, when decided")
    step.set_defaults(func=_monitor_retrain_pr)
    step.add_argument("--report", default="reports/monitoring")
    step.add_argument("--branch", default="shipyard/retrain")
    step.add_argument("--base", default="main")

    sub = add("predict", _predict, "score a Parquet or CSV table offline, as the service would")
    sub.add_argument("--bundle", default="models/bundle")
    sub.add_argument("--input", required=True, help="a .parquet or .csv table of raw rows")
    sub.add_argument("--output", required=True, help="the scored rows (.parquet)")
    sub.add_argument(
        "--rejects", help="invalid rows, one line per problem (default: OUTPUT.rejects.parquet)"
    )
    sub.add_argument("--batch-rows", type=int, default=65_536, help="rows scored at a time")
    sub = add("contract-test", _contract_test, "schemathesis, all checks, on the served model")
    sub.add_argument("--bundle", default="models/bundle", help="a bundle dir to serve")
    sub.add_argument("--bento", default="", help="a bento tag to serve instead")
    sub.add_argument("--max-examples", type=int, default=100)
    sub.add_argument("--params", default="params.yaml")
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
        sub.add_argument(
            "--fetch-timeout",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="give up on fetching the base (git, DVC remote) after this long (default 60)",
        )
    gate = commands.choices["gate"]
    gate.add_argument("--metrics", default="reports/evaluate/metrics.json")
    gate.add_argument("--predictions", default="data/predictions")
    gate.add_argument("--output", help="also write the verdict as JSON here")
    report = commands.choices["report"]
    report.add_argument("--output", default="report/report.md")
    report.add_argument("--fail-on-gate", action="store_true", help="exit 1 if the gate fails")
    report.add_argument("--bundle", default="models/bundle", help="its card names the model")
    report.add_argument(
        "--repro-log", default="report/repro.json", help="`shipyard repro`'s stage timings"
    )
    report.add_argument(
        "--image-url",
        metavar="URL",
        help="link plots as URL/<png>; '' for no image links (default: file names)",
    )
    add("release-check", _release_check, "fail unless dvc status is clean (ship what was reviewed)")
    smoke = add("smoke", _smoke, "predict one row on a bento (served here) or a URL; check version")
    smoke.add_argument("--bento", help="a bento tag (make passes the one built for the bundle)")
    smoke.add_argument("--url", help="a running service instead of a bento")
    smoke.add_argument("--bundle", default="models/bundle")
    add("model-version", _model_version, "print the bundle's model version").add_argument(
        "--bundle", default="models/bundle"
    )
    store = add("import-model", _import_model, "put a bundle in BentoML's model store; print tag")
    store.add_argument("--bundle", default="models/bundle")
    store.add_argument("--params", default="params.yaml")
    bento = add("bento", _bento, "build the bento: bentofile.yaml + model name + this wheel")
    bento.add_argument("--bentofile", default="bentofile.yaml")
    bento.add_argument("--wheels", default="dist", help="where `pip wheel` put this package")
    bento.add_argument("--bundle", default="models/bundle")
    bento.add_argument("--params", default="params.yaml")
    tag = add("bento-tag", _bento_tag, "the bento built for this bundle's model version")
    tag.add_argument("--bentofile", default="bentofile.yaml")
    tag.add_argument("--bundle", default="models/bundle")
    add("check-lock", _check_lock, "fail if dvc.lock does not describe the code and params")
    repro = add("repro", _repro, "dvc repro, recording each stage's status and time")
    repro.add_argument("--log", default="report/repro.json")
    repro.add_argument("dvc_args", nargs=argparse.REMAINDER, help="passed to dvc repro")
    rec = add("record", _record, "commit dvc.lock and git-tracked outputs a reproduction changed")
    rec.add_argument("--message", default="Reproduce the pipeline: dvc.lock, metrics, plots")
    rec.add_argument("--push-to", help="push the commit to this branch of origin")
    status = add("commit-status", _commit_status, "post the gate verdict as a commit status")
    status.add_argument("--sha", required=True)
    status.add_argument("--gate", default="report/gate.json")
    status.add_argument("--url", help="link from the status (the workflow run)")
    plots = add("publish-plots", _publish_plots, "push report PNGs to a plots branch of origin")
    plots.add_argument("--dir", default="report")
    plots.add_argument("--branch", default="shipyard-plots")
    plots.add_argument("--folder", required=True, help="folder on the branch, e.g. the head sha")
    plan = add("release-plan", _release_plan, "is this bundle's model version a new release?")
    plan.add_argument("--name", default="shipyard", help="the model's name in the registry")
    plan.add_argument("--bundle", default="models/bundle")
    check = add(
        "validate-deploy", _validate_deploy, "render each deploy overlay; check schema, rules"
    )
    check.add_argument("overlays", nargs="*", help="overlay dirs or rendered YAML (default: all)")
    check.add_argument("--deploy", default="deploy")
    check.add_argument("--kubectl", default="kubectl")
    check.add_argument("--k8s-versions", nargs="+", default=list(K8S_VERSIONS))
    step = add("deploy", _deploy, "apply one step (deploy, promote, abort) of a deploy strategy")
    step.add_argument("--strategy", choices=STRATEGIES, default="rolling")
    step.add_argument("--phase", choices=PHASES, default="deploy")
    step.add_argument("--image", required=True, help="the image repository (tags: model versions)")
    step.add_argument("--name", default="shipyard", help="the model's name in the registry")
    step.add_argument("--bundle", default="models/bundle")
    step.add_argument("--out", default="build/deploy", help="where the kustomization is written")
    step.add_argument("--overlays", default="../../deploy/overlays", help="relative to --out")
    step.add_argument("--kubectl", default="kubectl")
    step.add_argument("--deploy-url", default="", help="the Service `shipyard`'s address")
    step.add_argument("--candidate-url", default="", help="the canary's or preview's address")
    back = add("rollback-target", _rollback_target, "commit and model version to roll back to")
    back.add_argument("--name", default="shipyard")
    promo = add(
        "promotion-check", _promotion_check, "the candidate's logged answers against stable's"
    )
    promo.add_argument("--stable", required=True, help="the stable version's prediction log")
    promo.add_argument("--canary", help="the canary's log (none: the stable log's shadow rows)")
    promo.add_argument("--stable-metrics", help="a scrape of stable's /metrics (error rate)")
    promo.add_argument("--canary-metrics", help="a scrape of the canary's /metrics")
    promo.add_argument("--max-error-increase", type=float, default=0.01)
    promo.add_argument("--max-latency-ratio", type=float, default=1.5)
    promo.add_argument("--min-agreement", type=float, default=0.9)
    promo.add_argument("--output", default="report/promotion.json", help="and .md beside it")
    promo.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    from shipyard.config import ConfigError

    try:
        args.func(args)
    except ConfigError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
