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
    params:
        koopman=koopman_args,
    conda:
        "../../envs/analysis.yaml"
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
    params:
        timescales=lambda w: by_lag(w.system, w.model, w.k, "timescales.csv"),
        ck=lambda w: by_lag(w.system, w.model, w.k, "ck_test.csv"),
        override_ps=lambda w: tau_star_override(w.system, w.model),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/select_tau.py"
