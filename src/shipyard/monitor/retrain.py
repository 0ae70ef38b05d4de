"""The retraining pull request: when the monitoring report decides "retrain", the window's
labelled rows not yet in the training data become one DVC-tracked partition in
data/feedback/ (ingest appends them to the source), committed on a fixed branch and pushed;
the pull request from it carries the report. The ordinary pull-request workflow then
reproduces, reports and gates it; merging stays a person's decision.

Run again with no new labelled rows, it changes nothing: no commit, no push, no update.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.gitops.git import GitError, git

if TYPE_CHECKING:
    import pandas as pd

PARTITIONS = Path("data/feedback")
KEYS = ["request_id", "row"]
TITLE = "Retrain on production feedback"


def new_rows(labelled: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """The rows of `labelled` whose (request id, row) no partition in `folder` holds."""
    import pandas as pd

    seen: set[tuple[Any, ...]] = set()
    for path in folder.glob("*.parquet"):
        held = pd.read_parquet(path, columns=KEYS)
        seen.update(zip(held["request_id"], held["row"], strict=True))
    keys = zip(labelled["request_id"], labelled["row"], strict=True)
    return labelled[[key not in seen for key in keys]].reset_index(drop=True)


def partition_name(rows: pd.DataFrame) -> str:
    """Named by the rows it holds, so the same rows make the same file."""
    keys = sorted(f"{r}\t{n}" for r, n in zip(rows["request_id"], rows["row"], strict=True))
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16] + ".parquet"


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {(proc.stderr or proc.stdout).strip()}")


def _has_dvc_remote() -> bool:
    found = subprocess.run(["dvc", "remote", "default"], capture_output=True, text=True)
    return found.returncode == 0 and bool(found.stdout.strip())


def _start_branch(branch: str) -> None:
    """Check out `branch` as the origin has it (earlier partitions not merged yet), or new
    from HEAD."""
    try:
        git("fetch", "--quiet", "origin", f"refs/heads/{branch}")
        git("checkout", "--quiet", "-B", branch, "FETCH_HEAD")
    except GitError:
        git("checkout", "--quiet", "-B", branch)


def retrain_pr(report_dir: Path, branch: str, base: str) -> str:
    """Act on report_dir's decision; what was done, in one line."""
    import pandas as pd

    from shipyard.monitor.report import LABELLED, markdown

    report = json.loads((report_dir / "report.json").read_text())
    decision = report["decision"]
    if decision["action"] != "retrain":
        return f"nothing to do: the decision is {decision['action']} ({decision['reason']})"
    labelled = pd.read_parquet(report_dir / LABELLED)
    back = git("rev-parse", "--abbrev-ref", "HEAD")
    _start_branch(branch)
    path = None
    try:
        # the branch's partitions, to know which rows it holds (from the cache or remote)
        for tracked in sorted(PARTITIONS.glob("*.parquet.dvc")):
            if not tracked.with_suffix("").exists():
                _run("dvc", "pull", "--quiet", str(tracked))
        rows = new_rows(labelled, PARTITIONS)
        if rows.empty:
            return f"nothing new: every labelled row is in {PARTITIONS} on {branch} already"
        PARTITIONS.mkdir(parents=True, exist_ok=True)
        path = PARTITIONS / partition_name(rows)
        rows.to_parquet(path, index=False)
        _run("dvc", "add", "--quiet", str(path))
        if _has_dvc_remote():
            _run("dvc", "push", "--quiet", f"{path}.dvc")
        git("add", "--", f"{path}.dvc", str(PARTITIONS / ".gitignore"))
        if not git("diff", "--cached", "--name-only"):
            return f"nothing new: {path} is on {branch} already"
        message = f"{TITLE}: {len(rows)} labelled rows ({decision['reason']}: {decision['rule']})"
        git("commit", "--quiet", "--no-verify", "-m", message)
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        said = f"{len(rows)} new labelled rows -> {path}, pushed to {branch}"
        if os.environ.get("GITHUB_REPOSITORY"):
            from shipyard.gitops.github import open_or_update_pull

            body = markdown(report) + (
                f"\n---\nAdds `{path}` ({len(rows)} rows: logged inputs and their ground truth) "
                "to the training data. The pull-request workflow reproduces and gates it; "
                "the plots are in the monitoring run's artifact.\n"
            )
            done, number = open_or_update_pull(branch, base, TITLE, body)
            said += f"; pull request #{number} {done}"
        return said
    finally:
        git("checkout", "--quiet", back)
        if path is not None and path.exists() and not git("ls-files", f"{path}.dvc"):
            path.unlink()  # the branch's data: here it would be untracked input to ingest
