"""Run a GitHub Actions job's own steps here, so a test of the GitOps loop cannot drift from
the workflows it tests.

`run:` steps run as written (bash -eo pipefail, the env the workflow sets, GITHUB_OUTPUT
and GITHUB_STEP_SUMMARY files). `uses:` steps are emulated: checkout clones the origin,
setup-python is the test's own venv, cache stores folders by key here, upload-artifact
copies, setup-cml and docker/login do nothing (`cml`, `docker` and `kubectl` are stand-ins
on PATH, see tests/shims/). Expressions: the subset the workflows use (contexts, literals,
== != && || !, always/success/failure, hashFiles).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][\w.\-*]*))"
)
STATUS_FUNCTIONS = ("always(", "success(", "failure(", "cancelled(")


class Missing(str):
    """A context value that is not set: '' in strings and comparisons, as on GitHub."""

    def __getattr__(self, _: str) -> Missing:
        return Missing()


def _lookup(contexts: dict[str, Any], path: str) -> Any:
    value: Any = contexts
    for part in path.split("."):
        value = value.get(part, Missing()) if isinstance(value, dict) else Missing()
    return value


def evaluate(expr: str, contexts: dict[str, Any], failed: bool = False) -> Any:
    """Evaluate one expression (no `${{ }}`) with GitHub's operators on Python values."""
    out: list[str] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        match = TOKEN.match(expr, pos)
        if not match:
            raise ValueError(f"cannot parse expression at {expr[pos:]!r}")
        pos = match.end()
        kind, text = match.lastgroup, match.group(match.lastgroup or "")
        if kind == "str":
            out.append(repr(text[1:-1].replace("''", "'")))
        elif kind == "num":
            out.append(text)
        elif kind == "op":
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(text, f" {text} "))
        elif text in ("true", "false", "null"):
            out.append({"true": "True", "false": "False", "null": "''"}[text])
        elif expr[pos:].lstrip().startswith("("):
            out.append(f"_fn_{text}")
        else:
            out.append(f"_ctx({text!r})")
    functions = {
        "_fn_always": lambda: True,
        "_fn_success": lambda: not failed,
        "_fn_failure": lambda: failed,
        "_fn_cancelled": lambda: False,
        "_fn_hashFiles": lambda *globs: _hash_files(contexts["_workspace"], globs),
        "_ctx": lambda path: _lookup(contexts, path),
    }
    return eval("".join(out), {"__builtins__": {}}, functions)


def _hash_files(workspace: Path, globs: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(workspace.rglob("*")):
        rel = str(path.relative_to(workspace))
        if path.is_file() and any(fnmatch.fnmatch(rel, g) for g in globs):
            digest.update(path.read_bytes())
    return digest.hexdigest()


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def interpolate(text: str, contexts: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: as_text(evaluate(m.group(1), contexts)), text)


def condition(expr: Any, contexts: dict[str, Any], failed: bool) -> bool:
    if expr is None:
        return not failed
    text = str(expr).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not any(f in text for f in STATUS_FUNCTIONS):
        text = f"success() && ({text})"
    return bool(evaluate(text, contexts, failed))


@dataclass
class Step:
    name: str
    outcome: str  # success | failure | skipped
    output: str = ""


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)
    summary: str = ""
    ran: bool = True

    @property
    def failed(self) -> list[str]:
        return [s.name for s in self.steps if s.outcome == "failure"]

    def output_of(self, needle: str) -> str:
        return "\n".join(s.output for s in self.steps if needle in s.name)


@dataclass
class Runner:
    """Where the emulated runner keeps its pieces."""

    origin: Path  # the bare repository the workflow checks out and pushes to
    home: Path  # the runner's work area (workspace, caches, artifacts, temp files)
    env: dict[str, str]  # the runner machine's environment (PATH with the shims first)

    def run_job(
        self,
        workflow: Path,
        job_id: str,
        github: dict[str, Any],
        variables: dict[str, str],
        secrets: dict[str, str],
    ) -> Job:
        spec = yaml.safe_load(workflow.read_text())
        job_spec = spec["jobs"][job_id]
        workspace = self.home / "workspace"
        if workspace.exists():
            shutil.rmtree(workspace)
        contexts: dict[str, Any] = {
            "github": github,
            "vars": variables,
            "secrets": secrets,
            "steps": {},
            "_workspace": workspace,
            "env": {},
        }
        job = Job()
        if not condition(job_spec.get("if"), contexts, failed=False):
            job.ran = False
            return job
        env = {k: interpolate(str(v), contexts) for k, v in job_spec.get("env", {}).items()}
        contexts["env"] = env
        summary = self.home / "summary.md"
        summary.write_text("")
        post: list[tuple[Path, str]] = []  # caches to save when the job ends
        failed = False
        for i, step in enumerate(job_spec["steps"]):
            name = step.get("name") or step.get("uses") or step["run"]
            if not condition(step.get("if"), contexts, failed):
                job.steps.append(Step(name, "skipped"))
                continue
            step_env = {k: interpolate(str(v), contexts) for k, v in step.get("env", {}).items()}
            with_ = {k: interpolate(str(v), contexts) for k, v in step.get("with", {}).items()}
            if "uses" in step:
                result = self._uses(step["uses"], with_, github, workspace, post)
            else:
                result = self._run(
                    step["run"],
                    {**env, **step_env},
                    github,
                    workspace,
                    summary,
                    contexts,
                    step.get("id"),
                    i,
                )
            job.steps.append(Step(name, result[0], result[1]))
            failed = failed or result[0] == "failure"
        if not failed:  # actions/cache's post step saves only after a successful job
            for folder, key in post:
                self._save_cache(workspace / folder, key, github["ref"])
        job.summary = summary.read_text()
        return job

    def _run(
        self,
        script: str,
        env: dict[str, str],
        github: dict[str, Any],
        workspace: Path,
        summary: Path,
        contexts: dict[str, Any],
        step_id: str | None,
        index: int,
    ) -> tuple[str, str]:
        output = self.home / f"output-{index}"
        output.write_text("")
        full_env = {
            **self.env,
            **env,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_RUN_ID": str(github["run_id"]),
            "GITHUB_SHA": github.get("sha", ""),
            "RUNNER_TEMP": str(self.home),
        }
        proc = subprocess.run(
            [
                "bash",
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                interpolate(script, contexts),
            ],
            cwd=workspace,
            env=full_env,
            capture_output=True,
            text=True,
        )
        if step_id:
            outputs = dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
            )
            contexts["steps"][step_id] = {"outputs": outputs}
        return ("success" if proc.returncode == 0 else "failure"), proc.stdout + proc.stderr

    def _uses(
        self,
        action: str,
        with_: dict[str, str],
        github: dict[str, Any],
        workspace: Path,
        post: list[tuple[Path, str]],
    ) -> tuple[str, str]:
        name = action.split("@")[0]
        if name == "actions/checkout":
            ref = with_.get("ref") or github["sha"]
            git = ["git", "-c", "advice.detachedHead=false"]
            subprocess.run(
                [*git, "clone", "-q", str(self.origin), str(workspace)], check=True, env=self.env
            )
            subprocess.run(
                [*git, "fetch", "-q", "origin", "+refs/pull/*:refs/remotes/pull/*"],
                cwd=workspace,
                check=True,
                env=self.env,
            )
            subprocess.run([*git, "checkout", "-q", ref], cwd=workspace, check=True, env=self.env)
            return "success", f"checked out {ref}"
        if name == "actions/cache":
            return "success", self._restore_cache(workspace, with_, post, github)
        if name == "actions/upload-artifact":
            dest = self.home / "artifacts" / with_["name"]
            shutil.copytree(workspace / with_["path"], dest, dirs_exist_ok=True)
            return "success", f"uploaded {with_['path']}"
        if name in ("actions/setup-python", "iterative/setup-cml", "docker/login-action"):
            return "success", "provided by the test runner"  # venv and stand-ins on PATH
        raise AssertionError(f"no emulation for {action}: add one to tests/workflow_runner.py")

    def _restore_cache(
        self,
        workspace: Path,
        with_: dict[str, str],
        post: list[tuple[Path, str]],
        github: dict[str, Any],
    ) -> str:
        """GitHub's scoping: a run sees caches saved on its own ref and on its base branch
        (a pull request's) or the default branch, never another pull request's."""
        key, path = with_["key"], with_["path"]
        scopes = [github["ref"], f"refs/heads/{github.get('base_ref') or 'main'}"]
        stores = [self.home / "caches" / scope.replace("/", "_") for scope in scopes]
        hit = next((store / key for store in stores if (store / key).exists()), None)
        if hit is None:
            prefixes = with_.get("restore-keys", "").split()
            partial = [p for store in stores for x in prefixes for p in store.glob(f"{x}*")]
            hit = max(partial, key=lambda p: p.stat().st_mtime, default=None)
        if hit is not None:
            shutil.copytree(hit, workspace / path, dirs_exist_ok=True)
        if hit is None or hit.name != key:
            post.append((Path(path), key))
        return f"cache {key}: {'restored from ' + hit.parent.name if hit else 'miss'}"

    def _save_cache(self, folder: Path, key: str, ref: str) -> None:
        if folder.exists():
            dest = self.home / "caches" / ref.replace("/", "_") / key
            shutil.copytree(folder, dest, dirs_exist_ok=True)


def venv_make_flags() -> str:
    """`make` uses the test's interpreter as the venv and skips installing (MAKEFLAGS)."""
    return f" -- SETUP= VENV={Path(sys.executable).parent.parent}"
