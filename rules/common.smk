# Config validation, the chain grammar, and the target helpers every other .smk file uses.
import collections
import functools
import re
import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from dnncomp import chain as C  # noqa: E402  (pure Python: no TensorFlow at DAG build time)
from dnncomp.bench import TIMING_KEYS  # noqa: E402
from dnncomp.train import resolve_hparams  # noqa: E402


# ----------------------------------------------------------------------------- validation

validate(config, schema="../schemas/config.schema.yaml")


class ConfigError(Exception):
    pass


def known(names, pool, key):
    unknown = [name for name in names if name not in pool]
    if unknown:
        raise ConfigError(f"{key}: unknown name(s) {unknown} (known: {sorted(pool)})")


def check_chain(cfg, entry, key):
    """A chain's steps, names and narrowed sweeps: the narrowed sweeps pass the same schema."""
    archs, datasets = cfg["architectures"], cfg["datasets"]
    try:
        C.parse_chain_spec(entry["chain"])
    except ValueError as err:
        raise ConfigError(f"{key}.chain: {err}") from None
    known(entry.get("models", []), archs, f"{key}.models")
    known(entry.get("datasets", []), datasets, f"{key}.datasets")
    for tech, override in (entry.get("sweep") or {}).items():
        for axis, values in override.items():
            if axis not in C.SWEEP_AXES[tech]:
                raise ConfigError(f"{key}.sweep.{tech}.{axis}: not a sweep of '{tech}' (sweeps: {list(C.SWEEP_AXES[tech])})")
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{key}.sweep.{tech}.{axis}: must be a non-empty list")
    sweeps = chain_sweeps(cfg, entry)
    students = sweeps.get("distill", {}).get("students", [])
    known(students, list(archs) + ["self"], f"{key}.sweep.distill.students")
    validate({**cfg, "techniques": sweeps}, schema="../schemas/config.schema.yaml")


def check_overrides(overrides, cfg, key):
    for name in overrides or {}:
        parts = name.split("/")
        if len(parts) == 1 and parts[0] not in cfg["architectures"] and parts[0] not in cfg["datasets"]:
            raise ConfigError(f"{key}.{name}: '{name}' is neither a dataset nor an architecture")
        if len(parts) == 2 and (parts[0] not in cfg["datasets"] or parts[1] not in cfg["architectures"]):
            raise ConfigError(f"{key}.{name}: expected 'dataset/architecture' with known names")


def check_data_dir(cfg):
    data_dir = cfg.get("data_dir")
    if data_dir and not Path(data_dir).is_dir():
        raise ConfigError(f"data_dir: folder '{data_dir}' does not exist (it should hold DATASET.npz files or "
                          f"DATASET/ folders of IDX files; leave data_dir unset to download instead)")


def check_config(cfg):
    """What a JSON schema cannot say: names that must refer to each other, and chain specs."""
    check_data_dir(cfg)
    known(cfg["study"]["models"], cfg["architectures"], "study.models")
    known(cfg["study"]["datasets"], cfg["datasets"], "study.datasets")
    students = (cfg.get("techniques") or {}).get("distill", {}).get("students", [])
    known(students, list(cfg["architectures"]) + ["self"], "techniques.distill.students")
    for i, entry in enumerate(cfg["chains"]):
        check_chain(cfg, entry, f"chains[{i}]")
    check_overrides(cfg["training"].get("overrides"), cfg, "training.overrides")
    for name, section in (cfg.get("techniques") or {}).items():
        check_overrides(section.get("overrides"), cfg, f"techniques.{name}.overrides")


def chain_sweeps(cfg, entry):
    """The technique sections with a chain's narrowed sweeps applied."""
    techniques = {tech: dict(section) for tech, section in (cfg.get("techniques") or {}).items()}
    for tech, override in (entry.get("sweep") or {}).items():
        techniques[tech] = {**techniques.get(tech, {}), **override}
    return techniques


check_config(config)

wildcard_constraints:
    **C.WILDCARDS,
    chain=r"[a-z][a-z0-9_]*/[a-z][a-z0-9_]*/seed\d+/baseline(?:/(?:prune|cluster|distill)-[^/]+)*",


# ----------------------------------------------------------------------------- targets

@functools.cache
def study_chains():
    """Every Chain the config asks for, each intermediate model included, plus the from-scratch
    controls of distilled students."""
    chains = {}
    study = config["study"]
    for entry in config["chains"]:
        kinds = C.parse_chain_spec(entry["chain"])
        sweeps = chain_sweeps(config, entry)
        for dataset in entry.get("datasets", study["datasets"]):
            for model in entry.get("models", study["models"]):
                for seed in entry.get("seeds", study["seeds"]):
                    for chain in C.expand_chains(kinds, sweeps, dataset, model, seed):
                        for prefix in C.prefixes(chain):
                            chains[prefix.path] = prefix
                        for control in distill_controls(chain):
                            chains[control.path] = control
    return tuple(chains.values())


def distill_controls(chain):
    """Each distilled student's architecture trained from scratch, same seed and budget."""
    for step in chain.steps:
        if step.kind == "distill" and step.params["student"] != "self":
            yield C.Chain(chain.dataset, step.params["student"], step.params["seed"], (C.Step("baseline"),))


def metrics_targets():
    return sorted(f"{chain.path}/metrics.json" for chain in study_chains())


def tflite_targets():
    return sorted(f"{c.path}/model.tflite" for c in study_chains() if c.steps[-1].kind in ("tflite", "qat"))


def baseline_keras_targets():
    """Baselines (study models and distillation controls): the reference points for speedups."""
    return sorted(f"{c.path}/model.keras" for c in study_chains() if len(c.steps) == 1)


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
            by_parent[chain.parent.path.removeprefix(f"{C.RESULTS}/")].add(chain.steps[-1].token)
    groups = collections.defaultdict(list)
    for parent, tokens in by_parent.items():
        groups[tuple(sorted(tokens))].append(parent)
    return sorted(groups.items())


def batch_outputs(tokens, name):
    return [f"results/{{chain}}/{token}/{name}" for token in tokens]


def family_dir(dataset, model, seed):
    """A benchmark family: one dataset x model x seed, with every artefact derived from its baseline."""
    return f"{C.RESULTS}/{dataset}/{model}/seed{seed}"


def bench_targets():
    return sorted({f"{family_dir(c.dataset, c.model, c.seed)}/bench_cpu.json" for c in study_chains()})


def family_inputs(wildcards):
    family = family_dir(wildcards.dataset, wildcards.model, wildcards.seed)
    tflite = [p for p in tflite_targets() if p.startswith(f"{family}/")]
    return {
        "data": f"results/data/{wildcards.dataset}.npz",
        "keras": f"{family}/baseline/model.keras",
        "tflite": tflite,
        "tflite_metrics": [p.replace("model.tflite", "metrics.json") for p in tflite],
    }


# ----------------------------------------------------------------------------- per-job parameters

def architecture_spec(name):
    """What builds an architecture (not its `reference`, which only labels the report)."""
    spec = config["architectures"].get(name)
    return None if spec is None else {key: value for key, value in spec.items() if key != "reference"}


def technique(name):
    return (config.get("techniques") or {}).get(name, {})


def chain_from(wildcards):
    return C.parse_chain(f"results/{wildcards.chain}")


def dataset_npz(wildcards):
    return f"results/data/{wildcards.chain.split('/')[0]}.npz"


def parent_inputs(wildcards):
    return {
        "data": dataset_npz(wildcards),
        "parent_model": f"results/{wildcards.chain}/model.keras",
        "parent_metrics": f"results/{wildcards.chain}/metrics.json",
    }


def hparams(dataset, arch):
    return resolve_hparams(config["training"], dataset, arch)


def finetune_hparams(technique_name):
    """Fine-tuning settings: the technique's epochs and learning rate (with its own overrides by
    dataset, model or dataset/model) over the parent's training settings; no early stopping."""
    def get(wildcards):
        chain = chain_from(wildcards)
        section = technique(technique_name)
        hp = hparams(chain.dataset, chain.architecture)
        own = resolve_hparams({"defaults": {"epochs": section["epochs"],
                                            "learning_rate": section.get("learning_rate", hp["learning_rate"])},
                               "overrides": section.get("overrides")}, chain.dataset, chain.architecture)
        return {**hp, **own, "patience": 0, "reduce_lr_patience": 0}
    return get


def distill_hparams(wildcards):
    """A new student trains with the same budget as its from-scratch control; 'self' is fine-tuned."""
    if wildcards.student == "self":
        return finetune_hparams("distill")(wildcards)
    return hparams(wildcards.chain.split("/")[0], wildcards.student)


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


def benchmark_params(*keys):
    return {key: config["benchmark"][key] for key in TIMING_KEYS + keys}


def threads_for_training():
    """One thread per training job. TensorFlow's sums depend on its thread count (weights after one
    epoch differ at 1 vs 2 threads), so a fixed count keeps every number independent of --cores; and
    these small models scale poorly past one thread, so jobs side by side finish the study sooner."""
    return 1
