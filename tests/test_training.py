"""Real Lightning fits on a tiny table: seconds, not minutes."""

import numpy as np
import pytest
import torch

from shipyard.config import ModelConfig
from shipyard.pipeline.task import task
from shipyard.pipeline.training import LAST, fit
from tests.helpers import tiny_classes, tiny_trainer

CLASSES = task("classification")
LABELS = [0, 1, 2]

MODEL = ModelConfig(
    name="mlp", hidden_sizes=[16], dropout=0.1, lr=0.01, weight_decay=0.0, batch_size=32
)


@pytest.fixture(scope="module")
def data():
    return tiny_classes()


def weights(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_same_seed_same_weights_and_it_learns(data, tmp_path):
    train, val = data
    first = fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(5), 1, tmp_path / "a")
    second = fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(5), 1, tmp_path / "b")
    for key, value in weights(first.net).items():
        assert torch.equal(value, second.net.state_dict()[key]), key
    accuracy = (first.net(torch.from_numpy(val[0])).argmax(1).numpy() == val[1]).mean()
    assert accuracy > 0.7
    assert first.epochs == 5 and not first.resumed


def test_other_seed_other_weights(data, tmp_path):
    train, val = data
    a = fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(2), 1, tmp_path / "a").net
    b = fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(2), 2, tmp_path / "b").net
    assert not torch.equal(a.layers[0].weight, b.layers[0].weight)


def test_interrupted_run_resumes_from_last_checkpoint(data, tmp_path):
    train, val = data
    ckpt, live = tmp_path / "run", tmp_path / "live"
    fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(2), 1, ckpt, live)  # "interrupted" at 2
    assert (ckpt / LAST).exists()
    resumed = fit(train, val, CLASSES, LABELS, MODEL, tiny_trainer(4), 1, ckpt, live)
    assert resumed.resumed and resumed.epochs == 4
    # dvclive continued the curve: the two epochs before the resume, and the two after.
    # (A resumed run ending as an uninterrupted one would: tests/test_training_resume.py.)
    loss = (live / "plots" / "metrics" / "val" / "loss.tsv").read_text().splitlines()
    assert len(loss) == 1 + 4


def test_regressor_learns_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)
    y = (200 + 40 * x[:, 0] - 25 * x[:, 1]).astype(np.float32)  # far from zero mean, unit std
    train, val = (x[:300], y[:300]), (x[300:], y[300:])
    fitted = fit(train, val, task("regression"), None, MODEL, tiny_trainer(30), 1, tmp_path)
    from shipyard.pipeline.mlp import predict

    predicted = predict(fitted.net, x[300:])
    assert predicted.shape == (100,)
    rmse = float(np.sqrt(np.mean((predicted - y[300:]) ** 2)))
    assert rmse < 0.25 * float(y.std()), rmse


def test_epoch_means_equal_lightnings_own_epoch_reduction():
    """The module sums per-batch values itself (`self.log` per batch costs more than a
    small step); the figures, which drive early stopping and the best checkpoint, must be
    the ones Lightning's `self.log(..., on_epoch=True, batch_size=n)` would give, bit for bit."""
    from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultCollection

    from shipyard.pipeline.modules import EpochMeans

    generator = torch.Generator().manual_seed(0)
    values = torch.rand(50, generator=generator) * 3
    sizes = [64] * 49 + [17]  # the last batch shorter, as a split's usually is
    lightning = _ResultCollection(training=True)
    ours = EpochMeans()
    for value, size in zip(values, sizes, strict=True):
        lightning.log("training_step", "loss", value, on_step=False, on_epoch=True, batch_size=size)
        ours.add({"loss": value}, size)
    expected = lightning["training_step.loss"].compute()
    assert torch.equal(ours.pop()["loss"], expected)
    assert ours.pop() == {} and ours.rows == 0  # popped: the next epoch starts from nothing
