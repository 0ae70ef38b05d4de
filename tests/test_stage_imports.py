"""Each stage imports only what it uses: Lightning only where a network trains, torch only
where one runs. Importing Lightning costs seconds and torch more than a second, per
stage, on every `dvc repro` (benchmarks/pipeline.py prints each stage's share)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.helpers import ROOT, copy_repo

# The stages that run a network: train fits one (Lightning); evaluate scores one (torch).
ALLOWED = {"train": {"torch", "lightning"}, "evaluate": {"torch"}}
HEAVY = {"torch", "lightning"}
# Runs a stage's main() and prints which heavy packages it left imported.
PROBE = """
import json, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY))))
"""


def heavy_imports(stage: str, repo) -> set[str]:
    """The heavy packages `stage`'s command (as dvc.yaml runs it) imports, run in `repo`."""
    cmd = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"][stage]["cmd"].split()
    module = cmd[cmd.index("-m") + 1]
    args = cmd[cmd.index("-m") + 2 :]
    probe = f"HEAVY = {sorted(HEAVY)!r}\n{PROBE}"
    proc = subprocess.run(
        [sys.executable, "-c", probe, module, *args],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
@pytest.mark.parametrize("stage", yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
def test_a_stage_imports_no_network_library_it_does_not_use(stage, reproduced, tmp_path):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    assert heavy_imports(stage, repo) <= ALLOWED.get(stage, set())


def test_skops_loads_without_torch_and_trusts_the_same_types():
    """The workaround (workarounds/skops_without_torch.py) still keeps torch out, and
    skops's trusted types are the same as when it imports torch."""
    names = "from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as t"
    shown = "print(json.dumps([sorted(t), 'torch' in sys.modules]))"
    plain = f"import json, sys, skops.io\n{names}\n{shown}"
    patched = (
        "import json, sys\n"
        "from shipyard.workarounds.skops_without_torch import import_skops_io\n"
        f"import_skops_io()\n{names}\n{shown}"
    )
    (with_torch, torch_before), (without, torch_after) = (
        json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
        for code in (plain, patched)
    )
    assert torch_before, "skops no longer imports torch: the workaround can go"
    assert not torch_after
    assert without == with_torch
