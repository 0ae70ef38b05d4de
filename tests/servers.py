"""Real servers on loopback for the tests: an S3 server (rclone) and BentoML services."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUCKET = "shipyard-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout} s")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def serve_s3(root: Path, key: str, secret: str) -> tuple[subprocess.Popen, str]:
    (root / BUCKET).mkdir(parents=True)  # rclone serves each top-level folder as a bucket
    port = free_port()
    proc = subprocess.Popen(
        [
            "rclone",
            "serve",
            "s3",
            str(root),
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{key},{secret}",
            "--config",
            "/dev/null",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: listening(port), proc, "rclone serve s3", timeout=20)
    return proc, f"http://127.0.0.1:{port}"


@contextmanager
def bentoml_serve(target: str, cwd: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`bentoml serve TARGET` on a free loopback port; yields its base URL once /readyz is 200."""
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
            wait_until(ready, proc, f"bentoml serve {target}")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)
