"""The bento a release ships is the one built for the bundle's model version: after a new
model whose build failed, nothing still looks current (shipyard:latest would name the
previous model's bento)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import MAKE, copy_repo, run

pytestmark = pytest.mark.slow


def test_bento_tag_names_the_bento_of_this_model_version_or_nothing(reproduced, tmp_path):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    out = run([*MAKE, "bento"], cwd=repo).stdout
    built = next(line for line in out.splitlines() if line.startswith("__tag__:"))[8:]
    assert run(["shipyard", "bento-tag"], cwd=repo).stdout.strip() == built

    card_path = repo / "models/bundle/card.json"  # a new model, whose bento was never built
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "version": "digits-mlp-000000000000"}))
    missing = run(["shipyard", "bento-tag"], cwd=repo, check=False)
    assert missing.returncode == 1
    assert "no bento 'shipyard' built for model version digits-mlp-000000000000" in missing.stderr
    served = run([*MAKE, "serve-bento"], cwd=repo, check=False)  # refuses, serves nothing
    assert served.returncode != 0 and "no bento 'shipyard' built for" in served.stderr
