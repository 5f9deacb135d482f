"""How a step kind is declared: its path token, its parameters, what it makes and where it runs.

Each module of dnncomp.techniques declares its step kinds with these, beside the code that does the
work; dnncomp.study.chain collects them into the step registry. The path grammar, the Snakemake wildcards,
the config's sweep names, the summary's step columns, the cost account's stages and the Snakefile's
rule includes are all derived from the declarations."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

NAME = r"[a-z][a-z0-9_]*"
NUMBER = r"\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Param:
    """A step parameter: one value of it names one directory."""

    pattern: str  # regex of its value in a path token
    type: type = str  # Python type of the parsed value
    sweep: str | None = None  # the list in the technique's config section that sweeps it
    fmt: str = "{}"  # how a value is written into the token at least, e.g. "{:.2f}" (see text())
    wildcard: str | None = None  # Snakemake wildcard name, where the parameter's own would clash
    column: str | None = None  # summary column name, where the parameter's own would clash
    # An optional parameter: at `default` it is left out of the token (so adding it renamed no existing
    # directory); any other value is written after `prefix`, e.g. "-x5".
    default: object = None
    prefix: str = ""

    @property
    def optional(self) -> bool:
        return self.default is not None

    def text(self, value) -> str:
        """`value` as written into a path token: in `fmt`, with every digit it needs to read back the
        same (a sparsity of 0.975 stays 0.975, where "{:.2f}" alone would name 0.97's directory)."""
        value = self.type(value)
        if self.optional and value == self.type(self.default):
            return ""
        text = self.fmt.format(value)
        return self.prefix + (text if self.type(text) == value else str(value))

    def regex(self, group: str | None = None) -> str:
        """The regex of its slot in a token (an optional one may be empty); `group` names the value."""
        value = f"(?P<{group}>{self.pattern})" if group else f"(?:{self.pattern})"
        return f"(?:{re.escape(self.prefix)}{value})?" if self.optional else value

    def parse(self, text: str | None):
        """The value a matched slot holds (the default where an optional one was left out)."""
        return self.type(self.default if text is None else text)


@dataclass(frozen=True)
class StepKind:
    token: str  # the path token, e.g. "prune-s{sparsity}-{structure}"
    params: dict = field(default_factory=dict)  # {parameter: Param}, in token order
    makes: str | None = "model.keras"  # the artefact file it writes beside its metrics.json, if any
    stage: str = "training"  # where its jobs' CPU time goes in the cost account
    rules: str = ""  # the rule file (relative to the Snakefile) that makes it
    check: Callable[[dict], None] | None = None  # raises ValueError on a config section it cannot build

    @property
    def makes_keras(self) -> bool:
        """Its model can be the parent of further steps."""
        return self.makes == "model.keras"

    @property
    def sweeps(self) -> dict:
        """{config sweep list: step parameter it fills}."""
        return {param.sweep: name for name, param in self.params.items() if param.sweep}

    def wildcard(self, name: str) -> str:
        return self.params[name].wildcard or name

    def column(self, name: str) -> str:
        return self.params[name].column or name
