"""The polymer-electrolyte analyses end to end: the real rules on a tiny simulated analog
(.test/config/electrolyte.yaml: three LAMMPS trajectories of a 98-bead box), and a dry run
of the paper's config that must list them for PEO."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_workflow import ROOT, job_counts, snakemake

TINY = ROOT / ".test" / "config" / "electrolyte.yaml"
ELECTROLYTE_RULES = ("electrolyte_geometric", "electrolyte_states", "electrolyte_rdf",
                     "electrolyte_charges", "electrolyte_configurations", "electrolyte_transport",
                     "validate_electrolyte", "fig4b_configurations", "fig4c_charge_integral",
                     "fig5_conduction", "supp_fig3_rdf")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("electrolyte")
    snakemake(workdir, config=TINY)
    return workdir / "results" / "electrolyte"


def test_every_figure_and_table_is_written(run):
    for name in ("fig4b_configurations", "fig4c_charge_integral", "fig5_conduction",
                 "supp_fig3_rdf"):
        for ext, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
            assert (run / "figures" / f"{name}{ext}").read_bytes()[:4] == magic
    # one extended XYZ per state: the atom count, then a header, then that many atoms, Li first
    for state in range(4):
        lines = (run / "analysis" / "configurations" / f"state{state}.extxyz").read_text().splitlines()
        assert int(lines[0]) == len(lines) - 2 and lines[2].split()[0] == "Li"
        assert f"state={state}" in lines[1] and "Properties=species:S:1:pos:R:3" in lines[1]


def test_validation_holds_the_identity_and_the_comparisons(run):
    v = json.loads((run / "analysis" / "validation.json").read_text())
    assert v["msd_identity_rel_error"] < 0.01 and v["msd_identity_within_1_percent"]
    tau_star = json.loads((run / "gdynet" / "k4" / "tau_star.json").read_text())["tau_star_ps"]
    assert v["tau_ps"] == tau_star in (3.0, 6.0)
    # D_Li from the plain MSD beside the joint-weighted D_ij: not an identity (d MSD/dt also
    # holds Σ P_ij'(τ) E_ij(τ), the relaxing joint weights), so only close on this tiny run
    assert v["diffusion_joint_weighted_A2_ps"] == pytest.approx(v["diffusion_li_A2_ps"], rel=0.5)
    assert v["diffusion_li_A2_ps"] > 0 and v["conductivity_S_cm"] > 0
    lo, hi = v["conductivity_ci_S_cm"]
    assert lo <= v["conductivity_S_cm"] <= hi
    assert len(v["charges_learned_e"]) == len(v["charges_geometric_e"]) == 4
    assert 0 <= v["state_agreement"] <= 1
    assert sorted(m for m in v["state_mapping"] if m >= 0) == [0, 1, 2, 3]
    assert sum(v["populations_learned"]) == pytest.approx(1.0)
    assert sum(v["populations_geometric"]) == pytest.approx(1.0)


def test_tables_have_their_columns_and_units(run):
    t1 = pd.read_csv(run / "figures" / "supp_table1.csv")
    assert list(t1["state"]) == [0, 1, 2, 3]
    assert {"name", "population", "r_star_A", "gaussian_mu_A", "gaussian_sigma_A", "n_Z3",
            "n_Z7", "charge_e"} <= set(t1.columns)
    # Supp. Note 3: charge = 1 - n_N(r*) + n_Li(r*), the shell edge mu + 3 sigma
    np.testing.assert_allclose(t1["charge_e"], 1 - t1["n_Z7"] + t1["n_Z3"])
    fitted = t1["shell_fitted"]
    np.testing.assert_allclose(t1["r_star_A"][fitted],
                               (t1["gaussian_mu_A"] + 3 * t1["gaussian_sigma_A"])[fitted])

    t2 = pd.read_csv(run / "figures" / "supp_table2.csv")
    assert len(t2) == 16
    # 1 Å²/ps = 1e-4 cm²/s = 1000 x 1e-7 cm²/s
    np.testing.assert_allclose(t2["D_1e-7_cm2_s"], 1000 * t2["D_A2_ps"])
    assert {"from_state", "to_state", "tau_ps", "ci_low_1e-7_cm2_s", "ci_high_1e-7_cm2_s"} <= set(t2.columns)

    fig5 = pd.read_csv(run / "figures" / "fig5_conduction.csv")
    assert fig5["share"].sum() == pytest.approx(1.0)
    v = json.loads((run / "analysis" / "validation.json").read_text())
    assert fig5["sigma_S_cm"].sum() == pytest.approx(v["conductivity_S_cm"])
    # z_ij² is the squared mean charge of the two states (Eq. 15, see the README)
    z = np.asarray(v["charges_learned_e"])
    np.testing.assert_allclose(fig5["z2_e2"], ((z[fig5["from_state"]] + z[fig5["to_state"]]) / 2) ** 2)
    assert (fig5["sigma_S_cm"] >= 0).all()  # squared charges: no transition lowers σ

    pops = pd.read_csv(run / "analysis" / "populations.csv")
    for source in ("learned", "geometric"):
        assert pops[pops.source == source]["population_percent"].sum() == pytest.approx(100)


def test_second_run_does_nothing(run):
    out = snakemake(run.parents[1], "--dry-run", config=TINY)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_paper_dry_run_lists_the_electrolyte_jobs_for_peo(tmp_path):
    out = snakemake(tmp_path, "--dry-run", config=ROOT / "config" / "paper.yaml")
    counts = job_counts(out.stdout)
    for rule in ELECTROLYTE_RULES:
        assert counts[rule] == 1, rule
    assert counts["validate_toy"] == 1  # li2s only: each analysis writes its own validation
    jobs = re.findall(r"rule (\w+):\n(?:    .*\n)*?    wildcards: system=(\w+)", out.stdout)
    assert {system for rule, system in jobs if rule in ELECTROLYTE_RULES} == {"peo"}
    assert {system for rule, system in jobs if rule == "validate_toy"} == {"li2s"}
