# Stage 7: the paper's figures (PNG for the report, PDF for print).


rule fig2b_timescales:
    input:
        unpack(tau_star_inputs("timescales.csv")),
        validation="results/{system}/analysis/validation.json",
    output:
        figure("fig2b_timescales", "fig2b"),
    log:
        "logs/{system}/figures/fig2b.log",
    conda:
        "../../envs/plots.yaml"
    params:
        files=tau_star_files("timescales.csv"),
    script:
        "../scripts/fig2b_timescales.py"


rule fig2c_states:
    input:
        frames(),
        unpack(tau_star_inputs("chi_test.npy", models=[("gdynet", 2)])),
        splits="results/{system}/splits.json",
    output:
        figure("fig2c_states", "fig2c"),
    log:
        "logs/{system}/figures/fig2c.log",
    conda:
        "../../envs/plots.yaml"
    params:
        files=tau_star_files("chi_test.npy", models=[("gdynet", 2)]),
    script:
        "../scripts/fig2c_states.py"


rule fig2d_ck:
    input:
        unpack(tau_star_inputs("ck_test.csv")),
        validation="results/{system}/analysis/validation.json",
    output:
        figure("fig2d_ck", "fig2d"),
    log:
        "logs/{system}/figures/fig2d.log",
    conda:
        "../../envs/plots.yaml"
    params:
        files=tau_star_files("ck_test.csv"),
    script:
        "../scripts/fig2d_ck.py"


rule supp_fig1:
    input:
        unpack(tau_star_inputs("timescales.csv", models=[("vampnet", 8)])),
    output:
        figure("supp_fig1_vampnet8_timescales", "supp_fig1"),
    log:
        "logs/{system}/figures/supp_fig1.log",
    conda:
        "../../envs/plots.yaml"
    params:
        files=tau_star_files("timescales.csv", models=[("vampnet", 8)]),
    script:
        "../scripts/supp_fig1.py"
