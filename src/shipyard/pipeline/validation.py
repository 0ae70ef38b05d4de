"""Schema and dataset checks for the raw table, built from the data config with pandera.

Pure: takes a DataFrame and the config, returns a report. Every problem names the
column, the check and example rows (0-based data rows, the header not counted), so a
user can find it in their file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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


def _read_problems(df: pd.DataFrame) -> list[Problem]:
    """What the source could not read (bad bytes, a broken file, a repeated header)."""
    problems = []
    for p in df.attrs.get(READ_PROBLEMS, []):
        rows = p["rows"]
        column = p["column"]
        examples = [
            {"row": r, "value": _plain(df.at[r, column]) if column in df.columns else None}
            for r in rows[:MAX_EXAMPLES]
        ]
        problems.append(Problem(column, p["check"], max(len(rows), 1), examples, p["detail"]))
    return problems


def dataset_problems(df: pd.DataFrame, cfg: DataConfig) -> list[Problem]:
    """Checks on the table as a whole: size, rows per class, duplicates, useless columns."""
    checks = cfg.checks
    problems = []
    if len(df) < checks.min_rows:
        problems.append(
            Problem(TABLE, f"at least {checks.min_rows} rows", 1, [], f"the table has {len(df)}")
        )
    if task(cfg.task).labelled and cfg.target in df.columns:
        counts = df[cfg.target].value_counts()
        short = [(label, int(counts.get(label, 0))) for label in cfg.labels]
        short = [(label, n) for label, n in short if n < checks.min_rows_per_class]
        if short:
            problems.append(
                Problem(
                    cfg.target,
                    f"at least {checks.min_rows_per_class} rows per class",
                    len(short),
                    [{"row": None, "value": f"label {label!r}: {n} rows"} for label, n in short],
                )
            )
    present = [c for c in cfg.features if c in df.columns]
    for column in present:
        values = df[column]
        if len(values) and values.isna().all():
            problems.append(Problem(column, "not all missing", len(values), []))
        elif len(values) > 1 and values.nunique(dropna=False) == 1:
            value = _plain(values.iloc[0])
            problems.append(
                Problem(
                    column,
                    "not constant",
                    len(values),
                    [{"row": None, "value": f"every row is {value!r}"}],
                    "a constant feature teaches nothing: list it under data.drop",
                )
            )
    used = [c for c in [*present, cfg.target] if c in df.columns]
    if used:
        repeated = df.duplicated(subset=used, keep="first")
        n_repeated = int(repeated.sum())
        if n_repeated > checks.max_duplicate_rows:
            first = df[used][repeated].head(MAX_EXAMPLES)
            # the first copies only: the repeats themselves match too
            originals = df[used][~repeated].reset_index().merge(first.drop_duplicates(), on=used)
            problems.append(
                Problem(
                    TABLE,
                    f"at most {checks.max_duplicate_rows} duplicate rows",
                    n_repeated,
                    [{"row": int(r), "value": "duplicates an earlier row"} for r in first.index],
                    f"first copies at rows {sorted(originals['index'])[:MAX_EXAMPLES]}",
                )
            )
    return problems


def class_counts(df: pd.DataFrame, cfg: DataConfig) -> dict[str, int]:
    if not task(cfg.task).labelled or cfg.target not in df.columns:
        return {}
    counts = df[cfg.target].value_counts()
    return {str(label): int(counts.get(label, 0)) for label in cfg.labels}


def validate(df: pd.DataFrame, cfg: DataConfig) -> ValidationReport:
    """Check the raw table against the data config; never raises on bad data."""
    import pandera.pandas as pa

    check_data(cfg)  # a config mistake (`dvc exp run -S data.task=...`): one line
    report = ValidationReport(cfg.name, len(df), len(df.columns))
    report.problems = _read_problems(df)
    if len(df.columns) == 0:
        if not report.problems:
            report.problems.append(Problem(TABLE, "not empty", 1, [], "the file has no columns"))
        return report
    try:
        build_schema(cfg).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        report.problems += _schema_problems(err.failure_cases)
    report.problems += dataset_problems(df, cfg)
    report.class_counts = class_counts(df, cfg)
    counts = [n for n in report.class_counts.values() if n]
    ratio = cfg.checks.imbalance_warning_ratio
    if counts and max(counts) > ratio * min(counts):
        report.warnings.append(
            f"class imbalance: the largest class has {max(counts)} rows, the smallest "
            f"{min(counts)} (more than {ratio:g}x): accuracy may flatter the model"
        )
    return report
