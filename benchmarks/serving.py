"""Serving benchmark: the real /predict on loopback against BentoML's floor and the model's.

Serves models/bundle (run `make repro` first) with batching on and off, and a no-op BentoML
service (benchmarks/noop_service.py) the same way; drives each with an async HTTP client at
concurrency 1 and 32, with 1-row and 100-row requests; measures in-process prediction of the
same rows; prints req/s, p50, p99 and errors, then /predict as a ratio of each reference.

    python -m benchmarks.serving [--seconds 10]

Load comes from wrk (Debian's `wrk`) when it is installed, else
from an asyncio client in this process. Either shares the cores with the server, as it does
for every service measured here.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from shipyard.pipeline.bundle import read_schema
from shipyard.serving.run import bentoml_serve

ROOT = Path(__file__).resolve().parents[1]

SHAPES = [(1, 1), (1, 32), (100, 1), (100, 32)]  # (rows per request, concurrency)
# The same rows as an Arrow IPC stream (/predict's columnar body, for big batches); the
# no-op floor gets them as JSON, its only body.
ARROW_SHAPES = [(100, 1), (100, 32), (1000, 1), (1000, 8)]
ARROW = "application/vnd.apache.arrow.stream"


@dataclass
class Result:
    service: str
    body: str  # json or arrow
    rows: int
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.service:18s} {self.body:5s} {self.rows:4d} {self.concurrency:4d} "
            f"{self.rps:9.1f} {self.rps * self.rows:10.0f} {self.p50_ms:8.2f} {self.p99_ms:8.2f} "
            f"{self.errors:6d}"
        )


def encode(rows: list[dict], kind: str) -> bytes:
    """/predict's request body for `rows`: JSON, or an Arrow IPC stream of their columns."""
    if kind == "json":
        return json.dumps({"rows": rows}).encode()
    import pyarrow as pa

    table = pa.Table.from_pylist(rows)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


async def drive(
    url: str, body: bytes, concurrency: int, seconds: float, kind: str = "json"
) -> tuple:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"content-type": ARROW if kind == "arrow" else "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            async with session.post(f"{url}/predict", data=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - start)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, errors, elapsed


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("SHIPYARD_CONTENT_TYPE")
local f = io.open(os.getenv("SHIPYARD_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, body: bytes, concurrency: int, seconds: float, tmp: Path, kind: str) -> tuple:
    """(requests, errors, elapsed seconds, p50 ms, p99 ms) from one wrk run."""
    (tmp / "body.json").write_bytes(body)
    (tmp / "post.lua").write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{round(seconds)}s",
            "--latency",
            "-s",
            str(tmp / "post.lua"),
            f"{url}/predict",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "SHIPYARD_BODY": str(tmp / "body.json"),
            "SHIPYARD_CONTENT_TYPE": ARROW if kind == "arrow" else "application/json",
        },
    ).stdout

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()
        return float(value) * UNITS[unit]

    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    elapsed = float(done.group(2)) * {"ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return int(done.group(1)), errors, elapsed, percentile("50"), percentile("99")


def warm_up(url: str, rows: list[dict]) -> None:
    asyncio.run(drive(url, encode(rows[:1], "json"), 4, 1.0))


def measure(
    name: str,
    url: str,
    rows: list[dict],
    seconds: float,
    tmp: Path,
    shapes: list,
) -> list[Result]:
    """Each (rows, concurrency, body kind) in `shapes`, driven for `seconds`."""
    results = []
    for n_rows, concurrency, kind in shapes:
        body = encode(rows[:n_rows], kind)
        if shutil.which("wrk"):
            requests, errors, elapsed, p50, p99 = wrk(url, body, concurrency, seconds, tmp, kind)
        else:
            latencies, errors, elapsed = asyncio.run(drive(url, body, concurrency, seconds, kind))
            q = statistics.quantiles(latencies, n=100)
            requests, p50, p99 = len(latencies), q[49] * 1000, q[98] * 1000
        results.append(Result(name, kind, n_rows, concurrency, requests, errors, elapsed, p50, p99))
        print(results[-1].line(), flush=True)
    return results


def in_process(rows: pd.DataFrame, seconds: float, torch_threads: int) -> dict[int, float]:
    """Rows/s of Bundle.predict_array, one row per call and 100 rows per call, tuned
    exactly as the service tunes itself."""
    from shipyard.pipeline.inference import Bundle, tune_for_serving

    tune_for_serving(torch_threads)
    bundle = Bundle.load(ROOT / "models/bundle")
    out = {}
    for n in (1, 100):
        x = rows.iloc[:n].to_numpy(dtype="float64")
        calls, deadline = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            bundle.predict_array(x)
            calls += 1
        out[n] = calls * n / (time.perf_counter() - start)
    return out


DROPS = "shipyard_shadow_dropped_requests_total"


def logged_rows(log: Path) -> int:
    """Lines in the log and its rotated files."""
    return sum(sum(1 for _ in path.open()) for path in log.parent.glob(f"{log.name}*"))


def metric(url: str, name: str) -> float:
    import httpx

    found = re.search(rf"^{name} ([\d.e+]+)$", httpx.get(f"{url}/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def serve_and_measure(
    name: str, params: dict, rows: list[dict], shapes: list, args: argparse.Namespace, tmp: Path
) -> list[Result]:
    """Serve models/bundle with `params`, drive each shape, then check that every answered
    row was logged once the load stopped (or counted as a shadow drop)."""
    slug = name.replace("/", "-").replace(" ", "")
    params_file, log = tmp / f"params-{slug}.yaml", tmp / f"{slug}.jsonl"
    params_file.write_text(yaml.safe_dump(params))
    env = {
        "SHIPYARD_BUNDLE": str(ROOT / "models/bundle"),
        "SHIPYARD_PREDICTION_LOG": str(log),
        "SHIPYARD_PARAMS": str(params_file),
        "BENTOML_HOME": os.environ.get("BENTOML_HOME", str(tmp / "bentoml")),
    }
    with bentoml_serve("shipyard.serving.service:Predictor", ROOT, env, tmp / f"{slug}.log") as url:
        warm_up(url, rows)
        results = []
        for shape in shapes:
            time.sleep(1)
            before, dropped = logged_rows(log), metric(url, DROPS)
            results += measure(name, url, rows, args.seconds, tmp, [shape])
            answered = results[-1].rows * (results[-1].requests - results[-1].errors)
            logged = logged_rows(log) - before
            while True:  # until the shadow queue has drained (it holds serve.shadow.queue)
                time.sleep(1)
                if logged == (logged := logged_rows(log) - before):
                    break
            print(
                f"  {answered} rows answered, {answered - logged} not logged after the load; "
                f"{metric(url, DROPS) - dropped:.0f} of {results[-1].requests} requests "
                "shadow-dropped",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument(
        "--only",
        choices=["shadow", "floor"],
        help="just the shadow comparison, or just /predict (batched, unbatched) vs the no-op",
    )
    args = parser.parse_args()

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    features = read_schema(ROOT / "models/bundle").features
    raw = pd.read_parquet(ROOT / "data/raw/dataset.parquet")[features]
    rows = raw.iloc[:1000].to_dict("records")

    json_shapes = [(n, c, "json") for n, c in SHAPES]
    arrow_shapes = [(n, c, "arrow") for n, c in ARROW_SHAPES]
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'asyncio client (aiohttp)'}")
    print(f"{'service':18s} body  rows    c     req/s     rows/s  p50(ms)  p99(ms) errors")
    results: list[Result] = []
    concurrent = [shape for shape in json_shapes if shape[1] == 32]
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        variants = {
            None: ["predict/batched", "predict/unbatched", "predict/shadow"],
            "floor": ["predict/batched", "predict/unbatched"],
            "shadow": ["predict/batched", "predict/shadow"],
        }[args.only]
        for name in variants:
            serve = copy.deepcopy(params)
            serve["serve"]["batching"]["enabled"] = name != "predict/unbatched"
            shadow = name == "predict/shadow"
            serve["serve"]["shadow"]["bundle"] = str(ROOT / "models/bundle") if shadow else None
            shapes = concurrent if args.only == "shadow" or shadow else json_shapes + arrow_shapes
            results += serve_and_measure(name, serve, rows, shapes, args, Path(tmp))
        if args.only != "shadow":
            floor_shapes = {(n, c, "json") for n, c in [*SHAPES, *ARROW_SHAPES]}
            with bentoml_serve(
                "noop_service:Noop", ROOT / "benchmarks", {}, Path(tmp) / "noop.log"
            ) as url:
                warm_up(url, rows)
                results += measure(
                    "noop (floor)", url, rows, args.seconds, Path(tmp), sorted(floor_shapes)
                )

    by = {(r.service, r.body, r.rows, r.concurrency): r for r in results}
    print("\nratios (same run):")
    if "predict/shadow" in variants:
        for n_rows, concurrency, kind in concurrent:
            mine = by[("predict/shadow", kind, n_rows, concurrency)]
            base = by[("predict/batched", kind, n_rows, concurrency)]
            print(
                f"  {'predict/shadow':18s} {n_rows:4d} rows c={concurrency:<2d}: "
                f"{mine.rps / base.rps:5.2f}x the req/s, "
                f"{mine.p99_ms / base.p99_ms:5.2f}x the p99 of predict/batched (no shadow)"
            )
    if args.only == "shadow":
        return print(f"\nerrors in all runs: {sum(r.errors for r in results)}")
    local = in_process(raw, min(args.seconds, 5.0), params["serve"]["torch_threads"])
    for n in local:
        print(f"{'in-process':18s} {n:4d}    - {'':9s} {local[n]:10.0f}")
    for name in ("predict/batched", "predict/unbatched"):
        for n_rows, concurrency, kind in json_shapes + arrow_shapes:
            mine = by[(name, kind, n_rows, concurrency)]
            floor = by[("noop (floor)", "json", n_rows, concurrency)]
            print(
                f"  {name:18s} {kind:5s} {n_rows:4d} rows c={concurrency:<2d}: "
                f"{mine.rps / floor.rps:5.2f}x the no-op's req/s (JSON), "
                f"{mine.rps * n_rows / local[min(n_rows, 100)]:6.3f}x in-process rows/s; "
                f"p50 {mine.p50_ms:6.1f} ms vs {floor.p50_ms:6.1f} ms"
            )
    print(f"\nerrors in all runs: {sum(r.errors for r in results)}")


if __name__ == "__main__":
    main()
