"""Quantization: post-training conversion with the TFLite converter, a simulated n-bit weight sweep,
and quantization-aware training with TFMOT."""

from __future__ import annotations

import numpy as np

from ..core.sizes import packed_bits_size, quantize_symmetric, weight_arrays
from ..core.stepkind import Param, StepKind

TFLITE_MODES = ("fp32", "fp16", "dynamic", "int8")  # each may end in -sparse: sparse tensor encoding
GRANULARITIES = ("channel", "tensor")

STEP_KINDS = {
    "tflite": StepKind(
        "tflite-{mode}",
        {"mode": Param(rf"(?:{'|'.join(TFLITE_MODES)})(?:-sparse)?", sweep="modes")},
        makes="model.tflite",
        stage="conversion",
        rules="rules/quantize.smk",
    ),
    "wq": StepKind(
        "wq-b{bits}-{granularity}",
        {
            "bits": Param(r"\d+", int, sweep="bits"),
            "granularity": Param("|".join(GRANULARITIES), sweep="granularities"),
        },
        makes=None,  # simulated n-bit weights: sizes and accuracy only
        stage="conversion",
        rules="rules/quantize.smk",
    ),
    "qat": StepKind(
        "qat-b{bits}", {"bits": Param(r"\d+", int, sweep="bits")}, makes="model.tflite", rules="rules/quantize.smk"
    ),
}


def split_mode(mode: str) -> tuple:
    """'int8-sparse' -> ('int8', True): the suffix asks the converter to store sparse tensors sparsely."""
    base, _, suffix = mode.partition("-")
    if base not in TFLITE_MODES or suffix not in ("", "sparse"):
        raise ValueError(f"unknown tflite mode '{mode}' (known: {', '.join(TFLITE_MODES)}, each optionally '-sparse')")
    return base, suffix == "sparse"


def convert(tf, model, mode: str, *, dense_per_channel: bool, representative: np.ndarray | None = None) -> bytes:
    """Convert a Keras model to a .tflite flatbuffer in one of the post-training modes.

    dense_per_channel=False quantizes Dense kernels per tensor: each per-channel scale costs a float32
    scale and an int64 zero point (for kernel and bias), about 5 KB on LeNet-5, a tenth of its int8 file.
    """
    base, sparse = split_mode(mode)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter._experimental_disable_per_channel_quantization_for_dense_layers = not dense_per_channel
    optimizations = []
    if base != "fp32":
        optimizations.append(tf.lite.Optimize.DEFAULT)
    if sparse:
        optimizations.append(tf.lite.Optimize.EXPERIMENTAL_SPARSITY)
    converter.optimizations = optimizations
    if base == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif base == "int8":
        if representative is None:
            raise ValueError("full-integer int8 needs a representative dataset")
        samples = representative.astype(np.float32)
        converter.representative_dataset = lambda: ([samples[i : i + 1]] for i in range(len(samples)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def with_softmax(keras, model):
    """The model with a softmax after its logits (a user's model that gave probabilities)."""
    return keras.Model(model.inputs, keras.layers.Softmax(name="probabilities")(model.outputs[0]), name=model.name)


def convert_qat(tf, qat_model, sparse: bool = False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(qat_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT] + ([tf.lite.Optimize.EXPERIMENTAL_SPARSITY] if sparse else [])
    return converter.convert()


def quantize_weights(model, bits: int, per_channel: bool = True) -> dict:
    """Replace every kernel by its symmetric n-bit quantization, in place; return the computed size.

    The size counts what an n-bit deployment would store: kernels packed at `bits` bits, one float32
    scale per channel (or tensor), and float32 biases. No file is written at this size.
    """
    num_weights = num_scales = num_float = 0
    for layer in model.layers:
        if getattr(layer, "kernel", None) is None:
            continue
        kernel = np.asarray(layer.kernel)
        quantized, scales = quantize_symmetric(kernel, bits, per_channel)
        layer.kernel.assign(quantized)
        num_weights += kernel.size
        num_scales += scales.size
    for _, _, bias in weight_arrays(model):
        num_float += 0 if bias is None else bias.size
    return {
        "computed_bytes": packed_bits_size(num_weights, bits, num_scales, num_float),
        "quantized_weights": num_weights,
        "scales": num_scales,
    }


def qat_scheme(tfmot, bits: int, pruned: bool = False, clustered: bool = False):
    """The TFMOT scheme for `bits`-bit QAT and its name. At 8 bits TFMOT's collaborative optimization
    keeps what the parent's steps made: a pruned parent's zeros (PQAT), a clustered parent's shared
    values (CQAT), or both (PCQAT); other widths use the experimental n-bit scheme (8-bit activations),
    which preserves neither, as its name says."""
    combine = tfmot.experimental.combine
    if bits != 8:
        scheme = tfmot.quantization.keras.experimental.default_n_bit.DefaultNBitQuantizeScheme(
            num_bits_weight=bits, num_bits_activation=8
        )
        return scheme, f"{bits}bit-weights-8bit-activations"
    if clustered:
        name = "8bit-sparsity-cluster-preserving" if pruned else "8bit-cluster-preserving"
        return combine.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=pruned), name
    if pruned:
        return combine.Default8BitPrunePreserveQuantizeScheme(), "8bit-prune-preserving"
    return None, "8bit-default"


def qat_model(tfmot, keras, model, bits: int, pruned: bool = False, clustered: bool = False):
    """Wrap Dense and Conv2D layers for quantization-aware training at `bits`-bit weights, with the
    scheme that preserves the parent's sparsity and clusters (qat_scheme).

    The Rescaling layer is not supported by TFMOT's registry, so layers are annotated one by one.
    """
    qk = tfmot.quantization.keras
    quantizable = (keras.layers.Dense, keras.layers.Conv2D)
    output_config = rescaling_output_config(tfmot)

    def annotate(layer):
        if isinstance(layer, quantizable):
            return qk.quantize_annotate_layer(layer)
        if isinstance(layer, keras.layers.Rescaling):
            # Quantize the rescaled pixels, or the first layer's input stays float and it is not converted to int8.
            return qk.quantize_annotate_layer(layer, quantize_config=output_config)
        return layer

    annotated = keras.models.clone_model(model, clone_function=annotate)
    scheme, name = qat_scheme(tfmot, bits, pruned, clustered)
    with qk.quantize_scope({type(output_config).__name__: type(output_config)}):
        quantized = qk.quantize_apply(annotated, scheme) if scheme else qk.quantize_apply(annotated)
    return quantized, name


QAT_WEIGHTS = "qat.weights.h5"  # beside a QAT step's .tflite: the fine-tuned Keras model's weights


def preserved(chain) -> dict:
    """What 8-bit QAT must keep of its parent: the zeros of a pruned chain, the shared values of a clustered one."""
    return {"pruned": chain.find("prune") is not None, "clustered": chain.find("cluster") is not None}


def load_qat(tfmot, keras, parent, weights_path, bits: int, pruned: bool, clustered: bool):
    """A fine-tuned QAT model: its parent annotated again with the same scheme, given the saved weights."""
    model, _ = qat_model(tfmot, keras, parent, bits, pruned=pruned, clustered=clustered)
    model.load_weights(weights_path)
    return model


def rescaling_output_config(tfmot):
    """A QuantizeConfig that leaves a layer's arithmetic alone and quantizes its output to 8 bits."""
    qk = tfmot.quantization.keras

    class RescalingOutputQuantizeConfig(qk.QuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [
                qk.quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)
            ]

        def get_config(self):
            return {}

    return RescalingOutputQuantizeConfig()
