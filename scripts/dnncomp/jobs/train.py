"""Training loop shared by baselines, fine-tuning (pruning, clustering, QAT) and distillation."""

from __future__ import annotations

from ..study.config import LR_DECAY_DEFAULT, LR_DECAYS
from ..techniques.prune import mask_steps

# Training steps per call into the compiled graph: fewer Python round trips per epoch, the same
# batches in the same order. Weights came out bit-identical to one step per call for every job of the
# default study except the T=20 distillation students (last bits; accuracy within 0.03 pt); TFMOT's
# pruning step counter advances inside the graph, so pruning schedules are unchanged.
STEPS_PER_EXECUTION = 32


def batches(tf, x, y, batch_size: int, shuffle: bool):
    """(x, y) arrays as batches in a tf.data pipeline with autotuning off.

    Keras's own array pipeline is autotuned, and tf.data's autotuning thread holds up the destruction
    of every iterator (the end of each fit and validation pass) for up to about 10 s whenever two jobs
    share the cores: measured, two concurrent pruning jobs each spent 21 % of their wall time idle.
    Batches are gathered from a shuffled index, as Keras does, so the arrays are never copied per epoch."""
    xs, ys = tf.constant(x), tf.constant(y)
    index = tf.data.Dataset.range(len(x))
    if shuffle:
        index = index.shuffle(len(x), reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.autotune.enabled = False
    return index.batch(batch_size).map(lambda i: (tf.gather(xs, i), tf.gather(ys, i))).with_options(options)


def accuracy_metric(keras):
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def fit(keras, model, train: tuple, val: tuple, hp: dict, loss=None, metrics=None, callbacks=(), early_stopping=True):
    """Adam on (x, y) arrays; early stopping on validation accuracy restores the best epoch's weights.

    Fine-tuning steps that change the model during training (pruning masks, clustering) pass
    early_stopping=False: restoring an earlier epoch would undo their schedule. A decaying learning
    rate (hp `lr_decay`) holds while the model's pruning masks still change.
    """
    loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(keras, hp, len(train[0]), mask_steps(model))),
        loss=loss,
        metrics=metrics or [accuracy_metric(keras)],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    cbs = list(callbacks)
    if early_stopping and hp.get("reduce_lr_patience"):
        # Smaller steps once validation accuracy stalls: the last few tenths of a point.
        cbs.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_accuracy", mode="max", factor=0.2, patience=hp["reduce_lr_patience"], min_lr=1e-6
            )
        )
    if early_stopping and hp.get("patience"):
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy", mode="max", patience=hp["patience"], restore_best_weights=True
            )
        )
    # Without early stopping nothing reads the per-epoch validation score: validate after the last epoch only.
    validation_freq = 1 if early_stopping else [hp["epochs"]]
    import tensorflow as tf

    history = model.fit(
        batches(tf, *train, hp["batch_size"], shuffle=True),
        validation_data=batches(tf, *val, hp["batch_size"], shuffle=False),
        epochs=hp["epochs"],
        verbose=2,
        callbacks=cbs,
        validation_freq=validation_freq,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items() if key != "lr"}


def learning_rate(keras, hp: dict, num_samples: int, hold_steps: int = 0):
    """The configured rate, or with `lr_decay: cosine` that rate held for `hold_steps` (while a pruning
    schedule still raises the sparsity) and then decayed along a cosine to zero by the last step."""
    decay = hp.get("lr_decay", LR_DECAY_DEFAULT)
    if decay == LR_DECAY_DEFAULT:
        return hp["learning_rate"]
    if decay not in LR_DECAYS:
        raise ValueError(f"lr_decay: unknown schedule {decay!r} ({' | '.join(LR_DECAYS)})")
    steps = steps_per_epoch(num_samples, hp["batch_size"]) * hp["epochs"]
    hold = min(hold_steps, steps - 1)
    rate = hp["learning_rate"]
    # A warm-up from the rate to itself is the hold.
    return keras.optimizers.schedules.CosineDecay(rate, steps - hold, warmup_target=rate, warmup_steps=hold)


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return -(-num_samples // batch_size)
