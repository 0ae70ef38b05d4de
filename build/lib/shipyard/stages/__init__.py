"""One module per dvc.yaml stage: parse paths, load params, call pure functions, write outs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from shipyard.config import ConfigError


def entrypoint(main: Callable[[], None]) -> None:
    """Run a stage's main(); a config mistake is a one-line error, not a traceback."""
    try:
        main()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
