"""`dvc repro` with a record of what each stage did and how long it took, for the report.

DVC logs one line per stage as it reaches it; a stage's time is from its line to the
next stage's line (or the end), so it includes DVC's own hashing and caching of outputs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

STAGE_LINE = re.compile(
    r"^(?:Running stage '(?P<ran>[^']+)'"
    r"|Stage '(?P<cached>[^']+)' is cached - skipping run"
    r"|Stage '(?P<unchanged>[^']+)' didn't change, skipping)"
)


def stages_from(lines: Iterable[tuple[float, str]], end: float) -> list[dict[str, Any]]:
    """[{name, status, seconds}] from (timestamp, line) pairs of `dvc repro` output.
    Unchanged stages take no time worth a number (None)."""
    stages: list[dict[str, Any]] = []
    starts: list[float] = []
    for stamp, line in lines:
        match = STAGE_LINE.match(line)
        if match:
            status = match.lastgroup or ""
            stages.append({"name": match.group(status), "status": status, "seconds": None})
            starts.append(stamp)
    for i, stage in enumerate(stages):
        if stage["status"] != "unchanged":
            stop = starts[i + 1] if i + 1 < len(starts) else end
            stage["seconds"] = round(stop - starts[i], 2)
    return stages


def repro(args: Sequence[str], log: Path) -> int:
    """Run `dvc repro ARGS`, echoing its output; write the stage record to `log`."""
    start = time.monotonic()
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            lines.append((time.monotonic(), line.strip()))
    end = time.monotonic()
    record = {
        "stages": stages_from(lines, end),
        "total_seconds": round(end - start, 2),
        "exit_code": proc.returncode,
    }
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(record, indent=2) + "\n")
    return proc.returncode
