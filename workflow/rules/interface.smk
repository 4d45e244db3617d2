# Stage 6 for a solid-liquid interface (the paper's Si-Au, Fig. 3 and Supp. Fig. 2, and its
# simulated analog): the slab simulation, the target atoms chosen from the first frame,
# the bond order and position of every target in the test frames, the learned states
# named and placed (z-profiles, cross-sections, order parameter per state), and the
# validation against the order-parameter labels.

INTERFACE = "results/{system}/analysis"
INTERFACE_MODEL = "results/{system}/analysis/gdynet_k{k}"


rule simulate_interface:
    output:
        "resources/{system}/simulated/{name}.npz",
    log:
        "logs/{system}/simulate/{name}.log",
    benchmark:
        "logs/{system}/benchmark/simulate_{name}.tsv"
    wildcard_constraints:
        system=simulated("interface"),
    conda:
        "../../envs/lammps.yaml"
    threads: 1  # OpenMP LAMMPS ran 6x slower on 2 threads of a shared 2-core machine
    resources:
        runtime=60,
        mem_mb=4000,
    params:
        simulate=lambda w: simulate_args(w.system),
        frame_interval_ps=system_cfg("frame_interval_ps"),
    script:
        "../scripts/simulate_interface.py"


rule select_targets:
    input:
        lambda w: trajectory_files(w.system)[0],
    output:
        f"{INTERFACE}/targets.json",
    log:
        "logs/{system}/interface/select_targets.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        interface=system_cfg("interface"),
    script:
        "../scripts/select_targets.py"


rule order_parameters:
    input:
        frames(),
        targets=f"{INTERFACE}/targets.json",
        splits="results/{system}/splits.json",
    output:
        f"{INTERFACE}/order_parameters.npz",
    log:
        "logs/{system}/interface/order_parameters.log",
    benchmark:
        "logs/{system}/benchmark/order_parameters.tsv"
    conda:
        "../../envs/analysis.yaml"
    resources:
        runtime=60,
        mem_mb=4000,
    params:
        order=system_cfg("interface", "order"),
    script:
        "../scripts/order_parameters.py"


rule interface_observables:
    input:
        frames(),
        order=f"{INTERFACE}/order_parameters.npz",
        targets=f"{INTERFACE}/targets.json",
    output:
        f"{INTERFACE}/observables.npz",
    log:
        "logs/{system}/interface/observables.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/interface_observables.py"


rule interface_states:
    input:
        chi=lambda w: interface_chi(w).values(),
        tau_star="results/{system}/gdynet/k{k}/tau_star.json",
        observables=f"{INTERFACE}/observables.npz",
        targets=f"{INTERFACE}/targets.json",
        splits="results/{system}/splits.json",
        meta="results/{system}/frames/meta.json",
    output:
        states=report(
            f"{INTERFACE_MODEL}/states.csv",
            caption="../report/interface_states.rst",
            category="Interface",
            subcategory="{system}",
        ),
        z_profiles=f"{INTERFACE_MODEL}/z_profiles.csv",
        order_profiles=f"{INTERFACE_MODEL}/order_profiles.csv",
    log:
        "logs/{system}/interface/states_gdynet_k{k}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        chi=interface_chi,
        persistence_ps=system_cfg("interface", "persistence_ps"),
        bin_A=system_cfg("interface", "profile_bin_A"),
    script:
        "../scripts/interface_states.py"


rule fig3b_cross_section:
    input:
        frames(),
        chi=lambda w: interface_chi(w).values(),
        tau_star="results/{system}/gdynet/k{k}/tau_star.json",
        states=f"{INTERFACE_MODEL}/states.csv",
        targets=f"{INTERFACE}/targets.json",
        splits="results/{system}/splits.json",
    output:
        figure("fig3b_cross_section_gdynet_k{k}", "fig3b"),
    log:
        "logs/{system}/figures/fig3b_gdynet_k{k}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        chi=interface_chi,
        thickness_A=system_cfg("interface", "slab_thickness_A"),
        frame=system_cfg("interface", "cross_section_frame"),
    script:
        "../scripts/fig3b_cross_section.py"


rule fig3c_z_profiles:
    input:
        z_profiles=f"{INTERFACE_MODEL}/z_profiles.csv",
        targets=f"{INTERFACE}/targets.json",
    output:
        figure("fig3c_z_profiles_gdynet_k{k}", "fig3c"),
    log:
        "logs/{system}/figures/fig3c_gdynet_k{k}.log",
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig3c_z_profiles.py"


rule supp_fig2a_order_map:
    input:
        frames(),
        observables=f"{INTERFACE}/observables.npz",
        targets=f"{INTERFACE}/targets.json",
        splits="results/{system}/splits.json",
    output:
        figure("supp_fig2a_order_map", "supp_fig2a"),
    log:
        "logs/{system}/figures/supp_fig2a.log",
    conda:
        "../../envs/plots.yaml"
    params:
        order=system_cfg("interface", "order"),
        thickness_A=system_cfg("interface", "slab_thickness_A"),
        frame=system_cfg("interface", "cross_section_frame"),
    script:
        "../scripts/supp_fig2a_order_map.py"


rule supp_fig2b_order_by_state:
    input:
        order_profiles=f"{INTERFACE_MODEL}/order_profiles.csv",
        states=f"{INTERFACE_MODEL}/states.csv",
    output:
        figure("supp_fig2b_order_by_state_gdynet_k{k}", "supp_fig2b"),
    log:
        "logs/{system}/figures/supp_fig2b_gdynet_k{k}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        order=system_cfg("interface", "order"),
    script:
        "../scripts/supp_fig2b_order_by_state.py"


rule validate_interface:
    input:
        chi=lambda w: by_lag(w.system, "gdynet", interface_models(w.system)[1], "chi_test.npy").values(),
        tau_star=lambda w: f"results/{w.system}/gdynet/k{interface_models(w.system)[1]}/tau_star.json",
        observables=f"{INTERFACE}/observables.npz",
        targets=f"{INTERFACE}/targets.json",
        splits="results/{system}/splits.json",
        meta="results/{system}/frames/meta.json",
    output:
        report(
            f"{INTERFACE}/validation.json",
            caption="../report/interface_validation.rst",
            category="Interface",
            subcategory="{system}",
        ),
    log:
        "logs/{system}/interface/validate.log",
    wildcard_constraints:
        system=analysed("interface"),  # other analyses write their own validation.json
    conda:
        "../../envs/analysis.yaml"
    params:
        chi=lambda w: by_lag(w.system, "gdynet", interface_models(w.system)[1], "chi_test.npy"),
        n_states=lambda w: interface_models(w.system)[1],
        persistence_ps=system_cfg("interface", "persistence_ps"),
        bin_A=system_cfg("interface", "profile_bin_A"),
    script:
        "../scripts/validate_interface.py"


ANALYSIS_TARGETS["interface"] = lambda system: [
    f"results/{system}/analysis/targets.json",
    f"results/{system}/analysis/validation.json",
    *figure_files(system, "supp_fig2a_order_map"),
    *[
        path
        for k in interface_models(system)[0]
        for path in [
            f"results/{system}/analysis/gdynet_k{k}/states.csv",
            *figure_files(
                system,
                f"fig3b_cross_section_gdynet_k{k}",
                f"fig3c_z_profiles_gdynet_k{k}",
                f"supp_fig2b_order_by_state_gdynet_k{k}",
            ),
        ]
    ],
]
