"""The config logic a JSON schema cannot express: names that must refer to each other, chain specs
with their narrowed sweeps, and the hyperparameters each job resolves from the config.

Pure Python (no TensorFlow, no Snakemake): `rules/common.smk` calls it while it reads the config,
before any job is planned, and the unit tests call it directly. Schema validation itself stays with
the caller, which passes it in as `validate(cfg)`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..core.errors import ConfigError
from ..inputs import data, image_folder
from . import chain as chain_grammar


def known(names, pool, key: str) -> None:
    unknown = [name for name in names if name not in pool]
    if unknown:
        raise ConfigError(f"{key}: unknown name(s) {unknown} (known: {sorted(pool)})")


def chain_sweeps(cfg: dict, entry: dict) -> dict:
    """The technique sections with a chain's narrowed sweeps applied."""
    techniques = {tech: dict(section) for tech, section in (cfg.get("techniques") or {}).items()}
    for tech, override in (entry.get("sweep") or {}).items():
        techniques[tech] = {**techniques.get(tech, {}), **override}
    return techniques


def check_sweep_override(tech: str, override: dict, key: str) -> None:
    sweeps = list(chain_grammar.STEP_KINDS[tech].sweeps)
    for axis, values in override.items():
        if axis not in sweeps:
            raise ConfigError(f"{key}.sweep.{tech}.{axis}: not a sweep of '{tech}' (sweeps: {sweeps})")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{key}.sweep.{tech}.{axis}: must be a non-empty list")


def check_chain(cfg: dict, entry: dict, key: str, validate: Callable[[dict], None]) -> None:
    """A chain's steps, names and narrowed sweeps: the narrowed sweeps pass the same schema."""
    archs = cfg["architectures"]
    try:
        kinds = chain_grammar.parse_chain_spec(entry["chain"])
    except ValueError as err:
        raise ConfigError(f"{key}.chain: {err}") from None
    known(entry.get("models", []), archs, f"{key}.models")
    known(entry.get("datasets", []), cfg["datasets"], f"{key}.datasets")
    for tech, override in (entry.get("sweep") or {}).items():
        check_sweep_override(tech, override, key)
    sweeps = chain_sweeps(cfg, entry)
    for kind in kinds:
        check = chain_grammar.STEP_KINDS[kind].check
        if check is None:
            continue
        try:
            check(sweeps.get(kind, {}))
        except ValueError as err:
            raise ConfigError(f"{key}.sweep.{kind}: {err}") from None
    known(sweeps.get("distill", {}).get("students", []), [*archs, "self"], f"{key}.sweep.distill.students")
    validate({**cfg, "techniques": sweeps})


def check_overrides(overrides, cfg: dict, key: str) -> None:
    """Override keys are a dataset, an architecture, or 'dataset/architecture'."""
    for name in overrides or {}:
        parts = name.split("/")
        if len(parts) == 1 and parts[0] not in cfg["architectures"] and parts[0] not in cfg["datasets"]:
            raise ConfigError(f"{key}.{name}: '{name}' is neither a dataset nor an architecture")
        if len(parts) == 2 and (parts[0] not in cfg["datasets"] or parts[1] not in cfg["architectures"]):
            raise ConfigError(f"{key}.{name}: expected 'dataset/architecture' with known names")


def check_data_dir(cfg: dict) -> None:
    data_dir = cfg.get("data_dir")
    if data_dir and not Path(data_dir).is_dir():
        raise ConfigError(
            f"data_dir: folder '{data_dir}' does not exist (it should hold DATASET.npz files or "
            f"DATASET/ folders of IDX files; leave data_dir unset to download instead)"
        )


def load_schema(path) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def check_schema(cfg: dict, schema: dict) -> None:
    """The config against the schema, the most relevant violation as one line that names its key
    (Snakemake's own validation prints the whole schema section and instance instead)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(cfg))
    if error is None:
        return
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "config"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        raise ConfigError(f"{key}: unknown key(s) {unknown} (allowed: {', '.join(allowed)})")
    raise ConfigError(f"{key}: {error.message}")


def used_datasets(cfg: dict) -> list:
    names = dict.fromkeys(cfg["study"]["datasets"])
    for entry in cfg["chains"]:
        names.update(dict.fromkeys(entry.get("datasets", [])))
    return list(names)


def count_folder_classes(cfg: dict) -> None:
    """A folder dataset has as many classes as class folders: num_classes is set from them unless the
    config gives it (before the schema's default of 10 is filled in). A wrong layout is reported by
    check_data_sources, with its key."""
    for spec in cfg["datasets"].values():
        if spec.get("source") == "folder" and "num_classes" not in spec:
            try:
                spec["num_classes"] = len(image_folder.class_names(Path(spec["path"])))
            except image_folder.FolderError:
                pass


def check_data_sources(cfg: dict) -> None:
    """Every dataset the study uses has its file or folder in place, so a typo in a path fails now, not
    after the first jobs ran."""
    for name in used_datasets(cfg):
        data.check_source(name, cfg["datasets"][name], cfg.get("data_dir"))


def used_architectures(cfg: dict) -> list:
    """The study's models, the chains' models and every distillation student, in config order."""
    names = dict.fromkeys(cfg["study"]["models"])
    names.update(dict.fromkeys(technique(cfg, "distill").get("students", [])))
    for entry in cfg["chains"]:
        names.update(dict.fromkeys(entry.get("models", [])))
        names.update(dict.fromkeys(((entry.get("sweep") or {}).get("distill") or {}).get("students", [])))
    return [name for name in names if name != "self"]


def check_model_files(cfg: dict) -> dict:
    """Read the config inside every model file the study uses, without deserializing anything. A
    missing or unreadable file raises (a typo); a model the study cannot take (a layer outside the
    supported set, a Lambda layer, a custom object) is returned as {name: why}: its jobs are left out
    and the rest of the study runs."""
    from ..core import graph
    from ..inputs import keras_file

    left_out = {}
    for name in used_architectures(cfg):
        spec = cfg["architectures"][name]
        if spec["type"] != "keras":
            continue
        try:
            keras_file.read_graph(spec["path"], f"architectures.{name}")
        except graph.UnsupportedModel as err:
            left_out[name] = str(err)
    return left_out


def check_at_startup(cfg: dict, schema_path, fill_defaults: Callable[[dict], None]) -> dict:
    """Everything that can be checked before a job is planned, in order: the schema (one line per
    problem), its defaults filled in (`fill_defaults`, Snakemake's validate), the config's cross-
    references and chains, the dataset files and the model files. Raises a UserError that names the
    key or path; returns the models left out of the study, {name: why} (check_model_files)."""
    schema = load_schema(schema_path)
    check_schema(cfg, schema)
    count_folder_classes(cfg)
    fill_defaults(cfg)
    check_config(cfg, validate=lambda sweeps: check_schema(sweeps, schema))
    # A second config file's chains join the default ones (an overlay's list would replace them).
    cfg["chains"] = [*cfg["chains"], *(cfg.pop("more_chains", None) or [])]
    check_data_sources(cfg)
    return check_model_files(cfg)


def check_config(cfg: dict, validate: Callable[[dict], None]) -> None:
    """What a JSON schema cannot say: names that must refer to each other, and chain specs."""
    check_data_dir(cfg)
    known(cfg["study"]["models"], cfg["architectures"], "study.models")
    known(cfg["study"]["datasets"], cfg["datasets"], "study.datasets")
    known(technique(cfg, "distill").get("students", []), [*cfg["architectures"], "self"], "techniques.distill.students")
    for key in ("chains", "more_chains"):
        for i, entry in enumerate(cfg.get(key) or []):
            check_chain(cfg, entry, f"{key}[{i}]", validate)
    check_overrides(cfg["training"].get("overrides"), cfg, "training.overrides")
    for name, section in (cfg.get("techniques") or {}).items():
        check_overrides(section.get("overrides"), cfg, f"techniques.{name}.overrides")
    if "energy" in cfg:
        for key in ("weights_from", "activations_from"):
            known([cfg["energy"][key]], cfg["energy"]["pj_per_access"], f"energy.{key}")


# ----------------------------------------------------------------------------- per-job settings


def technique(cfg: dict, name: str) -> dict:
    return (cfg.get("techniques") or {}).get(name, {})


def architecture_spec(cfg: dict, name: str) -> dict | None:
    """What builds an architecture (not its `reference`, which only labels the report)."""
    spec = cfg["architectures"].get(name)
    return None if spec is None else {key: value for key, value in spec.items() if key != "reference"}


def output_softmax(cfg: dict, name: str) -> bool:
    """Whether architecture `name` is read from a file whose model ends in a softmax."""
    spec = cfg["architectures"][name]
    if spec["type"] != "keras":
        return False
    from ..inputs import keras_file

    return keras_file.ends_in_softmax(spec["path"])


def resolve_hparams(training: dict, dataset: str, model: str) -> dict:
    """Training hyperparameters: defaults <- dataset <- model <- 'dataset/model' overrides."""
    hp = dict(training["defaults"])
    overrides = training.get("overrides") or {}
    for key in (dataset, model, f"{dataset}/{model}"):
        hp.update(overrides.get(key) or {})
    return hp


def training_hparams(cfg: dict, dataset: str, architecture: str) -> dict:
    return resolve_hparams(cfg["training"], dataset, architecture)


# Fine-tuning learning-rate schedules (train.fit): constant, or a cosine decay to zero that starts
# once a pruning schedule's masks are final.
LR_DECAYS = ("none", "cosine")
LR_DECAY_DEFAULT = "none"


def finetune_hparams(cfg: dict, technique_name: str, dataset: str, architecture: str, recovery: int = 1) -> dict:
    """Fine-tuning settings: the technique's epochs, learning rate and its decay (with overrides by
    dataset, model or dataset/model) over the parent's training settings; no early stopping. A step's
    `recovery` multiplies the epochs (a longer budget, named in its path)."""
    section = technique(cfg, technique_name)
    hp = training_hparams(cfg, dataset, architecture)
    own = resolve_hparams(
        {
            "defaults": {
                "epochs": section["epochs"],
                "learning_rate": section.get("learning_rate", hp["learning_rate"]),
                "lr_decay": section.get("lr_decay", LR_DECAY_DEFAULT),
            },
            "overrides": section.get("overrides"),
        },
        dataset,
        architecture,
    )
    if own["lr_decay"] == LR_DECAY_DEFAULT:
        del own["lr_decay"]  # a constant rate leaves the job's params (and so existing results) as they were
    return {**hp, **own, "epochs": own["epochs"] * recovery, "patience": 0, "reduce_lr_patience": 0}


def distill_hparams(cfg: dict, student: str, dataset: str, architecture: str) -> dict:
    """A new student trains with the same budget as its from-scratch control; 'self' (the parent
    architecture, e.g. pruned) is fine-tuned like any other technique."""
    if student == "self":
        return finetune_hparams(cfg, "distill", dataset, architecture)
    return training_hparams(cfg, dataset, student)
