"""Record a reproduction in git: commit dvc.lock and the git-tracked pipeline outputs
(metrics, plots, reports) it changed, and push them to the branch.

The pull-request workflow calls this after `dvc repro` and `dvc push`, so the branch a
reviewer merges carries the lock of exactly what was reproduced and pushed.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.gitops.git import git


def tracked_outputs(repo_dir: str = ".") -> list[str]:
    """dvc.lock, the `cache: false` outputs (and plot definitions written beside them) and
    the .gitignore files DVC keeps for the cached ones: everything a reproduction changes
    that git carries."""
    from dvc.repo import Repo

    with Repo(repo_dir) as repo:
        outs = [o for stage in repo.index.stages for o in stage.outs]
        root = Path(repo.root_dir)
        paths = {str(Path(o.fs_path).relative_to(root)) for o in outs if not o.use_cache}
        ignores = {
            str((Path(o.fs_path).parent / ".gitignore").relative_to(root))
            for o in outs
            if o.use_cache
        }
        # the plot definitions a stage writes beside its git-tracked outputs (evaluate:
        # the task's own plots, reports/evaluate/dvc.yaml)
        plots = {
            str((Path(o.fs_path).parent / "dvc.yaml").relative_to(root))
            for o in outs
            if not o.use_cache and Path(o.fs_path).parent != root
        }
    extra = sorted(p for p in ignores | plots if (root / p).exists())
    return ["dvc.lock", *sorted(paths), *extra]


def record(message: str, push_to: str | None = None) -> str | None:
    """Commit what the reproduction changed; push to branch `push_to`. The new commit, or
    None when there was nothing to commit (the branch already held this reproduction)."""
    paths = [p for p in tracked_outputs() if Path(p).exists()]
    git("add", "--all", "--", *paths)
    staged = git("diff", "--cached", "--name-only", "--", *paths)
    if not staged:
        return None
    git("commit", "--quiet", "--no-verify", "-m", message, "--", *paths)
    commit = git("rev-parse", "HEAD")
    if push_to:
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{push_to}")
    return commit
