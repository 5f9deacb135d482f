"""The path grammar of the study: a model's directory names the chain of steps that made it.

    results/{dataset}/{model}/seed{seed}/baseline/prune-s0.90-block/tflite-int8/

Every technique appends one step token to its parent's path, so "prune -> quantize" is just the
quantize step applied to a pruned parent. This module is pure Python (no TensorFlow) because the
Snakefile imports it for wildcard constraints and target expansion.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

RESULTS = "results"

TFLITE_MODES = ("fp32", "fp16", "dynamic", "int8")
STRUCTURES = ("unstructured", "block")
GRANULARITIES = ("channel", "tensor")

NAME = r"[a-z][a-z0-9_]*"
NUMBER = r"\d+(?:\.\d+)?"

# Regexes of the wildcard values, shared with rules/*.smk.
WILDCARDS = {
    "dataset": NAME,
    "model": NAME,
    "seed": r"\d+",
    "mode": rf"(?:{'|'.join(TFLITE_MODES)})(?:-sparse)?",
    "bits": r"\d+",
    "granularity": "|".join(GRANULARITIES),
    "sparsity": r"0\.\d+",
    "structure": "|".join(STRUCTURES),
    "clusters": r"\d+",
    "student": NAME,
    "temperature": NUMBER,
    "alpha": NUMBER,
    "student_seed": r"\d+",
}

# Wildcard value -> Python type of the step parameter it fills (the rest are strings).
PARAM_TYPES = {
    "bits": int,
    "clusters": int,
    "student_seed": int,
    "sparsity": float,
    "temperature": float,
    "alpha": float,
}


@dataclass(frozen=True)
class StepKind:
    """One declaration per step kind. The path grammar, the wildcard constraints, the config's sweep
    names, the summary's step columns and the cost account's stages are all derived from these."""

    token: str  # the path token, e.g. "prune-s{sparsity}-{structure}"
    params: dict  # {step parameter: wildcard name}
    sweeps: dict  # {config sweep list: step parameter it fills}
    makes_keras: bool  # its model can be the parent of further steps
    stage: str  # where its jobs' CPU time goes in the cost account
    rules: str  # the rule file (relative to the Snakefile) that makes it
    columns: dict = field(default_factory=dict)  # {step parameter: summary column}, where they differ


STEP_KINDS = {
    "baseline": StepKind("baseline", {}, {}, makes_keras=True, stage="training", rules="rules/baseline.smk"),
    "tflite": StepKind(
        "tflite-{mode}",
        {"mode": "mode"},
        {"modes": "mode"},
        makes_keras=False,
        stage="conversion",
        rules="rules/quantize.smk",
    ),
    "wq": StepKind(
        "wq-b{bits}-{granularity}",
        {"bits": "bits", "granularity": "granularity"},
        {"bits": "bits", "granularities": "granularity"},
        makes_keras=False,
        stage="conversion",
        rules="rules/quantize.smk",
    ),
    "qat": StepKind(
        "qat-b{bits}",
        {"bits": "bits"},
        {"bits": "bits"},
        makes_keras=False,
        stage="training",
        rules="rules/quantize.smk",
    ),
    "prune": StepKind(
        "prune-s{sparsity}-{structure}",
        {"sparsity": "sparsity", "structure": "structure"},
        {"sparsities": "sparsity", "structures": "structure"},
        makes_keras=True,
        stage="training",
        rules="rules/prune.smk",
    ),
    "cluster": StepKind(
        "cluster-c{clusters}",
        {"clusters": "clusters"},
        {"clusters": "clusters"},
        makes_keras=True,
        stage="training",
        rules="rules/prune.smk",
    ),
    "distill": StepKind(
        "distill-{student}-T{temperature}-a{alpha}-seed{seed}",
        {"student": "student", "temperature": "temperature", "alpha": "alpha", "seed": "student_seed"},
        {"students": "student", "temperatures": "temperature", "alphas": "alpha", "seeds": "seed"},
        makes_keras=True,
        stage="training",
        rules="rules/distill.smk",
        columns={"seed": "distill_seed"},
    ),
}

# The rule files of the step kinds, in registry order (the Snakefile includes them).
RULE_FILES = tuple(dict.fromkeys(spec.rules for spec in STEP_KINDS.values()))

# Step kinds whose output is a Keras model (valid parents of other steps).
KERAS_STEPS = tuple(kind for kind, spec in STEP_KINDS.items() if spec.makes_keras)


# A parent model's chain as a wildcard value (results/ left out): a baseline, then only steps that
# make a Keras model, so that the parent of a post-training step can never be a .tflite.
PARENT_CHAIN = (
    rf"{NAME}/{NAME}/seed\d+/baseline"
    rf"(?:/(?:{'|'.join(kind for kind in KERAS_STEPS if kind != 'baseline')})-[^/]+)*"
)


def step_column(kind: str, param: str) -> str:
    """The summary column of a step parameter."""
    return STEP_KINDS[kind].columns.get(param, param)


# The summary's step columns, in registry order.
STEP_COLUMNS = tuple(
    dict.fromkeys(step_column(kind, param) for kind, spec in STEP_KINDS.items() for param in spec.params)
)


def _step_regex(kind: str) -> re.Pattern:
    spec = STEP_KINDS[kind]
    pattern = re.escape(spec.token)
    for param, wildcard in spec.params.items():
        pattern = pattern.replace(re.escape("{" + param + "}"), f"(?P<{param}>{WILDCARDS[wildcard]})")
    return re.compile(pattern + "$")


_STEP_RE = {kind: _step_regex(kind) for kind in STEP_KINDS}
_ROOT_RE = re.compile(
    rf"^(?:.*/)?{RESULTS}/(?P<dataset>{NAME})/(?P<model>{NAME})/seed(?P<seed>\d+)/(?P<steps>baseline(?:/[^/]+)*)/?$"
)


def format_number(value) -> str:
    """Canonical text of a numeric step parameter (4 -> '4', 0.5 -> '0.5')."""
    return f"{float(value):g}"


def step_token(kind: str, **params) -> str:
    fmt = STEP_KINDS[kind].token
    values = dict(params)
    if "sparsity" in values:
        values["sparsity"] = f"{float(values['sparsity']):.2f}"
    for key in ("temperature", "alpha"):
        if key in values:
            values[key] = format_number(values[key])
    token = fmt.format(**values)
    if not _STEP_RE[kind].match(token):
        raise ValueError(f"step parameters {params} do not form a valid '{kind}' step name ({token!r})")
    return token


@dataclass(frozen=True)
class Step:
    kind: str
    params: dict = field(default_factory=dict)

    @property
    def token(self) -> str:
        return step_token(self.kind, **self.params)


def parse_step(token: str) -> Step:
    for kind, regex in _STEP_RE.items():
        match = regex.match(token)
        if match:
            wildcards = STEP_KINDS[kind].params
            params = {key: PARAM_TYPES.get(wildcards[key], str)(value) for key, value in match.groupdict().items()}
            return Step(kind, params)
    raise ValueError(f"'{token}' is not a known step name")


@dataclass(frozen=True)
class Chain:
    dataset: str
    model: str
    seed: int
    steps: tuple

    @property
    def path(self) -> str:
        tokens = "/".join(step.token for step in self.steps)
        return f"{RESULTS}/{self.dataset}/{self.model}/seed{self.seed}/{tokens}"

    @property
    def label(self) -> str:
        """The chain without dataset, model and seed, e.g. 'baseline/prune-s0.90-block/tflite-int8'."""
        return "/".join(step.token for step in self.steps)

    @property
    def technique(self) -> str:
        """The kinds of the steps after the baseline, e.g. 'prune>tflite' ('baseline' for the root)."""
        kinds = [step.kind for step in self.steps[1:]]
        return ">".join(kinds) if kinds else "baseline"

    @property
    def architecture(self) -> str:
        """The architecture of the chain's last model: the last distilled student, else the root model."""
        arch = self.model
        for step in self.steps:
            if step.kind == "distill" and step.params["student"] != "self":
                arch = step.params["student"]
        return arch

    @property
    def parent(self) -> Chain | None:
        if len(self.steps) == 1:
            return None
        return Chain(self.dataset, self.model, self.seed, self.steps[:-1])

    def find(self, kind: str) -> Step | None:
        """The last step of this kind in the chain, if any."""
        for step in reversed(self.steps):
            if step.kind == kind:
                return step
        return None


def parse_chain(path: str) -> Chain:
    match = _ROOT_RE.match(str(path).rstrip("/"))
    if not match:
        raise ValueError(f"'{path}' is not a chain directory ({RESULTS}/DATASET/MODEL/seedN/baseline/...)")
    tokens = match["steps"].split("/")
    steps = tuple(parse_step(token) for token in tokens)
    for parent, child in itertools.pairwise(steps):
        if parent.kind not in KERAS_STEPS:
            raise ValueError(
                f"'{path}': step '{child.token}' cannot follow '{parent.token}', which is not a Keras model"
            )
    return Chain(match["dataset"], match["model"], int(match["seed"]), steps)


def parse_chain_spec(spec: str) -> list:
    """'baseline > prune > tflite' -> ['baseline', 'prune', 'tflite'], checking the order is possible."""
    kinds = [part.strip() for part in spec.split(">")]
    if not kinds or kinds[0] != "baseline":
        raise ValueError(f"chain '{spec}' must start with 'baseline'")
    for kind in kinds:
        if kind not in STEP_KINDS:
            raise ValueError(f"chain '{spec}': unknown step '{kind}' (known: {', '.join(STEP_KINDS)})")
    if "baseline" in kinds[1:]:
        raise ValueError(f"chain '{spec}': 'baseline' may only come first")
    for kind in kinds[:-1]:
        if kind not in KERAS_STEPS:
            raise ValueError(f"chain '{spec}': '{kind}' makes no Keras model, so nothing can follow it")
    return kinds


def step_variants(kind: str, sweep: dict) -> list:
    """All steps of one kind for the sweep lists in `sweep` (the technique's config section)."""
    axes = STEP_KINDS[kind].sweeps
    if not axes:
        return [Step(kind, {})]
    keys = list(axes)
    for key in keys:
        if not sweep.get(key):
            raise ValueError(f"technique '{kind}' needs a non-empty list '{key}'")
    return [
        Step(kind, {axes[k]: v for k, v in zip(keys, combo, strict=True)})
        for combo in itertools.product(*(sweep[k] for k in keys))
    ]


def expand_chains(kinds: list, sweeps: dict, dataset: str, model: str, seed: int) -> list:
    """Every Chain that a chain spec yields for one dataset, model and seed."""
    per_step = [step_variants(kind, sweeps.get(kind, {})) for kind in kinds]
    return [Chain(dataset, model, seed, tuple(steps)) for steps in itertools.product(*per_step)]


def prefixes(chain: Chain) -> list:
    """The chain and every chain it extends: baseline, baseline/prune-..., baseline/prune-.../tflite-..."""
    return [Chain(chain.dataset, chain.model, chain.seed, chain.steps[:n]) for n in range(1, len(chain.steps) + 1)]
