"""A run interrupted and resumed from its checkpoints ends as the uninterrupted run does:
the same weights bit for bit, the same metrics, the same dvclive files (every epoch once)."""

import shutil

import pytest
import torch

from shipyard.config import ModelConfig
from shipyard.pipeline.modules import Module
from shipyard.pipeline.task import task
from shipyard.pipeline.training import LAST, fit
from tests.helpers import tiny_classes, tiny_trainer

CLASSES = task("classification")
LABELS = [0, 1, 2]
SEED = 1
# Dropout and shuffling both draw random numbers: a resume must restore both streams.
MODEL = ModelConfig(
    name="mlp", hidden_sizes=[16], dropout=0.3, lr=0.01, weight_decay=0.0, batch_size=32
)
# lr 0.5 overshoots soon, so early stopping ends this run before max_epochs (checked below).
STOPS_EARLY = ModelConfig(
    name="mlp", hidden_sizes=[16], dropout=0.3, lr=0.5, weight_decay=0.0, batch_size=32
)


TRAINER = tiny_trainer(6, 50)
STOPPING = tiny_trainer(30, 1)


@pytest.fixture(scope="module")
def data():
    return tiny_classes()


class Interrupted(Exception):
    pass


# Where a run is interrupted: a hook of the LightningModule, and the epoch it raises in,
# which the resumed run trains first (None: any epoch, and nothing left to train). Every
# epoch is checkpointed at its end, after the module's on_train_epoch_end, so:
WHERE = {
    # mid-epoch 3: resumes from epoch 2's checkpoint, epochs 0-2 logged
    "mid-epoch": ("on_train_batch_start", 3),
    # epoch 3 validated and its val metrics logged, but not checkpointed: they are logged again
    "before-checkpoint": ("on_train_epoch_end", 3),
    # every epoch checkpointed (the run stopped early, or reached max_epochs): nothing to train
    "after-last-checkpoint": ("on_train_end", None),
}


def interrupt(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    hook, epoch = WHERE[where]
    own = getattr(Module, hook)  # the module's own work in that hook (epoch logging) first

    def raise_there(module: Module, *args: object) -> None:
        own(module, *args)
        if epoch is None or module.current_epoch == epoch:
            raise Interrupted(where)

    monkeypatch.setattr(Module, hook, raise_there, raising=False)


def files(directory):
    return {
        str(path.relative_to(directory)): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def run(data, tmp_path, name, model, trainer_config):
    train, val = data
    return fit(
        train, val, CLASSES, LABELS, model, trainer_config, SEED,
        tmp_path / name / "checkpoints", tmp_path / name / "live",
    )  # fmt: skip


# dvc_repro: the interrupted run's dvclive directory deleted, as `dvc repro` deletes a
# stage's outs before it runs it again; else left as it was (the stage rerun by hand).
@pytest.mark.parametrize(
    ("where", "model", "trainer_config", "dvc_repro"),
    [
        pytest.param("mid-epoch", MODEL, TRAINER, True, id="mid-epoch"),
        pytest.param("before-checkpoint", MODEL, TRAINER, False, id="before-checkpoint"),
        pytest.param("after-last-checkpoint", MODEL, TRAINER, True, id="after-max-epochs"),
        pytest.param("after-last-checkpoint", STOPS_EARLY, STOPPING, True, id="after-early-stop"),
    ],
)
def test_resumed_run_ends_as_the_uninterrupted_run(
    data, tmp_path, monkeypatch, where, model, trainer_config, dvc_repro
):
    whole = run(data, tmp_path, "whole", model, trainer_config)

    with monkeypatch.context() as patch:
        interrupt(patch, where)
        with pytest.raises(Interrupted):
            run(data, tmp_path, "cut", model, trainer_config)
    assert (tmp_path / "cut" / "checkpoints" / LAST).exists()
    if dvc_repro:
        shutil.rmtree(tmp_path / "cut" / "live")
    trained = []
    with monkeypatch.context() as patch:
        patch.setattr(Module, "on_train_epoch_start", lambda m: trained.append(m.current_epoch))
        resumed = run(data, tmp_path, "cut", model, trainer_config)

    assert resumed.resumed and not whole.resumed
    assert resumed.epochs == whole.epochs
    first = WHERE[where][1]  # no epoch trained twice, none again that was checkpointed
    assert trained == ([] if first is None else list(range(first, whole.epochs)))
    if trainer_config is STOPPING:
        assert whole.epochs < trainer_config.max_epochs  # it did stop early
    expected = whole.net.state_dict()
    for key, value in resumed.net.state_dict().items():
        assert torch.equal(value, expected[key]), key

    curves = files(tmp_path / "whole" / "live")
    assert files(tmp_path / "cut" / "live") == curves  # the summary metrics.json included
    steps = [line.split("\t")[0] for line in curves["plots/metrics/val/loss.tsv"].splitlines()]
    assert len(steps) == 1 + whole.epochs and len(set(steps)) == len(steps)
