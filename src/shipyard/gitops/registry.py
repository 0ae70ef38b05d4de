"""The model registry is git tags (GTO): `<name>@vX.Y.Z` registers a commit, and
`<name>#<stage>#N` assigns it to a stage; both are annotated with the model version.
A release ships only a model version that is not already the one in production."""

from __future__ import annotations

import re

from shipyard.gitops.git import git

STAGE = "prod"


def _stage_events(name: str, stage: str) -> list[tuple[int, bool, str, str]]:
    """(number, unassigned?, tag, model version) of every GTO event of `name` in `stage`
    (`<name>#<stage>#N`, and `<name>#<stage>!#N` for an unassignment), in order."""
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
    return sorted(events)


def in_stage(name: str, stage: str = STAGE) -> tuple[str, str] | None:
    """(tag, model version) of the latest assignment of `name` to `stage`, or None when
    it was never assigned or the latest event unassigned it (`<name>#<stage>!#N`)."""
    events = _stage_events(name, stage)
    if not events:
        return None
    _, unassigned, tag, version = events[-1]
    return None if unassigned else (tag, version)


def plan(name: str, model_version: str) -> tuple[bool, str]:
    """(release?, why): a push that leaves the production model as it is ships nothing;
    a release that failed before promotion (say, a smoke test) is retried."""
    current = in_stage(name)
    if current and current[1] == model_version:
        return False, f"model version {model_version} is already in {STAGE} ({current[0]})"
    before = f"; {STAGE} has {current[1]} ({current[0]})" if current else f"; {STAGE} is empty"
    return True, f"model version {model_version} is new{before}"


def stage_history(name: str, stage: str = STAGE) -> list[tuple[str, str]]:
    """(tag, model version) of every assignment of `name` to `stage`, oldest first
    (unassignments left out)."""
    return [(tag, version) for _, gone, tag, version in _stage_events(name, stage) if not gone]


def good_chain(versions: list[str]) -> list[str]:
    """The versions still standing, oldest first, from the stage's assignments in order: a
    new version joins the chain; a return to an earlier one (a rollback) drops every
    version after it, which were rolled back from."""
    chain: list[str] = []
    for version in versions:
        if version in chain:
            del chain[chain.index(version) + 1 :]
        else:
            chain.append(version)
    return chain


def previous_good(name: str, stage: str = STAGE) -> tuple[str, str]:
    """(tag, model version) of the assignment to roll back to: the good version before the
    one in `stage` now. ValueError when there is none."""
    history = stage_history(name, stage)
    chain = good_chain([version for _, version in history])
    if len(chain) < 2:
        raise ValueError(
            f"{name} has no earlier good version in {stage} to roll back to "
            f"(standing: {chain or 'none'})"
        )
    target = chain[-2]
    tag = next(tag for tag, version in reversed(history) if version == target)
    return tag, target
