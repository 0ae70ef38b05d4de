"""The model service: `POST /predict` with raw rows by column name, answered per row with
label and class probabilities (classification) or value (regression), and model version.
BentoML adds /healthz, /livez, /readyz, /metrics and the OpenAPI spec at /docs.json.

The bundle comes from SHIPYARD_BUNDLE (a directory: `make serve`) or else from BentoML's
model store (`serve.model_name`, as packed into a bento by `make bento`). Settings come
from the `serve` section of params.yaml (SHIPYARD_PARAMS overrides the path;
SHIPYARD_PREDICTION_LOG overrides where predictions are logged, SHIPYARD_STATE_DIR where
a relative log path lives, SHIPYARD_SHADOW_BUNDLE serve.shadow.bundle).
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
import orjson
from pydantic import BaseModel, TypeAdapter
from starlette.responses import JSONResponse

from shipyard.config import MAX_ABS_VALUE, ServeConfig, load_section
from shipyard.pipeline.bundle import read_schema
from shipyard.pipeline.task import task
from shipyard.serving import openapi
from shipyard.serving.columns import Batch, Contract, Records, read_arrow, read_json
from shipyard.serving.middleware import (
    ARROW,
    JSON,
    VALIDATED,
    BodyContract,
    OpenAPIDocument,
    RequestBody,
)
from shipyard.serving.prediction_log import (
    Entry,
    PredictionLog,
    check_writable,
    json_lines,
    log_path,
)
from shipyard.serving.schema import (
    body_limit,
    feedback_model,
    read_items,
    row_model,
    rows_type,
)
from shipyard.workarounds import bentoml_fixes

bentoml_fixes.apply()
SETTINGS = load_section("serve", ServeConfig, os.environ.get("SHIPYARD_PARAMS", "params.yaml"))


def bundle_dir() -> Path:
    if path := os.environ.get("SHIPYARD_BUNDLE"):
        return Path(path)
    return Path(bentoml.models.get(f"{SETTINGS.model_name}:latest").path)


BUNDLE = bundle_dir()
SCHEMA = read_schema(BUNDLE)
TASK = task(SCHEMA.task)
FEATURES: list[str] = SCHEMA.features
Row = row_model(SCHEMA, MAX_ABS_VALUE)  # the contract as OpenAPI documents it
CONTRACT = Contract.of(SCHEMA, MAX_ABS_VALUE)  # the same contract, checked by columns
Rows = rows_type(Row, SETTINGS.max_rows)
Prediction = TASK.response_model()
Feedback = feedback_model(SCHEMA, MAX_ABS_VALUE, SETTINGS.max_rows)


def configured_log(name: str, env: str, path: str | None) -> Path | None:
    """Where the `name` log goes: `env`, else serve.<name>_log.path (`path`); None = off.
    Checked here, at import, in `bentoml serve` itself: one line and exit if it cannot be
    written, not a worker restarting forever (a check in __init__) or BentoML's misleading
    "Attribute not found"."""
    value = os.environ.get(env, path)
    if not value:
        return None
    where = log_path(value)
    if problem := check_writable(where, f"{name} log", f"serve.{name}_log.path or {env}"):
        raise SystemExit(problem)
    return where


LOG_PATH = configured_log("prediction", "SHIPYARD_PREDICTION_LOG", SETTINGS.prediction_log.path)
FEEDBACK_PATH = configured_log("feedback", "SHIPYARD_FEEDBACK_LOG", SETTINGS.feedback_log.path)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Validated(bentoml.IODescriptor):
    """A request validated once, from the body's bytes, by BodyContract (middleware): the
    API gets that object, and for /predict the log records it. Without it (never on these
    routes), BentoML parses as usual."""

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        validated = request.scope.get("state", {}).get(VALIDATED)
        if validated is None:
            return await super().from_http_request(request, serde)
        return validated


class PredictRequest(Validated):
    """{"rows": [{column: value}]}, or the same rows as an Arrow IPC stream: 1 to
    serve.max_rows rows."""

    rows: Rows  # type: ignore[valid-type]


class FeedbackRequest(Validated):
    """{"feedback": [{"request_id": ..., "row": 0, "label" (or "value"): ...}]}."""

    feedback: rows_type(Feedback, SETTINGS.max_rows)  # type: ignore[valid-type]


class Accepted(BaseModel):
    accepted: int  # items appended to the feedback log


def shadow_predictor(path: str | None) -> Any:
    """Logged rows (dicts by column name) -> candidate answers; None without a candidate.
    The candidate loads on first use, in the serving worker (not in every process that
    imports this module)."""
    if not path:
        return None

    @functools.cache
    def load() -> Any:
        from shipyard.pipeline.inference import Bundle

        return Bundle.load(path)

    def predict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        candidate = load()
        candidate_task = task(candidate.schema.task)
        missing = [f for f in candidate.features if f not in rows[0]]
        if missing:
            raise KeyError(f"the candidate needs features the requests lack: {missing[:5]}")
        values = [[row[f] for f in candidate.features] for row in rows]
        scores = candidate.predict_values(values)
        answers = candidate_task.answers(candidate.labels, scores)
        return [{"model_version": candidate.version, **answer} for answer in answers]

    return predict


FEEDBACK_FILE = (
    json_lines(
        FEEDBACK_PATH,
        SETTINGS.feedback_log.max_bytes,
        SETTINGS.feedback_log.backups,
        "feedback log",
        "shipyard_feedback_log_failed_rows",
        "Feedback items",
    )
    if FEEDBACK_PATH
    else None
)
PREDICTIONS = PredictionLog(
    LOG_PATH,
    SETTINGS.prediction_log.max_bytes,
    SETTINGS.prediction_log.backups,
    # SHIPYARD_SHADOW_BUNDLE: the shadow deploy's candidate, copied into the pod at start
    shadow=shadow_predictor(os.environ.get("SHIPYARD_SHADOW_BUNDLE") or SETTINGS.shadow.bundle),
    queue=SETTINGS.shadow.queue,
    max_busy=SETTINGS.shadow.max_busy,
)


@bentoml.service(traffic={"timeout": SETTINGS.timeout_s})
class Predictor:
    def __init__(self) -> None:
        from shipyard.pipeline.inference import Bundle, tune_for_serving

        tune_for_serving(SETTINGS.torch_threads)
        self.bundle = Bundle.load(BUNDLE)
        self.bundle.predict_values([[None] * len(FEATURES)])  # warm up before ready
        # Everything loaded so far lives as long as the process: keep it out of every
        # later garbage-collection pass (they otherwise make the latency tail).
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        return hasattr(self, "bundle")

    @bentoml.api(route="/feedback", input_spec=FeedbackRequest)
    async def feedback(self, feedback: list[Feedback]) -> Accepted:  # type: ignore[valid-type]
        """The true label (or value) of logged predictions, by request id and row, for
        monitoring: appended to the feedback log."""
        # Ground truth is not resent: say when it was not stored, so the client retries
        # (a Response is answered as it is; BentoML documents the return type above).
        if FEEDBACK_FILE is None:
            return JSONResponse({"error": "no feedback log (serve.feedback_log.path)"}, 503)
        at = now()
        lines = [orjson.dumps({"timestamp": at, **item.model_dump()}) for item in feedback]
        if not FEEDBACK_FILE.write_lines(lines):
            return JSONResponse({"error": "the feedback log cannot be written now"}, 503)
        return Accepted(accepted=len(feedback))

    @bentoml.on_shutdown
    async def flush_log(self) -> None:
        # Requests still waiting for the shadow candidate are logged without it (counted).
        await PREDICTIONS.close(timeout_s=5)

    @bentoml.api(
        route="/predict",
        input_spec=PredictRequest,
        batchable=SETTINGS.batching.enabled,
        max_batch_size=SETTINGS.batching.max_batch_size,
        max_latency_ms=SETTINGS.batching.max_latency_ms,
    )
    async def predict(self, rows: Rows) -> list[Prediction]:  # type: ignore[valid-type]
        """Predict raw rows given by column name: label and class probabilities, or value;
        and the model version."""
        # async on purpose: inference takes well under a millisecond here, less than the
        # hop to BentoML's worker thread and back, whose GIL hand-offs make the tail.
        # Each row is its request's validated columns (see `rows_of`): one stack per request.
        batches = [next(group) for _, group in itertools.groupby(rows, key=id)]
        outputs = self.bundle.predict_columns(
            np.concatenate([b.numeric for b in batches]),
            np.concatenate([b.categorical for b in batches]),
        )
        version = self.bundle.version
        # Built from our own validated numbers: nothing for pydantic to check again.
        return [
            Prediction.model_construct(model_version=version, **answer)
            for answer in TASK.answers(self.bundle.labels, outputs)
        ]


def rows_of(batch: Batch) -> PredictRequest:
    """A validated request as /predict's input: one entry per row, each the request's
    columns. BentoML's batcher counts, merges and splits requests as lists; the model
    reads each request's columns once (not row by row)."""
    return PredictRequest.model_construct(rows=[batch] * len(batch))


def read_predict(body: bytes) -> PredictRequest:
    return rows_of(read_json(body, CONTRACT, SETTINGS.max_rows))


def read_predict_arrow(body: bytes) -> PredictRequest:
    return rows_of(read_arrow(body, CONTRACT, SETTINGS.max_rows))


def predicted(request_id: str, latency_ms: float, request: Any, answer: bytes) -> None:
    rows = Records(request.rows[0], CONTRACT)
    PREDICTIONS.add(Entry(request_id, latency_ms, rows, orjson.loads(answer), now()))


def read_feedback(body: bytes) -> FeedbackRequest:
    items = read_items(body, "feedback", Feedback, SETTINGS.max_rows)
    return FeedbackRequest.model_construct(feedback=items)


# Outermost first: the body is read (bounded) before the contract checks it.
Predictor.add_asgi_middleware(
    RequestBody,
    max_bytes=SETTINGS.max_body_bytes or body_limit(SCHEMA, SETTINGS.max_rows),
    timeout_s=SETTINGS.body_timeout_s,
)
Predictor.add_asgi_middleware(
    BodyContract,
    path="/predict",
    readers={JSON: read_predict, ARROW: read_predict_arrow},
    shape='{"rows": [{column: value}]} or an Arrow IPC stream of those columns',
    answered=predicted,
)
Predictor.add_asgi_middleware(
    BodyContract,
    path="/feedback",
    readers={JSON: read_feedback},
    shape='{"feedback": [{"request_id": ..., "row": 0, "label" or "value": ...}]}',
)
Predictor.add_asgi_middleware(OpenAPIDocument, path="/docs.json", amend=openapi.amend)

# BentoML 1.4 derives a response's media type from the output model's JSON schema, rebuilt
# on every response (IOMixin.mime_type), a visible share of a worker's time under load. Declared
# once, that work goes; it is the value BentoML would compute. tests/test_service_unit.py
# checks both.
Predictor.apis["predict"].output_spec.media_type = "application/json"
ANSWERS = TypeAdapter(list[Prediction])  # type: ignore[valid-type]


def answers_json(self: Any, **_: Any) -> str:
    """The answer list as JSON by pydantic's serializer: BentoML's own (a model_dump, then
    the standard library's json.dumps) took a sixth of a 100-row request's time."""
    return ANSWERS.dump_json(self.root).decode()


# The same JSON (one separator style apart); tests/test_service_unit.py checks it. As
# model_dump too: BentoML answers a root model by calling model_dump first and sends what
# it returns when that is text; otherwise it drops that dump and serializes again.
Predictor.apis["predict"].output_spec.model_dump_json = answers_json
Predictor.apis["predict"].output_spec.model_dump = answers_json
