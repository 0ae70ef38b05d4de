"""The model registry is git tags (GTO): `<name>@vX.Y.Z` registers a commit, and
`<name>#<stage>#N` assigns it to a stage; both are annotated with the model version.
A release ships only a model version that is not already the one in production."""

from __future__ import annotations

import re

from shipyard.gitops.git import git

STAGE = "prod"


def in_stage(name: str, stage: str = STAGE) -> tuple[str, str] | None:
    """(tag, model version) of the latest assignment of `name` to `stage`, or None when
    it was never assigned or the latest event unassigned it (`<name>#<stage>!#N`)."""
    rows = git(
        "for-each-ref",
        f"refs/tags/{name}#{stage}#*",
        f"refs/tags/{name}#{stage}!#*",
        "--format=%(refname:strip=2) %(contents:subject)",
    )
    events = []
    for row in rows.splitlines():
        tag, _, version = row.partition(" ")
        match = re.fullmatch(rf"{re.escape(name)}#{re.escape(stage)}(!?)#(\d+)", tag)
        if match:
            events.append((int(match.group(2)), match.group(1) == "!", tag, version.strip()))
    if not events:
        return None
    _, unassigned, tag, version = max(events)
    return None if unassigned else (tag, version)


def plan(name: str, model_version: str) -> tuple[bool, str]:
    """(release?, why): a push that leaves the production model as it is ships nothing;
    a release that failed before promotion (say, a smoke test) is retried."""
    current = in_stage(name)
    if current and current[1] == model_version:
        return False, f"model version {model_version} is already in {STAGE} ({current[0]})"
    before = f"; {STAGE} has {current[1]} ({current[0]})" if current else f"; {STAGE} is empty"
    return True, f"model version {model_version} is new{before}"
