"""litert-quantizer steps (dnncomp.techniques.lq) on a small trained model: real files, read back."""

import pytest

from dnncomp.core.errors import UserError
from dnncomp.core.evaluate import accuracy, make_interpreter, tflite_logits
from dnncomp.techniques import lq
from dnncomp.techniques.quantize import convert

RESOLVERS = ("builtin_without_default_delegates", "auto")


@pytest.fixture
def fp32(tf_modules, trained):
    return convert(tf_modules[0], trained, "fp32", dense_per_channel=True)


def test_every_recipe_the_step_runs_is_one_of_the_quantizers():
    from litert_quantizer import recipe

    assert all(callable(getattr(recipe, name, None)) for name in lq.RECIPES)


@pytest.mark.parametrize("name", lq.RECIPES)
def test_each_recipe_makes_a_file_both_resolvers_run_with_its_weights_really_at_that_width(fp32, tiny_dataset, name):
    x, y = tiny_dataset.split("test")
    blob = lq.quantize(fp32, name, calibration=tiny_dataset.split("train")[0][:50])
    reference = accuracy(tflite_logits(make_interpreter(fp32), x), y)
    for resolver in RESOLVERS:
        assert accuracy(tflite_logits(make_interpreter(blob, resolver=resolver), x), y) >= reference - 0.05, resolver
    stored = lq.op_weight_types(blob)["FULLY_CONNECTED"]
    expected = "INT4" if "wi4" in name else "INT8"
    assert stored == {expected: 3}, f"{name}: the file stores {stored}"  # from the flatbuffer, not the file size
    if "wi4" in name:
        assert len(blob) < len(lq.quantize(fp32, "dynamic_wi8_afp32")) < len(fp32)


def test_static_recipes_need_calibration_samples(fp32):
    with pytest.raises(ValueError, match="recipe static_wi8_ai8 needs calibration samples"):
        lq.quantize(fp32, "static_wi8_ai8")


def test_per_op_choices_reach_the_file(fp32):
    first, second, logits = (name for name, _ in lq.int4_ops(fp32))
    blob = lq.quantize(fp32, choices={first: 4, second: 8, logits: None})
    assert lq.op_weight_types(blob)["FULLY_CONNECTED"] == {"INT4": 1, "INT8": 1, "FLOAT32": 1}


def test_mixed_precision_meets_its_budget_on_the_real_files(fp32, tiny_dataset):
    x, y = tiny_dataset.split("val")

    def val_accuracy(blob):
        return accuracy(tflite_logits(make_interpreter(blob), x), y)

    result = lq.mixed_precision(fp32, val_accuracy, budget_pt=1.0)
    assert result["reference_val_accuracy"] - val_accuracy(result["blob"]) <= 0.01
    assert set(result["choices"].values()) <= {4, 8, None}
    stored = lq.op_weight_types(result["blob"])["FULLY_CONNECTED"]
    assert stored.get("INT4", 0) == list(result["choices"].values()).count(4)


def test_an_op_that_breaks_the_budget_is_not_moved_to_int4(fp32):
    """With a stand-in accuracy: the logits op at int4 loses 2 pt, every other choice nothing."""
    names = [name for name, _ in lq.int4_ops(fp32)]
    result = lq.mixed_precision(fp32, lambda blob: 0.92 if blob == fp32 else fake_int4(blob, names), budget_pt=1.0)
    assert result["choices"][names[-1]] == 8 and result["choices"][names[0]] == 4
    assert [step["kept"] for step in result["steps"]][-1] is False


def fake_int4(blob, names):
    """0.90 where the logits op (the last FULLY_CONNECTED) holds int4 weights, else 0.92."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(blob, 0)
    graph = model.Subgraphs(0)
    last = None
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if graph.Tensors(op.Outputs(0)).Name().decode() == names[-1]:
            last = graph.Tensors(op.Inputs(1)).Type()
    return 0.90 if last == schema.TensorType.INT4 else 0.92


def test_a_budget_no_op_can_meet_is_a_clear_error(fp32):
    with pytest.raises(UserError, match=r"lqmix-a0.5: no op can be quantized within 0.5 pt .* raise techniques.lqmix"):
        lq.mixed_precision(fp32, lambda blob: 1.0 if blob == fp32 else 0.5, budget_pt=0.5)


def test_an_unknown_recipe_names_the_key_and_lists_the_recipes():
    with pytest.raises(ValueError, match=r"unknown recipe\(s\) \['int3'\], set in techniques.lq.recipes .*dynamic_wi4"):
        lq.check_recipes({"recipes": ["dynamic_wi4_afp32", "int3"]})
    lq.check_recipes({"recipes": list(lq.RECIPES)})
