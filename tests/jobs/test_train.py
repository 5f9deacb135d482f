"""The training loop every training step shares (dnncomp.jobs.train)."""

import numpy as np
import pytest

from dnncomp.core.evaluate import accuracy, keras_logits
from dnncomp.jobs.train import batches, fit, learning_rate, steps_per_epoch
from helpers import HP


def test_batches_cover_every_sample_once_per_epoch_without_autotuning(tf_modules):
    tf = tf_modules[0]
    x, y = np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5)
    data = batches(tf, x, y, batch_size=2, shuffle=True)
    assert data.options().autotune.enabled is False
    epochs = [[(bx.numpy(), by.numpy()) for bx, by in data] for _ in range(2)]
    for epoch in epochs:
        assert [len(by) for _, by in epoch] == [2, 2, 1]
        labels = np.concatenate([by for _, by in epoch])
        assert sorted(labels) == list(range(5))
        np.testing.assert_array_equal(np.concatenate([bx for bx, _ in epoch]), x[labels])
    ordered = np.concatenate([by for _, by in batches(tf, x, y, batch_size=2, shuffle=False)])
    assert list(ordered) == list(range(5))


def test_cosine_lr_decay_holds_the_rate_then_ends_the_fine_tuning_near_zero(tf_modules, trained, tiny_dataset):
    keras = tf_modules[1]
    hp = {**HP, "epochs": 2, "lr_decay": "cosine"}
    train = tiny_dataset.split("train")
    total = steps_per_epoch(len(train[0]), hp["batch_size"]) * hp["epochs"]
    hold = total // 4
    schedule = learning_rate(keras, hp, len(train[0]), hold_steps=hold)
    rate = HP["learning_rate"]
    assert [float(schedule(step)) for step in (0, hold // 2, hold)] == pytest.approx([rate] * 3)
    assert float(schedule(hold + (total - hold) // 2)) == pytest.approx(rate / 2, rel=0.05)
    assert float(schedule(total)) == pytest.approx(0.0, abs=1e-9)
    fit(keras, trained, train, tiny_dataset.split("val"), hp, early_stopping=False)  # no masks: no hold
    optimizer = trained.optimizer
    assert int(optimizer.iterations) == total
    assert float(optimizer.learning_rate) < rate / 100  # the rate the last step used
    assert learning_rate(keras, HP, len(train[0])) == rate  # no decay: the constant rate
    with pytest.raises(ValueError, match="lr_decay: unknown schedule 'step'"):
        learning_rate(keras, {**HP, "lr_decay": "step"}, len(train[0]))


def test_baseline_learns_the_tiny_task(trained, tiny_dataset):
    x, y = tiny_dataset.split("test")
    assert accuracy(keras_logits(trained, x), y) > 0.95
