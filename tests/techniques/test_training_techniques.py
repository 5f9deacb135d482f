"""Quantization, pruning and distillation on a tiny model and dataset: real TFMOT and TFLite calls."""

import numpy as np
import pytest

from dnncomp.core.evaluate import accuracy, keras_logits, make_interpreter, tflite_logits
from dnncomp.core.sizes import parameter_counts
from dnncomp.inputs import models
from dnncomp.jobs.train import fit, steps_per_epoch
from dnncomp.measure import sensitivity
from dnncomp.techniques import distill, prune
from dnncomp.techniques.quantize import convert, convert_qat, qat_model, quantize_weights, split_mode
from helpers import HP


@pytest.mark.parametrize("mode", ["fp32", "fp16", "dynamic", "int8", "int8-sparse"])
def test_ptq_round_trip_keeps_accuracy(tf_modules, trained, tiny_dataset, mode):
    tf, _, _ = tf_modules
    x, y = tiny_dataset.split("test")
    blob = convert(tf, trained, mode, dense_per_channel=False, representative=tiny_dataset.x_train[:64])
    interpreter = make_interpreter(blob)
    if split_mode(mode)[0] == "int8":
        assert interpreter.get_input_details()[0]["dtype"] == np.int8
    keras_acc = accuracy(keras_logits(trained, x), y)
    assert abs(accuracy(tflite_logits(interpreter, x), y) - keras_acc) <= 0.02


def test_int8_needs_a_representative_dataset(tf_modules, trained):
    tf, _, _ = tf_modules
    with pytest.raises(ValueError, match="representative"):
        convert(tf, trained, "int8", dense_per_channel=False)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown tflite mode 'int4'"):
        split_mode("int4")


def test_quantize_weights_limits_levels_and_computes_size(trained):
    counts = parameter_counts(trained)
    size = quantize_weights(trained, bits=3)
    kernel = np.asarray(trained.get_layer("fc1").kernel)
    assert max(len(np.unique(kernel[:, c])) for c in range(kernel.shape[1])) <= 7
    n_kernel = 64 * 32 + 32 * 16 + 16 * 2
    n_bias = counts["params"] - n_kernel
    assert size["computed_bytes"] == -(-n_kernel * 3 // 8) + 4 * (32 + 16 + 2) + 4 * n_bias


@pytest.mark.parametrize("bits", [8, 4])
def test_qat_converts_to_integer_weights(tf_modules, trained, tiny_dataset, bits):
    tf, keras, tfmot = tf_modules
    model, scheme = qat_model(tfmot, keras, trained, bits)
    fit(keras, model, tiny_dataset.split("train"), tiny_dataset.split("val"), {**HP, "epochs": 1}, early_stopping=False)
    blob = convert_qat(tf, model)
    interpreter = make_interpreter(blob)
    kernels = [t for t in interpreter.get_tensor_details() if len(t["shape"]) == 2 and t["shape"].prod() >= 16 * 32]
    assert kernels and all(t["dtype"] == np.int8 for t in kernels)
    x, y = tiny_dataset.split("test")
    assert accuracy(tflite_logits(interpreter, x), y) > 0.9
    assert str(bits) in scheme


def pruned(tf_modules, model, dataset, sparsity, structure, cfg, epochs=1, layer_targets=None):
    """Prune `model` while fine-tuning it on `dataset` for `epochs`; the stripped model and the plan."""
    _, keras, tfmot = tf_modules
    steps = steps_per_epoch(len(dataset.x_train), HP["batch_size"]) * epochs
    wrapped, plan = prune.prune_wrap(tfmot, keras, model, sparsity, structure, steps, cfg, layer_targets=layer_targets)
    callbacks = prune.pruning_callbacks(tfmot)
    hp = {**HP, "epochs": epochs}
    fit(keras, wrapped, dataset.split("train"), dataset.split("val"), hp, callbacks=callbacks, early_stopping=False)
    return prune.strip(tfmot, wrapped), plan


def test_a_decaying_rate_holds_while_the_masks_still_change(tf_modules, trained, tiny_dataset):
    """The hold of `lr_decay` is the end of the pruning ramp, read from the wrapped model itself."""
    _, keras, tfmot = tf_modules
    cfg = {"ramp_fraction": 0.5, "frequency": 2, "block_size": [16, 1]}
    wrapped, _ = prune.prune_wrap(tfmot, keras, trained, 0.75, "unstructured", 40, cfg)
    assert prune.mask_steps(wrapped) == 20
    assert prune.mask_steps(trained) == 0  # no pruning wrappers: the decay starts at once


@pytest.mark.parametrize("structure", ["unstructured", "block"])
def test_pruning_reaches_target_sparsity(tf_modules, trained, tiny_dataset, structure):
    cfg = {"ramp_fraction": 0.5, "frequency": 2, "block_size": [16, 1], "max_layer_sparsity": {"fc2": 0.5}}
    model, plan = pruned(tf_modules, trained, tiny_dataset, 0.75, structure, cfg, epochs=2)
    sparsity = parameter_counts(model)["layer_sparsity"]
    assert sparsity["fc1"] == pytest.approx(0.75, abs=0.02)
    assert sparsity["fc2"] == pytest.approx(0.5, abs=0.05), "per-layer cap must hold"
    assert plan["fc1"]["block_size"] == ([16, 1] if structure == "block" else [1, 1])
    assert plan["logits"]["block_size"] == [1, 1], "the output layer is never block-pruned"
    if structure == "block":
        kernel = np.asarray(model.get_layer("fc1").kernel)
        blocks = kernel.reshape(4, 16, 32)  # 64 inputs = 4 blocks of 16 along the input axis
        nonzero = np.count_nonzero(blocks, axis=1)
        assert set(np.unique(nonzero)) <= {0, 16}, "block pruning must zero whole 16x1 blocks"


def test_2by4_pruning_keeps_two_of_every_four_inputs(tf_modules, trained, tiny_dataset):
    cfg = {"ramp_fraction": 0.5, "frequency": 2, "block_size": [16, 1], "max_layer_sparsity": {"fc2": 0.3}}
    model, plan = pruned(tf_modules, trained, tiny_dataset, 0.5, "2by4", cfg)
    for name in ("fc1", "logits"):  # 64 and 16 inputs: groups of 4 along the input axis
        kernel = np.asarray(model.get_layer(name).kernel)
        groups = kernel.T.reshape(kernel.shape[1], -1, 4)
        assert np.count_nonzero(groups, axis=-1).max() <= 2, f"{name}: a group of 4 inputs kept more than 2"
        assert plan[name]["m_by_n"] == [2, 4]
    assert plan["fc2"] == {"target_sparsity": 0.0, "m_by_n": None}, "a cap under 50 % keeps the layer dense"
    assert np.count_nonzero(np.asarray(model.get_layer("fc2").kernel)) == 32 * 16
    with pytest.raises(ValueError, match="'2by4' fixes the sparsity at 0.50"):
        prune.prune_wrap(tf_modules[2], tf_modules[1], trained, 0.75, "2by4", 10, cfg)


def test_layerwise_pruning_follows_the_sensitivity_allocation(tf_modules, trained, tiny_dataset):
    before = [w.copy() for w in trained.get_weights()]
    analysis = sensitivity.layer_curves(trained, ["fc1", "fc2", "logits"], [0.5, 0.9, 0.99], *tiny_dataset.split("val"))
    assert all(np.array_equal(a, b) for a, b in zip(before, trained.get_weights(), strict=True)), (
        "kernels must be restored"
    )
    assert analysis["layers"]["fc1"]["params"] == 64 * 32
    allocation = sensitivity.allocate(analysis["layers"], 0.8)
    cfg = {"ramp_fraction": 0.5, "frequency": 2, "block_size": [16, 1], "max_layer_sparsity": {"fc1": 0.1}}
    model, _ = pruned(tf_modules, trained, tiny_dataset, 0.8, "layerwise", cfg, layer_targets=allocation["targets"])
    achieved = parameter_counts(model)["layer_sparsity"]
    for name, target in allocation["targets"].items():  # the allocation replaces the caps
        assert achieved[name] == pytest.approx(target, abs=0.02), name
    with pytest.raises(ValueError, match="per-layer targets go with the 'layerwise' structure alone"):
        prune.prune_wrap(tf_modules[2], tf_modules[1], trained, 0.8, "unstructured", 10, cfg, layer_targets={})


def test_held_masks_keep_a_layerwise_models_own_sparsity(tf_modules, trained, tiny_dataset):
    """Self-distillation of a pruned model trains it further with its zeros held; a layerwise model has
    no common target, so each layer holds the sparsity its kernel has."""
    cfg = {"ramp_fraction": 0.5, "frequency": 2, "block_size": [16, 1]}
    targets = {"fc1": 0.9, "fc2": 0.3, "logits": 0.6}
    parent, _ = pruned(tf_modules, trained, tiny_dataset, 0.8, "layerwise", cfg, layer_targets=targets)
    before = parameter_counts(parent)["layer_sparsity"]
    _, keras, tfmot = tf_modules
    wrapped, plan = prune.hold_wrap(tfmot, keras, parent, 0.8, "layerwise", 20, cfg)
    assert prune.mask_steps(wrapped) == 1, "the masks are in place from the first step"
    fit(
        keras,
        wrapped,
        tiny_dataset.split("train"),
        tiny_dataset.split("val"),
        {**HP, "epochs": 2},
        callbacks=prune.pruning_callbacks(tfmot),
        early_stopping=False,
    )
    after = parameter_counts(prune.strip(tfmot, wrapped))["layer_sparsity"]
    assert after == before and before == pytest.approx(targets, abs=0.02)
    assert {name: entry["target_sparsity"] for name, entry in plan.items()} == pytest.approx(before, abs=1e-4)


def test_clustering_limits_unique_values_and_keeps_zeros(tf_modules, trained, tiny_dataset):
    _, keras, tfmot = tf_modules
    kernel = np.asarray(trained.get_layer("fc1").kernel)
    kernel[np.abs(kernel) < np.percentile(np.abs(kernel), 50)] = 0
    trained.get_layer("fc1").kernel.assign(kernel)
    model, skipped = prune.cluster_wrap(tfmot, keras, trained, 8)
    assert skipped == {}
    fit(keras, model, tiny_dataset.split("train"), tiny_dataset.split("val"), {**HP, "epochs": 1}, early_stopping=False)
    model = prune.strip_clusters(tfmot, model)
    clustered = np.asarray(model.get_layer("fc1").kernel)
    assert len(np.unique(clustered)) <= 9
    assert np.count_nonzero(clustered) <= np.count_nonzero(kernel)


def test_block_for_falls_back_for_convolutions_and_odd_shapes(tf_modules):
    _, keras, _ = tf_modules
    model = models.build(keras, "c", {"type": "cnn", "conv": [4], "dense": [32]}, (8, 8, 1), 10)
    assert prune.block_for(keras, model.get_layer("conv1"), "block", (16, 1)) == (1, 1)
    assert prune.block_for(keras, model.get_layer("logits"), "block", (16, 1)) == (16, 1)  # 32x10
    assert prune.block_for(keras, model.get_layer("logits"), "block", (16, 1), is_output=True) == (1, 1)
    assert prune.block_for(keras, model.get_layer("fc1"), "block", (16, 1)) == (16, 1)  # 64x32
    assert prune.block_for(keras, model.get_layer("fc1"), "block", (64, 1)) == (1, 1)  # one block row
    assert prune.block_for(keras, model.get_layer("logits"), "block", (16, 10)) == (1, 1)  # one block column


def test_distillation_loss_matches_hand_computation(tf_modules):
    tf, keras, _ = tf_modules
    rng = np.random.default_rng(0)
    labels = np.array([0, 2, 1, 2])
    student, teacher = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32) * 3
    loss = distill.distillation_loss(tf, keras, temperature=4.0, alpha=0.3)
    value = float(loss(tf.constant(distill.pack_targets(labels, teacher)), tf.constant(student)))
    assert value == pytest.approx(distill.reference_loss(labels, student, teacher, 4.0, 0.3), rel=1e-5)


def test_distillation_loss_hand_value():
    # One sample, two classes, T=1, alpha=0.5: CE = log(2) for equal student logits; KL from a
    # teacher of p=(0.5, 0.5) is 0, so the loss is 0.5 * log(2).
    value = distill.reference_loss(np.array([0]), np.zeros((1, 2)), np.zeros((1, 2)), 1.0, 0.5)
    assert value == pytest.approx(0.5 * np.log(2))


def test_pack_targets_checks_lengths():
    with pytest.raises(ValueError, match="3 labels but 2 teacher logits"):
        distill.pack_targets(np.zeros(3), np.zeros((2, 10)))


def test_student_trains_on_packed_targets(tf_modules, trained, tiny_dataset):
    tf, keras, _ = tf_modules
    logits = {s: keras_logits(trained, tiny_dataset.split(s)[0]) for s in ("train", "val")}
    student = models.build(keras, "student", {"type": "mlp", "hidden": [8]}, tiny_dataset.input_shape, 2)
    history = fit(
        keras,
        student,
        (tiny_dataset.x_train, distill.pack_targets(tiny_dataset.y_train, logits["train"])),
        (tiny_dataset.x_val, distill.pack_targets(tiny_dataset.y_val, logits["val"])),
        {**HP, "patience": 2},
        loss=distill.distillation_loss(tf, keras, 4.0, 0.1),
        metrics=[distill.packed_accuracy(keras)],
    )
    assert "val_accuracy" in history
    x, y = tiny_dataset.split("test")
    assert accuracy(keras_logits(student, x), y) > 0.9


def dense_kernel_scales(blob) -> list:
    """Number of quantization scales of each int8 2-D weight tensor (Dense kernels) in a .tflite."""
    interpreter = make_interpreter(blob)
    return [
        len(t["quantization_parameters"]["scales"])
        for t in interpreter.get_tensor_details()
        if t["dtype"] == np.int8 and len(t["shape"]) == 2 and t["shape"][0] > 1 and t["shape"][1] > 1
    ]


def test_per_tensor_dense_switch_is_honoured(tf_modules, trained, tiny_dataset):
    """dense_per_channel=False relies on a private converter attribute; if a TensorFlow upgrade stops
    honouring it, Dense kernels silently go back to per-channel scales and int8 files grow. Fail loudly."""
    tf, _, _ = tf_modules
    sample = tiny_dataset.x_train[:32]
    per_tensor = dense_kernel_scales(convert(tf, trained, "int8", dense_per_channel=False, representative=sample))
    per_channel = dense_kernel_scales(convert(tf, trained, "int8", dense_per_channel=True, representative=sample))
    assert per_tensor and all(n == 1 for n in per_tensor), f"per-tensor switch ignored: {per_tensor} scales"
    assert max(per_channel) > 1, f"per-channel conversion gave {per_channel} scales"


def int8_kernel(blob, shape: tuple) -> np.ndarray:
    """The int8 weight tensor of `shape` in a .tflite (Dense kernels are stored [out, in])."""
    interpreter = make_interpreter(blob)
    (detail,) = [t for t in interpreter.get_tensor_details() if tuple(t["shape"]) == shape and t["dtype"] == np.int8]
    return interpreter.get_tensor(detail["index"])


@pytest.mark.parametrize("preserving", [True, False])
def test_pcqat_keeps_zeros_and_shared_values_in_the_int8_file(tf_modules, trained, tiny_dataset, preserving):
    """PCQAT after prune -> cluster keeps both in the deployable file; plain QAT (the control) does not."""
    tf, keras, tfmot = tf_modules
    kernel = np.asarray(trained.get_layer("fc1").kernel)
    kernel[np.abs(kernel) < np.percentile(np.abs(kernel), 50)] = 0
    trained.get_layer("fc1").kernel.assign(kernel)
    clustered = prune.strip_clusters(tfmot, prune.cluster_wrap(tfmot, keras, trained, 8)[0])
    model, scheme = qat_model(tfmot, keras, clustered, 8, pruned=preserving, clustered=preserving)
    assert scheme == ("8bit-sparsity-cluster-preserving" if preserving else "8bit-default")
    fit(keras, model, tiny_dataset.split("train"), tiny_dataset.split("val"), {**HP, "epochs": 1}, early_stopping=False)
    weights = int8_kernel(convert_qat(tf, model), (32, 64))
    zeros, levels = np.mean(weights == 0), len(np.unique(weights))
    if preserving:
        assert zeros >= 0.49 and levels <= 9, f"PCQAT lost structure: {zeros:.2f} zeros, {levels} levels"
    else:
        assert zeros < 0.49 or levels > 9, "plain QAT kept the structure: the check above proves nothing"
    x, y = tiny_dataset.split("test")
    assert accuracy(tflite_logits(make_interpreter(convert_qat(tf, model)), x), y) > 0.9


def test_a_kernel_too_sparse_to_cluster_is_left_as_it_is_and_named(tf_modules, trained):
    """TFMOT cannot place more centroids than a sign has weights: that layer stays unclustered."""
    _, keras, tfmot = tf_modules
    kernel = np.zeros_like(np.asarray(trained.get_layer("fc2").kernel))
    kernel[0, :3] = [-0.5, 0.3, 0.2]
    trained.get_layer("fc2").kernel.assign(kernel)
    model, skipped = prune.cluster_wrap(tfmot, keras, trained, 8)
    assert list(skipped) == ["fc2"] and skipped["fc2"].startswith("3 non-zero weights: too few of one sign")
    stripped = prune.strip_clusters(tfmot, model)
    assert len(np.unique(np.asarray(stripped.get_layer("fc1").kernel))) <= 8  # the others are clustered
    np.testing.assert_array_equal(np.asarray(stripped.get_layer("fc2").kernel), kernel)
