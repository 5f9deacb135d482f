"""The path grammar of the study: a model's directory names the chain of steps that made it.

    results/{dataset}/{model}/seed{seed}/baseline/prune-s0.90-block/tflite-int8/

Every technique appends one step token to its parent's path, so "prune -> quantize" is just the
quantize step applied to a pruned parent. This module is pure Python (no TensorFlow) because the
Snakefile imports it for wildcard constraints and target expansion.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
from dataclasses import dataclass, field

from .. import techniques
from ..core.stepkind import NAME, StepKind

RESULTS = "results"

# The root of every chain: a model trained from scratch.
BASELINE = StepKind("baseline", rules="rules/baseline.smk")


def collect_step_kinds() -> dict:
    """The step registry: the baseline, then every technique module's STEP_KINDS (dnncomp.techniques),
    in module order. A kind declared twice is an error, not a silent override."""
    kinds = {"baseline": BASELINE}
    for module in pkgutil.iter_modules(techniques.__path__):
        declared = importlib.import_module(f"{techniques.__name__}.{module.name}").STEP_KINDS
        clash = set(declared) & set(kinds)
        if clash:
            raise ValueError(f"step kinds {sorted(clash)} declared twice (again in techniques/{module.name}.py)")
        kinds.update(declared)
    return kinds


def collect_wildcards(kinds: dict) -> dict:
    """{wildcard: regex of its values}: the chain's root fields, then every step parameter's."""
    wildcards = {"dataset": NAME, "model": NAME, "seed": r"\d+"}
    for kind, spec in kinds.items():
        for name, param in spec.params.items():
            wildcard = spec.wildcard(name)
            if wildcards.setdefault(wildcard, param.regex()) != param.regex():
                raise ValueError(f"step '{kind}': wildcard '{wildcard}' is declared with another pattern elsewhere")
    return wildcards


STEP_KINDS = collect_step_kinds()

# Regexes of the wildcard values, shared with rules/*.smk.
WILDCARDS = collect_wildcards(STEP_KINDS)

# The rule files of the step kinds, in registry order (the Snakefile includes them).
RULE_FILES = tuple(dict.fromkeys(spec.rules for spec in STEP_KINDS.values()))

# Step kinds whose output is a Keras model (valid parents of other steps), and those that make a
# .tflite file (the deployable artefacts every benchmark family times).
KERAS_STEPS = tuple(kind for kind, spec in STEP_KINDS.items() if spec.makes_keras)
TFLITE_STEPS = tuple(kind for kind, spec in STEP_KINDS.items() if spec.makes == "model.tflite")


# A parent model's chain as a wildcard value (results/ left out): a baseline, then only steps that
# make a Keras model, so that the parent of a post-training step can never be a .tflite.
# A step is told by its token's literal start ("prune-s", "prune-", "cluster-c"): a kind's name need
# not begin its token (structured pruning writes "prune-c0.50-l1").
PARENT_CHAIN = (
    rf"{NAME}/{NAME}/seed\d+/baseline"
    rf"(?:/(?:{'|'.join(re.escape(STEP_KINDS[k].token.split('{')[0]) for k in KERAS_STEPS if k != 'baseline')})[^/]+)*"
)


def step_column(kind: str, param: str) -> str:
    """The summary column of a step parameter."""
    return STEP_KINDS[kind].column(param)


# The summary's step columns, in registry order.
STEP_COLUMNS = tuple(
    dict.fromkeys(step_column(kind, param) for kind, spec in STEP_KINDS.items() for param in spec.params)
)


def _step_regex(kind: str) -> re.Pattern:
    spec = STEP_KINDS[kind]
    pattern = re.escape(spec.token)
    for name, param in spec.params.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), param.regex(group=name))
    return re.compile(pattern + "$")


_STEP_RE = {kind: _step_regex(kind) for kind in STEP_KINDS}
_ROOT_RE = re.compile(
    rf"^(?:.*/)?{RESULTS}/(?P<dataset>{NAME})/(?P<model>{NAME})/seed(?P<seed>\d+)/(?P<steps>baseline(?:/[^/]+)*)/?$"
)


def with_defaults(kind: str, params: dict) -> dict:
    """`params` with every optional parameter it leaves out at its default."""
    spec = STEP_KINDS[kind]
    defaults = {name: param.parse(None) for name, param in spec.params.items() if param.optional}
    return {**defaults, **params}


def step_token(kind: str, **params) -> str:
    spec = STEP_KINDS[kind]
    try:
        values = {name: spec.params[name].text(value) for name, value in with_defaults(kind, params).items()}
        token = spec.token.format(**values)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"step parameters {params} do not form a valid '{kind}' step name ({err!r})") from None
    if not _STEP_RE[kind].match(token):
        raise ValueError(f"step parameters {params} do not form a valid '{kind}' step name ({token!r})")
    return token


@dataclass(frozen=True)
class Step:
    kind: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        # One step, one value: an optional parameter left out is its default, so equal steps compare equal.
        object.__setattr__(self, "params", with_defaults(self.kind, self.params))

    @property
    def token(self) -> str:
        return step_token(self.kind, **self.params)


def step_from_wildcards(kind: str, wildcards) -> Step:
    """The step a rule's job makes, from its output's wildcards (an optional parameter's wildcard holds
    its whole slot, e.g. "-x5" or "")."""
    spec = STEP_KINDS[kind]
    return parse_step(spec.token.format(**{name: wildcards[spec.wildcard(name)] for name in spec.params}))


def parse_step(token: str) -> Step:
    for kind, regex in _STEP_RE.items():
        match = regex.match(token)
        if match:
            declared = STEP_KINDS[kind].params
            params = {key: declared[key].parse(value) for key, value in match.groupdict().items()}
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
    """All steps of one kind for the sweep lists in `sweep` (the technique's config section); an
    optional parameter's list may be left out (its default)."""
    spec = STEP_KINDS[kind]
    axes = spec.sweeps
    if not axes:
        return [Step(kind, {})]
    keys = list(axes)
    sweep = {key: [spec.params[axes[key]].default] for key in keys if spec.params[axes[key]].optional} | sweep
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


# Every size ratio is against the root baseline's float32 .tflite (dnncomp.report.summary).
REFERENCE_STEP = Step("tflite", {"mode": "fp32"})
FP32_REFERENCE = f"{BASELINE.token}/{REFERENCE_STEP.token}"  # its label: "baseline/tflite-fp32"


def size_reference(chain: Chain) -> Chain | None:
    """The chain a compressed chain's sizes are measured against: its root baseline's float32 .tflite.
    None for a baseline alone (a distilled student's control), which has no ratio to give."""
    if len(chain.steps) == 1:
        return None
    return Chain(chain.dataset, chain.model, chain.seed, (chain.steps[0], REFERENCE_STEP))


def prefixes(chain: Chain) -> list:
    """The chain and every chain it extends: baseline, baseline/prune-..., baseline/prune-.../tflite-..."""
    return [Chain(chain.dataset, chain.model, chain.seed, chain.steps[:n]) for n in range(1, len(chain.steps) + 1)]


def distilled_guests(chains, dataset: str, model: str, seed: int) -> list:
    """The .tflite files of students distilled from another network of the same dataset and seed
    (baseline > distill > tflite): the family of `model` times them beside its own float32 file, so
    each student's speed is measured against every network of the study, not only its teacher."""
    return sorted(
        (
            c
            for c in chains
            if (c.dataset, c.seed) == (dataset, seed)
            and c.model != model
            and len(c.steps) == 3
            and c.steps[1].kind == "distill"
            and c.steps[1].params["student"] != "self"
            and c.steps[2].kind in TFLITE_STEPS
        ),
        key=lambda c: c.path,
    )
