"""BentoML's own floor: the same route and request body as /predict, no work.

It gets the same timer-leak fix and gc.freeze() as the real service, so the ratio between
the two measures our validation, inference and logging, not the fix.
"""

from __future__ import annotations

import gc
from typing import Any

import bentoml

from shipyard.workarounds import bentoml_fixes

bentoml_fixes.apply()


@bentoml.service(traffic={"timeout": 10})
class Noop:
    def __init__(self) -> None:
        gc.collect()
        gc.freeze()

    @bentoml.api(route="/predict")
    def predict(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"label": 0}] * len(rows)
