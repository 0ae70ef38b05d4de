"""Two fixes to BentoML 1.4's HTTP server, applied when the service module loads.

1. Per-request timer leak. `TimeoutMiddleware.__call__` (bentoml/_internal/server/http/
   traffic.py) schedules `loop.call_later(timeout, ...)` for every request and never
   cancels it. Each pending timer keeps that request's context (OpenTelemetry span,
   futures) alive for the whole traffic timeout, so worker memory grows with request rate x
   timeout and full garbage-collection passes over those objects make the latency tail,
   rising with uptime. With this fix (and gc.freeze() after loading) memory stays flat;
   `make bench-serving` measures the tail. The replacement below is upstream's logic plus
   cancelling the timer when the request is done.

2. Unbounded metric labels. `RunnerTrafficMetricsMiddleware` labels its request metrics
   with the raw request path, so every distinct unknown path (`/nope-1`, `/nope-2`, ...)
   adds series to /metrics for the life of the process: its size, the worker's memory and
   the scrape time grow without bound. The wrapper below hands it one path, `/<unknown>`,
   for any path the server does not serve (and the 404 is answered for that path, so the
   access log shows it too).

Each is applied only over the exact upstream code it was written against (a hash of its
source), so a BentoML upgrade disables it with a warning instead of silently diverging;
tests/test_bentoml_fixes.py fails then, as a reminder to re-check (and to drop the fix
once upstream has one).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import logging
from pathlib import Path
from typing import Any

from bentoml._internal.server.http import instruments, traffic

UPSTREAM_SHA256 = "fd8b9e3da28ed2b44cfd508d641617e049fcd4986138197ce7bb227332505896"
METRICS_SHA256 = "b7dc25ae0208d7b27864271735f917f20fe7712a3d76e9afefca4271f5b458d9"
UNKNOWN_PATH = "/<unknown>"
# BentoML's own routes besides the service's APIs (bentoml/_internal/server/base_app.py,
# _bentoml_impl/server/app.py)
INFRA_PATHS = ("/", "/docs.json", "/schema.json", "/metrics", "/healthz", "/livez", "/readyz")
log = logging.getLogger(__name__)


async def _call(self: Any, scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] not in ("http", "websocket"):
        return await self.app(scope, receive, send)
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    timer = loop.call_later(self.timeout, self._set_timer_out, waiter)

    async def _send(message: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)
        await send(message)

    fut = asyncio.ensure_future(self.app(scope, receive, _send), loop=loop)
    try:
        await waiter
    except asyncio.TimeoutError:
        if fut.cancel():
            resp = traffic.JSONResponse(
                {"error": f"Not able to process the request in {self.timeout} seconds"},
                status_code=504,
            )
            await resp(scope, receive, send)
    else:
        await fut
    finally:
        timer.cancel()  # the fix: release the request's context now, not after `timeout`


@functools.cache
def served_paths() -> frozenset[str]:
    """Every path the server answers: the APIs, BentoML's routes and its static files."""
    import _bentoml_impl.server
    import bentoml._internal.server
    from bentoml._internal.context import server_context

    static = {
        "/static_content": Path(bentoml._internal.server.__file__).parent / "static_content",
        "/assets": Path(_bentoml_impl.server.__file__).parent / "assets",
    }
    files = {
        f"{prefix}/{path.relative_to(folder).as_posix()}"
        for prefix, folder in static.items()
        for path in folder.rglob("*")
        if path.is_file()
    }
    return frozenset([*server_context.service_routes, *INFRA_PATHS, *files])


def _labelled(call: Any) -> Any:
    @functools.wraps(call)
    async def labelled(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] not in served_paths():
            scope = {**scope, "path": UNKNOWN_PATH, "raw_path": UNKNOWN_PATH.encode()}
        return await call(self, scope, receive, send)

    labelled.shipyard_fix = True
    return labelled


def _matches(function: Any, sha256: str) -> bool:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest() == sha256


def upstream_matches() -> bool:
    return _matches(traffic.TimeoutMiddleware.__call__, UPSTREAM_SHA256)


def metrics_upstream_matches() -> bool:
    return _matches(instruments.RunnerTrafficMetricsMiddleware.__call__, METRICS_SHA256)


def apply() -> bool:
    """Apply each fix whose upstream code is the one it was written for; True if both are."""
    applied = True
    if traffic.TimeoutMiddleware.__call__ is not _call:
        if upstream_matches():
            traffic.TimeoutMiddleware.__call__ = _call
        else:
            log.warning("BentoML's TimeoutMiddleware changed: timer-leak fix not applied")
            applied = False
    metrics = instruments.RunnerTrafficMetricsMiddleware
    if not getattr(metrics.__call__, "shipyard_fix", False):
        if metrics_upstream_matches():
            metrics.__call__ = _labelled(metrics.__call__)
        else:
            log.warning("BentoML's metrics middleware changed: path-label fix not applied")
            applied = False
    return applied
