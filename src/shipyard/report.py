"""The pull-request report: what changed against a base revision, as Markdown.

`render` is pure; `collect` asks DVC (`dvc metrics/params/plots diff`, `dvc diff`) and
renders the plots to PNG with vl-convert. CML only posts the file.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.gate import Verdict

# Which way is better, by the last part of a metric's name (mlp.log_loss -> log_loss).
LOWER_IS_BETTER = {"log_loss", "rmse", "mae", "loss"}


@dataclass
class Changes:
    metrics: dict[str, dict[str, Any]]  # "file: name" -> {"old", "new", "diff"}
    params: dict[str, dict[str, Any]]  # "file: name" -> {"old", "new"}
    data: dict[str, list[str]]  # "added"/"deleted"/"modified"/... -> paths
    plots: list[tuple[str, str]] = field(default_factory=list)  # (title, png file name)
    plot_errors: list[str] = field(default_factory=list)
    validation: str | None = None  # the validate stage's Markdown summary


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def direction_word(name: str, delta: float | None) -> str:
    if not delta:
        return ""
    lower = name.rsplit(".", 1)[-1] in LOWER_IS_BETTER
    return "better" if (delta < 0) == lower else "worse"


def render(head: str, base: str, changes: Changes, verdict: Verdict, had_base: bool) -> str:
    lines = [f"# Model report: `{head}` vs `{base}`", ""]
    status = "PASSED" if verdict.passed else "FAILED"
    lines += [
        f"**Quality gate: {status}**"
        + ("" if verdict.passed else " - " + "; ".join(verdict.reasons)),
        "",
    ]
    if not had_base:
        lines += [f"`{base}` has no metrics yet (first run): limits only.", ""]
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
    if changes.params:
        lines += ["| param | base | this PR |", "|---|---|---|"]
        lines += [
            f"| {name} | {_fmt(row.get('old'))} | {_fmt(row.get('new'))} |"
            for name, row in changes.params.items()
        ]
    else:
        lines.append("None.")
    lines += ["", "## Data and models changed (`dvc diff`)", ""]
    entries = [(kind, path) for kind, paths in changes.data.items() for path in paths]
    lines += [f"- {kind}: `{path}`" for kind, path in entries] or ["None."]
    if changes.plots or changes.plot_errors:
        lines += ["", "## Plots", ""]
        lines += [f"### {title}\n\n![{title}]({png})\n" for title, png in changes.plots]
        lines += [f"- not rendered: {error}" for error in changes.plot_errors]
    return "\n".join(lines) + "\n"


def _dvc_json(*args: str) -> Any:
    out = subprocess.run(["dvc", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout or "{}")


def _flatten(diff: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{name}" if len(diff) == 1 else f"{file}: {name}": row
        for file, rows in diff.items()
        for name, row in rows.items()
    }


def collect(
    base_rev: str, out_dir: Path, validation: Path = Path("reports/validation.md")
) -> Changes:
    """What changed between `base_rev` (a commit) and the workspace, plots as PNG files."""
    import vl_convert

    metrics = _flatten(_dvc_json("metrics", "diff", base_rev, "--all"))
    params = _flatten(_dvc_json("params", "diff", base_rev))
    data_diff = _dvc_json("diff", base_rev)
    data = {
        kind: [entry["path"] for entry in entries] for kind, entries in data_diff.items() if entries
    }
    plots = []
    shown = _dvc_json("plots", "diff", base_rev)
    for title, renders in shown.get("data", {}).items():
        if not renders:  # DVC lists why under "errors"
            continue
        png = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"
        (out_dir / png).write_bytes(vl_convert.vegalite_to_png(renders[0]["content"], scale=1))
        plots.append((title, png))
    # A plot of the other task (a confusion matrix for a regression) has files in neither
    # revision: not worth a line. Some errors belong to a whole revision, not to one plot.
    drawn = {title for title, renders in shown.get("data", {}).items() if renders}
    errors = [
        f"{e.get('name', 'plots')} ({e.get('rev', '?')}): {e.get('msg', e)}"
        for e in shown.get("errors", [])
        if e.get("type") != "FileNotFoundError" or e.get("name") in drawn
    ]
    summary = validation.read_text() if validation.exists() else None
    return Changes(metrics, params, data, plots, errors, summary)
