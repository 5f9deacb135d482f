"""Rule bench_family: every deployable artefact of one dataset x model x seed family, timed side by
side on the CPU in interleaved rounds (LiteRT for each .tflite, tf.function for the Keras baseline)."""

from pathlib import Path

from dnncomp.core.io import read_json, write_json
from dnncomp.core.runtime import CLOCK, host_info, init_tf, versions
from dnncomp.inputs import data, models
from dnncomp.jobs.job import run
from dnncomp.measure import family
from dnncomp.measure.bench import TIMING_KEYS
from dnncomp.measure.meters import rapl_meter


def load_artefacts(model_paths, metrics_paths, guest: bool = False) -> list:
    """The family's .tflite files; guests (another family's distilled students) are labelled by their
    path, which no chain of this family can share."""
    artefacts = []
    for model_path, metrics_path in zip(model_paths, metrics_paths, strict=True):
        record = read_json(metrics_path)
        label = str(Path(model_path).parent.relative_to("results")) if guest else record["chain"]
        artefacts.append(
            {
                "artefact": model_path,
                "chain": label,
                "blob": Path(model_path).read_bytes(),
                "resolvers": record["runtime"]["resolvers"],
                "guest": guest,
            }
        )
    return artefacts


def main(smk):
    cfg = smk.params.benchmark
    tf, keras, _ = init_tf(family.all_threads(smk.threads), seed=0, deterministic=False, with_tfmot=False)
    x_test, _ = data.load(smk.input.data).split("test")
    keras_model = models.load(keras, smk.input.keras)
    artefacts = load_artefacts(smk.input.tflite, smk.input.tflite_metrics)
    artefacts += load_artefacts(smk.input.guests, smk.input.guest_metrics, guest=True)
    meter, energy = rapl_meter()
    print(f"energy: {energy}")
    CLOCK.ready()
    entries = family.measure(tf, keras_model, smk.input.keras, artefacts, x_test, cfg, smk.threads, meter=meter)
    for entry in entries:
        for r in entry["results"]:
            speedup = r.get("speedup_vs_fp32_tflite", {}).get("median")
            print(
                f"{entry['chain']} {r['resolver'] or 'tf.function'} threads {r['threads']} batch {r['batch']}: "
                f"median {r['median_us']:.1f} us" + (f", {speedup:.2f}x vs fp32 .tflite" if speedup else "")
            )
    write_json(
        {
            "family": str(Path(smk.output.bench).parent),
            "device": "cpu",
            "threads": smk.threads,
            "timing": {k: cfg[k] for k in TIMING_KEYS},
            "energy": {"meter": meter.name if meter else None, "status": energy},
            "artefacts": entries,
            "provenance": {"versions": versions(), **host_info()},
        },
        smk.output.bench,
    )


run(main, snakemake)  # noqa: F821
