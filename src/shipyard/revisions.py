"""Files as they were at another git revision: git-tracked ones via git, DVC outputs via
dvc.api (local cache or remote). Works in a shallow CI clone by fetching the revision."""

from __future__ import annotations

import io
import json
import subprocess
from typing import Any


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True)


def resolve(rev: str) -> str:
    """The commit for `rev`, fetched from origin first if this clone lacks it."""
    found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.strip()
    fetched = _git("fetch", "--quiet", "--depth=1", "origin", rev)
    if fetched.returncode != 0:
        raise ValueError(f"cannot find or fetch revision '{rev}': {fetched.stderr.strip()}")
    return _git("rev-parse", "FETCH_HEAD").stdout.strip()


def read_json(rev: str, path: str) -> Any | None:
    """A git-tracked JSON file at `rev`; None if it did not exist there (a first PR)."""
    shown = _git("show", f"{rev}:{path}")
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def read_parquet(rev: str, path: str) -> Any | None:
    """A DVC-tracked Parquet output at `rev`; None if it cannot be had."""
    import dvc.api
    import pandas as pd
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(path, rev=rev, mode="rb") as f:
            return pd.read_parquet(io.BytesIO(f.read()))
    except (DvcException, FileNotFoundError):
        return None
