"""The model service: `POST /predict` with raw rows by column name, answered per row with
label and class probabilities (classification) or value (regression), and model version.
BentoML adds /healthz, /livez, /readyz, /metrics and the OpenAPI spec at /docs.json.

The bundle comes from SHIPYARD_BUNDLE (a directory: `make serve`) or else from BentoML's
model store (`serve.model_name`, as packed into a bento by `make bento`). Settings come
from the `serve` section of params.yaml (SHIPYARD_PARAMS overrides the path;
SHIPYARD_PREDICTION_LOG overrides where predictions are logged).
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any

import bentoml

from shipyard.config import MAX_ABS_VALUE, ServeConfig, load_section
from shipyard.pipeline.bundle import read_schema
from shipyard.pipeline.task import task
from shipyard.serving.middleware import BodySizeLimit, PredictionLog
from shipyard.serving.schema import row_model, rows_type
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


def prediction_logger(path: str | None) -> logging.Logger:
    logger = logging.getLogger("shipyard.predictions")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if path and not logger.handlers:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        logger.addHandler(logging.FileHandler(path))
    return logger


def shadow_predictor(path: str | None) -> Any:
    """Rows (dicts by feature name) -> candidate outputs; None without a candidate."""
    if not path:
        return None
    import pandas as pd

    from shipyard.pipeline.inference import Bundle

    candidate = Bundle.load(path)
    candidate_task = task(candidate.schema.task)

    def predict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outputs = candidate.predict(pd.DataFrame.from_records(rows))
        return [
            {"model_version": candidate.version, **candidate_task.answer(candidate.labels, o)}
            for o in outputs
        ]

    return predict


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

    @bentoml.api(
        route="/predict",
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


Predictor.add_asgi_middleware(BodySizeLimit, max_bytes=SETTINGS.max_body_bytes)
Predictor.add_asgi_middleware(
    PredictionLog,
    path="/predict",
    # A bento's directory is read-only in spirit: `make serve-bento` points the log elsewhere.
    logger=prediction_logger(os.environ.get("SHIPYARD_PREDICTION_LOG", SETTINGS.prediction_log)),
    shadow=shadow_predictor(SETTINGS.shadow_bundle),
)

# BentoML 1.4 derives a response's media type from the output model's JSON schema, rebuilt
# on every response (IOMixin.mime_type), a visible share of a worker's time under load. Declared
# once, that work goes; it is the value BentoML would compute. tests/test_service_unit.py
# checks both.
Predictor.apis["predict"].output_spec.media_type = "application/json"
