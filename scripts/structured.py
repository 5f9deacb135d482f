"""Rule structured: remove whole neurons, filters and channels, rebuild the smaller dense model and
fine-tune it; with rounds, cut and fine-tune in turn within the same epoch budget."""

from dnncomp.core.sizes import layer_table
from dnncomp.jobs.job import Job, run
from dnncomp.jobs.train import fit
from dnncomp.study.chain import step_from_wildcards
from dnncomp.techniques import structured

# Training images that measure each input pixel's activity (an MLP's input crop).
ACTIVITY_SAMPLES = 2000


def main(smk):
    job = Job(smk)
    step = step_from_wildcards("structured", smk.wildcards).params
    hp, settings = job.params["hparams"], job.params["structured"]
    train, val = job.dataset.split("train"), job.dataset.split("val")
    model = job.load_parent()
    before = layer_table(model)
    slimming = None
    if step["criterion"] == "slim":
        slimming = dict(settings["slimming"])
        structured.gamma_penalty(job.keras, model, slimming["penalty"])
        print(f"network slimming: {slimming['epochs']} epoch(s) with an L1 penalty {slimming['penalty']} on gamma")
        slimming["history"] = fit(
            job.keras, model, train, val, {**hp, "epochs": slimming["epochs"]}, early_stopping=False
        )
    activity = structured.input_activity(job.keras, model, train[0][:ACTIVITY_SAMPLES])
    rounds, epochs = step["rounds"], hp["epochs"]
    fraction = structured.round_fraction(step["kept"], rounds)
    plans, history = [], {}
    for r in range(rounds):
        result = structured.cut(job.keras, model, step["target"], fraction, step["criterion"], settings, activity)
        activity = None  # the input is cropped once, in the first round
        model = result.model
        for note in result.plan["notes"]:
            print(note)
        for group in result.plan["groups"]:
            print(
                f"round {r + 1}: {'+'.join(group['layers'])}: {group['kept']} of {group['channels']} kept"
                + (f" (whole: {group['whole']})" if "whole" in group else "")
            )
        # The epochs spread over the rounds, the last round taking what does not divide.
        share = epochs // rounds + (epochs % rounds if r == rounds - 1 else 0)
        if share:
            for key, values in fit(job.keras, model, train, val, {**hp, "epochs": share}, early_stopping=False).items():
                history.setdefault(key, []).extend(values)
        plans.append(result.plan)
    first, last = plans[0], plans[-1]
    print(f"MACs {first['macs_before']} -> {last['macs_after']} ({last['macs_after'] / first['macs_before']:.3f})")
    extra = {
        "structured": {
            "rounds": plans,
            "macs_before": first["macs_before"],
            "macs_after": last["macs_after"],
            "crop": first["crop"],
            "slimming": slimming,
        },
        "layers_before": before,
        "layers": layer_table(model),
        "history": history,
    }
    job.finish_keras(model, extra=extra)


run(main, snakemake)  # noqa: F821
