"""The GPU benchmark of one family: every Keras model it keeps (baseline, pruned, clustered, distilled
students, and QAT models rebuilt from their saved weights) in float32 and float16, XLA off and on, at
each GPU batch size, timed side by side in interleaved rounds (synchronised: each call copies its
result back), with energy from NVML's counter where it is readable. Speedups are per-round ratios.
Pruned weights are zeros in dense tensors: the GPU multiplies them like any other weight, so pruning
buys no GPU speed here (the record says so)."""

from __future__ import annotations

from pathlib import Path

from ..inputs import models
from ..study.chain import parse_chain
from ..techniques.quantize import load_qat, preserved
from . import bench
from .meters import idle_power, measure

PRECISIONS = ("float32", "float16")
XLA = (False, True)
DENSE_NOTE = (
    "TensorFlow runs pruned and clustered models with dense GPU kernels: their zero and shared weights "
    "cost the same time and energy as any other weight. QAT models run float32 arithmetic with fake-quant "
    "ops (not int8 kernels), in float32 only: TensorFlow's fake-quant ops take float32."
)
NO_DRIVER = "no GPU on the machine that ran this"


def driver_visible(proc: str = "/proc/driver/nvidia/version") -> bool:
    """Whether an NVIDIA driver is loaded: without one TensorFlow cannot see a GPU, so a job can say so
    without paying TensorFlow's start-up."""
    return Path(proc).exists()


def device_info(tf, gpu) -> dict:
    """The GPU's name and the CUDA and cuDNN versions this TensorFlow was built with."""
    build = tf.sysconfig.get_build_info()
    details = tf.config.experimental.get_device_details(gpu)
    return {
        "name": details.get("device_name", gpu.name),
        "compute_capability": details.get("compute_capability"),
        "cuda_build": build.get("cuda_version"),
        "cudnn_build": build.get("cudnn_version"),
    }


def at_precision(keras, model, precision: str):
    """The model computing in `precision`: float16 rebuilds it under Keras's mixed policy (float16
    compute, float32 variables), the weights copied."""
    if precision == "float32":
        return model
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return clone


def qat_entry(weights_path: str, record: dict) -> dict:
    """A QAT model to time: rebuilt from its parent's Keras file with the scheme its chain implies, then
    given its fine-tuned weights."""
    chain = parse_chain(str(Path(weights_path).parent))
    bits = int(chain.steps[-1].params["bits"])
    qat = {"parent": f"{chain.parent.path}/model.keras", "bits": bits, **preserved(chain)}
    return {"artefact": weights_path, "path": weights_path, "chain": record["chain"], "qat": qat}


def loader(keras, tfmot=None):
    """load(entry) for build_cases: a Keras file, or a QAT model rebuilt (needs TFMOT)."""

    def load(entry):
        if "qat" not in entry:
            return models.load(keras, entry["path"])
        qat = entry["qat"]
        parent = models.load(keras, qat["parent"])
        return load_qat(tfmot, keras, parent, entry["path"], qat["bits"], qat["pruned"], qat["clustered"])

    return load


def build_cases(tf, keras, entries: list, x, batches, device: str, load=None) -> list:
    """Cases keyed (chain, precision, xla, batch). `entries`: dicts with chain and path; `load(entry)`
    makes the model (default: the Keras file at path)."""
    cases = []
    for entry in entries:
        base = load(entry) if load else models.load(keras, entry["path"])
        for precision in ("float32",) if "qat" in entry else PRECISIONS:
            model = at_precision(keras, base, precision)
            for xla in XLA:
                for batch in batches:
                    key = (entry["chain"], precision, xla, batch)
                    cases.append(bench.keras_case(key, tf, model, x, batch, device=device, jit_compile=xla))
    return cases


REFERENCES = {
    "speedup_vs_float32": lambda chain, precision, xla, batch: (chain, "float32", xla, batch),
    "speedup_vs_no_xla": lambda chain, precision, xla, batch: (chain, precision, False, batch),
    "speedup_vs_baseline": lambda chain, precision, xla, batch: ("baseline", precision, xla, batch),
}


def result_row(case, by_key: dict) -> dict:
    chain, precision, xla, batch = case.key
    row = bench.case_stats(case, batch)
    row.update(precision=precision, xla=xla)
    for name, reference in REFERENCES.items():
        ref = reference(*case.key)
        if ref != case.key and ref in by_key:
            row[name] = bench.ratio_stats(by_key[ref], case)
    return row


def measure_family(tf, keras, entries: list, x, cfg: dict, device: str, meter=None, load=None) -> list:
    """Time every case in interleaved rounds; then, with a meter, the energy of each XLA-off case."""
    cases = build_cases(tf, keras, entries, x, cfg["gpu_batch_sizes"], device, load)
    bench.run_rounds(cases, cfg)
    by_key = {case.key: case for case in cases}
    rows = {e["chain"]: {"artefact": e["artefact"], "chain": e["chain"], "results": []} for e in entries}
    idle_w = idle_power(meter, cfg["energy"]["idle_seconds"]) if meter else None
    for case in cases:
        row = result_row(case, by_key)
        chain, _, xla, batch = case.key
        if meter and not xla:
            row["energy"] = measure(meter, case.prepare(), batch, cfg["energy"], idle_w)
        rows[chain]["results"].append(row)
    return list(rows.values())
