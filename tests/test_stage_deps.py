"""Each stage reruns for what it reads, and nothing else. dvc.yaml lists, per stage, the
code it runs: every shipyard module its entry point imports (transitively, function-level
imports too, TYPE_CHECKING ones not) and the module its `_target_` names. A code change in
one module then leaves the lock stale for exactly the stages that import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from shipyard.gitops.lock import check
from tests.helpers import ROOT, copy_repo

SRC = ROOT / "src"
# Code a stage runs through a `_target_` in params.yaml rather than an import.
TARGETS = {"ingest": {"src/shipyard/pipeline/sources.py"}}


def _module_file(module: str) -> Path | None:
    path = SRC.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = {  # `if TYPE_CHECKING:` blocks: for type checkers, never run
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("shipyard"):
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("shipyard")}
    return {m for m in found if _module_file(m)}


def code_of(stage: str) -> set[str]:
    """The shipyard source files `python -m shipyard.stages.<stage>` can run."""
    seen: set[str] = set()
    todo = [f"shipyard.stages.{stage}"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += _imports(_module_file(module))  # type: ignore[arg-type]
    files = {_module_file(m) for m in seen}
    # Package __init__ files with no code (docstrings) need not be deps.
    return {
        str(f.relative_to(ROOT))
        for f in files
        if f and (f.name != "__init__.py" or len(f.read_text().splitlines()) > 3)
    }


@pytest.mark.parametrize("stage", yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
def test_each_stage_declares_exactly_the_code_it_runs(stage):
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]
    declared = {d for d in spec["deps"] if d.startswith("src/")}
    assert declared == code_of(stage) | TARGETS.get(stage, set())


READERS = {
    # the featurizer: only featurize; what reads features reruns only if they change
    "pipeline/features.py": {"featurize"},
    # the features files' format: the writer and every reader
    "pipeline/feature_files.py": {
        "validate",
        "featurize",
        "train",
        "baseline",
        "evaluate",
        "package",
    },  # (validate and package through task.py, which writes predictions in it)
    "pipeline/task.py": {"validate", "featurize", "train", "evaluate", "package"},
    "pipeline/modules.py": {"train"},  # the model: train, then what reads models/mlp
    "pipeline/evaluation.py": {"evaluate"},
    "pipeline/bundle.py": {"package"},
    "pipeline/inference.py": set(),  # a bundle served: no stage runs it
    "gitops/report.py": set(),  # GitOps tooling is no stage's code
    "serving/service.py": set(),
}


@pytest.mark.slow
def test_a_module_edit_makes_exactly_its_readers_stale(reproduced, tmp_path, monkeypatch):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    monkeypatch.chdir(repo)
    assert check() == {}
    for module, stages in READERS.items():
        path = repo / "src" / "shipyard" / module
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        try:
            assert set(check()) == stages, module
        finally:
            path.write_text(original)
