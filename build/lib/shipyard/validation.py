"""Schema and sanity checks for the raw table, built from the data config with pandera.

Pure: takes a DataFrame and the config, returns a report. Every problem names the
column, the check and example rows, so a user can find it in their file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from shipyard.config import DataConfig

MAX_EXAMPLES = 5


@dataclass
class Problem:
    column: str
    check: str
    n_failures: int
    examples: list[dict[str, Any]]  # {"row": index, "value": offending value}

    def describe(self) -> str:
        shown = ", ".join(f"row {e['row']}: {e['value']!r}" for e in self.examples)
        more = (
            f" (+{self.n_failures - len(self.examples)} more)"
            if self.n_failures > len(self.examples)
            else ""
        )
        where = f" [{shown}{more}]" if shown else ""
        return f"column '{self.column}' failed {self.check}{where}"


@dataclass
class ValidationReport:
    dataset: str
    n_rows: int
    n_columns: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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


def build_schema(cfg: DataConfig) -> Any:
    """The pandera schema the config implies: declared columns only, typed, no nulls."""
    import pandera.pandas as pa

    columns = {
        name: pa.Column("float64", coerce=True, nullable=False) for name in cfg.numeric_features
    }
    columns[cfg.target] = pa.Column(
        nullable=False, checks=pa.Check.isin(cfg.labels, error=f"label in {cfg.labels}")
    )
    return pa.DataFrameSchema(
        columns,
        strict=True,
        checks=[
            pa.Check(
                lambda df: len(df) >= cfg.min_rows,
                element_wise=False,
                error=f"at least {cfg.min_rows} rows",
            )
        ],
    )


# pandera reports column presence at table level, with the column name as the "value".
_PRESENCE = {
    "column_in_dataframe": "missing column (declared in the data config)",
    "column_in_schema": "unexpected column (not declared in the data config)",
}


def _problems(failure_cases: pd.DataFrame) -> list[Problem]:
    problems = []
    cases = failure_cases.assign(column=failure_cases["column"].fillna("<table>"))
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
            {"row": int(r["index"]), "value": _plain(r)}
            for _, r in group.head(MAX_EXAMPLES).iterrows()
            if not pd.isna(r["index"])
        ]
        problems.append(Problem(str(column), str(check), len(group), examples))
    return problems


def _plain(row: pd.Series) -> Any:
    value = row["failure_case"]
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def validate(df: pd.DataFrame, cfg: DataConfig) -> ValidationReport:
    """Check the raw table against the data config; never raises on bad data."""
    import pandera.pandas as pa

    report = ValidationReport(cfg.name, len(df), len(df.columns))
    if len(df.columns) == 0:
        report.problems.append(Problem("<table>", "not empty (the file has no columns)", 1, []))
        return report
    try:
        build_schema(cfg).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        report.problems = _problems(err.failure_cases)
    if cfg.target in df.columns:
        missing = sorted(set(cfg.labels) - set(df[cfg.target].dropna().unique()), key=str)
        if missing:
            report.warnings.append(f"labels never seen in '{cfg.target}': {missing}")
    return report
