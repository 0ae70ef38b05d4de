"""Whatever bytes a CSV holds, ingest reads it without a traceback and validate refuses it
with a line saying why."""

from __future__ import annotations

import random

import pytest

from shipyard.pipeline.sources import read_table
from shipyard.pipeline.validation import validate
from tests.helpers import data_config


@pytest.mark.parametrize("seed", range(40))
def test_binary_garbage_is_read_and_refused(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))))
    report = validate(read_table(str(path)), data_config())
    assert not report.ok and report.problems


def test_rows_wider_than_the_header_are_a_read_problem_not_an_index(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a,b\n1,2,3\n4,5,6\n")  # pandas would take column 1 as the index
    lines = [p.describe() for p in validate(read_table(str(path)), data_config()).problems]
    assert lines == [
        "column '<file>' failed readable CSV file: wide.csv: rows have more fields than "
        "the header's 2 names"
    ]


def test_a_semicolon_file_gets_a_hint_and_reads_with_its_delimiter(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_bytes(b"a;b;target\n1;2;no\n3;4;yes\n")
    lines = [p.describe() for p in validate(read_table(str(path)), data_config()).problems]
    assert any("set data.source.delimiter to ';'?" in line for line in lines)
    assert validate(read_table(str(path), delimiter=";"), data_config()).ok
