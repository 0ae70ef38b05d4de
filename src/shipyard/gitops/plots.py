"""Publish the report's PNG plots to a plots branch of the repository itself, so the
report's images render in the job summary and the pull-request comment without uploading
them to a public asset host (CML's `--publish`).

Files go under `<folder>/` on the branch, written with a temporary index: the checkout
and its index are never touched. Images are then at
`https://github.com/<repo>/raw/<branch>/<folder>/<file>.png`, visible to whoever can read
the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shipyard.gitops.git import GitError, git

ATTEMPTS = 3  # another pull request may push the branch between our fetch and push


def publish(files: list[Path], branch: str, folder: str) -> str:
    """Commit `files` under `folder/` on `branch` (created if missing) and push it to
    origin. Returns the new commit."""
    for attempt in range(ATTEMPTS):
        try:
            git(
                "fetch",
                "--quiet",
                "origin",
                f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
            )
            parent = git("rev-parse", f"refs/remotes/origin/{branch}")
        except GitError:
            parent = None  # the first publish
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            if parent:
                git("read-tree", parent, env=env)
            for file in files:
                blob = git("hash-object", "-w", str(file))
                git(
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"100644,{blob},{folder}/{file.name}",
                    env=env,
                )
            tree = git("write-tree", env=env)
        commit = git(
            "commit-tree",
            tree,
            *(["-p", parent] if parent else []),
            "-m",
            f"plots: {folder}",
        )
        try:
            git("push", "--quiet", "origin", f"{commit}:refs/heads/{branch}")
            return commit
        except GitError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
