"""Run `bentoml serve` on a free loopback port until /readyz answers: for the smoke test,
the tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen, what: str, timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout} s")


@contextmanager
def bentoml_serve(
    target: str, cwd: Path, env: dict[str, str], log: Path, timeout: float = 120.0
) -> Iterator[str]:
    """`bentoml serve TARGET` on loopback; yields its base URL once /readyz is 200."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bentoml", "serve", target, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, proc, f"bentoml serve {target}", timeout)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)
