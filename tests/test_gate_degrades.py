"""`shipyard gate` and `shipyard report` when the base is partly out of reach: each case
gives a verdict on what could be checked, one line on what is missing and why, exit 0/1,
and no traceback. One branch `pr` (a param changed, reproduced and recorded once: the
`pr_branch` fixture) on top of main; each case copies it and takes away the cache, the
remote or the base.
With everything in reach, the gate fails a worse model and the report shows it all.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from shipyard.gitops import revisions
from shipyard.pipeline.bundle import read_card, shipped
from tests.helpers import RELAXED, copy_repo, ran, run
from tests.servers import S3Server

PREDICTIONS = "data/predictions/mlp.parquet"


@pytest.fixture
def pr_repo(pr_branch) -> Path:
    """The `pr_branch` project (tests/conftest.py): main reproduced, and branch `pr`."""
    return pr_branch.path


def copy(pr_repo: Path, tmp_path: Path) -> Path:
    """A fresh copy; its default remote (`../../shipyard-remote`) is tmp_path's own."""
    return copy_repo(pr_repo, tmp_path / "repo")


def short(repo: Path, rev: str) -> str:
    return run(["git", "rev-parse", rev], cwd=repo).stdout.strip()[:7]


def drop_base_predictions(repo: Path) -> None:
    """Delete main's predictions from the local cache: its directory listing (.dir) and
    mlp.parquet. baseline.parquet is the same in both branches, so it stays."""
    lock = yaml.safe_load(run(["git", "show", "main:dvc.lock"], cwd=repo).stdout)
    out = next(o for o in lock["stages"]["evaluate"]["outs"] if o["path"] == "data/predictions")
    cache = repo / ".dvc/cache/files/md5"
    listing = cache / out["md5"][:2] / out["md5"][2:]
    md5 = next(e["md5"] for e in json.loads(listing.read_text()) if e["relpath"] == "mlp.parquet")
    listing.unlink()
    (cache / md5[:2] / md5[2:]).unlink()


def skipped(repo: Path, why: str) -> str:
    at = short(repo, "main")
    return f"paired bootstrap skipped: base predictions {PREDICTIONS} at {at} unavailable ({why})"


def notes_in(report: str) -> list[str]:
    """The one-line notes between the verdict and the checks."""
    top = report.split("<details>")[0]
    return [line[2:] for line in top.splitlines() if line.startswith("- ")]


def gate(repo: Path, base: str, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    proc = run(["shipyard", "gate", "--base", base, "--output", "gate.json", *args], repo, False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads((repo / "gate.json").read_text())


def report(repo: Path, base: str, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    cmd = ["shipyard", "report", "--base", base, "--output", "r/report.md", *args]
    proc = run(cmd, repo, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return proc, (repo / "r/report.md").read_text()


def assert_degrades(repo: Path, base: str, note: str, *args: str, partial: bool = False) -> None:
    """Gate and report pass on what they could check, and say `note` once, in one line:
    in the gate's output and JSON, and in the report under the verdict."""
    proc, verdict = gate(repo, base, *args)
    assert proc.returncode == 0 and verdict["passed"], proc.stdout
    notes = [line[7:] for line in proc.stdout.splitlines() if line.startswith("  note ")]
    assert notes == verdict["notes"] == [note], proc.stdout
    assert "paired bootstrap)" not in proc.stdout  # the bootstrap did not run
    limits = [c for c in verdict["checks"] if "limit" in c["detail"]]
    assert len(limits) == 4  # the absolute limits always run

    proc, text = report(repo, base, *args)
    assert "**Quality gate: PASSED**" in text and "Model version: `digits-" in text
    assert f"\n{shipped(read_card(repo / 'models/bundle'))}\n" in text  # which model ships
    # `partial`: the remote-bound `dvc diff` may be missing too, with its own line.
    assert note in notes_in(text) if partial else notes_in(text) == [note], text
    assert f"report: {note}" in proc.stdout


@pytest.mark.slow
def test_a_worse_model_fails_on_a_drop_beyond_noise(pr_repo, tmp_path):
    """Everything in reach, and a learning rate far too small: the paired bootstrap on the
    main metric fails the branch, and says why."""
    repo = copy(pr_repo, tmp_path)
    run(["git", "checkout", "-q", "-b", "worse", "main"], cwd=repo)
    run(["dvc", "checkout", "-q"], cwd=repo)
    run(["shipyard", "params", "model.lr=0.00001", *RELAXED], cwd=repo)
    # What the gate reads: this run's metrics and predictions (no bundle needed).
    assert ran(run(["dvc", "repro", "evaluate"], cwd=repo).stdout) == ["train", "evaluate"]
    proc, verdict = gate(repo, "main")
    assert proc.returncode == 1 and not verdict["passed"], proc.stdout
    main_metric = next(c for c in verdict["checks"] if "paired bootstrap" in c["detail"])
    assert main_metric["name"] == "accuracy" and not main_metric["passed"], main_metric
    assert "accuracy vs base -" in main_metric["detail"]
    assert "a drop beyond noise" in main_metric["detail"] and "a drop beyond noise" in proc.stdout


@pytest.mark.slow
def test_a_first_pull_request_checks_limits_only(pr_repo, tmp_path):
    repo = copy(pr_repo, tmp_path)
    note = f"base 'main~1' ({short(repo, 'main~1')}) has no metrics yet (first run): limits only"
    assert_degrades(repo, "main~1", note)
    verdict = json.loads((repo / "gate.json").read_text())
    assert all("vs base" not in c["detail"] for c in verdict["checks"])


@pytest.mark.slow
def test_base_predictions_never_pushed(pr_repo, tmp_path):
    """The remote exists and has this branch's outputs, not the base's."""
    repo = copy(pr_repo, tmp_path)
    run(["dvc", "push", "-q"], cwd=repo)
    drop_base_predictions(repo)
    assert_degrades(repo, "main", skipped(repo, "not in the local cache or on remote 'local'"))
    # The tolerance against the base's metrics (in git) is still checked, accuracy's too.
    verdict = json.loads((repo / "gate.json").read_text())
    compared = {c["name"] for c in verdict["checks"] if "vs base" in c["detail"]}
    assert compared == {"accuracy", "f1_macro", "roc_auc", "log_loss"}

    # Degraded still fails on what it checks: exit 1, the note as well.
    run(["shipyard", "params", "--output", "strict.yaml", "gate.rules.accuracy.limit=0.99"], repo)
    proc, verdict = gate(repo, "main", "--params", "strict.yaml")
    assert proc.returncode == 1 and not verdict["passed"]
    assert verdict["notes"] == [skipped(repo, "not in the local cache or on remote 'local'")]
    assert "gate FAILED: accuracy " in proc.stdout and "(limit >= 0.99)" in proc.stdout


@pytest.mark.slow
def test_remote_folder_missing(pr_repo, tmp_path):
    repo = copy(pr_repo, tmp_path)
    nowhere = tmp_path / "no-such-folder"
    run(["dvc", "remote", "add", "--local", "-f", "-d", "gone", str(nowhere)], cwd=repo)
    drop_base_predictions(repo)
    assert_degrades(
        repo, "main", skipped(repo, f"remote 'gone' unreachable: {nowhere} does not exist")
    )


@pytest.mark.slow
def test_s3_remote_on_a_closed_port_is_unreachable_in_seconds(pr_repo, tmp_path):
    repo = copy(pr_repo, tmp_path)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    S3Server(f"http://127.0.0.1:{port}", "key", "secret")(repo)
    drop_base_predictions(repo)
    start = time.monotonic()
    proc, verdict = gate(repo, "main")
    assert time.monotonic() - start < revisions.FETCH_TIMEOUT_S  # refused, not timed out
    assert proc.returncode == 0, proc.stdout
    why = f"remote 's3' unreachable: Could not connect to the endpoint URL: \"http://127.0.0.1:{port}\""
    assert verdict["notes"] == [skipped(repo, why)]


@pytest.mark.slow
def test_s3_remote_that_never_answers_is_given_up_on(pr_repo, tmp_path):
    """The endpoint accepts connections and says nothing: storage clients would wait and
    retry for minutes. --fetch-timeout bounds it."""
    repo = copy(pr_repo, tmp_path)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # the kernel completes handshakes; nobody ever reads
        S3Server(f"http://127.0.0.1:{silent.getsockname()[1]}", "key", "secret")(repo)
        drop_base_predictions(repo)
        start = time.monotonic()
        note = skipped(repo, "no answer from remote 's3' within 3 s")
        assert_degrades(repo, "main", note, "--fetch-timeout", "3", partial=True)
        assert time.monotonic() - start < 60  # gate and report, each bounded


@pytest.mark.slow
def test_no_remote_configured(pr_repo, tmp_path):
    repo = copy(pr_repo, tmp_path)
    run(["dvc", "remote", "remove", "local"], cwd=repo)
    drop_base_predictions(repo)
    why = "not in the local cache, and no DVC remote is configured"
    assert_degrades(repo, "main", skipped(repo, why))


@pytest.mark.slow
def test_unknown_base_without_origin(pr_repo, tmp_path):
    repo = copy(pr_repo, tmp_path)
    note = (
        "base 'no-such-branch' unavailable (not in this clone, and `git fetch origin "
        "no-such-branch` failed: 'origin' does not appear to be a git repository): limits only"
    )
    assert_degrades(repo, "no-such-branch", note)
    text = (repo / "r/report.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert row.split("|")[2].strip() == "-" and row.split("|")[3].strip() != "-"  # this run's
    assert "## Params changed\n\nNot compared (see the notes above)." in text


@pytest.mark.slow
def test_shallow_clone_fetches_the_base_and_runs_the_full_gate(pr_repo, tmp_path):
    """A CI checkout: only `pr`, one commit deep. The base is fetched from origin and its
    predictions pulled from the remote, and the report shows it all; a base that cannot be
    fetched is named; a fetched base without metrics means limits only."""
    repo = copy(pr_repo, tmp_path)
    run(["git", "branch", "before-metrics", "main~1"], cwd=repo)  # the project, unreproduced
    # An absolute URL: DVC reads another revision's own .dvc/config from git, where the
    # relative default remote would resolve against "/" (`dvc push --all-branches`).
    store = ["dvc", "remote", "add", "--local", "-f", "-d", "store", str(tmp_path / "store")]
    run(store, cwd=repo)
    run(["dvc", "push", "-q", "--all-branches"], cwd=repo)  # main's predictions too
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "--depth", "1", "-b", "pr", f"file://{repo}", str(clone)], tmp_path)
    run(store, cwd=clone)
    run(["dvc", "pull", "-q"], cwd=clone)
    assert run(["git", "rev-parse", "-q", "--verify", "main"], clone, check=False).returncode
    proc, verdict = gate(clone, "main")
    assert proc.returncode == 0 and verdict["notes"] == [], proc.stdout
    assert "paired bootstrap): no worsening beyond noise" in proc.stdout
    proc, text = report(clone, "main")
    assert notes_in(text) == [] and "| model.dropout | 0.1000 | 0.0500 |" in text
    assert "**Quality gate: PASSED**" in text
    row = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert row.count("|") == 6 and "-" not in [c.strip() for c in row.split("|")[2:4]]
    # The validation summary of the data this run used, and every plot with data, drawn.
    raw = pd.read_parquet(clone / "data/raw/dataset.parquet")
    name = yaml.safe_load((clone / "params.yaml").read_text())["data"]["name"]
    assert f"## Data validation\n\n`{name}`: {len(raw)} rows, {raw.shape[1]} columns: valid" in text
    images = dict(re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", text))
    assert all((clone / "r" / png).is_file() for png in images.values()), images
    assert set(images) == plots_with_data(clone)
    assert "not rendered" not in text  # no plot of the other task to fail to load

    note = (
        "base 'no-such-branch' unavailable (not in this clone, and `git fetch origin "
        "no-such-branch` failed: couldn't find remote ref no-such-branch): limits only"
    )
    assert_degrades(clone, "no-such-branch", note)

    # A first pull request in CI: the base is fetched, and has no metrics yet.
    first = f"base 'before-metrics' ({short(repo, 'before-metrics')}) has no metrics yet"
    assert_degrades(clone, "before-metrics", f"{first} (first run): limits only")
    text = (clone / "r/report.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert row.split("|")[2].strip() == "-"  # no base value


def plots_with_data(repo: Path) -> set[str]:
    """The titles of the plots declared by dvc.yaml and by the dvc.yaml evaluate writes
    (the task's own), whose files this run wrote (paths relative to each file's folder)."""
    return {
        title
        for declared in (repo / "dvc.yaml", repo / "reports/evaluate/dvc.yaml")
        for plot in yaml.safe_load(declared.read_text())["plots"]
        for title, spec in plot.items()
        if all((declared.parent / path).exists() for path in spec["y"])
    }


def test_one_line_keeps_the_first_line_without_prefixes_and_cuts_it():
    assert revisions.one_line("\nfatal: no origin\nmore") == "no origin"
    assert revisions.one_line("ERROR: " + "x" * 100, limit=20) == "x" * 17 + "..."
    assert revisions.one_line("") == ""


def test_a_wrapped_connection_error_reads_as_an_unreachable_remote():
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed http://h:9/b/files/md5/ab")
        except ConnectionRefusedError as err:
            raise RuntimeError("failed to load directory ('data', 'predictions')") from err
    except RuntimeError as wrapped:
        why = revisions._why(wrapped, None, "s3")
    assert why == "remote 's3' unreachable: [Errno 111] Connect call failed http://h:9"
