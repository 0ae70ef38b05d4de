"""Does dvc.lock describe the workspace's code, params and commands? A cheap check (no
training, no data needed): a fresh clone has none of the DVC-cached outputs, so missing
data is not a finding; a changed code dep, param or command, or a git-tracked output
that differs from the lock, is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Out:
    path: str
    cached: bool  # False: `cache: false`, tracked by git (metrics, plots, reports)


def _produced(path: str, outs: list[Out]) -> Out | None:
    """The output that `path` is, or lies inside (a directory output)."""
    for out in outs:
        if path == out.path or path.startswith(out.path.rstrip("/") + "/"):
            return out
    return None


def _holds_cached(path: str, outs: list[Out]) -> bool:
    """A folder dependency with cached outputs inside (`dvc add`-ed tables under
    data/sources): its hash depends on what was pulled, so it is data, not code."""
    prefix = path.rstrip("/") + "/"
    return any(out.cached and out.path.startswith(prefix) for out in outs)


def problems(status: dict[str, list[Any]], outs: list[Out]) -> dict[str, list[str]]:
    """Per stage, what the lock does not describe. `status` is `dvc status --json`;
    `outs` are every stage's outputs and every `dvc add`-ed file."""
    found: dict[str, list[str]] = {}
    for stage, entries in status.items():
        lines: list[str] = []
        for entry in entries:
            if entry == "changed command":
                lines.append("command changed")
                continue
            if not isinstance(entry, dict):  # "always changed" and the like
                continue
            for path, state in entry.get("changed deps", {}).items():
                if isinstance(state, dict):  # a params file: {key: new|modified|deleted}
                    lines += [f"param {key} {how}" for key, how in state.items()]
                elif _produced(path, outs) is None and not _holds_cached(path, outs):
                    # code, or source data git tracks
                    lines.append(f"{path} {state}")
            for path, state in entry.get("changed outs", {}).items():
                out = _produced(path, outs)
                if out is not None and not out.cached:  # git carries it: it must be
                    # exactly what the locked run wrote, or the lock and metrics disagree
                    lines.append(f"output {path} {state} (git-tracked)")
        if lines:
            found[stage] = lines
    return found


def check(repo_dir: str = ".") -> dict[str, list[str]]:
    """`problems` for the DVC project at `repo_dir`."""
    from dvc.repo import Repo

    with Repo(repo_dir) as repo:
        status = repo.status()
        outs = [Out(str(o.def_path), o.use_cache) for s in repo.index.stages for o in s.outs]
    return problems(status, outs)
