"""Training loop shared by baselines, fine-tuning (pruning, clustering, QAT) and distillation."""

from __future__ import annotations

# Training steps per call into the compiled graph: fewer Python round trips per epoch, the same
# batches in the same order. Weights came out bit-identical to one step per call for every job of the
# default study except the T=20 distillation students (last bits; accuracy within 0.03 pt); TFMOT's
# pruning step counter advances inside the graph, so pruning schedules are unchanged.
STEPS_PER_EXECUTION = 32


def accuracy_metric(keras):
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def fit(keras, model, train: tuple, val: tuple, hp: dict, loss=None, metrics=None, callbacks=(), early_stopping=True):
    """Adam on (x, y) arrays; early stopping on validation accuracy restores the best epoch's weights.

    Fine-tuning steps that change the model during training (pruning masks, clustering) pass
    early_stopping=False: restoring an earlier epoch would undo their schedule.
    """
    loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.Adam(hp["learning_rate"]),
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
    history = model.fit(
        train[0],
        train[1],
        validation_data=val,
        epochs=hp["epochs"],
        batch_size=hp["batch_size"],
        shuffle=True,
        verbose=2,
        callbacks=cbs,
        validation_freq=validation_freq,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items() if key != "lr"}


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    return -(-num_samples // batch_size)
