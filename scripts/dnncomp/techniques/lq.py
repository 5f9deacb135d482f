"""Post-training quantization with Google's litert-quantizer: real int4 and mixed-precision files.

litert-quantizer works on a .tflite, so each step converts its Keras parent to the float32 file
(the one every ratio is measured against) and quantizes that. `lq-{recipe}` applies one of the
quantizer's recipes to every op it covers; in 0.11 the int4 recipes cover FULLY_CONNECTED and
CONV_2D, so a DEPTHWISE_CONV_2D stays float (the record counts each op by the type of its weights).
`lqmix-a{budget}` chooses int4, int8 or float per op under a validation-accuracy budget."""

from __future__ import annotations

import re

import numpy as np

from ..core.errors import UserError
from ..core.stepkind import NUMBER, Param, StepKind

# The quantizer's recipes this step runs (functions of litert_quantizer.recipe; a test checks each exists).
RECIPES = ("weight_only_wi4_afp32", "dynamic_wi4_afp32", "dynamic_wi8_afp32", "static_wi8_ai8", "static_wi8_ai16")
# Ops that take int4 weights (per-op choices in lqmix are made among these).
INT4_OPS = ("FULLY_CONNECTED", "CONV_2D")


def check_recipes(section: dict) -> None:
    unknown = [r for r in section.get("recipes", []) if r not in RECIPES]
    if unknown:
        raise ValueError(
            f"recipes: unknown recipe(s) {unknown}, set in techniques.lq.recipes or the chain's sweep "
            f"(litert-quantizer recipes: {', '.join(RECIPES)})"
        )


STEP_KINDS = {
    "lq": StepKind(
        "lq-{recipe}",
        {"recipe": Param(r"[a-z][a-z0-9_]*", sweep="recipes")},
        makes="model.tflite",
        stage="conversion",
        rules="rules/quantize.smk",
        check=check_recipes,
    ),
    "lqmix": StepKind(
        "lqmix-a{budget}",
        {"budget": Param(NUMBER, float, sweep="budgets", fmt="{:.2f}")},
        makes="model.tflite",
        stage="conversion",
        rules="rules/quantize.smk",
    ),
}


# ----------------------------------------------------------------------------- quantizing a file


def quantizer_for(fp32: bytes, recipe_name: str | None = None, choices: dict | None = None):
    """A litert-quantizer Quantizer on the float32 file with a named recipe or per-op `choices`."""
    from litert_quantizer import quantizer, recipe

    q = quantizer.Quantizer(bytearray(fp32))
    if recipe_name is not None:
        q.load_quantization_recipe(getattr(recipe, recipe_name)())
    else:
        apply_choices(q, choices or {})
    return q


def quantize(fp32: bytes, recipe_name: str | None = None, *, choices: dict | None = None, calibration=None) -> bytes:
    """The float32 file quantized by a named recipe, or by per-op `choices` ({op output tensor: 4 | 8 |
    None for float}, the rest at dynamic int8). `calibration`: raw images, for the static recipes."""
    q = quantizer_for(fp32, recipe_name, choices)
    result = None
    if q.need_calibration:
        if calibration is None:
            raise ValueError(f"recipe {recipe_name} needs calibration samples")
        result = q.calibrate(calibration_data(fp32, calibration))
    out = q.quantize(result, enable_progress_report=False).quantized_model
    return bytes(out)  # the quantizer gives a bytearray; the interpreter takes bytes


def recipe_json(fp32: bytes, recipe_name: str | None = None, choices: dict | None = None) -> list:
    """The recipe as the quantizer holds it (JSON-able), to save beside the file."""
    return quantizer_for(fp32, recipe_name, choices).get_quantization_recipe()


def calibration_data(fp32: bytes, images: np.ndarray) -> dict:
    """{signature: [{input: one image}, ...]}: the representative samples the converter's int8 uses."""
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=fp32).get_signature_list()
    name = next(iter(signatures))
    (input_name,) = signatures[name]["inputs"]
    samples = images.astype(np.float32)
    return {name: [{input_name: samples[i : i + 1]} for i in range(len(samples))]}


def apply_choices(q, choices: dict) -> None:
    from litert_quantizer import algorithm_manager, qtyping

    # Per op, not ALL_SUPPORTED: a later per-op entry does not override an ALL_SUPPORTED one.
    for op in (*INT4_OPS, "DEPTHWISE_CONV_2D"):
        q.add_dynamic_config(".*", qtyping.TFLOperationName(op), 8)
    for tensor, bits in choices.items():
        regex = f"^{re.escape(tensor)};"  # the quantizer's op scope: each output name, then ';'
        for op in INT4_OPS:
            if bits is None:
                q.update_quantization_recipe(
                    regex, qtyping.TFLOperationName(op), algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE
                )
            else:
                q.add_dynamic_config(regex, qtyping.TFLOperationName(op), int(bits))


# ----------------------------------------------------------------------------- what the file holds


def weight_ops(blob: bytes):
    """(op name, weights tensor, output tensor, tensor types by code) of each op with a weights input
    (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D), read from the flatbuffer. A weight-only file stores
    the weights behind a DEQUANTIZE op: the tensor given is the stored one, that op's input."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(blob, 0)
    graph = model.Subgraphs(0)
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]

    def name(op):
        code = model.OperatorCodes(op.OpcodeIndex())
        return codes.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")

    dequantized = {op.Outputs(0): op.Inputs(0) for op in ops if name(op) == "DEQUANTIZE"}
    for op in ops:
        if name(op) in (*INT4_OPS, "DEPTHWISE_CONV_2D"):
            weights = graph.Tensors(dequantized.get(op.Inputs(1), op.Inputs(1)))
            yield name(op), weights, graph.Tensors(op.Outputs(0)), types


def op_weight_types(blob: bytes) -> dict:
    """{op name: {stored weight type: count}}: which ops got int4 or int8 weights and which stayed
    float (the interpreter reports int4 tensors as int8; the file says INT4)."""
    out = {}
    for op, weights, _, types in weight_ops(blob):
        kind = types[weights.Type()]
        out.setdefault(op, {})
        out[op][kind] = out[op].get(kind, 0) + 1
    return out


def int4_ops(fp32: bytes) -> list:
    """(output tensor name, weight count) of each op that can take int4 weights, in graph order."""
    return [
        (output.Name().decode(), int(np.prod(weights.ShapeAsNumpy())))
        for op, weights, output, _ in weight_ops(fp32)
        if op in INT4_OPS
    ]


# ----------------------------------------------------------------------------- mixed precision


def mixed_precision(fp32: bytes, accuracy_of, budget_pt: float) -> dict:
    """Per-op int4 / int8 / float under a validation-accuracy budget, measured on real files.

    `accuracy_of(blob)` is the validation accuracy of a file. Each op's sensitivity is the accuracy
    lost with that op alone at int4 (the rest at dynamic int8). Starting from every op at int8 (an op
    whose int8 alone breaks the budget stays float), ops move to int4 from the least sensitive per
    weight up; a move that takes the file past the budget is undone. Returns the choices, the file,
    each op's sensitivity and the accuracies along the way."""
    reference = accuracy_of(fp32)
    ops = int4_ops(fp32)
    if not ops:
        raise ValueError("the model has no FULLY_CONNECTED or CONV_2D op to quantize")
    choices = {name: 8 for name, _ in ops}
    int8_loss = {name: reference - accuracy_of(quantize(fp32, choices={name: 8})) for name, _ in ops}
    for name in sorted(int8_loss, key=int8_loss.get, reverse=True):
        if reference - accuracy_of(quantize(fp32, choices=choices)) <= budget_pt / 100:
            break
        choices[name] = None  # the most int8-sensitive op stays float until int8 fits the budget
    sensitivity = {name: reference - accuracy_of(quantize(fp32, choices={**choices, name: 4})) for name, _ in ops}
    weights = dict(ops)
    steps = []
    for name in sorted((n for n in choices if choices[n] == 8), key=lambda n: (sensitivity[n], -weights[n])):
        trial = {**choices, name: 4}
        acc = accuracy_of(quantize(fp32, choices=trial))
        kept = reference - acc <= budget_pt / 100
        steps.append({"op": name, "accuracy": acc, "kept": kept})
        if kept:
            choices = trial
    if all(bits is None for bits in choices.values()):
        worst = min(int8_loss, key=int8_loss.get)
        raise UserError(
            f"lqmix-a{budget_pt:g}: no op can be quantized within {budget_pt:g} pt of validation accuracy (the "
            f"least sensitive op, '{worst}', loses {int8_loss[worst] * 100:.2f} pt at int8 alone); raise "
            "techniques.lqmix.budgets"
        )
    blob = quantize(fp32, choices=choices)
    return {
        "choices": choices,
        "blob": blob,
        "reference_val_accuracy": reference,
        "val_accuracy": accuracy_of(blob),
        "sensitivity_int4": sensitivity,
        "loss_int8": int8_loss,
        "steps": steps,
        "weights": weights,
    }
