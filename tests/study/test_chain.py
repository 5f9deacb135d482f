import re

import pytest

from dnncomp.study import chain as chain_grammar
from dnncomp.study import config as study_config
from dnncomp.techniques.quantize import TFLITE_MODES


def test_step_tokens_round_trip():
    for kind, params in [
        ("tflite", {"mode": "int8-sparse"}),
        ("wq", {"bits": 4, "granularity": "channel"}),
        ("qat", {"bits": 4}),
        ("prune", {"sparsity": 0.9, "structure": "block"}),
        ("cluster", {"clusters": 16}),
        ("distill", {"student": "mlp32", "temperature": 4.0, "alpha": 0.1, "seed": 2}),
    ]:
        token = chain_grammar.step_token(kind, **params)
        assert chain_grammar.parse_step(token) == chain_grammar.Step(kind, params)


def test_sparsity_is_formatted_with_two_decimals():
    assert chain_grammar.step_token("prune", sparsity=0.9, structure="unstructured") == "prune-s0.90-unstructured"


@pytest.mark.parametrize(
    ("kind", "params", "token"),
    [
        ("prune", {"sparsity": 0.975, "structure": "unstructured"}, "prune-s0.975-unstructured"),
        ("distill", {"student": "mlp32", "temperature": 2.5000001, "alpha": 0.1, "seed": 0}, None),
    ],
)
def test_a_value_finer_than_its_format_keeps_its_digits(kind, params, token):
    """0.975 must not be written as 0.97 or 0.98: another sparsity's directory, pruned to the wrong target."""
    written = chain_grammar.step_token(kind, **params)
    assert token is None or written == token
    assert chain_grammar.parse_step(written) == chain_grammar.Step(kind, params)


def test_an_optional_parameter_is_written_only_away_from_its_default():
    """A longer recovery budget names its own directory; the default budget keeps the paths it had."""
    default = chain_grammar.step_token("prune", sparsity=0.9, structure="block", recovery=1)
    assert default == chain_grammar.step_token("prune", sparsity=0.9, structure="block") == "prune-s0.90-block"
    longer = chain_grammar.step_token("prune", sparsity=0.975, structure="unstructured", recovery=5)
    assert longer == "prune-s0.975-unstructured-x5"
    assert chain_grammar.parse_step(longer).params == {"sparsity": 0.975, "structure": "unstructured", "recovery": 5}
    assert chain_grammar.parse_step(default) == chain_grammar.Step("prune", {"sparsity": 0.9, "structure": "block"})
    assert chain_grammar.parse_step(default).params["recovery"] == 1
    for bad in ("prune-s0.90-block-x0", "prune-s0.90-block-x", "prune-s0.90-block-5"):
        with pytest.raises(ValueError, match="not a known step name"):
            chain_grammar.parse_step(bad)


def test_an_optional_wildcard_holds_its_whole_slot_and_may_be_empty():
    """Snakemake matches "prune-s{sparsity}-{structure}{recovery}": {recovery} is "" or "-x5"."""
    pattern = chain_grammar.WILDCARDS["recovery"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "-x5") and not re.fullmatch(pattern, "5")
    wildcards = {"sparsity": "0.975", "structure": "unstructured", "recovery": "-x5"}
    step = chain_grammar.step_from_wildcards("prune", wildcards)
    assert step.params == {"sparsity": 0.975, "structure": "unstructured", "recovery": 5}
    assert chain_grammar.step_from_wildcards("prune", {**wildcards, "recovery": ""}).params["recovery"] == 1


def test_a_sweep_may_leave_out_an_optional_parameter_or_sweep_it():
    sweep = {"sparsities": [0.9], "structures": ["unstructured"]}
    assert [s.token for s in chain_grammar.step_variants("prune", sweep)] == ["prune-s0.90-unstructured"]
    tokens = [s.token for s in chain_grammar.step_variants("prune", {**sweep, "recovery": [1, 5]})]
    assert tokens == ["prune-s0.90-unstructured", "prune-s0.90-unstructured-x5"]


def test_a_compressed_chain_is_measured_against_its_roots_float32_file():
    chain = chain_grammar.parse_chain("results/mnist/lenet5/seed3/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8")
    reference = chain_grammar.size_reference(chain)
    assert reference.path == "results/mnist/lenet5/seed3/baseline/tflite-fp32"
    assert reference.label == chain_grammar.FP32_REFERENCE
    assert chain_grammar.size_reference(chain_grammar.parse_chain("results/mnist/mlp32/seed1/baseline")) is None


def test_parse_chain_names_dataset_model_seed_and_architecture():
    chain = chain_grammar.parse_chain("results/mnist/lenet5/seed3/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8")
    assert (chain.dataset, chain.model, chain.seed) == ("mnist", "lenet5", 3)
    assert chain.technique == "distill>tflite"
    assert chain.architecture == "mlp32"
    assert chain.parent.label == "baseline/distill-mlp32-T4-a0.1-seed1"
    assert chain.path == "results/mnist/lenet5/seed3/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8"


def test_self_distillation_keeps_the_parent_architecture():
    chain = chain_grammar.parse_chain(
        "results/mnist/lenet5/seed0/baseline/prune-s0.90-block/distill-self-T4-a0.5-seed0"
    )
    assert chain.architecture == "lenet5"


@pytest.mark.parametrize(
    "path",
    [
        "results/mnist/lenet5/seed0/baseline/tflite-int8/prune-s0.50-block",  # nothing follows a leaf
        "results/mnist/lenet5/seed0/baseline/prune-s1.50-block",  # sparsity out of range
        "results/mnist/lenet5/baseline",  # no seed
        "results/mnist/lenet5/seed0/baseline/tflite-int4",  # unknown mode
    ],
)
def test_bad_chain_paths_are_rejected(path):
    with pytest.raises(ValueError):
        chain_grammar.parse_chain(path)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("prune > tflite", "must start with 'baseline'"),
        ("baseline > tflite > prune", "makes no Keras model"),
        ("baseline > sharpen", "unknown step 'sharpen'"),
    ],
)
def test_bad_chain_specs_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        chain_grammar.parse_chain_spec(spec)


def test_expand_chains_is_the_product_of_each_steps_sweep():
    sweeps = {"prune": {"sparsities": [0.5, 0.9], "structures": ["block"]}, "tflite": {"modes": ["fp32", "int8"]}}
    chains = chain_grammar.expand_chains(["baseline", "prune", "tflite"], sweeps, "mnist", "lenet5", 0)
    labels = sorted(c.label for c in chains)
    assert labels == [
        "baseline/prune-s0.50-block/tflite-fp32",
        "baseline/prune-s0.50-block/tflite-int8",
        "baseline/prune-s0.90-block/tflite-fp32",
        "baseline/prune-s0.90-block/tflite-int8",
    ]


def test_empty_sweep_is_an_error():
    with pytest.raises(ValueError, match="non-empty list 'modes'"):
        chain_grammar.step_variants("tflite", {"modes": []})


def test_prefixes_list_every_intermediate_artefact():
    chain = chain_grammar.parse_chain("results/mnist/lenet5/seed0/baseline/prune-s0.90-block/tflite-int8")
    assert [c.label for c in chain_grammar.prefixes(chain)] == [
        "baseline",
        "baseline/prune-s0.90-block",
        "baseline/prune-s0.90-block/tflite-int8",
    ]


def config_schema():
    import yaml

    from helpers import ROOT

    return yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())


def resolved(schema, node):
    """A schema node with a local $ref ('#/definitions/...') followed."""
    while "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            schema = schema[part]
        node = schema
    return node


def test_the_schema_knows_the_step_registry_kinds_and_their_sweeps():
    schema = config_schema()
    sections = schema["properties"]["techniques"]["properties"]
    kinds = [kind for kind, spec in chain_grammar.STEP_KINDS.items() if spec.sweeps]
    assert sorted(sections) == sorted(kinds)
    chain_sweep = schema["properties"]["chains"]["items"]["properties"]["sweep"]
    assert sorted(chain_sweep["propertyNames"]["enum"]) == sorted(kinds)
    for kind in kinds:
        for sweep in chain_grammar.STEP_KINDS[kind].sweeps:
            assert resolved(schema, sections[kind]["properties"][sweep])["type"] == "array", (kind, sweep)


def test_the_schema_allows_exactly_the_tflite_modes_the_grammar_knows():
    schema = config_schema()
    modes = schema["properties"]["techniques"]["properties"]["tflite"]["properties"]["modes"]["items"]["enum"]
    grammar = [*TFLITE_MODES, *(f"{mode}-sparse" for mode in TFLITE_MODES)]
    assert sorted(modes) == sorted(grammar)
    assert all(re.fullmatch(chain_grammar.WILDCARDS["mode"], mode) for mode in modes)


def test_the_schema_allows_exactly_the_learning_rate_decays_training_knows():
    schema = config_schema()
    assert sorted(schema["definitions"]["finetune"]["lr_decay"]["enum"]) == sorted(study_config.LR_DECAYS)
    sections = schema["properties"]["techniques"]["properties"]
    tuned = [kind for kind, section in sections.items() if "epochs" in section["properties"]]
    for kind in tuned:  # every fine-tuning section, and its overrides, takes a decay
        assert sections[kind]["properties"]["lr_decay"] == {"$ref": "#/definitions/finetune/lr_decay"}, kind
    assert "lr_decay" in schema["definitions"]["finetune"]["overrides"]["additionalProperties"]["properties"]


def test_the_registry_names_existing_rule_files_and_every_step_column():
    from helpers import ROOT

    assert all((ROOT / rule_file).is_file() for rule_file in chain_grammar.RULE_FILES)
    for kind, spec in chain_grammar.STEP_KINDS.items():
        for param in spec.params:
            assert chain_grammar.step_column(kind, param) in chain_grammar.STEP_COLUMNS
    assert "distill_seed" in chain_grammar.STEP_COLUMNS and "seed" not in chain_grammar.STEP_COLUMNS


def test_a_wildcard_declared_again_with_another_pattern_is_an_error():
    from dnncomp.core.stepkind import Param, StepKind

    kinds = {
        "a": StepKind("a-{n}", {"n": Param(r"\d+", int)}),
        "b": StepKind("b-{n}", {"n": Param(r"[a-z]+")}),
    }
    with pytest.raises(ValueError, match="wildcard 'n'"):
        chain_grammar.collect_wildcards(kinds)


def test_step_parameters_that_do_not_fit_the_declaration_are_rejected():
    with pytest.raises(ValueError, match="valid 'wq' step name"):
        chain_grammar.step_token("wq", bits="four", granularity="channel")
    with pytest.raises(ValueError, match="valid 'prune' step name"):
        chain_grammar.step_token("prune", sparsity=0.9)


def test_a_network_times_the_students_distilled_from_another_network():
    def chain(path):
        return chain_grammar.parse_chain(f"results/mnist/{path}")

    chains = [
        chain("lenet5/seed0/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8"),
        chain("lenet5/seed0/baseline/distill-mlp32-T4-a0.1-seed1"),  # a Keras model: not timed
        chain("lenet5/seed0/baseline/distill-self-T4-a0.1-seed0/tflite-int8"),  # the same network
        chain("lenet5/seed1/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8"),  # another seed's family
        chain("lenet5/seed0/baseline/prune-s0.50-unstructured/distill-mlp32-T4-a0.1-seed0/tflite-int8"),
        chain("lenet300_100/seed0/baseline/distill-mlp32-T4-a0.1-seed0/tflite-fp32"),  # its own student
    ]
    guests = chain_grammar.distilled_guests(chains, "mnist", "lenet300_100", 0)
    assert [c.path for c in guests] == ["results/mnist/lenet5/seed0/baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8"]
    assert [c.model for c in chain_grammar.distilled_guests(chains, "mnist", "lenet5", 0)] == ["lenet300_100"]
    assert chain_grammar.distilled_guests(chains, "cifar10", "lenet300_100", 0) == []
