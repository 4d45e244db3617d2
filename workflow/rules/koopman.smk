# Stage 5: Koopman analysis of the test-set states (Eq. 2, 6 and 11): implied timescales
# with 95 % CI, CK test, eigenvectors, and the choice of τ* over the trained lag times.


rule koopman:
    input:
        chi=f"{MODEL_DIR}/chi_test.npy",
        splits="results/{system}/splits.json",
        meta="results/{system}/frames/meta.json",
    output:
        timescales=f"{MODEL_DIR}/timescales.csv",
        ck=f"{MODEL_DIR}/ck_test.csv",
        koopman=f"{MODEL_DIR}/koopman.json",
    log:
        "logs/{system}/koopman/{model}_k{k}_tau{tau}ps.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        koopman=koopman_args,
    script:
        "../scripts/koopman.py"


rule select_tau:
    input:
        timescales=lambda w: by_lag(w.system, w.model, w.k, "timescales.csv").values(),
        ck=lambda w: by_lag(w.system, w.model, w.k, "ck_test.csv").values(),
    output:
        "results/{system}/{model}/k{k}/tau_star.json",
    log:
        "logs/{system}/koopman/{model}_k{k}_tau_star.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        timescales=lambda w: by_lag(w.system, w.model, w.k, "timescales.csv"),
        ck=lambda w: by_lag(w.system, w.model, w.k, "ck_test.csv"),
        override_ps=lambda w: tau_star_override(w.system, w.model),
    script:
        "../scripts/select_tau.py"


# The system-independent outputs of every (model, k), drawn at its τ* (Figs. 3d-f and 4d-f
# for the interface and the electrolyte: koopman_panel).


rule koopman_summary:
    input:
        tau_star="results/{system}/{model}/k{k}/tau_star.json",
        timescales=lambda w: by_lag(w.system, w.model, w.k, "timescales.csv").values(),
        koopman=lambda w: by_lag(w.system, w.model, w.k, "koopman.json").values(),
        metrics=lambda w: by_lag(w.system, w.model, w.k, "metrics.csv").values(),
        seeds=lambda w: by_lag(w.system, w.model, w.k, "seeds.csv").values(),
    output:
        report(
            "results/{system}/{model}/k{k}/summary.csv",
            caption="../report/summary.rst",
            category="Summary tables",
            subcategory="{system}",
        ),
    log:
        "logs/{system}/koopman/{model}_k{k}_summary.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        timescales=lag_files("timescales.csv"),
        koopman=lag_files("koopman.json"),
        metrics=lag_files("metrics.csv"),
        seeds=lag_files("seeds.csv"),
    script:
        "../scripts/koopman_summary.py"


rule koopman_timescales:
    input:
        unpack(at_tau_star("timescales.csv")),
    output:
        figure("{panel}_timescales_{model}_k{k}", "koopman_timescales"),
    log:
        "logs/{system}/figures/{panel}_timescales_{model}_k{k}.log",
    wildcard_constraints:
        panel="fig3d|fig4d|koopman",
    conda:
        "../../envs/plots.yaml"
    params:
        kind="timescales",  # what koopman_figures.py draws
        files=lag_files("timescales.csv"),
    script:
        "../scripts/koopman_figures.py"


rule koopman_eigenvectors:
    input:
        unpack(at_tau_star("koopman.json")),
    output:
        figure("{panel}_eigenvectors_{model}_k{k}", "koopman_eigenvectors"),
    log:
        "logs/{system}/figures/{panel}_eigenvectors_{model}_k{k}.log",
    wildcard_constraints:
        panel="fig3e|fig4e|koopman",
    conda:
        "../../envs/plots.yaml"
    params:
        kind="eigenvectors",  # what koopman_figures.py draws
        files=lag_files("koopman.json"),
    script:
        "../scripts/koopman_figures.py"


rule koopman_ck:
    input:
        unpack(at_tau_star("ck_test.csv")),
    output:
        figure("{panel}_ck_{model}_k{k}", "koopman_ck"),
    log:
        "logs/{system}/figures/{panel}_ck_{model}_k{k}.log",
    wildcard_constraints:
        panel="fig3f|fig4f|koopman",
    conda:
        "../../envs/plots.yaml"
    params:
        kind="ck",  # what koopman_figures.py draws
        files=lag_files("ck_test.csv"),
    script:
        "../scripts/koopman_figures.py"


rule koopman_populations:
    input:
        unpack(at_tau_star("koopman.json")),
    output:
        figure("populations_{model}_k{k}", "koopman_populations"),
    log:
        "logs/{system}/figures/populations_{model}_k{k}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        kind="populations",  # what koopman_figures.py draws
        files=lag_files("koopman.json"),
    script:
        "../scripts/koopman_figures.py"


rule koopman_training:
    input:
        unpack(at_tau_star("metrics.csv")),
    output:
        figure("training_{model}_k{k}", "koopman_training"),
    log:
        "logs/{system}/figures/training_{model}_k{k}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        kind="training",  # what koopman_figures.py draws
        files=lag_files("metrics.csv"),
    script:
        "../scripts/koopman_figures.py"


rule config_record:
    output:
        report(
            "results/config.json",
            caption="../report/config.rst",
            category="Configuration",
        ),
    log:
        "logs/config_record.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        config=lambda w: canonical(config),
    script:
        "../scripts/config_record.py"
