# Stage 2: the periodic M-nearest-neighbour graph of every frame.


rule featurize:
    input:
        frames(),
    output:
        graphs(),
    log:
        "logs/{system}/featurize.log",
    benchmark:
        "logs/{system}/benchmark/featurize.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=featurize_runtime,
    params:
        graph=system_cfg("graph"),
    script:
        "../scripts/featurize.py"
