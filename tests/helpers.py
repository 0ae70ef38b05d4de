"""What tests share: the project copy, commands as a user types them, `make` against the
test's own interpreter, small configs, the raw test rows of a reproduced project, and the
catalogue of broken tables (unit tests check all of them, the pipeline a few)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pandas as pd
import yaml

if TYPE_CHECKING:
    from shipyard.config import DataConfig, Params

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["ingest", "validate", "featurize", "train", "baseline", "evaluate", "package"]
# `make` with the test's interpreter as the venv, and no install step.
MAKE = ["make", "--no-print-directory", "SETUP=", f"VENV={Path(sys.executable).parent.parent}"]
# The debug model trains for a few epochs: relax the limits so that a sound change passes
# and the comparison with the base (the main metric's paired bootstrap) is what decides.
GATE = [
    "gate.rules.accuracy.limit=0.3",
    "gate.rules.f1_macro.limit=0.3",
    "gate.rules.roc_auc.limit=0.5",
    "gate.rules.log_loss.limit=3.0",
    "gate.rules.f1_macro.tolerance=0.2",
    "gate.rules.roc_auc.tolerance=0.2",
    "gate.rules.log_loss.tolerance=2.0",
]
# The tolerance on accuracy too: without base predictions, accuracy falls back to it
# (0 by default), and the `pr_branch` fixture's branch should pass on what is checked.
RELAXED = [*GATE, "gate.rules.accuracy.tolerance=0.2"]


def run(
    cmd: list[str], cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """A command as a user would type it; output kept for assertions and failure messages."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def ran(output: str) -> list[str]:
    """The stages a dvc command ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


def make_project(dest: Path, overrides: tuple[str, ...] = ()) -> Path:
    """The project as a fresh one-commit git repository, on the debug config."""
    from tests.sandbox import copy_project

    return copy_project(ROOT, dest, overrides, debug=True)


def copy_repo(src: Path, dest: Path) -> Path:
    """A copy of a test's project (a `reproduced` one: git history, DVC cache, outputs),
    for a test that changes it. `dest` should be a fresh `<tmp>/repo`: the project's
    default DVC remote is a folder beside the repository, so each copy gets its own."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def composed(tmp: Path, *overrides: str) -> Params:
    """conf/ composed with these overrides (as `make params` writes params.yaml), typed."""
    from shipyard.config import load_params
    from shipyard.gitops import params

    return load_params(params.write(overrides, tmp / "params.yaml", ROOT / "conf"))


def standard_features(val_size: float = 0.2, test_size: float = 0.2):
    """conf/features/standard.yaml itself, with a split for small test tables."""
    from omegaconf import OmegaConf

    from shipyard.config import FeaturesConfig, validated

    node = OmegaConf.load(ROOT / "conf/features/standard.yaml")
    node.split = {"val_size": val_size, "test_size": test_size}
    return validated(FeaturesConfig, node, "standard.yaml")


def data_config(**fields: Any):
    """A DataConfig for small in-memory tables: a classification toy unless told otherwise."""
    from shipyard.config import DataChecks, DataConfig

    defaults: dict[str, Any] = dict(
        name="toy",
        task="classification",
        source={},
        target="target",
        labels=["no", "yes"],
        numeric_features=["a", "b"],
        checks=DataChecks(
            min_rows=1, min_rows_per_class=1, max_duplicate_rows=0, imbalance_warning_ratio=10
        ),
    )
    return DataConfig(**{**defaults, **fields})


def monitor_config(**fields: Any):
    """A MonitorConfig with the thresholds the statistics tests are written against (those
    of conf/monitor/default.yaml, pinned here so a change of defaults does not move them),
    smaller windows unless told otherwise."""
    from shipyard.config import MonitorConfig

    defaults: dict[str, Any] = dict(
        window_rows=5000,
        min_rows=500,
        min_labels=50,
        alpha=0.05,
        metric_alpha=0.02,
        numeric_effect=0.1,
        categorical_effect=0.05,
    )
    return MonitorConfig(**{**defaults, **fields})


def load_test_rows(project: Path) -> tuple[list[dict], list]:
    """Every test-set row as it is in the raw table (every column but the target; null
    for missing values) and what evaluate predicted for it with the model the bundle
    ships (the card's `model`): a label, or a value."""
    from shipyard.pipeline.bundle import read_card, shipped_model

    params = yaml.safe_load((project / "params.yaml").read_text())
    raw = pd.read_parquet(project / "data/raw/dataset.parquet")
    model = shipped_model(read_card(project / "models/bundle"))
    predictions = pd.read_parquet(project / f"data/predictions/{model}.parquet")
    rows = raw.loc[predictions["row_id"]].drop(columns=params["data"]["target"])
    rows = rows.astype(object).where(rows.notna(), None)
    labels = params["data"]["labels"]
    expected = (
        [labels[i] for i in predictions["predicted"]] if labels else list(predictions["predicted"])
    )
    return rows.to_dict("records"), expected


def predict(url: str, rows: list[dict], **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"rows": rows}, timeout=30, **kwargs)


# --- Broken tables --------------------------------------------------------------------
# Ways a user's own table goes wrong, each made from the example CSV (data=csv) and named
# with what validation must say: the column, the check, the rows. Limits, labels and
# ranges come from the data config, so the expectations follow conf/.


@dataclass(frozen=True)
class BrokenTable:
    content: bytes  # the file as the user would hand it over
    column: str  # the column the problem is reported under ("<table>", "<file>" too)
    check: str  # part of the failed check's name
    rows: tuple[int, ...] = ()  # rows the report must point at (0-based, header not counted)
    says: str = ""  # more that the problem's line must say
    parquet: bool = False  # a .parquet file, not a .csv


def _csv(frame: pd.DataFrame, encoding: str = "utf-8", **kwargs: Any) -> bytes:
    return frame.to_csv(index=False, **kwargs).encode(encoding)


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def _cell(good: pd.DataFrame, column: str, row: int, value: Any, encoding: str = "utf-8") -> bytes:
    frame = good.astype({column: object})
    frame.loc[row, column] = value
    return _csv(frame, encoding)


def _ragged(good: pd.DataFrame, line: int) -> bytes:
    lines = _csv(good).decode().splitlines()
    lines[line] += ",surplus,fields"
    return ("\n".join(lines) + "\n").encode()


def _renamed_header(good: pd.DataFrame, old: str, new: str) -> bytes:
    header, rest = _csv(good).decode().split("\n", 1)
    return (header.replace(old, new, 1) + "\n" + rest).encode()


def _positions(good: pd.DataFrame, *columns: str) -> list[int]:
    return [i + 1 for i, c in enumerate(good.columns) if c in columns]


def _few(good: pd.DataFrame, target: str, label: Any, keep: int) -> bytes:
    kept = good.index[good[target] == label][:keep]
    return _csv(good[(good[target] != label) | good.index.isin(kept)])


Breakage = Callable[[pd.DataFrame, "DataConfig"], BrokenTable]
_Y = 1  # the label made rare (data.labels[1])

BROKEN_TABLES: dict[str, Breakage] = {
    # the schema: types, nulls, values, ranges, declared columns
    "text-in-numeric": lambda g, d: BrokenTable(
        _cell(g, "tenure_months", 12, "twelve"), "tenure_months", "not a number", (12,)
    ),
    "null-in-required-numeric": lambda g, d: BrokenTable(
        _cell(g, "tenure_months", 10, None), "tenure_months", "not null", (10,)
    ),
    "infinite-number": lambda g, d: BrokenTable(
        _cell(g, "monthly_spend", 4, "inf"), "monthly_spend", "finite", (4,)
    ),
    "out-of-range": lambda g, d: BrokenTable(
        _cell(g, "monthly_spend", 8, d.ranges["monthly_spend"][0] - 5),
        "monthly_spend",
        "range [{:g}, {:g}]".format(*d.ranges["monthly_spend"]),
        (8,),
    ),
    "missing-column": lambda g, d: BrokenTable(
        _csv(g.drop(columns="support_calls")), "support_calls", "missing from the table"
    ),
    "missing-target": lambda g, d: BrokenTable(
        _csv(g.drop(columns=d.target)), d.target, "missing from the table"
    ),
    "extra-column": lambda g, d: BrokenTable(
        _csv(g.assign(notes="x")), "notes", "not declared in the data config"
    ),
    "nan-label": lambda g, d: BrokenTable(_cell(g, d.target, 3, None), d.target, "not null", (3,)),
    "unseen-label": lambda g, d: BrokenTable(
        _cell(g, d.target, 5, "maybe"), d.target, f"label in {d.labels}", (5,)
    ),
    "semicolon-delimited": lambda g, d: BrokenTable(
        _csv(g, sep=";"), "<file>", "columns split by ','", says="data.source.delimiter to ';'"
    ),
    "parquet-wrong-type": lambda g, d: BrokenTable(
        _parquet(g.astype({"support_calls": str}).assign(support_calls="many")),
        "support_calls",
        "not a number",
        (0,),
        parquet=True,
    ),
    # the table as a whole
    "empty-file": lambda g, d: BrokenTable(b"", "<table>", "not empty"),
    "header-only": lambda g, d: BrokenTable(
        _csv(g.head(0)), "<table>", f"at least {d.checks.min_rows} rows", says="has 0"
    ),
    "too-few-rows": lambda g, d: BrokenTable(
        _csv(g.head(d.checks.min_rows - 1)),
        "<table>",
        f"at least {d.checks.min_rows} rows",
        says=f"has {d.checks.min_rows - 1}",
    ),
    "constant-column": lambda g, d: BrokenTable(
        _csv(g.assign(support_calls=1)), "support_calls", "not constant", says="every row is 1"
    ),
    "all-null-column": lambda g, d: BrokenTable(
        _csv(g.assign(region=None)), "region", "not all missing"
    ),
    "one-class-only": lambda g, d: BrokenTable(
        _csv(g.assign(**{d.target: d.labels[0]})),
        d.target,
        f"at least {d.checks.min_rows_per_class} rows per class",
        says=f"label {d.labels[_Y]!r}: 0 rows",
    ),
    "rare-class": lambda g, d: BrokenTable(
        _few(g, d.target, d.labels[_Y], d.checks.min_rows_per_class - 1),
        d.target,
        f"at least {d.checks.min_rows_per_class} rows per class",
        says=f"label {d.labels[_Y]!r}: {d.checks.min_rows_per_class - 1} rows",
    ),
    "duplicate-rows": lambda g, d: BrokenTable(
        _csv(pd.concat([g, g.iloc[[3, 9]]], ignore_index=True)),
        "<table>",
        f"at most {d.checks.max_duplicate_rows} duplicate rows",
        (len(g), len(g) + 1),
        says="first copies at rows [3, 9]",
    ),
    # what the file itself tells: bytes, structure
    "non-utf8-bytes": lambda g, d: BrokenTable(
        _cell(g, "region", 17, "Zürich", encoding="latin-1"),
        "region",
        f"valid {d.source['encoding']} text",
        (17,),
    ),
    "duplicate-header": lambda g, d: BrokenTable(
        _renamed_header(g, "region", "plan"),
        "plan",
        "unique column names",
        says=f"positions {_positions(g, 'plan', 'region')}",
    ),
    "ragged-csv-row": lambda g, d: BrokenTable(
        _ragged(g, 30), "<file>", "readable CSV file", says="line 31"
    ),
    "truncated-parquet": lambda g, d: BrokenTable(
        _parquet(g)[: len(_parquet(g)) // 2], "<file>", "readable Parquet file", parquet=True
    ),
}


# --- Toy bundles ----------------------------------------------------------------------
# Written by shipyard.pipeline.bundle itself, so tests never spell a schema out by hand.


def toy_bundle(
    dest: Path, data: Any = None, n_rows: int = 60, seed: int = 0, model_kind: str = "mlp"
) -> tuple[Path, Any]:
    """A real bundle in `dest`/bundle for `data` (data_config() unless given), as package
    writes it: a featurizer fit on `n_rows` seeded raw rows; the model `model_kind` ships:
    an untrained network for the data's task ("mlp"), or the data's scikit-learn baseline
    fit to random targets ("baseline"); schema and card. Returns (the bundle, the raw
    rows)."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression, Ridge

    from shipyard.config import ModelConfig, PackageConfig, Params
    from shipyard.pipeline import bundle, features, mlp, sklearn_io
    from shipyard.pipeline.task import task
    from shipyard.pipeline.training import architecture

    data = data or data_config()
    rng = np.random.default_rng(seed)
    raw = pd.DataFrame({name: rng.normal(10, 3, n_rows) for name in data.numeric_features})
    for name in data.categorical_features:
        raw[name] = rng.choice(["p", "q", "r"], n_rows)
    cfg = standard_features()
    inputs = features.inputs(raw, data.features, data.categorical_features)
    featurizer = features.build_featurizer(data, cfg).fit(inputs)
    sklearn_io.dump(featurizer, dest / "featurizer.skops")
    model = ModelConfig("mlp", [8], 0.0, 0.01, 0.0, 32)
    x = features.featurize(inputs, featurizer)
    y = rng.normal(50, 10, n_rows)  # a regression's target scale; a classifier ignores it
    torch.manual_seed(seed)
    mlp.save(mlp.MLP(architecture((x, y), task(data.task), data.labels, model)), dest / "mlp")
    if data.labels:  # every label seen, so the baseline has a column for each
        classes = np.resize(np.arange(len(data.labels)), n_rows)
        estimator = LogisticRegression().fit(x, rng.permutation(classes))
    else:
        estimator = Ridge().fit(x, y)
    sklearn_io.dump(estimator, dest / "baseline.skops")

    # The MLP wins on the main metric, or the baseline, as `model_kind` says.
    metrics = {"mlp": {"accuracy": 0.75}, "baseline": {"accuracy": 0.5}}
    if model_kind == "baseline":
        metrics = {"mlp": metrics["baseline"], "baseline": metrics["mlp"]}
    params = Params(seed=seed, data=data, features=cfg, model=model, package=PackageConfig("best"))
    bundle.build(
        dest / "bundle",
        dest / "featurizer.skops",
        dest / "mlp",
        dest / "baseline.skops",
        params,
        metrics,
        "accuracy",
        "0" * 32,
    )
    return dest / "bundle", raw


# --- Tiny Lightning fits (tests/test_training*.py) -----------------------------------


def tiny_trainer(max_epochs: int, patience: int = 50) -> Any:
    """A CPU trainer config, deterministic: seconds per fit."""
    from shipyard.config import TrainerConfig

    return TrainerConfig(
        accelerator="cpu",
        devices=1,
        strategy="auto",
        precision="auto",
        max_epochs=max_epochs,
        patience=patience,
        deterministic=True,
    )


def tiny_classes() -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(train, val): 300 rows of 4 features, 3 classes (labels 0, 1, 2)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    return (x[:200], y[:200]), (x[200:], y[200:])
