"""The monitoring report's pictures: for each drawn column, the share of rows per bin (a
number) or per category, reference against window, as PNG files rendered here with
vl-convert (nothing loads from a CDN, so they show offline and in a pull request)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

BINS = 20
TOP_CATEGORIES = 12


def shares(reference: Any, window: Any) -> tuple[list[dict[str, Any]], bool]:
    """Vega-Lite rows {value, share, sample}, and whether the column is a number."""
    import pandas as pd

    ref, win = pd.Series(reference), pd.Series(window)
    rows: list[dict[str, Any]] = []
    if ref.dtype.kind in "fiu":
        a, b = ref.to_numpy(dtype=float), win.to_numpy(dtype=float)
        both = np.concatenate([a[~np.isnan(a)], b[~np.isnan(b)]])
        if not len(both):
            return [], True
        edges = np.histogram_bin_edges(both, bins=BINS)
        for sample, values in (("reference", a), ("window", b)):
            values = values[~np.isnan(values)]
            counts, _ = np.histogram(values, bins=edges)
            middle = (edges[:-1] + edges[1:]) / 2
            for x, n in zip(middle, counts, strict=True):
                rows.append({"value": float(x), "share": n / max(len(values), 1), "sample": sample})
        return rows, True
    ref, win = ref.astype("string").fillna("<missing>"), win.astype("string").fillna("<missing>")
    top = ref.value_counts().index[:TOP_CATEGORIES].union(win.value_counts().index[:TOP_CATEGORIES])
    for sample, values in (("reference", ref), ("window", win)):
        share = values.value_counts(normalize=True)
        rows += [
            {"value": str(c), "share": float(share.get(c, 0.0)), "sample": sample} for c in top
        ]
    return rows, False


def spec(name: str, rows: list[dict[str, Any]], numeric: bool) -> dict[str, Any]:
    x: dict[str, Any] = {"field": "value", "title": name}
    if numeric:
        x["type"] = "quantitative"
        mark: dict[str, Any] = {"type": "line", "point": True, "interpolate": "step-after"}
        extra: dict[str, Any] = {}
    else:
        x["type"] = "nominal"
        mark = {"type": "bar"}
        extra = {"xOffset": {"field": "sample"}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"{name}: share of rows, reference vs window",
        "width": 420,
        "height": 200,
        "data": {"values": rows},
        "mark": mark,
        "encoding": {
            "x": x,
            "y": {"field": "share", "type": "quantitative", "axis": {"format": "%"}},
            "color": {"field": "sample", "type": "nominal"},
            **extra,
        },
    }


def render(shown: dict[str, tuple[Any, Any]], out: Path) -> list[str]:
    """A PNG per column in `out`; their file names, in order."""
    import vl_convert

    names = []
    for name, (reference, window) in shown.items():
        rows, numeric = shares(reference, window)
        if not rows:
            continue
        file = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png"
        (out / file).write_bytes(vl_convert.vegalite_to_png(spec(name, rows, numeric), scale=1))
        names.append(file)
    return names
