"""A table on S3 as the data source, read through s3fs with the DVC remote's credentials,
from a real S3 server on loopback."""

from __future__ import annotations

import pandas as pd
import pytest
import s3fs

from shipyard.gitops import params
from tests.helpers import make_project, ran, run
from tests.servers import BUCKET

pytestmark = pytest.mark.slow


def test_ingest_reads_s3_with_the_dvc_remote_credentials(tmp_path, s3_remote):
    repo = make_project(tmp_path / "repo", ("data=csv",))
    s3_remote(repo)  # endpoint and keys only in .dvc/config.local, as a user keeps them
    url = f"s3://{BUCKET}/tables/churn.csv"
    s3 = s3fs.S3FileSystem(
        key=s3_remote.key,
        secret=s3_remote.secret,
        client_kwargs={"endpoint_url": s3_remote.endpoint},
    )
    s3.put(str(repo / "data/examples/churn.csv"), url)
    params.write(
        ["data=csv", f"data.source.path={url}", "data.source.remote=s3", "debug=tiny"],
        repo / "params.yaml",
        repo / "conf",
    )
    result = run(["dvc", "repro", "validate"], cwd=repo)
    assert ran(result.stdout) == ["ingest", "validate"]
    raw = pd.read_parquet(repo / "data/raw/dataset.parquet")
    pd.testing.assert_frame_equal(raw, pd.read_csv(repo / "data/examples/churn.csv"))

    params.write(
        ["data=csv", f"data.source.path={url}", "data.source.remote=nope"],
        repo / "params.yaml",
        repo / "conf",
    )
    failed = run(["dvc", "repro", "ingest"], cwd=repo, check=False)
    assert failed.returncode != 0 and "no DVC remote named 'nope'" in failed.stderr
