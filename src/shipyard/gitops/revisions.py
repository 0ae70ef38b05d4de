"""Files as they were at another git revision: git-tracked ones via git, DVC outputs via
dvc.api (local cache or remote). Works in a shallow CI clone by fetching the revision.

Whatever cannot be had raises `Unavailable`, whose message says why in one short line:
the gate and the report degrade on it instead of failing with a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# How long fetching a base revision or a DVC output may take. Storage clients retry an
# unreachable remote for minutes (S3: connect and read timeouts of 60 s, times retries).
FETCH_TIMEOUT_S = 60.0
# Reasons are one line in a terminal and in a PR comment: library errors can be long.
MAX_REASON = 160
# The child's first line on stdout, when a remote is configured: "using remote 's3'".
USING = "using remote "


class Unavailable(ValueError):
    """A revision, or a file at one, that cannot be had; str() is the reason, one line."""


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """The first non-empty line of `text`, without git's "fatal: "/dvc's "ERROR: ", cut."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    for prefix in ("fatal: ", "error: ", "ERROR: "):
        line = line.removeprefix(prefix)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _git(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    # No credential prompt: in CI or a script it would wait for input that never comes.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], capture_output=True, text=True, env=env, timeout=timeout)


def resolve(rev: str, timeout: float = FETCH_TIMEOUT_S) -> str:
    """The commit for `rev`, fetched from origin first if this clone lacks it."""
    if rev.startswith("-"):  # would be read as an option by git
        raise Unavailable(f"'{rev}' is not a revision name")
    found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if found.returncode == 0:
        return found.stdout.strip()
    try:
        fetched = _git("fetch", "--quiet", "--depth=1", "origin", rev, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Unavailable(
            f"not in this clone, and `git fetch origin {rev}` gave no answer within {timeout:g} s"
        ) from None
    if fetched.returncode != 0:
        raise Unavailable(
            f"not in this clone, and `git fetch origin {rev}` failed: {one_line(fetched.stderr)}"
        )
    return _git("rev-parse", "FETCH_HEAD").stdout.strip()


def read_json(rev: str, path: str) -> Any | None:
    """A git-tracked JSON file at `rev`; None if it did not exist there (a first PR)."""
    shown = _git("show", f"{rev}:{path}")
    if shown.returncode != 0:
        return None
    try:
        return json.loads(shown.stdout)
    except json.JSONDecodeError as err:
        raise Unavailable(f"{path} is not valid JSON there: {err}") from None


def _is_output_at(rev: str, path: str) -> bool:
    """Whether `path` is (inside) a pipeline output in dvc.lock at `rev`."""
    import yaml

    shown = _git("show", f"{rev}:dvc.lock")
    if shown.returncode != 0:
        return False
    try:
        lock = yaml.safe_load(shown.stdout) or {}
    except yaml.YAMLError:
        return True  # let DVC itself say what is wrong
    outs = [
        out.get("path", "")
        for stage in (lock.get("stages") or {}).values()
        for out in (stage.get("outs") or [])
    ]
    return any(path == out or path.startswith(out.rstrip("/") + "/") for out in outs)


def read_parquet(rev: str, path: str, timeout: float = FETCH_TIMEOUT_S) -> pd.DataFrame:
    """A DVC-tracked Parquet output at `rev`, from the local cache or the default remote.

    Raises Unavailable, with why. DVC reads in a child process with a deadline: an
    unreachable remote can keep its storage client retrying for minutes, and a thread
    cannot be stopped."""
    import pandas as pd

    if not _is_output_at(rev, path):
        raise Unavailable("not a pipeline output in dvc.lock there")
    with tempfile.TemporaryDirectory(prefix="shipyard-rev-") as tmp:
        dest = Path(tmp) / "out.parquet"
        cmd = [sys.executable, "-m", "shipyard.gitops.revisions", rev, path, str(dest)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as expired:
            said = expired.stdout or ""
            said = said.decode(errors="replace") if isinstance(said, bytes) else said
            # The child names the remote before it starts reading.
            remote = next(
                (line[len(USING) :] for line in said.splitlines() if line.startswith(USING)), ""
            )
            raise Unavailable(
                f"no answer from remote {remote or 'storage'} within {timeout:g} s"
            ) from None
        if done.returncode != 0:
            said = [line for line in done.stdout.splitlines() if not line.startswith(USING)]
            # Nothing said: the child itself broke (an import, say); its error comes last.
            last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
            raise Unavailable(one_line(said[-1] if said else last[0]))
        try:
            return pd.read_parquet(dest)
        except (OSError, ValueError) as err:  # pyarrow's errors are ValueErrors
            raise Unavailable(f"not a readable Parquet file: {one_line(str(err), 100)}") from None


# --- the child process: `python -m shipyard.gitops.revisions REV PATH DEST` --------------------


def _chain(err: BaseException) -> list[BaseException]:
    """`err` and what caused it: DVC wraps the storage client's error (DataIndexDirError)."""
    seen: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _is_connection_error(err: BaseException) -> bool:
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    module = type(err).__module__.split(".")[0]
    # botocore (EndpointConnectionError, NoCredentialsError...), aiohttp, requests, urllib3
    return module in ("botocore", "aiohttp", "requests", "urllib3") and (
        "Connect" in type(err).__name__ or "Credentials" in type(err).__name__
    )


def _why(err: BaseException, repo: Any | None, remote: str | None) -> str:
    """One line: why DVC could not read the output (`err`), in the user's terms."""
    chain = _chain(err)
    if any(type(e).__name__ == "NoRemoteError" for e in chain):
        return "not in the local cache, and no DVC remote is configured"
    connection = next((e for e in chain if _is_connection_error(e)), None)
    if connection is not None:
        # The endpoint says enough; the object's path after it is noise.
        said = re.sub(r"(\w+://[^/\s\"']+)/[^\s\"']*", r"\1", str(connection))
        return f"remote '{remote}' unreachable: {one_line(said, 100)}"
    if any(isinstance(e, FileNotFoundError) or "Missing" in type(e).__name__ for e in chain):
        if not remote or repo is None:
            return "not in the local cache, and no DVC remote is configured"
        try:
            storage = repo.cloud.get_remote(remote)
            if not storage.fs.exists(storage.path):
                where = storage.fs.unstrip_protocol(storage.path)
                return f"remote '{remote}' unreachable: {where} does not exist"
        except Exception as check:  # any failure to look says the same: unreachable
            return f"remote '{remote}' unreachable: {one_line(str(check), 100)}"
        return f"not in the local cache or on remote '{remote}'"
    deepest = chain[-1]
    return f"{type(deepest).__name__}: {one_line(str(deepest), 100)}"


def _child(argv: list[str]) -> int:
    """Copy `PATH` at `REV` to `DEST`; else print why on stdout and exit 1."""
    rev, path, dest = argv
    repo, remote = None, None
    try:
        import dvc.api
        from dvc.repo import Repo

        # The workspace's config (with config.local) picks the remote, as for `dvc pull`.
        repo = Repo()
        remote = repo.config["core"].get("remote")
        if remote:
            print(f"{USING}'{remote}'", flush=True)
        with dvc.api.open(path, rev=rev, mode="rb") as src, open(dest, "wb") as out:
            out.write(src.read())
    except Exception as err:  # DVC and the storage clients raise anything
        print(_why(err, repo, remote), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
