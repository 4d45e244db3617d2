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
    params:
        graph=system_cfg("graph"),
    threads: 2
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/featurize.py"
