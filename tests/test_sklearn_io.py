"""sklearn_io: skops files are byte-stable across processes and still load only trusted types."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline import sklearn_io
from tests.helpers import ROOT, data_config, standard_features

NAMES = ("featurizer", "logreg", "extras")


def raw_rows() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    kind = np.array(["p", "q", "r", "s", "rare"] * 24, dtype=object)
    kind[::11] = np.nan  # imputed as its own category
    return pd.DataFrame(
        {"x": rng.normal(size=120), "y": rng.normal(size=120), "kind": kind, "t": [0, 1, 2] * 40}
    )


def fitted() -> dict[str, Any]:
    """The pipeline's own featurizer (ColumnTransformer, OneHotEncoder with text
    categories) and a LogisticRegression, plus a set of strings and bytes: the parts of
    a skops file that depend on the process (hash order, uuid names)."""
    from sklearn.linear_model import LogisticRegression

    from shipyard.pipeline import features

    data = data_config(labels=[0, 1, 2], numeric_features=["x", "y"], categorical_features=["kind"])
    rows = raw_rows()
    x = features.inputs(rows, data.features, data.categorical_features)
    featurizer = features.build_featurizer(data, standard_features()).fit(x)
    logreg = LogisticRegression(max_iter=500).fit(featurizer.transform(x), rows["t"])
    extras = {"tags": {f"tag-{i}" for i in range(12)}, "blob": b"\x00\x01skops", "n": 3}
    return {"featurizer": featurizer, "logreg": logreg, "extras": extras}


def dump_all(out: str, shift_ids: str) -> None:
    """Run in a subprocess: every object through sklearn_io, and through plain skops."""
    import skops.io as sio

    # Objects allocated first move every later id(), as any other code path would.
    keep = [object() for _ in range(int(shift_ids))]
    for name, obj in fitted().items():
        sklearn_io.dump(obj, Path(out) / f"{name}.skops")
        (Path(out) / f"{name}.raw.skops").write_bytes(sio.dumps(obj))
    del keep


def dump_in_subprocess(out: Path, hash_seed: int, shift_ids: int) -> dict[str, bytes]:
    out.mkdir()
    code = "import sys; from tests.test_sklearn_io import dump_all; dump_all(*sys.argv[1:])"
    subprocess.run(
        [sys.executable, "-c", code, str(out), str(shift_ids)],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
    )
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_same_objects_give_same_bytes_in_two_processes(tmp_path):
    # Different hash seeds reorder the set of strings; different allocations move id()s.
    first = dump_in_subprocess(tmp_path / "a", hash_seed=1, shift_ids=0)
    second = dump_in_subprocess(tmp_path / "b", hash_seed=2, shift_ids=5000)
    for name in NAMES:
        # The premise: skops alone writes different bytes for the same objects.
        assert first[f"{name}.raw.skops"] != second[f"{name}.raw.skops"], name
        assert first[f"{name}.skops"] == second[f"{name}.skops"], name
    with zipfile.ZipFile(io.BytesIO(first["featurizer.skops"])) as archive:
        infos = archive.infolist()
    assert infos[-1].filename == "schema.json"
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    # Arrays named by their new small ids, not by id() (a 15-digit address).
    assert all(re.fullmatch(r"\d{1,3}\.npy", i.filename) for i in infos[:-1]), infos
    with zipfile.ZipFile(io.BytesIO(first["extras.skops"])) as archive:
        assert archive.namelist() == ["bytes-1.bin", "schema.json"]


def test_loaded_objects_predict_like_the_originals(tmp_path):
    objects = fitted()
    featurizer, logreg = objects["featurizer"], objects["logreg"]
    encoder = featurizer.named_transformers_["categorical"].named_steps["encode"]
    assert encoder.categories_[0].dtype == object
    for name, obj in objects.items():
        sklearn_io.dump(obj, tmp_path / f"{name}.skops")
    loaded = {name: sklearn_io.load(tmp_path / f"{name}.skops") for name in NAMES}

    x = raw_rows()[["x", "y", "kind"]].copy()
    x.loc[:4, "kind"] = ["never-seen", np.nan, "rare", "p", "q"]
    expected = featurizer.transform(x)
    got = loaded["featurizer"].transform(x)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded["logreg"].predict_proba(got), logreg.predict_proba(got))
    np.testing.assert_array_equal(loaded["logreg"].predict(got), logreg.predict(got))
    assert loaded["extras"] == objects["extras"]


def test_one_object_referred_twice_loads_as_one(tmp_path):
    # skops ties references by id; renumbered ids must keep the tie (an id of 0 would not).
    array = np.arange(6.0)
    sklearn_io.dump([array, array, {"again": array}], tmp_path / "shared.skops")
    first, second, third = sklearn_io.load(tmp_path / "shared.skops")
    assert first is second is third["again"]
    np.testing.assert_array_equal(first, array)


def test_untrusted_type_is_refused(tmp_path):
    from collections import Counter

    path = tmp_path / "counter.skops"
    sklearn_io.dump({"counts": Counter("aab")}, path)
    with pytest.raises(ValueError, match=r"untrusted types \['collections.Counter'\]"):
        sklearn_io.load(path)


def test_member_the_schema_does_not_name_is_an_error():
    import skops.io as sio

    data = io.BytesIO(sio.dumps({"a": 1}))
    with zipfile.ZipFile(data, "a") as archive:
        archive.writestr("extra.txt", "not referenced")
    with pytest.raises(ValueError, match=r"not referenced by schema\.json"):
        sklearn_io.canonical(data.getvalue())
