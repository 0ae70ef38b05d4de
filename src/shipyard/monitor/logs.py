"""Reading the service's JSON-lines logs (prediction and feedback), rotated files included,
or their collected partitions (shipyard.monitor.store): the newest lines, oldest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def log_files(log: Path) -> list[Path]:
    """The log and its rotated files (RotatingFileHandler: log, log.1, log.2, ...), newest
    first."""
    rotated = sorted(
        (p for p in log.parent.glob(f"{log.name}.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
    )
    return [p for p in [log, *rotated] if p.exists()]


def read_lines(content: bytes, bad: list[int] | None = None) -> list[dict[str, Any]]:
    """A log file's lines; one that does not parse (a write cut short) is skipped and
    counted in `bad`."""
    found, skipped = [], 0
    for line in content.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError:
            skipped += 1
    if bad is not None:
        bad.append(skipped)
    return found


def newest_lines(log: Path, n: int, bad: list[int] | None = None) -> list[dict[str, Any]]:
    """The newest `n` lines of a JSON-lines log and its rotated files, oldest first. A file
    rotated away while reading is skipped."""
    found: list[dict[str, Any]] = []
    skipped: list[int] = []
    for path in log_files(log):
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue
        found = read_lines(content, skipped) + found
        if len(found) >= n:
            break
    if bad is not None:
        bad.append(sum(skipped))
    return found[-n:] if n else []


def newest_rows(log: Path, n: int) -> list[dict[str, Any]]:
    """The inputs of the newest `n` logged rows (fewer if the log has fewer), oldest first."""
    return [line["input"] for line in newest_lines(log, n)]


def window_lines(source: str, kind: str, n: int, bad: list[int]) -> list[dict[str, Any]]:
    """The newest `n` lines from a log file, or from a store's `kind` partitions (a folder
    holding `<kind>/`, or an s3:// URL)."""
    from shipyard.monitor.store import newest_stored

    path = Path(source)
    if "://" not in source and not (path / kind).is_dir():
        return newest_lines(path, n, bad)
    bad.append(0)  # collected partitions hold parsed lines only
    return newest_stored(source, kind, n)


def exists(source: str, kind: str) -> bool:
    """Is there a log file, or a store's `kind` partitions, at `source`?"""
    from shipyard.monitor.store import filesystem

    if "://" not in source:
        path = Path(source)
        return bool(log_files(path)) or (path / kind).is_dir()
    fs, root = filesystem(source)
    return bool(fs.exists(f"{root}/{kind}"))
