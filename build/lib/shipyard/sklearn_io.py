"""Save and load scikit-learn objects with skops instead of pickle.

Artifacts come from a remote, so loading must not run arbitrary code: only types from
scikit-learn and numpy are trusted; anything else in the file is refused by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.")


def dump(obj: Any, path: str | Path) -> None:
    import skops.io as sio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sio.dump(obj, path)


def load(path: str | Path) -> Any:
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ValueError(f"{path}: refusing to load untrusted types {refused}")
    return sio.load(path, trusted=untrusted)
