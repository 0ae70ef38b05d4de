"""ASGI middleware for the service: the request body (bounded in size and time), the
/predict contract (JSON or Arrow only, validated once, bounded errors, the prediction log), and the
OpenAPI document that describes what these answer.

They work per request, outside BentoML's adaptive batching, which merges requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from shipyard.serving.schema import Problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID = b"x-request-id"
BODY = "shipyard.body"  # scope["state"] keys: the body as read, the request as validated
VALIDATED = "shipyard.validated"
JSON = "application/json"
ARROW = "application/vnd.apache.arrow.stream"  # Arrow IPC, streaming format

log = logging.getLogger("bentoml.shipyard")


async def reply(send: Send, status: int, content: dict[str, Any], close: bool = False) -> None:
    """A JSON answer; `close`: and the connection closes (the server stops reading a body
    it refused, which a client could otherwise trickle forever)."""
    body = orjson.dumps(content)
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestBody:
    """Reads a request's body in full, bounded: 413 over `max_bytes` (declared or
    streamed; BentoML has no limit of its own), 408 if it has not all arrived within
    `timeout_s` (a slow client, not a slow server). The app gets it replayed."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        too_big = {"error": f"request body is over the limit of {self.max_bytes} bytes"}
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return await reply(send, 400, {"error": "invalid Content-Length header"}, True)
            if int(declared) > self.max_bytes:
                return await reply(send, 413, too_big, close=True)
        chunks, size = [], 0
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0))
            except asyncio.TimeoutError:
                late = f"request body not received within {self.timeout_s:g} s"
                return await reply(send, 408, {"error": late}, close=True)
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await reply(send, 413, too_big, close=True)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks  # the body is held once, not twice
        scope.setdefault("state", {})[BODY] = body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for disconnect, as usual
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def media_type(scope: Scope) -> str | None:
    """The request's media type; "" when it is sent twice (BentoML would read the first,
    this middleware the last: refuse rather than guess)."""
    values = [v for k, v in scope["headers"] if k == b"content-type"]
    if not values:
        return None
    if len(values) > 1:
        return ""
    return values[0].decode("latin-1").split(";")[0].strip().lower()


Answered = Callable[[str, float, Any, bytes], None]  # request id, ms, request, answer


class BodyContract:
    """POST `path`: the media types in `readers` only (415 otherwise: BentoML would parse a
    form or multipart body its own way), each read once by its reader (body -> the
    validated request, or Problems) here, before batching; no Content-Type is the first
    reader's. A bad request is a 400 naming its first problems and counting them, logged
    as one line. The app gets the validated request (the API's input spec reads it from
    the scope), and `answered` sees that same object with the 200 answer: for /predict,
    what was predicted is what is logged."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        readers: dict[str, Callable[[bytes], Any]],
        shape: str,
        answered: Answered | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.readers = readers
        self.shape = shape  # what a request looks like, for the 400's message
        self.answered = answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return await self.app(scope, receive, send)  # BentoML answers other methods (405)
        start = time.perf_counter()
        headers = dict(scope["headers"])
        request_id = headers.get(REQUEST_ID, b"").decode("latin-1")[:64] or uuid.uuid4().hex
        kind = media_type(scope)
        read = (
            self.readers.get(kind or "") if kind is not None else next(iter(self.readers.values()))
        )
        if read is None:
            shown = json.dumps(kind[:100])
            log.warning("415 %s %s: Content-Type %s", self.path, request_id, shown)
            error = f"Content-Type must be {' or '.join(self.readers)}, once; got {shown}"
            return await reply(send, 415, {"error": error})
        body = scope["state"][BODY]  # read (and bounded) by RequestBody, which runs first
        try:
            request = read(body)
        except Problems as bad:
            first = bad.first[0]
            where = ".".join(map(str, first["loc"])) or "body"
            # quoted (json): the keys are the client's, and must not break the line
            log.warning(
                "400 %s %s: %d problem(s), first %s: %s",
                self.path,
                request_id,
                bad.count,
                json.dumps(where),
                json.dumps(first["msg"]),
            )
            error = f"{bad.count} problem(s) in the request, expected {self.shape}"
            if bad.count > len(bad.first):
                error += f"; the first {len(bad.first)} are listed"
            content = {"error": error, "detail": bad.first, "problems": bad.count}
            return await reply(send, 400, content)
        scope["state"][VALIDATED] = request
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
            log.warning("%d %s %s", status, self.path, request_id)
        elif self.answered is not None:
            self.answered(request_id, latency_ms, request, b"".join(chunks))


class OpenAPIDocument:
    """GET `path` (BentoML's OpenAPI document), amended by `amend`: what BentoML's own
    document cannot know (the statuses these middleware answer, a required body)."""

    def __init__(
        self, app: ASGIApp, path: str, amend: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        self.app = app
        self.path = path
        self.amend = amend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        if start.get("status") != 200:
            return await reply(send, start.get("status", 500), {"error": "no OpenAPI document"})
        return await reply(send, 200, self.amend(orjson.loads(b"".join(chunks))))
