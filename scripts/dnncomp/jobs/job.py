"""What every rule script shares: `run` (log redirection, clear errors, the job's cost line) and,
for the jobs that make models, `Job` (TensorFlow start-up, saving each artefact atomically,
evaluating it as that artefact, and its metrics record)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from ..core.energy import operation_counts
from ..core.errors import UserError
from ..core.evaluate import accuracy, keras_logits, make_interpreter, tflite_logits
from ..core.io import atomic_path, read_json, redirect_output, write_bytes, write_json
from ..core.runtime import CLOCK, JOB_COST_PREFIX, init_tf
from ..core.sizes import compressed_sizes, parameter_counts
from ..inputs import data, models
from ..study.chain import Chain, parse_chain, parse_step
from .records import make_record
from .train import fit


def run(main, snakemake) -> None:
    """Run main(snakemake) with output sent to the rule's log.

    Bad input (a UserError) ends the job with one line that names it and no traceback; any other
    exception is a bug and keeps its traceback. The log's last line on success is the job's cost
    (start-up and total CPU and wall seconds) for the cost account."""
    log = snakemake.log[0] if len(snakemake.log) else None
    redirect_output(log)
    CLOCK.enter()
    try:
        main(snakemake)
    except UserError as err:
        print(f"ERROR in rule {snakemake.rule}: {err}", file=sys.stderr)
        sys.exit(1)
    print(JOB_COST_PREFIX + json.dumps(CLOCK.report()))


class Job:
    """One rule invocation: its chain, dataset, TensorFlow modules and evaluation settings."""

    def __init__(self, snakemake, seed: int | None = None):
        self.smk = snakemake
        self.params = dict(snakemake.params.items())
        self.chain = chain_of(snakemake.output[0])
        self.threads = snakemake.threads
        self.tf, self.keras, _ = init_tf(self.threads, self.chain.seed if seed is None else seed, with_tfmot=False)
        self.dataset = data.load(snakemake.input.data)
        evaluation = self.params.get("evaluation", {})
        self.flag_margin = evaluation.get("flag_margin")
        self.resolvers = evaluation.get("resolvers")  # only the jobs that evaluate a .tflite receive them
        self.parent = read_json(snakemake.input.parent_metrics) if "parent_metrics" in snakemake.input.keys() else None
        CLOCK.ready()  # TensorFlow and the data are loaded; load_parent() moves the mark past the model

    @property
    def tfmot(self):
        """TFMOT, imported on first use: only the fine-tuning rules need it."""
        import tensorflow_model_optimization as tfmot

        return tfmot

    def load_parent(self):
        model = models.load(self.keras, self.smk.input.parent_model)
        CLOCK.ready()
        return model

    def fine_tune(self, model, callbacks=()) -> dict:
        """Train `model` on the job's data with its fine-tuning hparams. No early stopping: restoring an
        earlier epoch would undo a schedule that changes the model as it trains (masks, clusters)."""
        train, val = self.dataset.split("train"), self.dataset.split("val")
        return fit(self.keras, model, train, val, self.params["hparams"], callbacks=callbacks, early_stopping=False)

    def record(self, chain=None, **kwargs):
        """A record of this job's artefact, or of `chain`'s in a job that writes several (post-training
        batches). Its params are the job's, less the list of sibling steps."""
        params = {key: value for key, value in self.params.items() if key != "steps"}
        return make_record(
            chain or self.chain, parent=self.parent, flag_margin=self.flag_margin, params=params, **kwargs
        )

    def batch(self, outputs):
        """(step, chain, output paths) for each artefact of a post-training batch, in params order."""
        for token, *paths in zip(self.params["steps"], *outputs, strict=True):
            yield parse_step(token), chain_of(paths[-1]), paths

    def finish_keras(self, model, extra: dict | None = None) -> dict:
        out_model, out_metrics = self.smk.output.model, self.smk.output.metrics
        save_keras(model, out_model)
        x, y = self.dataset.split("test")
        acc = accuracy(keras_logits(model, x), y)
        record = self.record(
            artefact=out_model,
            fmt="keras",
            accuracy=acc,
            content_sha256=weights_sha256(model),
            sizes=compressed_sizes(Path(out_model).read_bytes()),
            counts=parameter_counts(model),
            runtime={"engine": "tensorflow", "threads": self.threads},
            extra=extra,
        )
        write_json(record, out_metrics)
        print(f"{self.chain.label}: test accuracy {acc:.4f}")
        return record

    def finish_tflite(
        self, blob: bytes, counts: dict, extra: dict | None = None, chain=None, out_model=None, out_metrics=None
    ) -> dict:
        chain = chain or self.chain
        out_model, out_metrics = out_model or self.smk.output.model, out_metrics or self.smk.output.metrics
        write_bytes(blob, out_model)
        record = tflite_record(self, blob, out_model, counts, extra, chain)
        write_json(record, out_metrics)
        print(f"{chain.label}: test accuracy {record['accuracy']:.4f}, {len(blob)} bytes")
        return record


def tflite_record(job: Job, blob: bytes, artefact: str, counts: dict, extra: dict | None, chain=None) -> dict:
    """Evaluate a .tflite through LiteRT under every configured resolver (the benchmark uses the same ones).

    The first resolver's accuracy is the artefact's. Another resolver that disagrees by more than the
    flag margin flags the artefact, since a delegate can silently compute wrong outputs; one that
    refuses the model (XNNPACK does, for some sparse int8 models) is recorded as refused."""
    x, y = job.dataset.split("test")
    primary = job.resolvers[0]
    by_resolver, refused, input_dtype = {}, {}, None
    for resolver in job.resolvers:
        try:
            interpreter = make_interpreter(blob, threads=1, resolver=resolver)
        except RuntimeError as err:
            if resolver == primary:
                raise
            refused[resolver] = str(err).strip()
            print(f"resolver '{resolver}' refuses this model: {refused[resolver]}")
            continue
        if resolver == primary:
            input_dtype = interpreter.get_input_details()[0]["dtype"].__name__
        by_resolver[resolver] = accuracy(tflite_logits(interpreter, x), y)
    runtime = {
        "engine": "litert",
        "resolver": primary,
        "resolvers": list(by_resolver),
        "refused": refused,
        "input_dtype": input_dtype,
    }
    record = job.record(
        chain=chain,
        artefact=artefact,
        fmt="tflite",
        accuracy=by_resolver[primary],
        sizes=compressed_sizes(blob),
        content_sha256=hashlib.sha256(blob).hexdigest(),
        counts=counts,
        runtime=runtime,
        extra={**(extra or {}), "accuracy_by_resolver": by_resolver},
    )
    # What one inference executes, counted on the builtin kernels (a delegate hides the op list).
    record["operations"] = operation_counts(make_interpreter(blob, threads=1))
    for resolver, acc in by_resolver.items():
        if by_resolver[primary] - acc > job.flag_margin:
            record["flagged"] = True
            record["flag_reason"] = "; ".join(
                filter(
                    None,
                    [
                        record.get("flag_reason"),
                        (
                            f"resolver '{resolver}' gives accuracy {acc:.4f}, "
                            f"{(by_resolver[primary] - acc) * 100:.1f} pt below "
                            f"'{primary}' ({by_resolver[primary]:.4f}): do not deploy it with that resolver"
                        ),
                    ],
                )
            )
    return record


def chain_of(output_path) -> Chain:
    """The Chain that an output file's directory names."""
    return parse_chain(str(Path(output_path).parent))


def weights_sha256(model) -> str:
    """Digest of a Keras model's weights (a .keras file also stores its save time, so its bytes differ)."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(array.tobytes())
    return digest.hexdigest()


def save_keras(model, path) -> None:
    """The model as a user would ship it: without the optimizer's slots, which would triple the file
    (Adam keeps two per weight), its recorded size and the time to gzip and xz it. The native format
    saves a compiled model's optimizer, so an uncompiled model over the same layers is saved; every
    later step compiles its own optimizer."""
    import tf_keras as keras

    with atomic_path(path) as tmp:
        keras_tmp = tmp.with_suffix(".keras")
        keras.Model(model.inputs, model.outputs, name=model.name).save(keras_tmp)
        keras_tmp.replace(tmp)


def save_weights(model, path) -> None:
    """Weights only, in HDF5: TFMOT's quantize-wrapped models do not load back from a .keras file
    (its QuantizeLayer expects 5 variables and finds 3), so a QAT model is rebuilt and given these."""
    with atomic_path(path) as tmp:
        weights_tmp = tmp.with_suffix(".weights.h5")  # the suffix picks the format that load_weights reads
        model.save_weights(weights_tmp)
        weights_tmp.replace(tmp)


def write_history(history: dict, path) -> None:
    import pandas as pd

    frame = pd.DataFrame(history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
