"""ASGI middleware for the service: a request-body limit, and the prediction log.

Both work per request, outside BentoML's adaptive batching, which merges requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson  # several times faster than json for the body parse and the log lines

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = b"x-request-id"


async def _reply(send: Send, status: int, error: str) -> None:
    body = orjson.dumps({"error": error})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """413 for a body over `max_bytes`, declared or streamed. BentoML has no limit of its own.

    The body is read here in full (it is bounded) and replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        too_big = f"request body is over the limit of {self.max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await _reply(send, 400, "invalid Content-Length header")
            if int(declared) > self.max_bytes:
                return await _reply(send, 413, too_big)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await _reply(send, 413, too_big)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope.setdefault("state", {})["shipyard.body"] = body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for disconnect, as usual
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class PredictionLog:
    """One JSON line per predicted row: request id, model version, input, output, latency.

    With a shadow (candidate) predictor, it runs on the same rows after the answer has been
    sent and is logged beside the primary's output; its failures are logged, never raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        logger: logging.Logger,
        shadow: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.logger = logger
        self.shadow = shadow

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return await self.app(scope, receive, send)  # BentoML answers other methods (405)
        start = time.perf_counter()
        try:  # the body was read (and bounded) by BodySizeLimit, which runs first
            payload = orjson.loads(scope["state"]["shipyard.body"])
        except orjson.JSONDecodeError as err:
            return await _reply(send, 400, f"request body is not valid JSON: {err}")
        if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list):
            return await _reply(send, 400, 'request body must be {"rows": [{feature: value}]}')
        headers = dict(scope["headers"])
        request_id = headers.get(REQUEST_ID, b"").decode("latin-1")[:64] or uuid.uuid4().hex
        status, chunks = 0, []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID, request_id.encode("latin-1")),
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        latency_ms = round((time.perf_counter() - start) * 1000, 3)
        if status != 200:
            self.logger.warning(
                orjson.dumps(
                    {"request_id": request_id, "status": status, "latency_ms": latency_ms}
                ).decode()
            )
            return
        rows = payload["rows"]
        outputs = orjson.loads(b"".join(chunks))
        # Off the event loop: the candidate's work must not hold up other requests.
        shadow = await asyncio.to_thread(self._shadow, rows)
        for i, (row, output) in enumerate(zip(rows, outputs, strict=True)):
            line = {
                "request_id": request_id,
                "row": i,
                "latency_ms": latency_ms,
                "model_version": output["model_version"],
                "input": row,
                "output": {k: v for k, v in output.items() if k != "model_version"},
            }
            if shadow is not None:
                line["shadow"] = shadow[i] if isinstance(shadow, list) else shadow
            self.logger.info(orjson.dumps(line).decode())

    def _shadow(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | dict | None:
        if self.shadow is None:
            return None
        try:
            return self.shadow(rows)
        except Exception as err:  # a failing candidate must never touch the primary path
            return {"error": f"{type(err).__name__}: {err}"}
