"""The model service: `POST /predict` with raw rows by column name, answered per row with
label and class probabilities (classification) or value (regression), and model version.
BentoML adds /healthz, /livez, /readyz, /metrics and the OpenAPI spec at /docs.json.

The bundle comes from SHIPYARD_BUNDLE (a directory: `make serve`) or else from BentoML's
model store (`serve.model_name`, as packed into a bento by `make bento`). Settings come
from the `serve` section of params.yaml (SHIPYARD_PARAMS overrides the path;
SHIPYARD_PREDICTION_LOG overrides where predictions are logged, SHIPYARD_STATE_DIR where
a relative log path lives).
"""

from __future__ import annotations

import functools
import gc
import os
from pathlib import Path
from typing import Any

import bentoml

from shipyard.config import MAX_ABS_VALUE, ServeConfig, load_section
from shipyard.pipeline.bundle import read_schema
from shipyard.pipeline.task import task
from shipyard.serving import openapi
from shipyard.serving.middleware import VALIDATED, OpenAPIDocument, PredictContract, RequestBody
from shipyard.serving.prediction_log import PredictionLog, check_writable, log_path
from shipyard.serving.schema import body_limit, row_model, rows_type
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
Row = row_model(SCHEMA, MAX_ABS_VALUE)
Rows = rows_type(Row, SETTINGS.max_rows)
Prediction = TASK.response_model()
LOG = os.environ.get("SHIPYARD_PREDICTION_LOG", SETTINGS.prediction_log.path)
LOG_PATH = log_path(LOG) if LOG else None
if LOG_PATH is not None and (problem := check_writable(LOG_PATH)):
    # At import, in `bentoml serve` itself: one line and exit, not a worker restarting
    # forever (a check in __init__) or BentoML's misleading "Attribute not found".
    raise SystemExit(problem)


class PredictRequest(bentoml.IODescriptor):
    """{"rows": [{column: value}]}: 1 to serve.max_rows rows."""

    rows: Rows  # type: ignore[valid-type]

    @classmethod
    async def from_http_request(cls, request: Any, serde: Any) -> Any:
        # Validated once, from the body's bytes, by PredictContract; the log records that
        # same object. Without it (never on /predict), parse as BentoML would.
        validated = request.scope.get("state", {}).get(VALIDATED)
        return (
            validated if validated is not None else await super().from_http_request(request, serde)
        )


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
        return [
            {"model_version": candidate.version, **candidate_task.answer(candidate.labels, o)}
            for o in candidate.predict_values(values)
        ]

    return predict


PREDICTIONS = PredictionLog(
    LOG_PATH,
    SETTINGS.prediction_log.max_bytes,
    SETTINGS.prediction_log.backups,
    shadow=shadow_predictor(SETTINGS.shadow.bundle),
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
        # A row's first fields are its features, in bundle order (then ignored columns).
        values = [list(row.__dict__.values())[: len(FEATURES)] for row in rows]
        outputs = self.bundle.predict_values(values)
        version, labels = self.bundle.version, self.bundle.labels
        return [Prediction(model_version=version, **TASK.answer(labels, o)) for o in outputs]


# Outermost first: the body is read (bounded) before the contract checks it.
Predictor.add_asgi_middleware(
    RequestBody,
    max_bytes=SETTINGS.max_body_bytes or body_limit(SCHEMA, SETTINGS.max_rows),
    timeout_s=SETTINGS.body_timeout_s,
)
Predictor.add_asgi_middleware(
    PredictContract,
    path="/predict",
    request_model=PredictRequest,
    row=Row,
    max_rows=SETTINGS.max_rows,
    log=PREDICTIONS,
)
Predictor.add_asgi_middleware(OpenAPIDocument, path="/docs.json", amend=openapi.amend)

# BentoML 1.4 derives a response's media type from the output model's JSON schema, rebuilt
# on every response (IOMixin.mime_type), a visible share of a worker's time under load. Declared
# once, that work goes; it is the value BentoML would compute. tests/test_service_unit.py
# checks both.
Predictor.apis["predict"].output_spec.media_type = "application/json"
