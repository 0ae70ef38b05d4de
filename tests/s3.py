"""A real S3-compatible server on loopback (rclone serve s3), for dvc-s3 push/pull tests."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

BUCKET = "shipyard-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def serve(root: Path, key: str, secret: str) -> tuple[subprocess.Popen, str]:
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
        stderr=subprocess.PIPE,
    )
    wait_for_port(port)
    return proc, f"http://127.0.0.1:{port}"
