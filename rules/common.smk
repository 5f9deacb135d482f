# Config validation, the chain grammar, and the target helpers every other .smk file uses.
import collections
import functools
import re
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from dnncomp.core.errors import UserError  # noqa: E402
from dnncomp.study import chain as chain_grammar  # noqa: E402  (pure Python: no TensorFlow at DAG build time)
from dnncomp.measure.bench import TIMING_KEYS  # noqa: E402
from dnncomp.study import config as study_config  # noqa: E402
from dnncomp.study.scheduling import single_reevaluation_timer  # noqa: E402
from dnncomp.techniques.prune import LAYERWISE  # noqa: E402
from dnncomp.techniques.quantize import QAT_WEIGHTS  # noqa: E402
from snakemake.scheduling.job_scheduler import JobScheduler  # noqa: E402

# Snakemake's scheduler piles up re-evaluation timers, one chain per finished job (see the module).
single_reevaluation_timer(JobScheduler)

# ----------------------------------------------------------------------------- validation

SCHEMA = str(Path(workflow.basedir) / "schemas" / "config.schema.yaml")
try:
    LEFT_OUT = study_config.check_at_startup(config, SCHEMA, fill_defaults=lambda cfg: validate(cfg, schema=SCHEMA))
except UserError as err:
    # One line that names the key or path, and no job planned: a typo fails in seconds.
    sys.exit(f"Error in the config: {err}")
# Models the study cannot take (a layer outside the supported set, ...): their jobs are left out.
for why in LEFT_OUT.values():
    print(f"Left out of the study: {why}", file=sys.stderr)


wildcard_constraints:
    **chain_grammar.WILDCARDS,
    chain=chain_grammar.PARENT_CHAIN,


# ----------------------------------------------------------------------------- targets


@functools.cache
def study_chains():
    """Every Chain the config asks for, each intermediate model included, plus the from-scratch
    controls of distilled students and the float32 .tflite every compression ratio is measured against."""
    chains = {}
    study = config["study"]
    for entry in config["chains"]:
        kinds = chain_grammar.parse_chain_spec(entry["chain"])
        sweeps = study_config.chain_sweeps(config, entry)
        for dataset in entry.get("datasets", study["datasets"]):
            for model in entry.get("models", study["models"]):
                if model in LEFT_OUT:
                    continue
                for seed in entry.get("seeds", study["seeds"]):
                    for chain in chain_grammar.expand_chains(kinds, sweeps, dataset, model, seed):
                        if any(step.params.get("student") in LEFT_OUT for step in chain.steps):
                            continue
                        for prefix in chain_grammar.prefixes(chain):
                            chains[prefix.path] = prefix
                        for control in distill_controls(chain):
                            chains[control.path] = control
                        reference = chain_grammar.size_reference(chain)
                        if reference is not None:
                            chains.setdefault(reference.path, reference)
    return tuple(chains.values())


def distill_controls(chain):
    """Each distilled student's architecture trained from scratch, same seed and budget."""
    for step in chain.steps:
        if step.kind == "distill" and step.params["student"] != "self":
            baseline = (chain_grammar.Step("baseline"),)
            yield chain_grammar.Chain(chain.dataset, step.params["student"], step.params["seed"], baseline)


def metrics_targets():
    return sorted(f"{chain.path}/metrics.json" for chain in study_chains())


def tflite_targets():
    return sorted(f"{c.path}/model.tflite" for c in study_chains() if c.steps[-1].kind in chain_grammar.TFLITE_STEPS)


def sensitivity_targets():
    """Per-layer sensitivity of each study model's first-seed baseline: the report's figures and allocations."""
    study = config["study"]
    seed = study["seeds"][0]
    models = [m for m in study["models"] if m not in LEFT_OUT]
    return [f"results/{d}/{m}/seed{seed}/baseline/sensitivity.json" for d in study["datasets"] for m in models]


def one_of(paths):
    """A wildcard constraint matching exactly these values."""
    return "|".join(re.escape(path) for path in sorted(paths))


@functools.cache
def post_training_batches(kind):
    """The parents of `kind` steps (tflite, wq), grouped by the exact steps the config asks of each:
    [(step tokens, parent chain wildcards)]. One rule per group and one job per parent writes all of a
    parent's artefacts, each its own file and record: start-up (TensorFlow, data, model) is paid once
    per parent, not once per artefact."""
    by_parent = collections.defaultdict(set)
    for chain in study_chains():
        if chain.steps[-1].kind == kind:
            by_parent[chain.parent.path.removeprefix(f"{chain_grammar.RESULTS}/")].add(chain.steps[-1].token)
    groups = collections.defaultdict(list)
    for parent, tokens in by_parent.items():
        groups[tuple(sorted(tokens))].append(parent)
    return sorted(groups.items())


def batch_outputs(tokens, name):
    return [f"results/{{chain}}/{token}/{name}" for token in tokens]


def family_dir(dataset, model, seed):
    """A benchmark family: one dataset x model x seed, with every artefact derived from its baseline."""
    return f"{chain_grammar.RESULTS}/{dataset}/{model}/seed{seed}"


def bench_targets(name="bench_cpu.json"):
    """One benchmark record per family: bench_cpu.json or bench_gpu.json."""
    return sorted({f"{family_dir(c.dataset, c.model, c.seed)}/{name}" for c in study_chains()})


def keras_targets():
    return sorted(f"{c.path}/model.keras" for c in study_chains() if c.steps[-1].kind in chain_grammar.KERAS_STEPS)


def gpu_family_inputs(wildcards):
    """Every Keras model of a family, and the weights of its QAT models (rebuilt from their parents)."""
    family = family_dir(wildcards.dataset, wildcards.model, wildcards.seed)
    chains = [c for c in study_chains() if c.path.startswith(f"{family}/")]
    keras = sorted(f"{c.path}/model.keras" for c in chains if c.steps[-1].kind in chain_grammar.KERAS_STEPS)
    qat = sorted(f"{c.path}/{QAT_WEIGHTS}" for c in chains if c.steps[-1].kind == "qat")
    return {
        "data": f"results/data/{wildcards.dataset}.npz",
        "models": keras,
        "metrics": [p.replace("model.keras", "metrics.json") for p in keras],
        "qat_weights": qat,
        "qat_metrics": [p.replace(QAT_WEIGHTS, "metrics.json") for p in qat],
    }


def family_inputs(wildcards):
    family = family_dir(wildcards.dataset, wildcards.model, wildcards.seed)
    tflite = [p for p in tflite_targets() if p.startswith(f"{family}/")]
    # A network of the study also times the students distilled from another network (their speed
    # against every network, side by side); the students' own from-scratch families time none.
    hosts = wildcards.model in config["study"]["models"]
    guests = chain_grammar.distilled_guests(study_chains(), wildcards.dataset, wildcards.model, int(wildcards.seed))
    guests = [f"{c.path}/model.tflite" for c in guests] if hosts else []
    return {
        "data": f"results/data/{wildcards.dataset}.npz",
        "keras": f"{family}/baseline/model.keras",
        "tflite": tflite,
        "tflite_metrics": [p.replace("model.tflite", "metrics.json") for p in tflite],
        "guests": guests,
        "guest_metrics": [p.replace("model.tflite", "metrics.json") for p in guests],
    }


# ----------------------------------------------------------------------------- per-job parameters


def architecture_spec(name):
    if name in LEFT_OUT:  # asked for explicitly
        sys.exit(f"Error: {LEFT_OUT[name]}")
    return study_config.architecture_spec(config, name)


def model_file(wildcards):
    """The Keras file a model is read from (an input, so a new file reruns what it feeds), if any."""
    spec = architecture_spec(wildcards.model)
    return [spec["path"]] if spec and spec["type"] == "keras" else []


def technique(name):
    return study_config.technique(config, name)


def chain_from(wildcards):
    return chain_grammar.parse_chain(f"results/{wildcards.chain}")


def dataset_npz(wildcards):
    return f"results/data/{wildcards.chain.split('/')[0]}.npz"


def output_softmax(wildcards):
    """Whether the chain's model comes from a file that ends in a softmax: its .tflite files put it back."""
    return study_config.output_softmax(config, chain_from(wildcards).architecture)


def parent_inputs(wildcards):
    return {
        "data": dataset_npz(wildcards),
        "parent_model": f"results/{wildcards.chain}/model.keras",
        "parent_metrics": f"results/{wildcards.chain}/metrics.json",
    }


def hparams(dataset, arch):
    return study_config.training_hparams(config, dataset, arch)


def finetune_hparams(technique_name):
    """A params function: the fine-tuning settings of `technique_name` for the job's parent."""

    def get(wildcards):
        chain = chain_from(wildcards)
        recovery = chain_grammar.step_from_wildcards(technique_name, wildcards).params.get("recovery", 1)
        return study_config.finetune_hparams(config, technique_name, chain.dataset, chain.architecture, recovery)

    return get


def distill_hparams(wildcards):
    chain = chain_from(wildcards)
    return study_config.distill_hparams(config, wildcards.student, chain.dataset, chain.architecture)


def sensitivity_input(wildcards):
    """The layerwise structure allocates its per-layer targets from the parent's sensitivity analysis."""
    return f"results/{wildcards.chain}/sensitivity.json" if wildcards.structure == LAYERWISE else []


def teacher_of(wildcards):
    """The parent teaches a new student; a 'self' student (the parent, e.g. pruned) learns from the baseline."""
    if wildcards.student == "self":
        chain = chain_from(wildcards)
        return f"results/{chain.dataset}/{chain.model}/seed{chain.seed}/baseline/teacher_logits.npz"
    return f"results/{wildcards.chain}/teacher_logits.npz"


# Scheduling: the rules that start long chains (baseline > prune > cluster > tflite > benchmark) go
# before the leaves (students, QAT, conversions), so the study does not end on one core waiting for a
# late chain. Higher runs first among jobs that are ready; a rule not listed has priority 0.
PRIORITY = {"baseline": 30, "prune": 20, "cluster": 10, "teacher_logits": 10}


# A job's params hold only the settings that shape its output: Snakemake reruns a job whose params
# change, so adding a sparsity level, a resolver or a GPU batch size must not touch the other jobs.


def evaluation_params(*keys):
    """flag_margin for every job with a parent; the LiteRT resolvers only for jobs that evaluate a .tflite."""
    return {key: config["evaluation"][key] for key in ("flag_margin", *keys)}


TFLITE_EVALUATION = evaluation_params("resolvers")


PRUNING_SETTINGS = ("ramp_fraction", "frequency", "block_size", "max_layer_sparsity")


def pruning_params():
    """How a layer is pruned; the sweep values are wildcards and epochs or rates are hparams."""
    return {key: value for key, value in technique("prune").items() if key in PRUNING_SETTINGS}


STRUCTURED_SETTINGS = ("crop_tolerance", "min_channels")


def structured_params(wildcards):
    """How channels are chosen; the slimming penalty only for the criterion that trains with it."""
    section = technique("structured")
    settings = {key: section[key] for key in STRUCTURED_SETTINGS}
    if section.get("layers"):  # only when set: an empty map must not change the params of earlier runs
        settings["layers"] = section["layers"]
    if wildcards.criterion == "slim":
        settings["slimming"] = section["slimming"]
    return settings


def benchmark_params(*keys):
    return {key: config["benchmark"][key] for key in TIMING_KEYS + keys}


def threads_for_training():
    """One thread per training job. TensorFlow's sums depend on its thread count (weights after one
    epoch differ at 1 vs 2 threads), so a fixed count keeps every number independent of --cores; and
    these small models scale poorly past one thread, so jobs side by side finish the study sooner."""
    return 1
