"""Knowledge distillation (Hinton et al., 2015) as an ordinary Keras loss.

The teacher's logits are computed once per dataset and teacher (a rule output) and travel with the
labels: y_true = [label, teacher logits...]. So the student trains with the same `fit` as every
other model, and no step runs the teacher again.
"""

from __future__ import annotations

import numpy as np

from ..core.stepkind import NAME, NUMBER, Param, StepKind

STEP_KINDS = {
    "distill": StepKind(
        "distill-{student}-T{temperature}-a{alpha}-seed{seed}",
        {
            "student": Param(NAME, sweep="students"),
            "temperature": Param(NUMBER, float, sweep="temperatures", fmt="{:g}"),
            "alpha": Param(NUMBER, float, sweep="alphas", fmt="{:g}"),
            # The chain's own seed is the root's: the student's is another wildcard and column.
            "seed": Param(r"\d+", int, sweep="seeds", wildcard="student_seed", column="distill_seed"),
        },
        rules="rules/distill.smk",
    ),
}


def pack_targets(labels: np.ndarray, teacher_logits: np.ndarray) -> np.ndarray:
    if len(labels) != len(teacher_logits):
        raise ValueError(
            f"{len(labels)} labels but {len(teacher_logits)} teacher logits: were they computed on another split?"
        )
    return np.concatenate([labels.reshape(-1, 1).astype(np.float32), teacher_logits.astype(np.float32)], axis=1)


def distillation_loss(tf, keras, temperature: float, alpha: float):
    """alpha * CE(labels, student) + (1 - alpha) * T^2 * KL(softmax(teacher/T) || softmax(student/T))."""
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kl = keras.losses.KLDivergence()
    t = float(temperature)

    def loss(y_true, y_pred):
        labels, teacher = y_true[:, 0], y_true[:, 1:]
        soft_teacher = tf.nn.softmax(teacher / t)
        soft_student = tf.nn.softmax(y_pred / t)
        return alpha * ce(labels, y_pred) + (1.0 - alpha) * t * t * kl(soft_teacher, soft_student)

    loss.__name__ = f"distill_T{t:g}_a{alpha:g}"
    return loss


def packed_accuracy(keras):
    """Accuracy on packed targets (column 0 is the hard label)."""
    base = keras.metrics.sparse_categorical_accuracy

    def accuracy(y_true, y_pred):
        return base(y_true[:, :1], y_pred)

    return accuracy


def reference_loss(labels, student_logits, teacher_logits, temperature, alpha) -> float:
    """The same loss in plain numpy, for tests: mean over the batch."""

    def softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    p_student = softmax(student_logits)
    ce = -np.log(p_student[np.arange(len(labels)), labels]).mean()
    pt, ps = softmax(teacher_logits / temperature), softmax(student_logits / temperature)
    kl = np.sum(pt * np.log(pt / ps), axis=1).mean()
    return float(alpha * ce + (1 - alpha) * temperature**2 * kl)
