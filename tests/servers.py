"""Real servers on loopback for the tests: an S3 server (rclone); BentoML services come
from shipyard.serving.run, which the smoke test and benchmarks use too."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shipyard.serving.run import bentoml_serve, free_port, wait_until

__all__ = ["BUCKET", "S3Server", "bentoml_serve", "serve_s3"]

BUCKET = "shipyard-test"


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


@dataclass
class S3Server:
    """A real S3 server on loopback."""

    endpoint: str
    key: str
    secret: str

    def __call__(self, repo: Path) -> None:
        """Make it the repo's default DVC remote (`s3`), credentials in .dvc/config.local,
        as a user would keep them out of git."""
        url = f"s3://{BUCKET}/dvcstore"
        _run(["dvc", "remote", "add", "--local", "-f", "-d", "s3", url], cwd=repo)
        for option, value in (
            ("endpointurl", self.endpoint),
            ("access_key_id", self.key),
            ("secret_access_key", self.secret),
        ):
            _run(["dvc", "remote", "modify", "--local", "s3", option, value], cwd=repo)


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
