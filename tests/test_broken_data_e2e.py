"""Broken tables through the real pipeline: each one stops `dvc repro` at validate with a
message naming the column and the check; nothing downstream runs; `dvc checkout` brings
the previous outputs back.

One project (the CSV example, data=csv) is reproduced once; every case breaks its source
file (or points the source at a broken Parquet file), runs `dvc repro`, then restores.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers import STAGES, make_project, ran, run

pytestmark = pytest.mark.slow

SOURCE = "data/examples/churn.csv"
PARQUET = "data/sources/churn.parquet"
DOWNSTREAM = ["data/features/train.parquet", "models/mlp/model.safetensors", "models/bundle"]

# name -> (bytes of the broken file from the good table, the column, the check)
Breakage = Callable[[pd.DataFrame], bytes]


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def with_cell(column: str, row: int, value: object) -> Breakage:
    def breakage(good: pd.DataFrame) -> bytes:
        frame = good.astype({column: object})
        frame.loc[row, column] = value
        return csv(frame)

    return breakage


def duplicate_header(good: pd.DataFrame) -> bytes:
    text = csv(good).decode()
    header, rest = text.split("\n", 1)
    return (header.replace("region", "plan", 1) + "\n" + rest).encode()


def latin1_cell(good: pd.DataFrame) -> bytes:
    frame = good.astype({"region": object})
    frame.loc[17, "region"] = "Zürich"
    return frame.to_csv(index=False).encode("latin-1")


def ragged_row(good: pd.DataFrame) -> bytes:
    lines = csv(good).decode().splitlines()
    lines[30] += ",surplus,fields"
    return ("\n".join(lines) + "\n").encode()


def truncated_parquet(good: pd.DataFrame) -> bytes:
    whole = parquet(good)
    return whole[: len(whole) // 2]


def few_positives(good: pd.DataFrame) -> bytes:
    yes = good.index[good["churned"] == "yes"][:5]
    return csv(good[(good["churned"] == "no") | good.index.isin(yes)])


CASES: dict[str, tuple[Breakage, str, str]] = {
    "text-in-numeric": (with_cell("tenure_months", 12, "twelve"), "tenure_months", "not a number"),
    "null-in-required-numeric": (with_cell("tenure_months", 10, None), "tenure_months", "not null"),
    "infinite-number": (with_cell("monthly_spend", 4, "inf"), "monthly_spend", "finite"),
    "out-of-range": (with_cell("monthly_spend", 8, -5.0), "monthly_spend", "range [0, 10000]"),
    "missing-column": (lambda g: csv(g.drop(columns="support_calls")), "support_calls", "presence"),
    "missing-target": (lambda g: csv(g.drop(columns="churned")), "churned", "presence"),
    "extra-column": (lambda g: csv(g.assign(notes="x")), "notes", "presence"),
    "nan-label": (with_cell("churned", 3, None), "churned", "not null"),
    "unseen-label": (with_cell("churned", 5, "maybe"), "churned", "label in"),
    "empty-file": (lambda g: b"", "<table>", "not empty"),
    "header-only": (lambda g: csv(g.head(0)), "<table>", "at least 200 rows"),
    "too-few-rows": (lambda g: csv(g.head(50)), "<table>", "at least 200 rows"),
    "duplicate-header": (duplicate_header, "plan", "unique column names"),
    "constant-column": (lambda g: csv(g.assign(support_calls=1)), "support_calls", "not constant"),
    "all-null-column": (lambda g: csv(g.assign(region=None)), "region", "not all missing"),
    "one-class-only": (
        lambda g: csv(g.assign(churned="no")),
        "churned",
        "at least 30 rows per class",
    ),
    "rare-class": (few_positives, "churned", "at least 30 rows per class"),
    "duplicate-rows": (
        lambda g: csv(pd.concat([g, g.iloc[[3, 9]]], ignore_index=True)),
        "<table>",
        "duplicate rows",
    ),
    "non-utf8-bytes": (latin1_cell, "region", "valid utf-8 text"),
    "ragged-csv-row": (ragged_row, "<file>", "readable CSV file"),
    "semicolon-delimited": (
        lambda g: g.to_csv(index=False, sep=";").encode(),
        "churned",
        "presence",
    ),
    "truncated-parquet": (truncated_parquet, "<file>", "readable Parquet file"),
    "parquet-wrong-type": (
        lambda g: parquet(g.astype({"support_calls": str}).assign(support_calls="many")),
        "support_calls",
        "not a number",
    ),
}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    repo = make_project(tmp_path_factory.mktemp("broken") / "repo", ("data=csv",))
    assert ran(run(["dvc", "repro"], cwd=repo).stdout) == STAGES
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "reproduced"], cwd=repo)
    return repo


def lock_md5(repo: Path, stage: str, path: str) -> str:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return next(o["md5"] for o in lock["stages"][stage]["outs"] if o["path"] == path)


@pytest.mark.parametrize("case", list(CASES))
def test_broken_table_stops_at_validate_and_is_restorable(project, case):
    breakage, column, check = CASES[case]
    good = pd.read_csv(project / SOURCE)
    before = {rel: md5(p) for rel in DOWNSTREAM if (p := project / rel).is_file()}
    broken = breakage(good)
    if "parquet" in case:
        (project / PARQUET).write_bytes(broken)
        params = (project / "params.yaml").read_text()
        (project / "params.yaml").write_text(params.replace(SOURCE, PARQUET))
    else:
        (project / SOURCE).write_bytes(broken)

    result = run(["dvc", "repro"], cwd=project, check=False)
    assert result.returncode != 0, case
    assert ran(result.stdout) == ["ingest", "validate"], case
    line = next((x for x in result.stderr.splitlines() if f"column '{column}'" in x), "")
    assert check in line, f"{case}: {result.stderr[-3000:]}"
    assert {rel: md5(project / rel) for rel in before} == before, case  # nothing downstream

    # Back to the good table: git restores the source and the lock (ingest did run and
    # recorded the broken table), `dvc checkout` the outputs from the cache.
    (project / PARQUET).unlink(missing_ok=True)
    run(["git", "checkout", "--", SOURCE, "params.yaml", "dvc.lock"], cwd=project)
    run(["dvc", "checkout"], cwd=project)
    raw = "data/raw/dataset.parquet"
    assert md5(project / raw) == lock_md5(project, "ingest", raw), case
