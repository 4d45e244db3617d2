"""Development run of the solid–liquid interface analog: exchanges, timescales, figures.

Runs the interface analyses on one simulated trajectory, with states built from the
order parameter (no trained model needed) standing in for the learned χ, so that the
numbers and figures can be checked against what is known before the workflow uses them.

    PYTHONPATH=workflow python benchmarks/interface_dev_run.py                 # simulate (LJ), analyse
    PYTHONPATH=workflow python benchmarks/interface_dev_run.py TRAJ.npz [OUT]  # analyse a trajectory
    PYTHONPATH=workflow python benchmarks/interface_dev_run.py --sw            # the SW Si variant

Simulating uses the default size but a shorter production (1,500 τ, a frame per τ) to
stay near ten minutes on one core. Writes numbers.json and the figures into
results/dev/interface/ (or OUT). The second half of the frames stands in for the test set.

Stand-in states (one-hot): solid-labelled atoms deeper than one layer ("solid") or not
("solid-interface"), liquid-labelled atoms within two layers of the slab
("liquid-interface") or farther ("liquid"), presented to the analyses in a shuffled
order, so that the naming rule has to find them.
"""

import logging
import sys
import time
from pathlib import Path

import numpy as np

from gdynet import io, plots
from gdynet.analysis import bond_order as bo
from gdynet.analysis import interface as itf
from gdynet.plots import interface as fig
from gdynet.systems.interface import simulate as sim
from gdynet.systems.interface.validation import validate

SHUFFLE = np.array([2, 0, 3, 1])  # stand-in state -> "network" state index
EXCHANGE_TAU = (5, 10)  # exchanges lasting at least this long (τ) are counted
LAGS_TAU = (2, 5, 10, 20, 50, 100, 200)
SMOOTHING_TAU = (0, 3, 10)  # persistent_labels over this many τ (0: raw labels)


def main(args):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    model = "sw_si" if "--sw" in args else "binary_lj"
    args = [a for a in args if a != "--sw"]
    out = Path(args[1]) if len(args) > 1 else Path("results/dev/interface") / model
    out.mkdir(parents=True, exist_ok=True)
    numbers: dict = {"model": model}
    spec = sim.MODELS[model]
    tau_ps = sim.LJ_UNITS.tau_ps if model == "binary_lj" else 1.0  # SW: "τ" is 1 ps
    if args:
        path = Path(args[0])
    else:
        t0 = time.perf_counter()
        if model == "binary_lj":
            r = sim.simulate(time_ns=1500 * tau_ps / 1000, frame_interval_ps=tau_ps, seed=1)
        else:
            r = sim.simulate(model="sw_si", time_ns=0.1, frame_interval_ps=2.0, seed=1)
        numbers["simulation_wall_s"] = time.perf_counter() - t0
        path = out / "traj-dev.npz"
        io.save_npz(path, **{k: v for k, v in r.items() if isinstance(v, np.ndarray)},
                    frame_interval_ps=r["frame_interval_ps"])
    with np.load(path) as f:
        coords, lattices = f["traj_coords"], f["lattices"]
        types, stored_targets = f["atom_types"], f["target_index"]
        dt = float(f["frame_interval_ps"]) if "frame_interval_ps" in f.files else tau_ps
    n_frames = len(coords)
    numbers.update(atoms=int(coords.shape[1]), frames=n_frames, frame_interval_ps=dt,
                   time_tau=n_frames * dt / tau_ps)

    # the crystal over time: all element-14 atoms
    t0 = time.perf_counter()
    si = np.flatnonzero(types == 14)
    every = bo.order_series(coords, lattices, spec.criterion, atoms=si)
    numbers["order_wall_s_per_frame"] = (time.perf_counter() - t0) / n_frames
    fraction = every.solid.mean(axis=1)
    numbers["solid_fraction_over_time"] = fraction[:: max(1, n_frames // 12)].round(3).tolist()
    numbers["q_bar_solid_liquid"] = [float(every.q_bar[every.solid].mean()),
                                     float(every.q_bar[~every.solid].mean())]
    layers = []
    for f in (0, n_frames // 2, n_frames - 1):
        z, period = itf.normal_coordinate(coords[f, si], lattices[f], 2)
        slab = itf.locate_interfaces(z, every.solid[f], float(period), spec.layer_spacing_A)
        layers.append({"frame": f, "interfaces_A": slab.positions_A.round(2).tolist(),
                       "layers": len(slab.layer_centers_A)})
    numbers["slab"] = layers

    # targets and their labels
    selection = {rule: itf.select_targets(coords[0], lattices[0], types, 14, spec.criterion,
                                          rule=rule, layer_spacing_A=spec.layer_spacing_A)
                 for rule in itf.RULES}
    targets = selection["position"]
    numbers["targets"] = {rule: {k: v for k, v in s.to_dict().items() if k != "target_index"}
                          for rule, s in selection.items()}
    for record in numbers["targets"].values():
        record["interfaces"].pop("layer_centers_A")
    numbers["targets_equal_stored"] = bool(np.array_equal(targets.index, stored_targets))
    rows = np.searchsorted(si, targets.index)
    labels = every.solid[:, rows]
    numbers["exchanges"] = {}
    for min_tau in EXCHANGE_TAU:
        m = max(1, round(min_tau * tau_ps / dt))
        count = itf.count_exchanges(labels, m)
        numbers["exchanges"][f">= {min_tau} tau"] = {
            "count": count, "per_400_tau": count / (n_frames * dt / tau_ps) * 400}
    numbers["reference_timescale_ps"] = {}
    for smooth in SMOOTHING_TAU:
        m = max(1, round(smooth * tau_ps / dt))
        row = {}
        for lag_tau in LAGS_TAU:
            lag = max(1, round(lag_tau * tau_ps / dt))
            if lag < n_frames // 2:
                row[f"{lag_tau} tau"] = itf.reference_timescale_ps(labels, lag, dt, min_frames=m)
        numbers["reference_timescale_ps"][f"smoothing {smooth} tau"] = row

    # the figures, on the second half with the stand-in states
    test = np.arange(n_frames // 2, n_frames)
    obs = itf.target_observables(coords[test], lattices[test], targets.index, targets.interfaces,
                                 spec.criterion)
    solid = itf.persistent_labels(obs.solid, 3)
    d = targets.interfaces.layer_spacing_A
    stand_in = np.where(solid, np.where(obs.depth_A > d, 0, 1),
                        np.where(obs.depth_A > -2 * d, 2, 3))
    chi = np.eye(4)[SHUFFLE[stand_in]]
    names = itf.name_states(chi, solid, obs.depth_A, order=obs.order)
    names.table().to_csv(out / "state_table.csv", index=False)
    lag = max(1, round(20 * tau_ps / dt))
    numbers["validation_of_stand_in"] = validate([chi], [obs], targets.interfaces, lag=lag,
                                                 lag_ps=lag * dt, min_frames=3)
    slab = targets.interfaces
    profiles = itf.z_profiles(obs.z_centered_A, chi, slab.length_A, bin_A=0.5)
    plots.save(fig.z_profile_figure(itf.profile_table(profiles, names.names), slab.half_width_A),
               out / "fig3c.png", out / "fig3c.pdf")
    frame = test[0]
    cut = itf.cross_section(coords[frame], lattices[frame], targets.index, slab, thickness_A=4.0)
    table = itf.cross_section_table(cut, targets.index, chi[0], obs.order[0])
    rest = np.setdiff1d(np.arange(coords.shape[1]), targets.index)
    others = itf.cross_section_table(
        itf.cross_section(coords[frame], lattices[frame], rest, slab, thickness_A=4.0), rest)
    extent = (slab.half_width_A, cut.normal_length_A, cut.inplane_length_A)
    axes = dict(normal_name="z", inplane_name="xyz"[cut.inplane_axis])
    plots.save(fig.cross_section_figure(table, names.names, *extent, others=others, **axes),
               out / "fig3b.png", out / "fig3b.pdf")
    label = "q̄₆" if spec.criterion.l == 6 else "q̄₃"
    plots.save(fig.order_map_figure(table, *extent, order_label=label, others=others, **axes),
               out / "supp_fig2a.png", out / "supp_fig2a.pdf")
    order_profiles = itf.weighted_profiles(obs.order, chi, np.linspace(0, 0.7, 71))
    perfect = {6: ("perfect FCC", 0.5745), 3: ("perfect diamond", 0.4472)}[spec.criterion.l]
    plots.save(fig.order_distribution_figure(itf.profile_table(order_profiles, names.names), label,
                                             reference=dict([perfect])),
               out / "supp_fig2b.png", out / "supp_fig2b.pdf")
    io.save_json(out / "numbers.json", numbers)
    print(open(out / "numbers.json").read())


if __name__ == "__main__":
    main(sys.argv[1:])
