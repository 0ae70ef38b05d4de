"""Broken tables through the real pipeline: `dvc repro` stops at validate with a message
naming the column, the check and the rows; nothing downstream runs or changes; and
`git checkout dvc.lock reports/validation.* <your file> && dvc checkout` brings the
previous outputs back.

A few kinds of breakage, each a full `dvc repro` on a copy of the reproduced CSV example
(the `churn` fixture): one the schema catches, one only the file tells (a truncated
Parquet file the source is switched to), one about the table as a whole. Every kind of
breakage is checked, without dvc, in tests/test_validation.py and tests/test_sources.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from shipyard.config import DataConfig, load_section
from tests.helpers import BROKEN_TABLES, copy_repo, ran, run

pytestmark = pytest.mark.slow

RAW = "data/raw/dataset.parquet"
PARQUET = "data/sources/churn.parquet"  # where a user puts a table of their own
CHECKED = ("ingest", "validate")
REPORTS = ("reports/validation.json", "reports/validation.md")  # validate's, in git


def lock(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())["stages"]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def downstream(repo: Path) -> dict[str, str]:
    """Every file of every output of the stages after validate (directories such as
    models/bundle file by file), by its md5."""
    files = {}
    for name, stage in lock(repo).items():
        if name in CHECKED:
            continue
        for out in stage["outs"]:
            top = repo / out["path"]
            for path in [top] if top.is_file() else sorted(top.rglob("*")):
                if path.is_file():
                    files[str(path.relative_to(repo))] = md5(path)
    return files


@pytest.fixture(scope="module")
def project(churn, tmp_path_factory) -> Path:
    return copy_repo(churn.path, tmp_path_factory.mktemp("broken") / "repo")


@pytest.fixture(scope="module")
def before(project) -> dict[str, str]:
    files = downstream(project)
    assert {"models/bundle/card.json", "models/bundle/schema.json"} <= set(files)
    return files


@pytest.mark.parametrize("case", ["text-in-numeric", "truncated-parquet", "rare-class"])
def test_broken_table_stops_at_validate_and_is_restorable(project, before, case):
    data = load_section("data", DataConfig, project / "params.yaml")
    source = data.source["path"]
    broken = BROKEN_TABLES[case](pd.read_csv(project / source), data)
    if broken.parquet:  # the user points the source at their (broken) Parquet file
        (project / PARQUET).write_bytes(broken.content)
        run(["shipyard", "params", "data=csv", f"data.source.path={PARQUET}"], cwd=project)
        yours = "params.yaml"
    else:
        (project / source).write_bytes(broken.content)
        yours = source

    try:
        result = run(["dvc", "repro"], cwd=project, check=False)
        assert result.returncode != 0, result.stdout
        assert ran(result.stdout) == list(CHECKED), result.stdout
        named = f"column '{broken.column}' failed"
        lines = [x for x in result.stderr.splitlines() if named in x and broken.check in x]
        assert len(lines) == 1, result.stderr[-3000:]
        [line] = lines
        assert broken.says in line, line
        for row in broken.rows:
            assert f"row {row}:" in line, line
        assert downstream(project) == before  # nothing after validate ran or changed
    finally:
        # Back to the good table, as README says: git restores the lock (ingest recorded
        # the broken table), validate's reports and your file; `dvc checkout` the outputs.
        (project / PARQUET).unlink(missing_ok=True)
        run(["git", "checkout", "--", "dvc.lock", *REPORTS, yours], cwd=project)
        run(["dvc", "checkout"], cwd=project)
    assert md5(project / RAW) == next(o["md5"] for o in lock(project)["ingest"]["outs"])
    assert downstream(project) == before
    assert "up to date" in run(["dvc", "status"], cwd=project).stdout
