"""The service against its own OpenAPI document: schemathesis with every check, on
loopback. Valid requests must be answered 200, invalid ones 4xx, never a 5xx, and every
answer (status, headers, body) must be what the document says."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

SERVICE = "shipyard.serving.service:Predictor"


def contract_test(bundle: Path | None, bento: str | None, max_examples: int, params: Path) -> int:
    """schemathesis' exit code against the service serving `bundle` (a directory, from this
    checkout's code) or `bento` (a built bento's tag)."""
    from shipyard.serving.run import bentoml_serve

    with tempfile.TemporaryDirectory(prefix="shipyard-contract-") as tmp:
        env = {"SHIPYARD_STATE_DIR": tmp, "SHIPYARD_PARAMS": str(params.resolve())}
        if bundle is not None:
            env["SHIPYARD_BUNDLE"] = str(bundle.resolve())
        target = bento or SERVICE
        log = Path(tmp, "server.log")
        with bentoml_serve(target, Path.cwd(), env, log) as url:
            code = subprocess.run(
                [
                    "st",
                    "run",
                    f"{url}/docs.json",
                    "--checks",
                    "all",
                    "--continue-on-failure",
                    "--max-examples",
                    str(max_examples),
                    "--generation-deterministic",  # the same cases every run: CI is repeatable
                    "--no-color",
                ],
                env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
                cwd=tmp,  # its example database and reports: nothing left in the checkout
            ).returncode
        text = log.read_text()
    if "Traceback" in text:
        first = text[text.index("Traceback") :][:3000]
        print(f"contract-test: the server logged {text.count('Traceback')} traceback(s):\n{first}")
        return code or 1
    return code
