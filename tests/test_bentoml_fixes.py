import asyncio

from bentoml._internal.server.http.traffic import TimeoutMiddleware

from shipyard.workarounds import bentoml_fixes


def test_fix_targets_the_installed_bentoml():
    assert bentoml_fixes.upstream_matches() or TimeoutMiddleware.__call__ is bentoml_fixes._call, (
        "BentoML's TimeoutMiddleware changed: re-check the leak, update or drop the fix"
    )
    assert bentoml_fixes.apply()


def run_requests(middleware, n: int) -> int:
    """Pending timers on the loop after n requests have completed."""

    async def main() -> int:
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        async def send(message):
            pass

        mw = middleware(app, timeout=60)
        for _ in range(n):
            await mw({"type": "http"}, None, send)
        loop = asyncio.get_running_loop()
        return len([h for h in loop._scheduled if not h.cancelled()])

    return asyncio.run(main())


def test_completed_requests_leave_no_pending_timers():
    bentoml_fixes.apply()
    assert run_requests(TimeoutMiddleware, 50) == 0


def test_timeout_still_answers_504():
    bentoml_fixes.apply()
    sent = []

    async def main():
        async def slow(scope, receive, send):
            await asyncio.sleep(5)

        async def send(message):
            sent.append(message)

        await TimeoutMiddleware(slow, timeout=0.05)({"type": "http"}, None, send)

    asyncio.run(main())
    assert sent[0]["status"] == 504


def test_metrics_label_fix_targets_the_installed_bentoml():
    from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware

    patched = getattr(RunnerTrafficMetricsMiddleware.__call__, "shipyard_fix", False)
    assert patched or bentoml_fixes.metrics_upstream_matches(), (
        "BentoML's metrics middleware changed: re-check its path labels, update or drop the fix"
    )
    bentoml_fixes.apply()
    assert RunnerTrafficMetricsMiddleware.__call__.shipyard_fix


def test_served_paths_are_the_apis_bentoml_routes_and_static_files():
    paths = bentoml_fixes.served_paths()
    assert {"/metrics", "/readyz", "/docs.json"} <= paths
    assert "/static_content/swagger-ui.css" in paths
    assert "/nope" not in paths
