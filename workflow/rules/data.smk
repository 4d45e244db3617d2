# Stage 1: get trajectories into the frame store, and split them in time.


rule simulate_toy:
    output:
        directory("resources/{system}/simulated"),
    log:
        "logs/{system}/simulate.log",
    benchmark:
        "benchmarks/{system}/simulate.tsv"
    params:
        simulate=system_cfg("simulate"),
        frame_interval_ps=lambda w: SYSTEMS[w.system]["frame_interval_ps"],
    threads: 1
    resources:
        runtime=60,
    conda:
        "../../envs/lammps.yaml"
    script:
        "../scripts/simulate_toy.py"


rule prepare_frames:
    input:
        trajectory_inputs,
    output:
        frames(),
    log:
        "logs/{system}/prepare_frames.log",
    params:
        frame_interval_ps=lambda w: SYSTEMS[w.system]["frame_interval_ps"],
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/prepare_frames.py"


rule split:
    input:
        meta="results/{system}/frames/meta.json",
    output:
        "results/{system}/splits.json",
    log:
        "logs/{system}/split.log",
    params:
        split=system_cfg("split"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/split.py"
