"""Import skops.io without importing torch (skops 0.13, scikit-learn 1.9).

skops.io builds its trusted-type list at import time from scikit-learn's
`all_estimators()`, which walks every scikit-learn package with `pkgutil.walk_packages`.
The walk imports each *package* it passes, `sklearn.externals.array_api_compat.torch`
among them, and that imports torch: a second or more in every stage that reads or writes
a skops file, though none of them runs a network. `walk_packages` skips a package whose
import raises ImportError (it does so for the array-API shims of cupy or dask when they
are not installed), and `all_estimators` ignores everything under `externals` anyway: with
torch unimportable during the import, the walk skips that one package and the trusted
list is the same. tests/test_stage_imports.py fails if torch is imported again.
"""

from __future__ import annotations

import importlib.abc
import sys
from types import ModuleType


class _NoTorch(importlib.abc.MetaPathFinder):
    """Makes `import torch` raise ImportError, as if torch were not installed. (Not a
    None in sys.modules: scipy's array-API helpers read sys.modules["torch"] as a module.)"""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"{name} is not imported while skops.io imports")


def import_skops_io() -> ModuleType:
    """`skops.io`, imported without importing torch if torch is not imported yet."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io

        return skops.io
    blocker = _NoTorch()
    sys.meta_path.insert(0, blocker)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(blocker)  # a later `import torch` imports it as usual
    return skops.io
