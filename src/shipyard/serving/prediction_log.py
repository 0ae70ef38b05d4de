"""The prediction log: one JSON line per predicted row (request id, model version, the
row as validated, the answer, latency), and the shadow candidate's answer beside it.

Lines go to a size-rotated file (the standard library's RotatingFileHandler), a request's
rows in one write. A failed write (a full disk, a revoked mount) is never raised into a
request and never a traceback per row: the rows lost are counted in /metrics and the
failure is reported once, then once more when writes succeed again.

With a shadow candidate, requests wait in a bounded queue for one background task that
runs the candidate on many requests' rows at once, off the event loop, after their answers
were sent, and busy at most a set share of the time. A full queue never slows the primary:
that request is logged at once without the candidate's answer, and counted as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("bentoml.shipyard")
STATE_DIR = "SHIPYARD_STATE_DIR"  # where relative log paths live (default: ~/.local/state)
SHADOW_ROWS = 256  # rows of queued requests the candidate answers in one call

Shadow = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def log_path(path: str) -> Path:
    """Where a configured log path writes: absolute as given, relative under the state
    directory (never the working directory: `bentoml serve <bento>` runs in the bento's
    own files, which are no place for data)."""
    if os.path.isabs(path):
        return Path(path)
    base = os.environ.get(STATE_DIR) or Path(
        os.environ.get("XDG_STATE_HOME") or Path.home() / ".local/state", "shipyard"
    )
    return Path(base, path)


def check_writable(
    path: Path,
    what: str = "prediction log",
    setting: str = "serve.prediction_log.path or SHIPYARD_PREDICTION_LOG",
) -> str | None:
    """Why the log (`what`, configured by `setting`) cannot be written at `path`, in one
    line; None if it can. Creates its folder and the (empty) file, as the first write
    would."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
        if path.is_file() and not os.access(path.parent, os.W_OK):  # rotation renames there
            raise PermissionError(13, "its folder is not writable")
    except OSError as err:
        return f"{what} {path}: {err.strerror or err} (set {setting})"
    return None


@functools.cache
def counter(name: str, documentation: str) -> Any:
    """A Prometheus counter on BentoML's /metrics: made once a process (the registry
    refuses a name twice), in the serving process, where BentoML has set up multiprocess
    collection."""
    import prometheus_client

    return prometheus_client.Counter(name, documentation)


def json_lines(
    path: Path, max_bytes: int, backups: int, what: str, metric: str, rows: str
) -> _File:
    """A rotated JSON-lines file (`what`, for messages) whose failed `rows` are counted in
    the counter `metric` on /metrics."""
    return _File(path, max_bytes, backups, what, metric, rows)


class _File(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose failures are counted, not printed per record."""

    def __init__(
        self, path: Path, max_bytes: int, backups: int, what: str, metric: str, rows: str
    ) -> None:
        super().__init__(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        self.what = what
        self.metric = metric
        self.failed = counter(metric, f"{rows} the {what} failed to write")
        self.failing = False
        self._error = False
        self._size: int | None = None

    def write_lines(self, lines: list[bytes]) -> bool:
        """One write (one record: never split by a rotation) of JSON lines (orjson's
        UTF-8, decoded once for the whole write); False if it failed (counted and
        reported: handleError)."""
        text = b"\n".join(lines).decode()
        record = logging.LogRecord(self.baseFilename, logging.INFO, "", 0, text, None, None)
        record.rows = len(lines)
        with self.lock:  # handle() takes it too (reentrant): _error is this record's
            self.handle(record)
            return not self._error

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        self._error = False
        try:  # where this record starts: a write that fails halfway is cut back to it
            self._size = os.path.getsize(self.baseFilename)
        except OSError:
            self._size = None
        super().emit(record)
        if not self._error and self.failing:
            self.failing = False
            log.warning("%s %s: writing again", self.what, self.baseFilename)

    def handleError(self, record: logging.LogRecord) -> None:
        self._error = True
        self.failed.inc(getattr(record, "rows", 1))
        if not self.failing:  # once, not per record: a full disk fails every write
            self.failing = True
            log.warning(
                "%s %s: %s; rows are dropped and counted in %s_total until a write succeeds",
                self.what,
                self.baseFilename,
                sys.exc_info()[1] or "write failed",
                self.metric,
            )
        if self._size is not None:  # no half line for the next record to run on from
            with contextlib.suppress(OSError, ValueError):
                self.flush()
            name = self.baseFilename
            with contextlib.suppress(OSError):
                if os.path.isfile(name) and os.path.getsize(name) > self._size:
                    os.truncate(name, self._size)
        if self.stream is not None:  # reopen on the next write (the disk may have room)
            with contextlib.suppress(OSError):
                self.stream.close()
            self.stream = None


@dataclass
class Entry:
    request_id: str
    latency_ms: float
    # The rows by column name: dicts, or a sequence of them that also renders each row's
    # JSON itself (`json()`: serving.columns.Records, from the validated columns).
    rows: Sequence[dict[str, Any]]
    outputs: list[dict[str, Any]]
    timestamp: str = ""  # when it was answered, ISO 8601 UTC
    logged: bool = False  # set once, under PredictionLog's lock: no request logged twice


class PredictionLog:
    def __init__(
        self,
        path: Path | None,
        max_bytes: int,
        backups: int,
        shadow: Shadow | None = None,
        queue: int = 1,
        max_busy: float = 1.0,
    ) -> None:
        self.file: _File | None = None
        if path is not None:
            self.file = json_lines(
                path,
                max_bytes,
                backups,
                "prediction log",
                "shipyard_prediction_log_failed_rows",
                "Predicted rows",
            )
        self.shadow = shadow
        self.queue_size = queue
        self.max_busy = max_busy
        self.queue: asyncio.Queue[Entry] | None = None
        self.worker: asyncio.Task | None = None
        self.in_flight: list[Entry] = []  # with the candidate now
        self.lock = threading.Lock()
        if shadow is not None:
            self.dropped = counter(
                "shipyard_shadow_dropped_requests",
                "Requests logged without the shadow candidate's answer (its queue was full)",
            )

    def add(self, entry: Entry) -> None:
        """Log a request's rows: now, or after the shadow candidate answered them."""
        if self.shadow is None:
            return self._logged([entry])
        if self.queue is None:
            self.queue = asyncio.Queue(self.queue_size)
            self.worker = asyncio.get_running_loop().create_task(self._shadow_worker())
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped.inc()
            self._logged([entry], lambda e: [{"dropped": "shadow queue full"}] * len(e.rows))

    async def drain(self) -> None:
        """Wait until every queued request is logged."""
        if self.queue is not None:
            await self.queue.join()

    async def close(self, timeout_s: float) -> None:
        """On shutdown: the queue drains for up to `timeout_s`; what is left (queued, or
        with a candidate that has not answered) is logged without the candidate's answer
        and counted as dropped."""
        if self.queue is None:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.drain(), timeout_s)
        if self.worker is not None:
            self.worker.cancel()
        left = list(self.in_flight)
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        left = [entry for entry in left if not entry.logged]
        if left:
            self.dropped.inc(len(left))
            self._logged(left, lambda entry: [{"dropped": "shutting down"}] * len(entry.rows))

    async def _shadow_worker(self) -> None:
        assert self.queue is not None
        while True:
            entries = [await self.queue.get()]
            while sum(len(e.rows) for e in entries) < SHADOW_ROWS and not self.queue.empty():
                entries.append(self.queue.get_nowait())
            self.in_flight = entries
            start = time.perf_counter()
            # Candidate and log lines both off the event loop: a batch's lines are many.
            await asyncio.to_thread(self._shadow_and_write, entries)
            self.in_flight = []
            for _ in entries:
                self.queue.task_done()
            # The candidate shares the cores (and the GIL) with the primary: it may be busy
            # max_busy of the time; under more load its queue fills and requests are dropped.
            busy = time.perf_counter() - start
            await asyncio.sleep(busy * (1 / self.max_busy - 1))

    def _shadow_and_write(self, entries: list[Entry]) -> None:
        assert self.shadow is not None
        rows = [row for entry in entries for row in entry.rows]
        try:
            answers: list[Any] = self.shadow(rows)
            if len(answers) != len(rows):
                raise ValueError(f"{len(answers)} answers for {len(rows)} rows")
        except Exception as err:  # a failing candidate must never touch the primary
            answers = [{"error": f"{type(err).__name__}: {err}"[:500]}] * len(rows)
        each, at = {}, 0  # each entry's slice of the answers
        for entry in entries:
            each[id(entry)], at = answers[at : at + len(entry.rows)], at + len(entry.rows)
        self._logged(entries, lambda entry: each[id(entry)])

    def _logged(
        self, entries: list[Entry], shadow: Callable[[Entry], list[Any]] | None = None
    ) -> None:
        """Log the entries not logged yet (each once, whoever gets there first: the shadow
        thread or shutdown), with `shadow(entry)`'s answers beside them. Failures are
        counted and told in one line, never raised: the answer has been sent; the log must
        not turn it into an error."""
        with self.lock:
            mine = [entry for entry in entries if not entry.logged]
            for entry in mine:
                entry.logged = True
        if not mine:
            return
        try:
            self._write([(entry, shadow(entry) if shadow else None) for entry in mine])
        except Exception as err:
            rows = sum(len(entry.rows) for entry in mine)
            if self.file is not None:
                self.file.failed.inc(rows)
            log.warning("prediction log: %d row(s) not logged: %s", rows, str(err)[:200])

    def _write(self, entries: list[tuple[Entry, list[Any] | None]]) -> None:
        if self.file is None:
            return
        lines = []
        for entry, shadow in entries:
            rendered = getattr(entry.rows, "json", None)
            rows = [orjson.Fragment(row) for row in rendered()] if rendered else entry.rows
            for i, (row, output) in enumerate(zip(rows, entry.outputs, strict=True)):
                line = {
                    "timestamp": entry.timestamp,
                    "request_id": entry.request_id,
                    "row": i,
                    "latency_ms": entry.latency_ms,
                    "model_version": output["model_version"],
                    "input": row,
                    "output": {key: v for key, v in output.items() if key != "model_version"},
                }
                if shadow is not None:
                    line["shadow"] = shadow[i]
                lines.append(orjson.dumps(line))
        self.file.write_lines(lines)
