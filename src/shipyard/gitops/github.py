"""The GitHub API calls the workflows make themselves: a commit status, and the
monitoring's one issue and one retraining pull request (each opened once, then updated).

A commit pushed with the workflow's own GITHUB_TOKEN starts no workflow run, so the bot's
reproduction commit would carry no checks; the pull-request job reports its verdict on
that commit itself. Likewise a pull request opened with GITHUB_TOKEN runs no workflow: the
retraining pull request is opened with GH_TOKEN when set (a GitHub App or fine-grained
token), so the ordinary pull-request workflow reproduces and gates it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


MAX_BODY = 65_000  # GitHub refuses bodies over 65,536 characters


def _api(method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
    """One call to GITHUB_API_URL for GITHUB_REPOSITORY, with GH_TOKEN or GITHUB_TOKEN."""
    import httpx

    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    token = os.environ.get("GH_TOKEN") or os.environ["GITHUB_TOKEN"]
    response = httpx.request(
        method,
        f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}{path}",
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
        timeout=30,
    )
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: GitHub answered {response.status_code}")
    return response.json()


def open_or_update_issue(title: str, body: str, label: str) -> tuple[str, int]:
    """The one open issue labelled `label`, its body replaced; or a new one. Returns
    ("updated" or "opened", its number)."""
    found = _api("GET", "/issues", params={"labels": label, "state": "open"})
    if found:
        number = found[0]["number"]
        _api("PATCH", f"/issues/{number}", {"title": title, "body": body[:MAX_BODY]})
        return "updated", number
    made = _api("POST", "/issues", {"title": title, "body": body[:MAX_BODY], "labels": [label]})
    return "opened", made["number"]


def open_or_update_pull(head: str, base: str, title: str, body: str) -> tuple[str, int]:
    """The open pull request from branch `head`, its body replaced; or a new one."""
    owner = os.environ["GITHUB_REPOSITORY"].split("/")[0]
    found = _api("GET", "/pulls", params={"head": f"{owner}:{head}", "state": "open"})
    if found:
        number = found[0]["number"]
        _api("PATCH", f"/pulls/{number}", {"title": title, "body": body[:MAX_BODY]})
        return "updated", number
    made = _api(
        "POST", "/pulls", {"title": title, "head": head, "base": base, "body": body[:MAX_BODY]}
    )
    return "opened", made["number"]
