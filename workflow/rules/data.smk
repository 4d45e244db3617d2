# Stage 1: get trajectories into the frame store, and split them in time.


rule simulate_toy:
    output:
        directory("resources/{system}/simulated"),
    log:
        "logs/{system}/simulate.log",
    benchmark:
        "logs/{system}/benchmark/simulate.tsv"
    wildcard_constraints:
        system=simulated("toy"),
    conda:
        "../../envs/lammps.yaml"
    threads: 1
    resources:
        runtime=60,
    params:
        simulate=lambda w: simulate_args(w.system),
        frame_interval_ps=system_cfg("frame_interval_ps"),
    script:
        "../scripts/simulate_toy.py"


rule download:
    output:
        "resources/{system}/verified/{name}",
    log:
        "logs/{system}/download/{name}.log",
    wildcard_constraints:
        name=r"[^/]+\.npz",
    localrule: True  # compute nodes of clusters are often offline
    conda:
        "../../envs/analysis.yaml"
    params:
        download=system_cfg("download"),
        manual_path="resources/{system}/download/{name}",  # a copy placed by hand
        listing_path="resources/materialscloud-files.json",  # the saved file listing, if any
    script:
        "../scripts/download.py"


rule import_trajectory:
    input:
        trajectory=imported_trajectory,
        topology=lambda w: SYSTEMS[w.system]["import"]["topology"] or [],
    output:
        "resources/{system}/imported/{name}.npz",
    log:
        "logs/{system}/import/{name}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        options=system_cfg("import"),
        frame_interval_ps=system_cfg("frame_interval_ps"),
    script:
        "../scripts/import_mdtraj.py"


rule prepare_frames:
    input:
        trajectories=trajectory_inputs,
        targets=frame_targets,  # the interface analysis's own targets, if any
    output:
        frames(),
    log:
        "logs/{system}/prepare_frames.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        frame_interval_ps=lambda w: SYSTEMS[w.system].get("frame_interval_ps"),
        trajectory_ns=lambda w: SYSTEMS[w.system].get("trajectory_ns"),
    script:
        "../scripts/prepare_frames.py"


rule split:
    input:
        meta="results/{system}/frames/meta.json",
    output:
        "results/{system}/splits.json",
    log:
        "logs/{system}/split.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        split=system_cfg("split"),
    script:
        "../scripts/split.py"
