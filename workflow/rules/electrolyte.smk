# Stage 6 for a polymer electrolyte (analyses: [electrolyte]; the paper's PEO/LiTFSI and the
# coarse-grained analog simulated here): the learned Li states at τ* against geometric
# solvation classes, state-weighted RDFs (Eq. 12), shell charges (Supp. Note 3), transition
# diffusion and the conduction decomposition (Eq. 13-16), and Figs. 4b, 4c, 5, Supp. Fig. 3.
# The Koopman figures (Fig. 4d-f) are the system-independent ones of figures.smk.

ELECTROLYTE = "results/{system}/analysis"


rule simulate_electrolyte:
    output:
        "resources/{system}/simulated/{name}.npz",
    log:
        "logs/{system}/simulate/{name}.log",
    benchmark:
        "logs/{system}/benchmark/simulate/{name}.tsv"
    wildcard_constraints:
        system=simulated("electrolyte"),
        name=r"seed-\d+",
    conda:
        "../../envs/lammps.yaml"
    threads: 1
    resources:
        runtime=60,
    params:
        simulate=lambda w: {k: v for k, v in simulate_args(w.system).items() if k != "seeds"},
        seed=electrolyte_seed,  # adding a seed runs one more job and reruns no other
        frame_interval_ps=system_cfg("frame_interval_ps"),
    script:
        "../scripts/simulate_electrolyte.py"


rule electrolyte_geometric:
    input:
        frames(),
        splits="results/{system}/splits.json",
    output:
        f"{ELECTROLYTE}/geometric_states.npz",
    log:
        "logs/{system}/analysis/electrolyte_geometric.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    params:
        geometric=system_cfg("electrolyte", "geometric"),
    script:
        "../scripts/electrolyte_geometric.py"


rule electrolyte_states:
    input:
        unpack(learned_states),
        geometric=f"{ELECTROLYTE}/geometric_states.npz",
        splits="results/{system}/splits.json",
    output:
        populations=f"{ELECTROLYTE}/populations.csv",
        states=f"{ELECTROLYTE}/states.json",
    log:
        "logs/{system}/analysis/electrolyte_states.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    params:
        chi=learned_chi,
    script:
        "../scripts/electrolyte_states.py"


rule electrolyte_rdf:
    input:
        frames(),
        unpack(learned_states),
        geometric=f"{ELECTROLYTE}/geometric_states.npz",
        splits="results/{system}/splits.json",
    output:
        learned=f"{ELECTROLYTE}/rdf_learned.npz",
        geometric=f"{ELECTROLYTE}/rdf_geometric.npz",
    log:
        "logs/{system}/analysis/electrolyte_rdf.log",
    benchmark:
        "logs/{system}/benchmark/electrolyte_rdf.tsv"
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=2000,
    params:
        chi=learned_chi,
        elements=system_cfg("electrolyte", "rdf_elements"),
        r_max_A=system_cfg("electrolyte", "rdf_r_max_A"),
        bins=system_cfg("electrolyte", "rdf_bins"),
    script:
        "../scripts/electrolyte_rdf.py"


rule electrolyte_charges:
    input:
        learned=f"{ELECTROLYTE}/rdf_learned.npz",
        geometric=f"{ELECTROLYTE}/rdf_geometric.npz",
        states=f"{ELECTROLYTE}/states.json",
    output:
        charges=f"{ELECTROLYTE}/charges.json",
        integral=f"{ELECTROLYTE}/charge_integral.npz",
        table="results/{system}/figures/supp_table1.csv",
        geometric_table=f"{ELECTROLYTE}/charges_geometric.csv",
    log:
        "logs/{system}/analysis/electrolyte_charges.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    params:
        settings=lambda w: electrolyte_args(
            w.system,
            "anion_element",
            "ion_charges",
            "reference_charge",
            "shell_sigmas",
        ),
    script:
        "../scripts/electrolyte_charges.py"


rule electrolyte_configurations:
    input:
        frames(),
        unpack(learned_states),
        charges=f"{ELECTROLYTE}/charges.json",
        splits="results/{system}/splits.json",
    output:
        directory(f"{ELECTROLYTE}/configurations"),
    log:
        "logs/{system}/analysis/electrolyte_configurations.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    params:
        chi=learned_chi,
    script:
        "../scripts/electrolyte_configurations.py"


rule electrolyte_transport:
    input:
        frames(),
        unpack(learned_states),
        charges=f"{ELECTROLYTE}/charges.json",
        splits="results/{system}/splits.json",
    output:
        transport=f"{ELECTROLYTE}/transport.npz",
        msd=f"{ELECTROLYTE}/transition_msd.csv",
        diffusion="results/{system}/figures/supp_table2.csv",
        conduction="results/{system}/figures/fig5_conduction.csv",
    log:
        "logs/{system}/analysis/electrolyte_transport.log",
    benchmark:
        "logs/{system}/benchmark/electrolyte_transport.tsv"
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    resources:
        mem_mb=2000,
    params:
        chi=learned_chi,
        settings=lambda w: electrolyte_args(
            w.system, "temperature_K", "drift_masses", "derivative_half_width_ps"
        ),
        msd_lags_ps=system_cfg("koopman", "lags_ps"),
    script:
        "../scripts/electrolyte_transport.py"


rule validate_electrolyte:
    input:
        transport=f"{ELECTROLYTE}/transport.npz",
        charges=f"{ELECTROLYTE}/charges.json",
        states=f"{ELECTROLYTE}/states.json",
    output:
        report(
            f"{ELECTROLYTE}/validation.json",
            caption="../report/validation_electrolyte.rst",
            category="Polymer electrolyte",
        ),
    log:
        "logs/{system}/analysis/validate_electrolyte.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/validate_electrolyte.py"


rule fig4b_configurations:
    input:
        configurations=f"{ELECTROLYTE}/configurations",
        states=f"{ELECTROLYTE}/states.json",
    output:
        figure("fig4b_configurations", "fig4b"),
    log:
        "logs/{system}/figures/fig4b.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig4b_configurations.py"


rule fig4c_charge_integral:
    input:
        integral=f"{ELECTROLYTE}/charge_integral.npz",
        states=f"{ELECTROLYTE}/states.json",
    output:
        figure("fig4c_charge_integral", "fig4c"),
    log:
        "logs/{system}/figures/fig4c.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig4c_charge_integral.py"


rule fig5_conduction:
    input:
        conduction="results/{system}/figures/fig5_conduction.csv",
        transport=f"{ELECTROLYTE}/transport.npz",
        states=f"{ELECTROLYTE}/states.json",
    output:
        figure("fig5_conduction", "fig5"),
    log:
        "logs/{system}/figures/fig5.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/fig5_conduction.py"


rule supp_fig3_rdf:
    input:
        rdf=f"{ELECTROLYTE}/rdf_learned.npz",
        charges=f"{ELECTROLYTE}/charges.json",
        states=f"{ELECTROLYTE}/states.json",
    output:
        figure("supp_fig3_rdf", "supp_fig3"),
    log:
        "logs/{system}/figures/supp_fig3.log",
    wildcard_constraints:
        system=analysed("electrolyte"),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/supp_fig3_rdf.py"


ANALYSIS_TARGETS["electrolyte"] = lambda system: [
    f"results/{system}/analysis/validation.json",
    f"results/{system}/analysis/populations.csv",
    f"results/{system}/analysis/configurations",
    f"results/{system}/figures/supp_table1.csv",
    f"results/{system}/figures/supp_table2.csv",
    f"results/{system}/figures/fig5_conduction.csv",
    *figure_files(
        system,
        "fig4b_configurations",
        "fig4c_charge_integral",
        "fig5_conduction",
        "supp_fig3_rdf",
    ),
]
