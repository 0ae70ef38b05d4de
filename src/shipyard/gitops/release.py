"""What a release checks before it pushes anything: the workspace matches what was
reviewed and pushed, and the built bento answers."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def unclean_stages() -> dict[str, object]:
    """`dvc status` as a dict: empty when every output matches dvc.lock. A failing
    `dvc status` raises RuntimeError with what DVC said."""
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"], capture_output=True, text=True
    )
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise RuntimeError(f"`dvc status` failed: {said[-1] if said else done.returncode}")
    return json.loads(done.stdout or "{}")


def smoke(
    bundle: Path, bento: str | None = None, url: str | None = None, version: str | None = None
) -> dict[str, object]:
    """Predict one row at `url` (or on `bento`, served here for the test) and check that the
    answer comes from `version` (default: the bundle's model version; a shadow deploy's
    primary answers from the stable one)."""
    import httpx

    from shipyard.pipeline.bundle import read_card, read_schema
    from shipyard.serving.run import bentoml_serve

    version = version or read_card(bundle)["version"]
    schema = read_schema(bundle)
    categorical = set(schema.categorical)
    # Any valid row will do: zeros, and a category the model never saw (which it must take).
    row = {name: "smoke-test" if name in categorical else 0.0 for name in schema.features}
    body = {"rows": [row]}
    if url:
        response = httpx.post(f"{url.rstrip('/')}/predict", json=body, timeout=30)
    else:
        with tempfile.TemporaryDirectory(prefix="shipyard-smoke-") as tmp:
            env = {"SHIPYARD_PREDICTION_LOG": str(Path(tmp) / "predictions.jsonl")}
            with bentoml_serve(bento, Path.cwd(), env, Path(tmp) / "server.log") as served:
                response = httpx.post(f"{served}/predict", json=body, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"smoke test: /predict answered {response.status_code}: {response.text}")
    answer = response.json()[0]
    if answer["model_version"] != version:
        raise RuntimeError(f"smoke test: serving {answer['model_version']}, not {version}")
    return answer
