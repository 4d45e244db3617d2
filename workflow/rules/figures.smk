# Stage 7: the paper's figures (PNG for the report, PDF for print).


rule fig2b_timescales:
    input:
        gdynet_tau_star="results/{system}/gdynet/k2/tau_star.json",
        gdynet=lambda w: model_files(w.system, "gdynet", 2, "timescales.csv"),
        vampnet_tau_star="results/{system}/vampnet/k2/tau_star.json",
        vampnet=lambda w: model_files(w.system, "vampnet", 2, "timescales.csv"),
    output:
        figure("fig2b_timescales", "fig2b"),
    log:
        "logs/{system}/figures/fig2b.log",
    params:
        gdynet_lags_ps=lambda w: SYSTEMS[w.system]["models"]["gdynet"]["lags_ps"],
        vampnet_lags_ps=lambda w: SYSTEMS[w.system]["models"]["vampnet"]["lags_ps"],
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig2b_timescales.py"


rule fig2c_states:
    input:
        frames(),
        splits="results/{system}/splits.json",
        tau_star="results/{system}/gdynet/k2/tau_star.json",
        chi=lambda w: model_files(w.system, "gdynet", 2, "chi_test.npy"),
    output:
        figure("fig2c_states", "fig2c"),
    log:
        "logs/{system}/figures/fig2c.log",
    params:
        lags_ps=lambda w: SYSTEMS[w.system]["models"]["gdynet"]["lags_ps"],
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig2c_states.py"


rule fig2d_ck:
    input:
        gdynet_tau_star="results/{system}/gdynet/k2/tau_star.json",
        gdynet=lambda w: model_files(w.system, "gdynet", 2, "ck_test.csv"),
        vampnet_tau_star="results/{system}/vampnet/k2/tau_star.json",
        vampnet=lambda w: model_files(w.system, "vampnet", 2, "ck_test.csv"),
    output:
        figure("fig2d_ck", "fig2d"),
    log:
        "logs/{system}/figures/fig2d.log",
    params:
        gdynet_lags_ps=lambda w: SYSTEMS[w.system]["models"]["gdynet"]["lags_ps"],
        vampnet_lags_ps=lambda w: SYSTEMS[w.system]["models"]["vampnet"]["lags_ps"],
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig2d_ck.py"


rule supp_fig1:
    input:
        tau_star="results/{system}/vampnet/k8/tau_star.json",
        timescales=lambda w: model_files(w.system, "vampnet", 8, "timescales.csv"),
    output:
        figure("supp_fig1_vampnet8_timescales", "supp_fig1"),
    log:
        "logs/{system}/figures/supp_fig1.log",
    params:
        lags_ps=lambda w: SYSTEMS[w.system]["models"]["vampnet"]["lags_ps"],
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/supp_fig1.py"
