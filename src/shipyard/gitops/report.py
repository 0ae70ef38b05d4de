"""The pull-request report: what changed against a base revision, as Markdown.

`render` is pure; `collect` asks DVC (`dvc metrics/params/plots diff`, `dvc diff`) and
renders the plots to PNG with vl-convert. CML only posts the file. What could not be
compared (a base out of reach, a DVC call that failed) is a one-line note, not an error.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.config import ConfigError
from shipyard.gitops.gate import Verdict
from shipyard.gitops.revisions import one_line
from shipyard.pipeline.task import higher_is_better

# `shipyard repro`'s stage statuses: executed, restored from DVC's run cache, skipped.
STATUSES = ("ran", "cached", "unchanged")
NO_STAGE_RAN = "No stage executed: every stage was unchanged or restored from the run cache."


@dataclass
class Changes:
    metrics: dict[str, dict[str, Any]]  # "file: name" -> {"old", "new", "diff"}
    params: dict[str, dict[str, Any]] | None  # "file: name" -> {"old", "new"}; None: unknown
    data: dict[str, list[str]] | None  # "added"/"deleted"/"modified"/... -> paths; None: unknown
    plots: list[tuple[str, str]] = field(default_factory=list)  # (title, png file name)
    plot_errors: list[str] = field(default_factory=list)
    validation: str | None = None  # the validate stage's Markdown summary
    missing: list[str] = field(default_factory=list)  # what could not be compared: why


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def direction_word(name: str, delta: float | None) -> str:
    """Says whether a change of metric `name` (e.g. mlp.log_loss) is better or worse;
    nothing for no change, or for a metric no task has (no way to tell)."""
    if not delta:
        return ""
    try:
        higher = higher_is_better(name)
    except ConfigError:
        return ""
    return "better" if (delta > 0) == higher else "worse"


def _plot_lines(plots: list[tuple[str, str]], image_url: str | None) -> list[str]:
    if image_url == "":
        # Where the PNGs cannot be linked (a GitHub job summary shows no files beside it),
        # a broken image per plot helps nobody: name them, the artifact has them.
        return [f"- {title} (PNG in the `report` artifact)" for title, _ in plots]
    prefix = "" if image_url is None else image_url.rstrip("/") + "/"
    return [f"### {title}\n\n![{title}]({prefix}{png})\n" for title, png in plots]


def _repro_lines(repro: dict[str, Any]) -> list[str]:
    stages = repro.get("stages") or []
    lines = ["", "## Pipeline run", ""]
    if stages:
        lines += ["| stage | status | seconds |", "|---|---|---:|"]
        lines += [
            f"| {stage['name']} | {stage['status']} | {_seconds(stage.get('seconds'))} |"
            for stage in stages
        ]
        lines.append("")
    if repro.get("total_seconds") is not None:
        lines += [f"Total: {_seconds(repro['total_seconds'])} s.", ""]
    if not any(stage["status"] == "ran" for stage in stages):
        lines += [NO_STAGE_RAN, ""]
    if repro.get("exit_code"):
        lines += [f"`dvc repro` exited {repro['exit_code']}.", ""]
    return lines[:-1]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(
    head: str,
    base: str,
    changes: Changes,
    verdict: Verdict,
    model_version: str | None = None,
    repro: dict[str, Any] | None = None,
    image_url: str | None = None,
    shipped: str | None = None,
) -> str:
    """The report. `repro`: `shipyard repro`'s stage log; `image_url`: None links the PNGs
    by file name (next to the report), a URL links URL/<png>, "" names them without links;
    `shipped`: which model the bundle ships and by how much (pipeline/bundle.py: shipped).
    The metrics table has both models' metrics."""
    lines = [f"# Model report: `{head}` vs `{base}`", ""]
    lines += [f"Model version: `{model_version}`" if model_version else "Model: not packaged", ""]
    if model_version and shipped:
        lines += [shipped, ""]
    status = "PASSED" if verdict.passed else "FAILED"
    lines += [
        f"**Quality gate: {status}**"
        + ("" if verdict.passed else " - " + "; ".join(verdict.reasons)),
        "",
    ]
    notes = verdict.notes + changes.missing
    if notes:  # what this report could not compare, and why
        lines += [f"- {note}" for note in notes] + [""]
    lines += ["<details><summary>Gate checks</summary>", ""]
    lines += [f"- {'pass' if c.passed else '**FAIL**'}: {c.detail}" for c in verdict.checks]
    lines += ["", "</details>", "", "## Metrics", ""]
    lines += ["| metric | base | this PR | change | |", "|---|---:|---:|---:|---|"]
    for name, row in sorted(changes.metrics.items()):
        delta = row.get("diff")
        lines.append(
            f"| {name} | {_fmt(row.get('old'))} | {_fmt(row.get('new'))} | "
            f"{'-' if delta is None else f'{delta:+.4f}'} | {direction_word(name, delta)} |"
        )
    if changes.validation:
        lines += ["", "## Data validation", "", changes.validation.strip()]
    lines += ["", "## Params changed", ""]
    if changes.params is None:
        lines.append("Not compared (see the notes above).")
    elif changes.params:
        lines += ["| param | base | this PR |", "|---|---|---|"]
        lines += [
            f"| {name} | {_fmt(row.get('old'))} | {_fmt(row.get('new'))} |"
            for name, row in changes.params.items()
        ]
    else:
        lines.append("None.")
    lines += ["", "## Data and models changed (`dvc diff`)", ""]
    if changes.data is None:
        lines.append("Not compared (see the notes above).")
    else:
        entries = [(kind, path) for kind, paths in changes.data.items() for path in paths]
        lines += [f"- {kind}: `{path}`" for kind, path in entries] or ["None."]
    if repro is not None:
        lines += _repro_lines(repro)
    if changes.plots or changes.plot_errors:
        lines += ["", "## Plots", ""]
        lines += _plot_lines(changes.plots, image_url)
        lines += [f"- not rendered: {error}" for error in changes.plot_errors]
    return "\n".join(lines) + "\n"


def read_repro_log(path: Path) -> dict[str, Any] | None:
    """`shipyard repro`'s record of the last run, None if there is none.
    Raises ValueError, in one line, if it is not such a record."""
    if not path.exists():
        return None
    try:
        repro = json.loads(path.read_text())
        for stage in repro["stages"]:
            if not isinstance(stage["name"], str) or stage["status"] not in STATUSES:
                raise ValueError(f"unknown stage entry {stage}")
            if stage.get("seconds") is not None:
                float(stage["seconds"])
        if repro.get("total_seconds") is not None:
            float(repro["total_seconds"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"pipeline run log {path} unreadable: {one_line(str(err), 100)}") from None
    return repro


class DvcFailed(Exception):
    """A `dvc ... --json` call that gave no usable answer; str() is why, one line."""


def _dvc_json(*args: str, timeout: float) -> Any:
    # Shown with a short commit: the full one makes the line long and says no more.
    shown = "dvc " + " ".join(a[:7] if re.fullmatch(r"[0-9a-f]{40}", a) else a for a in args)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "dvc", *args, "--json"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        # `dvc diff` asks the remote for directory listings missing from the cache.
        raise DvcFailed(f"`{shown}` gave no answer within {timeout:g} s") from None
    if out.returncode != 0:
        said = out.stderr.strip().splitlines()
        error = next((line for line in said if line.startswith("ERROR")), said[-1] if said else "")
        raise DvcFailed(f"`{shown}` failed: {one_line(error) or f'exit {out.returncode}'}")
    try:
        return json.loads(out.stdout or "{}")
    except json.JSONDecodeError:
        raise DvcFailed(f"`{shown}` did not answer JSON") from None


def _flatten(diff: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{name}" if len(diff) == 1 else f"{file}: {name}": row
        for file, rows in diff.items()
        for name, row in rows.items()
    }


def _dotted(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"mlp": {"accuracy": 1.0}} -> {"mlp.accuracy": 1.0}, as `dvc metrics diff` names them."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _shown_metrics(shown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`dvc metrics show --json` ({"": {"data": {file: {"data": {...}}}}}) as diff rows
    without a base."""
    files = next(iter(shown.values()), {}).get("data", {})
    return _flatten(
        {
            file: {
                name: {"old": None, "new": value, "diff": None}
                for name, value in _dotted(entry.get("data", {})).items()
            }
            for file, entry in files.items()
        }
    )


def collect(
    base_rev: str | None,
    out_dir: Path,
    validation: Path = Path("reports/validation.md"),
    timeout: float = 60.0,
) -> Changes:
    """What changed between `base_rev` (a commit) and the workspace, plots as PNG files.

    Without a base (None): this run's metrics and plots alone. A DVC call that fails or
    outlasts `timeout` leaves its part out, with a line in `missing`."""
    import vl_convert

    missing: list[str] = []

    def ask(part: str, *args: str) -> Any | None:
        try:
            return _dvc_json(*args, timeout=timeout)
        except DvcFailed as err:
            missing.append(f"{part} not compared: {err}")
            return None

    params: dict[str, dict[str, Any]] | None = None
    data: dict[str, list[str]] | None = None
    if base_rev is None:
        metrics = _shown_metrics(ask("metrics", "metrics", "show") or {})
        shown = ask("plots", "plots", "show") or {}
    else:
        metrics = _flatten(ask("metrics", "metrics", "diff", base_rev, "--all") or {})
        params_diff = ask("params", "params", "diff", base_rev)
        params = None if params_diff is None else _flatten(params_diff)
        data_diff = ask("data and models", "diff", base_rev)
        if data_diff is not None:
            data = {
                kind: [entry["path"] for entry in entries]
                for kind, entries in data_diff.items()
                if entries
            }
        shown = ask("plots", "plots", "diff", base_rev) or {}
    plots: list[tuple[str, str]] = []
    errors: list[str] = []
    for title, renders in shown.get("data", {}).items():
        if not renders:  # DVC lists why under "errors"
            continue
        png = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"
        try:
            (out_dir / png).write_bytes(vl_convert.vegalite_to_png(renders[0]["content"], scale=1))
        except (ValueError, RuntimeError) as err:  # a spec vl-convert cannot draw
            errors.append(f"{title}: {one_line(str(err), 100)}")
            continue
        plots.append((title, png))
    # A plot of the other task (a confusion matrix for a regression) has files in neither
    # revision: not worth a line. Some errors belong to a whole revision, not to one plot.
    drawn = {title for title, renders in shown.get("data", {}).items() if renders}
    errors += [
        f"{e.get('name', 'plots')} ({e.get('rev', '?')}): {e.get('msg', e)}"
        for e in shown.get("errors", [])
        if e.get("type") != "FileNotFoundError" or e.get("name") in drawn
    ]
    summary = validation.read_text() if validation.exists() else None
    return Changes(metrics, params, data, plots, errors, summary, missing)
