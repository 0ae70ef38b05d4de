import ast
import inspect
import textwrap

import dvclive.lightning

from shipyard.workarounds.live_logger import SYNC_POINTS, LiveLogger, called_from_sync_point


def test_sync_points_are_the_ones_dvclive_looks_for():
    tree = ast.parse(textwrap.dedent(inspect.getsource(dvclive.lightning._should_sync)))
    tuples = [node for node in ast.walk(tree) if isinstance(node, ast.Tuple)]
    names = {elt.value for node in tuples for elt in node.elts if isinstance(elt, ast.Constant)}
    assert names == SYNC_POINTS, (
        "dvclive changed _should_sync: update shipyard.workarounds.live_logger"
    )


def test_called_from_sync_point_sees_the_caller_chain():
    def log_eval_end_metrics():
        return inner()

    def inner():
        return called_from_sync_point()

    assert log_eval_end_metrics() is True
    assert inner() is False


def test_logger_syncs_its_summary_at_sync_points(tmp_path):
    logger = LiveLogger(dir=str(tmp_path), save_dvc_exp=False, dvcyaml=False)

    def update_train_epoch_metrics():
        logger.log_metrics({"val/loss": 0.5}, step=3)

    update_train_epoch_metrics()
    assert '"loss": 0.5' in (tmp_path / "metrics.json").read_text()


def test_offline_live_skips_the_studio_payload_dvclive_would_drop(tmp_path, monkeypatch):
    """dvclive builds a Studio payload (re-reading every curve) on each sync, then drops it
    when Studio is not configured: the skip must be the one its post_to_studio consults."""
    import dvclive.studio

    from shipyard.workarounds.live_logger import OfflineLive

    module = inspect.getsource(dvclive.studio)  # the function is wrapped: read its module
    (function,) = (
        node
        for node in ast.walk(ast.parse(module))
        if isinstance(node, ast.FunctionDef) and node.name == "post_to_studio"
    )
    source = ast.get_source_segment(module, function)
    assert "if event in live._studio_events_to_skip:" in source, (
        "dvclive changed how it skips Studio events: update OfflineLive"
    )
    monkeypatch.delenv("DVC_STUDIO_TOKEN", raising=False)
    logger = LiveLogger(dir=str(tmp_path), save_dvc_exp=False, dvcyaml=False)
    live = logger.experiment
    assert isinstance(live, OfflineLive) and "data" in live._studio_events_to_skip

    def payload():
        raise AssertionError("built a Studio payload with no Studio")

    monkeypatch.setattr(live, "_get_live_data", payload)
    for step in range(3):
        logger.log_metrics({"val/loss": 1.0 / (step + 1)}, step=step, sync=True)
    assert '"loss": 0.333' in (tmp_path / "metrics.json").read_text()
