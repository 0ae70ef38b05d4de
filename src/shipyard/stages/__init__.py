"""One module per dvc.yaml stage: parse paths, load params, call pure functions, write outs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.config import ConfigError


def entrypoint(main: Callable[[], None]) -> None:
    """Run a stage's main(); a config mistake is a one-line error, not a traceback."""
    try:
        main()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def hash_files(digest: Any, *paths: Path) -> Any:
    """`digest` (a hashlib object) updated with each file's bytes, read in 16 MiB pieces:
    a raw table or a features file can be gigabytes."""
    for path in paths:
        with path.open("rb") as stream:
            for piece in iter(lambda: stream.read(1 << 24), b""):
                digest.update(piece)
    return digest
