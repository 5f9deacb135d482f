# Each dataset is read from its source once, validated, split and cached for every later job.


# Downloads need the internet, which cluster nodes may lack: run on the submitting host.
localrules:
    prepare_data,


rule prepare_data:
    output:
        data="results/data/{dataset}.npz",
    log:
        "results/logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        spec=lambda wc: config["datasets"][wc.dataset],
        data_dir=config.get("data_dir"),
        download_dir="results/downloads",
        seed=config["study"]["data_seed"],
    script:
        "../scripts/prepare_data.py"
