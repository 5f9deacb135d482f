import re

import pytest

from dnncomp import chain as chain_grammar


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


def test_the_schema_allows_exactly_the_tflite_modes_the_grammar_knows():
    import yaml

    from helpers import ROOT

    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    modes = schema["properties"]["techniques"]["properties"]["tflite"]["properties"]["modes"]["items"]["enum"]
    grammar = [*chain_grammar.TFLITE_MODES, *(f"{mode}-sparse" for mode in chain_grammar.TFLITE_MODES)]
    assert sorted(modes) == sorted(grammar)
    assert all(re.fullmatch(chain_grammar.WILDCARDS["mode"], mode) for mode in modes)
