"""The metrics record: one JSON per deployable artefact, joined later into results/summary.csv."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict

from ..core.runtime import host_info, versions
from ..study.chain import Chain


def params_hash(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def make_record(
    chain: Chain,
    *,
    artefact: str,
    fmt: str,
    accuracy: float,
    sizes: dict,
    counts: dict,
    runtime: dict,
    parent: dict | None,
    flag_margin: float,
    params: dict,
    extra: dict | None = None,
    content_sha256: str | None = None,
) -> dict:
    """Assemble a record. `parent` is the parent's record; a drop of more than flag_margin is flagged,
    since a converter or delegate can silently compute wrong outputs."""
    record = {
        "path": chain.path,
        "dataset": chain.dataset,
        "model": chain.model,
        "seed": chain.seed,
        "chain": chain.label,
        "technique": chain.technique,
        "architecture": chain.architecture,
        "steps": [asdict(step) for step in chain.steps],
        "artefact": artefact,
        "content_sha256": content_sha256,  # weights (Keras) or file bytes (.tflite): exact reruns match it
        "format": fmt,
        "accuracy": float(accuracy),
        "runtime": runtime,
        **counts,
        **sizes,
        "params_hash": params_hash(params),
        "job_params": params,
        "extra": extra or {},
        "provenance": {"versions": versions(), **host_info(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    }
    last = chain.steps[-1]
    if parent is not None and last.kind == "distill" and last.params["student"] != "self":
        # A new student is not expected to match its teacher: its yardstick is the from-scratch control.
        record.update(
            parent_chain=parent["chain"],
            parent_accuracy=parent["accuracy"],
            accuracy_drop=float(parent["accuracy"]) - float(accuracy),
            flagged=False,
        )
    elif parent is not None:
        drop = float(parent["accuracy"]) - float(accuracy)
        record.update(
            parent_chain=parent["chain"],
            parent_accuracy=parent["accuracy"],
            accuracy_drop=drop,
            flagged=bool(drop > flag_margin),
        )
        if record["flagged"]:
            record["flag_reason"] = (
                f"accuracy {accuracy:.4f} is {drop * 100:.1f} pt below its parent "
                f"({parent['accuracy']:.4f}); margin {flag_margin * 100:.1f} pt"
            )
    else:
        record.update(parent_chain=None, parent_accuracy=None, accuracy_drop=None, flagged=False)
    return record
