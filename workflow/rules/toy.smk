# Stage 6 for the toy system: geometric ground truth (tet/oct site of every frame) and the
# validation of the learned model against it.


rule label_sites:
    input:
        frames(),
    output:
        "results/{system}/analysis/sites.npz",
    log:
        "logs/{system}/analysis/label_sites.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/label_sites.py"


rule validate_toy:
    input:
        sites="results/{system}/analysis/sites.npz",
        splits="results/{system}/splits.json",
        meta="results/{system}/frames/meta.json",
        tau_star="results/{system}/gdynet/k2/tau_star.json",
        chi=lambda w: by_lag(w.system, "gdynet", 2, "chi_test.npy").values(),
    output:
        report(
            "results/{system}/analysis/validation.json",
            caption="../report/validation.rst",
            category="Toy system",
        ),
    log:
        "logs/{system}/analysis/validate.log",
    wildcard_constraints:
        system=analysed("toy"),  # other analyses write their own validation.json
    conda:
        "../../envs/analysis.yaml"
    params:
        chi=lambda w: by_lag(w.system, "gdynet", 2, "chi_test.npy"),
    script:
        "../scripts/validate_toy.py"


ANALYSIS_TARGETS["toy"] = lambda system: [
    f"results/{system}/analysis/validation.json",
    *figure_files(system, "fig2b_timescales", "fig2c_states", "fig2d_ck", "supp_fig1_vampnet8_timescales"),
]
