"""The model registry is git tags (GTO): `<name>@vX.Y.Z`, annotated with the model version
the tag registers. A release registers and ships only a model version that is new."""

from __future__ import annotations

from shipyard.gitops.git import git


def latest(name: str) -> tuple[str, str] | None:
    """(tag, model version) of the newest registered version of `name`, or None."""
    rows = git(
        "for-each-ref",
        "--sort=-v:refname",
        "--count=1",
        f"refs/tags/{name}@v*",
        "--format=%(refname:strip=2) %(contents:subject)",
    )
    if not rows:
        return None
    tag, _, version = rows.partition(" ")
    return tag, version.strip()


def plan(name: str, model_version: str) -> tuple[bool, str]:
    """(release?, why): a push that leaves the model version as registered ships nothing."""
    found = latest(name)
    if found and found[1] == model_version:
        return False, f"model version {model_version} is already registered as {found[0]}"
    before = f"; latest registered: {found[1]} ({found[0]})" if found else "; none registered"
    return True, f"model version {model_version} is new{before}"
