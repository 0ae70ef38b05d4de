"""The one GitHub API call the workflows make themselves: a commit status.

A commit pushed with the workflow's own GITHUB_TOKEN starts no workflow run, so the bot's
reproduction commit would carry no checks; the pull-request job reports its verdict on
that commit itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

CONTEXT = "shipyard/pr"


def verdict_state(gate_json: Path) -> tuple[str, str]:
    """(state, description) for a commit status, from `shipyard gate --output`'s file."""
    if not gate_json.exists():
        return "error", "the gate did not run"
    verdict = json.loads(gate_json.read_text())
    if verdict["passed"]:
        return "success", "reproduced; quality gate passed"
    failed = [c["detail"] for c in verdict["checks"] if not c["passed"]]
    return "failure", ("quality gate failed: " + "; ".join(failed))[:140]


def post_status(sha: str, state: str, description: str, target_url: str | None = None) -> None:
    """POST /repos/{repo}/statuses/{sha} with GITHUB_TOKEN, at GITHUB_API_URL."""
    import httpx

    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = os.environ["GITHUB_REPOSITORY"]
    body = {"state": state, "context": CONTEXT, "description": description[:140]}
    if target_url:
        body["target_url"] = target_url
    response = httpx.post(
        f"{api}/repos/{repo}/statuses/{sha}",
        json=body,
        headers={
            "Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}",
            "Accept": "application/vnd.github+json",
        },
        timeout=30,
    )
    if response.status_code >= 300:
        raise RuntimeError(f"commit status: GitHub answered {response.status_code}")
