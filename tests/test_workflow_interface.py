"""The interface analyses end to end: every interface rule on a tiny simulated LJ slab
(.test/config/interface.yaml), and the paper's Si-Au jobs in a dry run of config/paper.yaml."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import ROOT, job_counts, snakemake

TINY = ROOT / ".test" / "config" / "interface.yaml"
SYSTEM = "lj-interface"
INTERFACE_JOBS = ("select_targets", "order_parameters", "interface_observables", "interface_states",
                  "fig3b_cross_section", "fig3c_z_profiles", "supp_fig2a_order_map",
                  "supp_fig2b_order_by_state", "validate_interface")
FIGURES = ("fig3b_cross_section_gdynet_k4", "fig3c_z_profiles_gdynet_k4", "supp_fig2a_order_map",
           "supp_fig2b_order_by_state_gdynet_k4")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("interface")
    snakemake(workdir, config=TINY)
    return workdir


def test_every_interface_job_ran_once_and_logged(run):
    logs = run / "logs" / SYSTEM
    simulate = (logs / "simulate" / "seed-001.log").read_text()
    assert "100 % (80/80 frames" in simulate  # progress in the log
    assert (logs / "benchmark" / "simulate_seed-001.tsv").is_file()
    for log in ("select_targets", "order_parameters", "observables", "states_gdynet_k4", "validate"):
        assert (logs / "interface" / f"{log}.log").stat().st_size > 0
    again = snakemake(run, "--dry-run", config=TINY)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_figures_are_real_png_and_pdf(run):
    for name in FIGURES:
        png = run / "results" / SYSTEM / "figures" / f"{name}.png"
        pdf = png.with_suffix(".pdf")
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000, name
        assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5_000, name


def test_targets_are_the_species_in_the_liquid_and_the_outer_crystal_layers(run):
    record = json.loads((run / "results" / SYSTEM / "analysis" / "targets.json").read_text())
    targets = np.array(record["target_index"])
    meta = json.loads((run / "results" / SYSTEM / "frames" / "meta.json").read_text())
    assert meta["target_index"] == record["target_index"]  # the frame store carries them
    types = np.array(meta["atom_types"])
    assert set(types[targets]) == {14} and (types == 79).any()  # A atoms only; B stays out
    assert record["n_liquid"] + record["n_crystal"] == len(targets) == record["n_targets"]
    # 4 x 4 FCC cells: 32 atoms per {100} layer, 2 layers at each of the 2 interfaces
    assert 0.8 * 128 <= record["n_crystal"] <= 1.1 * 128
    slab = record["interfaces"]
    assert slab["layer_spacing_A"] == pytest.approx(0.5 * (4 / 0.9805) ** (1 / 3) * 2.1, rel=0.03)
    assert record["compared_with"]["rule"] == "file"  # the simulator's own choice, same rule
    assert record["compared_with"]["jaccard"] == pytest.approx(1.0)
    # the crystal targets sit in the first two layers, not deeper
    coords = np.load(run / "results" / SYSTEM / "frames" / "coords.npy", mmap_mode="r")
    z = np.asarray(coords[0, targets, 2], dtype=float)
    zc = np.mod(z - slab["center_A"] + slab["length_A"] / 2, slab["length_A"]) - slab["length_A"] / 2
    depth = slab["half_width_A"] - np.abs(zc)
    assert depth.max() < 2 * slab["layer_spacing_A"] + 0.5


def test_order_parameters_separate_the_crystal_from_the_liquid(run):
    with np.load(run / "results" / SYSTEM / "analysis" / "observables.npz") as f:
        depth, solid, order = f["depth_A"], f["solid"], f["order"]
    inside, outside = depth > 0, depth < -3.0  # in the slab; a liquid layer away from it
    assert solid[inside].mean() > 0.7 and solid[outside].mean() < 0.3
    assert order[solid].mean() > order[~solid].mean() + 0.1


def test_state_table_names_every_state_and_the_profiles_are_distributions(run):
    out = run / "results" / SYSTEM / "analysis" / "gdynet_k4"
    states = pd.read_csv(out / "states.csv")
    assert list(states["state"]) == [0, 1, 2, 3]
    assert {"solid", "liquid"} <= set(states["name"])
    assert all(n.split(" ")[0] in ("solid", "solid-interface", "liquid-interface", "liquid")
               for n in states["name"])
    assert states["population"].sum() == pytest.approx(1.0)
    solid_like = states["name"].str.startswith("solid")
    assert states["solid_fraction"][solid_like].min() > states["solid_fraction"][~solid_like].max()
    for name in ("z_profiles", "order_profiles"):
        table = pd.read_csv(out / f"{name}.csv")
        mass = (table["density"] * (table["hi"] - table["lo"])).groupby(table["state"]).sum()
        np.testing.assert_allclose(mass, 1.0, atol=1e-6)


def test_validation_holds_every_key_with_sensible_values(run):
    v = json.loads((run / "results" / SYSTEM / "analysis" / "validation.json").read_text())
    for key in ("state_agreement", "solid_fraction_inside_slab", "timescale_ps",
                "reference_timescale_ps", "state_names", "tau_star_ps", "label_exchanges"):
        assert key in v and v[key] is not None, key
    assert 0.5 <= v["state_agreement"] <= 1 and 0 <= v["solid_fraction_inside_slab"] <= 1
    assert v["tau_star_ps"] in (1.5, 3.0) and v["n_states"] == 4
    assert np.isfinite(v["timescale_ps"]) and v["timescale_ps"] > 0
    assert v["reference_timescale_ps"] > 0 and v["label_exchanges"] > 0


def test_paper_dry_run_lists_the_interface_jobs_for_siau(tmp_path):
    out = snakemake(tmp_path, "--dry-run", config=ROOT / "config" / "paper.yaml")
    counts = job_counts(out.stdout)
    for job in INTERFACE_JOBS:
        assert counts.get(job) == 1, job
    for name in ("fig3b_cross_section_gdynet_k4", "fig3c_z_profiles_gdynet_k4",
                 "supp_fig2b_order_by_state_gdynet_k4", "supp_fig2a_order_map"):
        assert f"results/siau/figures/{name}.png" in out.stdout
    assert "results/siau/analysis/validation.json" in out.stdout


def test_stillinger_weber_switch_gives_diamond_q3_through_the_workflow(tmp_path):
    """The sw_si switch: a real diamond {110} slab, whose crystal the paper's q3 criterion
    (over 4 neighbours, bonds with q3·q3* < -0.75) reads as solid and its liquid as not."""
    config = yaml.safe_load(TINY.read_text())
    system = config["systems"].pop(SYSTEM)
    system["simulate"].update(model="sw_si", cells=[2, 2, 6], time_ns=0.04, temperature_K=1710.0,
                              equilibration_ps=4.0)
    system["frame_interval_ps"] = 1.0
    system["models"]["gdynet"]["lags_ps"] = [1]
    system["koopman"]["lags_ps"] = [1, 2]
    system["interface"] = {"persistence_ps": 2.0}  # the schema's defaults: diamond q3, 2 layers
    config["systems"]["si-interface"] = system
    path = tmp_path / "sw.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "results/si-interface/analysis/observables.npz", config=path)
    record = json.loads((tmp_path / "results/si-interface/analysis/targets.json").read_text())
    # Si {110}: layers a / (2 √2) = 1.93 Å apart at a = 5.462 Å; 16 atoms per layer in 2 x 2
    # cells, 2 layers at each of 2 interfaces (a few may melt, a few move in by thermal motion)
    assert record["interfaces"]["layer_spacing_A"] == pytest.approx(5.462 / (2 * 2**0.5), rel=0.03)
    assert record["order"] == {"l": 3, "n_neighbors": 4, "threshold": -0.75, "solid_above": False,
                               "min_bonds": 3}
    assert 0.6 * 64 <= record["n_crystal"] <= 1.1 * 64
    with np.load(tmp_path / "results/si-interface/analysis/observables.npz") as f:
        depth, solid, order = f["depth_A"], f["solid"], f["order"]
    assert solid[depth > 0].mean() > 0.7 and solid[depth < -3].mean() < 0.2
    # perfect diamond q̄3 = 0.447; thermal motion lowers it, the liquid's is far lower
    assert 0.3 < order[solid].mean() < 0.447 and order[~solid].mean() < order[solid].mean() - 0.1
