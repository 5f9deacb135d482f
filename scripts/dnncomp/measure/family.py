"""The CPU benchmark of one family (dataset x model x seed): every deployable .tflite under each
op resolver it was evaluated with, and the float32 Keras baseline, timed together in interleaved
rounds. Speedups are per-round ratios against the family's own float32 .tflite (same resolver,
threads and batch) and against the Keras baseline."""

from __future__ import annotations

import numpy as np

from ..study.chain import FP32_REFERENCE
from .bench import case_stats, keras_case, ratio_stats, run_rounds, tflite_case
from .meters import idle_power
from .meters import measure as measure_energy

KERAS = "keras"


def all_threads(job_threads: int) -> int:
    """What "all threads" means for a timing: the job's threads less one, left to the OS and the
    scheduler. A thread preempted mid-inference stalls every other one at the next op, so timings
    that use every core of a shared host are not repeatable (measured: per-ratio differences of
    5-18 % between two runs with 2 of 2 cores, under 1 % with 1)."""
    return max(1, int(job_threads) - 1)


def thread_counts(requested, job_threads: int) -> list:
    """0 in the config means all threads (see all_threads); duplicates collapse."""
    return sorted({int(t) or all_threads(job_threads) for t in requested})


def build_cases(tf, keras_model, artefacts: list, x, cfg: dict, job_threads: int) -> list:
    """Cases keyed (chain, engine/resolver, threads, batch). `artefacts`: dicts with chain, blob, resolvers."""
    cases = []
    for artefact in artefacts:
        for resolver in artefact["resolvers"]:
            for threads in thread_counts(cfg["threads"], job_threads):
                for batch in cfg["batch_sizes"]:
                    key = (artefact["chain"], resolver, threads, batch)
                    cases.append(tflite_case(key, artefact["blob"], x, batch, threads, resolver))
    if keras_model is not None:
        for batch in cfg["batch_sizes"]:
            cases.append(keras_case(("baseline", KERAS, all_threads(job_threads), batch), tf, keras_model, x, batch))
    return cases


def result_row(case, by_key: dict, job_threads: int) -> dict:
    _, engine, threads, batch = case.key
    row = case_stats(case, case.actual_batch)
    row.update(resolver=None if engine == KERAS else engine, threads=threads, requested_batch=batch)
    if engine == KERAS:
        return row
    references = {
        "speedup_vs_fp32_tflite": (FP32_REFERENCE, engine, threads, batch),
        "speedup_vs_keras": ("baseline", KERAS, all_threads(job_threads), batch),
    }
    for name, key in references.items():
        if key in by_key and by_key[key].actual_batch == case.actual_batch:
            row[name] = ratio_stats(by_key[key], case)
    return row


def energy_cases(cases: list, artefacts: list) -> list:
    """The cases whose energy is measured: each .tflite at batch 1 on one thread under its primary resolver."""
    primary = {a["chain"]: a["resolvers"][0] for a in artefacts}
    one = min(c.key[2] for c in cases)
    return [c for c in cases if primary.get(c.key[0]) == c.key[1] and c.key[2] == one and c.key[3] == 1]


def measure(
    tf,
    keras_model,
    keras_path: str | None,
    artefacts: list,
    x,
    cfg: dict,
    job_threads: int,
    seed: int = 0,
    meter=None,
) -> list:
    """Run the interleaved rounds, then, with a meter (RAPL), the energy of each energy case; return
    one entry per artefact with its results."""
    cases = build_cases(tf, keras_model, artefacts, x, cfg, job_threads)
    run_rounds(cases, cfg, seed=seed)
    energy = {}
    if meter is not None:
        idle_w = idle_power(meter, cfg["energy"]["idle_seconds"])
        energy = {
            c.key: measure_energy(meter, c.prepare(), 1, cfg["energy"], idle_w) for c in energy_cases(cases, artefacts)
        }
    by_key = {case.key: case for case in cases}
    entries = {}
    for artefact in artefacts:
        entries[artefact["chain"]] = {
            "artefact": artefact["artefact"],
            "chain": artefact["chain"],
            "engine": "litert",
            "resolvers": list(artefact["resolvers"]),
            "guest": bool(artefact.get("guest")),
            "results": [],
        }
    if keras_model is not None:
        entries["baseline"] = {
            "artefact": keras_path,
            "chain": "baseline",
            "engine": "tf.function",
            "resolvers": [],
            "guest": False,
            "results": [],
        }
    for case in cases:
        row = result_row(case, by_key, job_threads)
        if case.key in energy:
            row["energy"] = energy[case.key]
        entries[case.key[0]]["results"].append(row)
    return list(entries.values())


def speedups(record: dict, name: str = "speedup_vs_fp32_tflite") -> dict:
    """(chain, resolver, threads, batch) -> median speedup, from a family record; the reference's own
    ratio (1 by construction) is left out."""
    out = {}
    for entry in record["artefacts"]:
        if entry["chain"] == FP32_REFERENCE:
            continue
        for r in entry["results"]:
            if name in r:
                out[(entry["chain"], r["resolver"], r["threads"], r["batch"])] = r[name]["median"]
    return out


def agreement(first: dict, second: dict) -> dict:
    """How well two runs of one family's benchmark agree: the relative differences of their speedups,
    |b - a| / a over the cases both measured. Repeatable timings have a small median and few outliers."""
    a, b = speedups(first), speedups(second)
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two benchmark records share no measured speedup")
    diffs = np.array([abs(b[k] - a[k]) / a[k] for k in common])
    return {
        "cases": len(common),
        "median_rel_diff": float(np.median(diffs)),
        "p90_rel_diff": float(np.percentile(diffs, 90)),
        "max_rel_diff": float(diffs.max()),
        "share_within_5pct": float(np.mean(diffs <= 0.05)),
        "share_within_10pct": float(np.mean(diffs <= 0.10)),
    }


def main(argv=None) -> None:
    """python -m dnncomp.measure.family FIRST.json SECOND.json: agreement of two runs of one family benchmark."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("first")
    parser.add_argument("second")
    args = parser.parse_args(argv)
    records = [json.loads(open(path).read()) for path in (args.first, args.second)]
    print(json.dumps(agreement(*records), indent=2))


if __name__ == "__main__":
    main()
