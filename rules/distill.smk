# Knowledge distillation. The teacher's logits are computed once per dataset and teacher and reused
# by every student job; from-scratch controls are ordinary baselines of the student architectures.


rule teacher_logits:
    input:
        unpack(parent_inputs),
    output:
        logits="results/{chain}/teacher_logits.npz",
    log:
        "results/logs/{chain}/teacher_logits.log",
    benchmark:
        "results/benchmarks/{chain}/teacher_logits.tsv"
    priority: PRIORITY["teacher_logits"]
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    script:
        "../scripts/teacher_logits.py"


rule distill:
    input:
        unpack(parent_inputs),
        logits=teacher_of,
    output:
        model="results/{chain}/distill-{student}-T{temperature}-a{alpha}-seed{student_seed}/model.keras",
        metrics="results/{chain}/distill-{student}-T{temperature}-a{alpha}-seed{student_seed}/metrics.json",
    log:
        "results/logs/{chain}/distill-{student}-T{temperature}-a{alpha}-seed{student_seed}.log",
    benchmark:
        "results/benchmarks/{chain}/distill-{student}-T{temperature}-a{alpha}-seed{student_seed}.tsv"
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        evaluation=evaluation_params(),
        hparams=distill_hparams,
        architecture=lambda wc: architecture_spec(wc.student),
        pruning=pruning_params(),
    script:
        "../scripts/distill.py"
