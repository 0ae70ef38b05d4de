"""Thin git calls that fail with git's own message, never a traceback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping


class GitError(RuntimeError):
    """A git command failed; the message is git's stderr."""


def git(*args: str, env: Mapping[str, str] | None = None, input: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **env} if env else None,
    )
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def set_output(**values: str) -> None:
    """Step outputs for a workflow (`$GITHUB_OUTPUT`); nothing outside Actions."""
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(f"{key}={value}\n" for key, value in values.items())
