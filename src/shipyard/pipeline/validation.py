"""Schema and dataset checks for the raw table, built from the data config with pandera.

Pure: takes the table (batch by batch, or a DataFrame) and the config, returns a report.
Every problem names the column, the check and example rows (0-based data rows of the
whole table, the header not counted), so a user can find it in their file. The table is
checked a batch at a time, so that no check holds it whole: the schema per batch, the
dataset checks (rows, rows per class, missing or constant columns, duplicates) summed up
over the batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import MAX_ABS_VALUE, DataConfig
from shipyard.pipeline.raw_table import READ_PROBLEMS
from shipyard.pipeline.task import check_data, task

MAX_EXAMPLES = 5
TABLE = "<table>"  # the column name for problems with the table as a whole


@dataclass
class Problem:
    column: str
    check: str
    n_failures: int
    examples: list[dict[str, Any]]  # {"row": index or None, "value": offending value}
    detail: str = ""

    def describe(self) -> str:
        shown = ", ".join(
            f"row {e['row']}: {e['value']!r}" if e["row"] is not None else f"{e['value']}"
            for e in self.examples
        )
        more = (
            f" (+{self.n_failures - len(self.examples)} more)"
            if self.n_failures > len(self.examples) and self.examples
            else ""
        )
        where = f" [{shown}{more}]" if shown else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"column '{self.column}' failed {self.check}{where}{detail}"


@dataclass
class ValidationReport:
    dataset: str
    n_rows: int
    n_columns: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    class_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}

    def summary(self) -> str:
        head = f"dataset '{self.dataset}': {self.n_rows} rows, {self.n_columns} columns"
        if self.ok:
            return f"{head}: valid"
        lines = [f"{head}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p.describe()}" for p in self.problems]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The summary the PR report shows under "Data validation"."""
        verdict = "valid" if self.ok else f"**{len(self.problems)} problem(s)**"
        lines = [f"`{self.dataset}`: {self.n_rows} rows, {self.n_columns} columns: {verdict}"]
        bullets = [f"- problem: {p.describe()}" for p in self.problems]
        bullets += [f"- warning: {w}" for w in self.warnings]
        if bullets:
            lines += ["", *bullets]
        if self.class_counts:
            counts = ", ".join(f"{label}: {n}" for label, n in self.class_counts.items())
            lines += ["", f"Rows per class: {counts}."]
        return "\n".join(lines) + "\n"


def build_schema(cfg: DataConfig) -> Any:
    """The pandera schema the config implies: declared columns only, typed, nullability
    and ranges as declared, labels from the declared set."""
    import pandera.pandas as pa

    def bounds(column: str) -> list[Any]:
        if column not in cfg.ranges:
            return []
        low, high = cfg.ranges[column]
        return [pa.Check.in_range(low, high, error=f"range [{low:g}, {high:g}]")]

    # inf parses as a number from CSV; no model (and no JSON request) can use it. Nor a
    # finite number so large that the features overflow, whatever data.ranges says.
    finite = pa.Check(lambda s: ~np.isinf(s), error="finite (inf is not a value)")
    magnitude = pa.Check(
        lambda s: np.isinf(s) | (s.abs() <= MAX_ABS_VALUE),  # inf: the check above says it
        error=f"magnitude at most {MAX_ABS_VALUE:g} (what the model can represent)",
    )
    numeric = [finite, magnitude]
    columns = {
        name: pa.Column(
            "float64", coerce=True, nullable=name in cfg.nullable, checks=[*numeric, *bounds(name)]
        )
        for name in cfg.numeric_features
    }
    columns |= {name: pa.Column(nullable=name in cfg.nullable) for name in cfg.categorical_features}
    columns |= {name: pa.Column(nullable=True, required=False) for name in cfg.drop}
    if task(cfg.task).labelled:
        label_set = pa.Check.isin(cfg.labels, error=f"label in {cfg.labels}")
        columns[cfg.target] = pa.Column(nullable=False, checks=label_set)
    else:
        columns[cfg.target] = pa.Column(
            "float64", coerce=True, nullable=False, checks=[*numeric, *bounds(cfg.target)]
        )
    return pa.DataFrameSchema(columns, strict=True)


# pandera reports column presence at table level, with the column name as the "value".
_PRESENCE = {
    "column_in_dataframe": "presence (declared in the data config, missing from the table)",
    "column_in_schema": "presence (in the table, not declared in the data config)",
}


def _schema_problems(failure_cases: pd.DataFrame) -> list[Problem]:
    problems = []
    cases = failure_cases.assign(column=failure_cases["column"].fillna(TABLE))
    coerced = set(cases.loc[cases["check"].str.startswith("coerce_dtype"), "column"])
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        if check in _PRESENCE:
            problems += [
                Problem(str(name), _PRESENCE[check], 1, []) for name in group["failure_case"]
            ]
            continue
        if column in coerced and str(check).startswith("dtype("):
            continue  # the same cells already failed coercion
        examples = [
            {"row": int(r["index"]), "value": _plain(r["failure_case"])}
            for _, r in group.head(MAX_EXAMPLES).iterrows()
            if not pd.isna(r["index"])
        ]
        problems.append(Problem(str(column), _check_name(str(check)), len(group), examples))
    return problems


def _check_name(check: str) -> str:
    if check.startswith("coerce_dtype("):
        return f"dtype {check[len('coerce_dtype(') : -1]} (a value that is not a number)"
    if check == "not_nullable":
        return "not null (declare the column in data.nullable to allow missing values)"
    return check


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _merged(problems: list[Problem], more: list[Problem]) -> list[Problem]:
    """One problem per column and check over the batches: failures in rows summed, the
    first examples kept. A column's presence, or a check that failed for the column as a
    whole, is the same in every batch: once."""
    found = {(p.column, p.check): p for p in problems}
    for problem in more:
        same = found.get((problem.column, problem.check))
        if same is None:
            found[(problem.column, problem.check)] = problem
            problems.append(problem)
        elif problem.examples:
            same.n_failures += problem.n_failures
            same.examples = (same.examples + problem.examples)[:MAX_EXAMPLES]
        else:  # of the column as a whole (a check that could not run): not per row
            same.n_failures = max(same.n_failures, problem.n_failures)
    return problems


def _read_problems(read: list[dict[str, Any]], values: dict[tuple[int, str], Any]) -> list[Problem]:
    """What the source could not read (bad bytes, a broken file, a repeated header), with
    the cells' values (`values`, by row and column) where it points at cells."""
    problems = []
    for p in read:
        rows = p["rows"]
        column = p["column"]
        examples = [{"row": r, "value": values.get((r, column))} for r in rows[:MAX_EXAMPLES]]
        problems.append(Problem(column, p["check"], max(len(rows), 1), examples, p["detail"]))
    return problems


class TableChecks:
    """The checks on the table as a whole (size, rows per class, duplicates, useless
    columns), summed up batch by batch (`add`); `problems` says what failed."""

    def __init__(self, cfg: DataConfig, columns: list[str]) -> None:
        self.cfg = cfg
        self.n_rows = 0
        self.labelled = task(cfg.task).labelled and cfg.target in columns
        self.counts: dict[Any, int] = {}
        self.present = [c for c in cfg.features if c in columns]
        self.used = [c for c in [*self.present, cfg.target] if c in columns]
        self.seen: dict[str, bool] = dict.fromkeys(self.present, False)  # a value, not missing
        self.first: dict[str, Any] = {}  # each column's value in the first row
        self.varied: dict[str, bool] = dict.fromkeys(self.present, False)
        self.hashes: list[np.ndarray] = []

    def add(self, batch: pd.DataFrame) -> None:
        if not len(batch):
            return
        self.n_rows += len(batch)
        if self.labelled:
            for label, n in batch[self.cfg.target].value_counts().items():
                self.counts[label] = self.counts.get(label, 0) + int(n)
        for column in self.present:
            values = batch[column]
            missing = values.isna()
            self.seen[column] = self.seen[column] or not missing.all()
            if self.varied[column]:
                continue
            if column not in self.first:
                self.first[column] = values.iloc[0]
            first = self.first[column]
            # one value (missing counts as one) all along: compared, not counted (nunique)
            same = missing if pd.isna(first) else (values == first) & ~missing
            self.varied[column] = not bool(same.all())
        if self.used:
            self.hashes.append(_row_hashes(batch[self.used]))

    def class_counts(self) -> dict[str, int]:
        if not self.labelled:
            return {}
        return {str(label): self.counts.get(label, 0) for label in self.cfg.labels}

    def problems(self) -> list[Problem]:
        checks = self.cfg.checks
        problems = []
        if self.n_rows < checks.min_rows:
            detail = f"the table has {self.n_rows}"
            problems.append(Problem(TABLE, f"at least {checks.min_rows} rows", 1, [], detail))
        if self.labelled:
            short = [(label, self.counts.get(label, 0)) for label in self.cfg.labels]
            short = [(label, n) for label, n in short if n < checks.min_rows_per_class]
            if short:
                problems.append(
                    Problem(
                        self.cfg.target,
                        f"at least {checks.min_rows_per_class} rows per class",
                        len(short),
                        [
                            {"row": None, "value": f"label {label!r}: {n} rows"}
                            for label, n in short
                        ],
                    )
                )
        for column in self.present:
            if self.n_rows and not self.seen[column]:
                problems.append(Problem(column, "not all missing", self.n_rows, []))
            elif self.n_rows > 1 and not self.varied[column]:
                value = _plain(self.first[column])
                problems.append(
                    Problem(
                        column,
                        "not constant",
                        self.n_rows,
                        [{"row": None, "value": f"every row is {value!r}"}],
                        "a constant feature teaches nothing: list it under data.drop",
                    )
                )
        if self.hashes:
            problems += self._duplicates(np.concatenate(self.hashes))
        return problems

    def _duplicates(self, hashes: np.ndarray) -> list[Problem]:
        """Rows equal (in the used columns) to an earlier row, found by their 64-bit hashes:
        8 bytes a row, where comparing rows would hold the table. Two different rows share
        a hash with odds of about n²/2⁶⁵: 3 in a million at ten million rows."""
        order = np.argsort(hashes, kind="stable")  # equal hashes stay in row order
        ranked = hashes[order]
        repeated = np.zeros(len(hashes), dtype=bool)
        repeated[order[1:][ranked[1:] == ranked[:-1]]] = True  # all but the first of each
        n_repeated = int(repeated.sum())
        allowed = self.cfg.checks.max_duplicate_rows
        if n_repeated <= allowed:
            return []
        first = np.flatnonzero(repeated)[:MAX_EXAMPLES]
        # the first copies only: the repeats themselves match too
        originals = np.flatnonzero(~repeated & np.isin(hashes, hashes[first]))[:MAX_EXAMPLES]
        return [
            Problem(
                TABLE,
                f"at most {allowed} duplicate rows",
                n_repeated,
                [{"row": int(r), "value": "duplicates an earlier row"} for r in first],
                f"first copies at rows {[int(r) for r in originals]}",
            )
        ]


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values. Numbers hash as float64 (+0.0, so that -0.0
    is 0.0), whatever their type in this batch: an integer column that holds a missing
    value in one batch only is float there, and equal rows must hash alike."""
    numbers = [c for c in frame.columns if frame[c].dtype.kind in "iufb"]
    if numbers:
        frame = frame.astype(dict.fromkeys(numbers, "float64"))
        frame[numbers] = frame[numbers] + 0.0
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def validate_batches(
    batches: Iterable[pd.DataFrame],
    columns: list[str],
    read_problems: list[dict[str, Any]],
    cfg: DataConfig,
) -> ValidationReport:
    """Check the raw table, given batch by batch (each batch's index: its rows' positions
    in the table), its `columns` and what its source could not read, against the data
    config; never raises on bad data."""
    import pandera.pandas as pa

    check_data(cfg)  # a config mistake (`dvc exp run -S data.task=...`): one line
    report = ValidationReport(cfg.name, 0, len(columns))
    if not columns:
        report.problems = _read_problems(read_problems, {})
        if not report.problems:
            report.problems.append(Problem(TABLE, "not empty", 1, [], "the file has no columns"))
        return report
    schema = build_schema(cfg)
    table = TableChecks(cfg, columns)
    cells = {(r, p["column"]) for p in read_problems for r in p["rows"][:MAX_EXAMPLES]}
    values: dict[tuple[int, str], Any] = {}
    failed: list[Problem] = []
    for batch in batches:
        try:
            schema.validate(batch, lazy=True)
        except pa.errors.SchemaErrors as err:
            failed = _merged(failed, _schema_problems(err.failure_cases))
        table.add(batch)
        for row, column in cells:
            if row in batch.index and column in batch.columns:
                values[(row, column)] = _plain(batch.at[row, column])
    report.n_rows = table.n_rows
    report.problems = [*_read_problems(read_problems, values), *failed, *table.problems()]
    report.class_counts = table.class_counts()
    counts = [n for n in report.class_counts.values() if n]
    ratio = cfg.checks.imbalance_warning_ratio
    if counts and max(counts) > ratio * min(counts):
        report.warnings.append(
            f"class imbalance: the largest class has {max(counts)} rows, the smallest "
            f"{min(counts)} (more than {ratio:g}x): accuracy may flatter the model"
        )
    return report


def validate_file(path: Path, cfg: DataConfig) -> ValidationReport:
    """Check the raw table ingest wrote, batch by batch."""
    from shipyard.pipeline import raw_table

    return validate_batches(
        raw_table.batches(path), raw_table.columns(path), raw_table.read_problems(path), cfg
    )


def validate(df: pd.DataFrame, cfg: DataConfig) -> ValidationReport:
    """Check a table held in memory (its attrs may carry what the source could not read):
    one batch, its rows numbered from 0."""
    batch = df.reset_index(drop=True)
    return validate_batches([batch], list(df.columns), df.attrs.get(READ_PROBLEMS, []), cfg)
