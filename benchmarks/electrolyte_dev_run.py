"""Development run of the electrolyte analog: geometric states, diffusion, charges, figures.

Runs the PEO/LiTFSI analyses on one simulated trajectory with the geometric solvation
states as a crisp χ (no trained model needed), so the numbers and figures can be checked
against what is known about the model (ANALOGS.md) before the workflow uses them.

    PYTHONPATH=workflow python benchmarks/electrolyte_dev_run.py            # simulate, then analyse
    PYTHONPATH=workflow python benchmarks/electrolyte_dev_run.py TRAJ.npz   # analyse a trajectory

Writes into results/dev/electrolyte/ (or the folder given as the second argument).
One trajectory stands in for the test set: its four time quarters are the CI groups.
"""

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from gdynet import plots
from gdynet.analysis import electrolyte as el
from gdynet.analysis.rdf import state_rdf
from gdynet.plots import electrolyte as fig
from gdynet.systems.electrolyte import shells
from gdynet.systems.electrolyte.simulate import TAU_PS, simulate

ELEMENTS = [8, 1, 7, 3]  # O, H (chain end), N, Li: Supp. Fig. 3 (a)-(d)
TAU, HALF_WIDTH = 50, 10  # frames (1 frame = 1 τ = 1.5 ps): lag 50 τ, slope over 40-60 τ
LAGS = [1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100, 150, 200]


def main(traj_path=None, out=Path("results/dev/electrolyte")):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out.mkdir(parents=True, exist_ok=True)
    numbers = {}
    if traj_path is None:
        t0 = time.perf_counter()
        simulate(seed=1).save(out / "traj-dev.npz")
        numbers["simulation_wall_s"] = time.perf_counter() - t0
        traj_path = out / "traj-dev.npz"
    with np.load(traj_path) as f:
        coords, lattices = f["traj_coords"], f["lattices"]
        types, targets = f["atom_types"], f["target_index"]
        dt, temperature = float(f["frame_interval_ps"]), float(f["temperature_K"])
        masses = f["masses"] if "masses" in f.files else None
    t0 = time.perf_counter()

    labels, _ = shells.solvation_states(coords, lattices, types, targets)
    chi = shells.one_hot(labels)
    numbers["geometric_populations"] = dict(zip(shells.STATE_NAMES,
                                                np.bincount(labels.ravel(), minlength=4)
                                                / labels.size))
    life = shells.lifetimes(labels, min_frames=5)
    numbers["lifetime_mean_tau"] = float(life.mean() * dt / TAU_PS)
    numbers["changes_per_li_per_1000_tau"] = float(
        len(life) / labels.shape[1] / (labels.shape[0] * dt / TAU_PS) * 1000)

    rdf = state_rdf(coords, lattices, chi, types, targets, ELEMENTS, r_max=10.0, n_bins=200)
    charges = el.shell_charges(rdf)
    el.charge_table(charges, el.populations(np.array_split(chi, 4))).to_csv(
        out / "supp_table1_geometric.csv", index=False)
    numbers["geometric_charges_e"] = dict(zip(shells.STATE_NAMES, charges.charge))
    numbers["shell_edge_A"] = dict(zip(shells.STATE_NAMES, charges.shell.r_star))

    u = el.unwrap(coords, lattices, targets, masses)
    quarters = np.array_split(np.arange(len(coords)), 4)
    tr = el.transport([u.positions[q] for q in quarters], [chi[q] for q in quarters],
                      sorted(set(LAGS) | set(el.derivative_lags(TAU, HALF_WIDTH))), TAU, dt,
                      charges.charge, float(np.linalg.det(lattices).mean()), temperature)
    el.diffusion_table(tr).to_csv(out / "supp_table2_geometric.csv", index=False)
    el.conduction_table(tr).to_csv(out / "conduction_geometric.csv", index=False)
    numbers["validation"] = el.validation(tr, charges_geometric=charges.charge)
    numbers["li_msd_A2"] = dict(zip(map(int, tr.lags), tr.plain_msd))
    numbers["max_step_A"] = u.max_step_A
    numbers["analysis_wall_s"] = time.perf_counter() - t0

    names = [f"{i}: {n}" for i, n in enumerate(shells.STATE_NAMES)]
    panels = []
    for rep in el.most_confident(chi):
        cfg = el.shell_configuration(coords[rep.frame], lattices[rep.frame], types,
                                     int(targets[rep.target]), radius=6.0)
        el.write_extxyz(out / f"fig4b_state{rep.state}.xyz", cfg,
                        {"state": rep.state, "frame": rep.frame, "target": rep.target})
        # Crisp labels: every frame of a class ties at χ = 1, so the first one is shown, with
        # the shell that defines the class (the cutoff, not the Gaussian r*).
        panels.append(dict(atom_types=cfg.atom_types, positions=cfg.positions,
                           title=names[rep.state], r_star=shells.SHELL_CUTOFF_A))
    plots.save(fig.configurations_figure(panels), out / "fig4b.png", out / "fig4b.pdf")
    plots.save(fig.charge_integral_figure(charges.edges, charges.integral,
                                          charges.shell.r_star, charges.charge, names),
               out / "fig4c.png", out / "fig4c.pdf")
    plots.save(fig.conduction_figure(tr.conduction.shares, tr.shares_low, tr.shares_high,
                                     names), out / "fig5.png", out / "fig5.pdf")
    plots.save(fig.rdf_figure(rdf.r, rdf.g, rdf.coordination, rdf.elements, charges.shell.r_star,
                              names), out / "supp_fig3.png", out / "supp_fig3.pdf")
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2, default=float) + "\n")
    print(json.dumps(numbers, indent=2, default=float))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None,
         Path(sys.argv[2]) if len(sys.argv) > 2 else Path("results/dev/electrolyte"))
