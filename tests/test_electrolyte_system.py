"""The coarse-grained polymer electrolyte: LAMMPS simulation and geometric state labels.

Known answers: the npz contract, charge neutrality, zero centre-of-mass drift (the
thermostat keeps the momentum at zero), intact bonds, the bath temperature, Li that find
a first shell; the four geometric classes of constructed shells.
"""

import numpy as np
import pytest

from gdynet.data import trajectory
from gdynet.systems.electrolyte import shells
from gdynet.systems.electrolyte.simulate import (
    SIGMA_A,
    TAU_PS,
    build_system,
    chain_types,
    layout,
    lj_arguments,
    simulate,
)

TINY = dict(n_chains=4, chain_length=11, n_salt=6, production_tau=30.0, equilibration_tau=10.0)


@pytest.fixture(scope="module")
def tiny():
    fractions = []
    return simulate(seed=3, progress=fractions.append, **TINY), fractions


@pytest.mark.slow
def test_tiny_run_meets_the_trajectory_contract(tiny, tmp_path):
    run, fractions = tiny
    n_atoms = 4 * 11 + 6 * 4
    assert run.coords.shape == (30, n_atoms, 3) and run.coords.dtype == np.float32
    assert run.lattices.shape == (30, 3, 3)
    assert sorted(np.unique(run.atom_types).tolist()) == [1, 3, 6, 7, 8, 16]
    assert np.array_equal(run.target_index, np.flatnonzero(run.atom_types == 3))
    assert run.frame_interval_ps == pytest.approx(TAU_PS)
    assert len(fractions) == 20 and fractions[-1] == 1.0
    path = tmp_path / "traj.npz"
    run.save(path)
    loaded = trajectory.load(path)  # validates the contract
    np.testing.assert_array_equal(loaded.coords, run.coords)


@pytest.mark.slow
def test_tiny_run_is_neutral_drift_free_bonded_and_thermalised(tiny):
    run, _ = tiny
    assert run.charges.sum() == pytest.approx(0.0)
    assert np.all(run.masses == run.masses[0])
    assert run.charges[run.atom_types == 3].tolist() == [1.0] * 6
    assert run.charges[run.atom_types == 7].tolist() == [-1.0] * 6
    # Equal bead masses: the centre of mass is the mean position (unwrapped coordinates).
    com = run.coords.astype(np.float64).mean(axis=1)
    assert np.abs(com - com[0]).max() < 1e-3  # Å
    # Molecules are whole in the unwrapped coordinates, and bonds stay bonded: harmonic
    # r0 = 0.97 σ, K = 100 ε/σ², so lengths scatter by sqrt(kT / 2K) = 0.07 σ.
    chains = run.coords[:, :44].reshape(30, 4, 11, 3).astype(np.float64)
    bond = np.linalg.norm(np.diff(chains, axis=2), axis=-1) / SIGMA_A
    assert 0.97 - 0.45 < bond.min() and bond.max() < 0.97 + 0.45
    # 68 beads: one frame scatters by ~10 % around T* = 1, the mean of 30 by ~2 %.
    assert run.kinetic_temperature.mean() == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
def test_li_find_a_first_shell(tiny):
    run, _ = tiny
    labels, counts = shells.solvation_states(run.coords, run.lattices, run.atom_types,
                                             run.target_index)
    assert labels.shape == (30, 6)
    # Nearly every Li holds an anion, an ether O or a chain end within 1.35 σ.
    assert np.mean(counts.sum(axis=-1) > 0) > 0.9


@pytest.mark.slow
def test_same_seed_same_trajectory(tiny):
    run, _ = tiny
    again = simulate(seed=3, **TINY)
    np.testing.assert_array_equal(again.coords, run.coords)
    other = simulate(seed=4, **dict(TINY, production_tau=2.0))
    assert not np.array_equal(other.coords[:2], run.coords[:2])


def test_chain_sequence_and_start_geometry():
    assert "".join("_COELNS"[t] for t in chain_types(11)) == "ECOCCOCCOCE"
    rng = np.random.default_rng(0)
    system = build_system(rng, n_chains=3, chain_length=11, n_salt=2, density=0.85)
    assert len(system["types"]) == 3 * 11 + 2 * 4
    assert system["box"] ** 3 == pytest.approx(41 / 0.85)
    assert len(system["bonds"]) == 3 * 10 + 2 * 2 and len(system["angles"]) == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(chain_length=12), "3m \\+ 5"),
    (dict(frame_interval_tau=0.0123), "whole number"),
    (dict(production_tau=0.1), "shorter than one frame"),
    (dict(seed=-1), "seed"),
    (dict(density=0.0), "density"),
])
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(**{"seed": 0, **kwargs})


def test_geometric_classes_of_constructed_shells():
    """Li 0: one N + ether O; Li 1: one N + chain end; Li 2: two N; Li 3: O only."""
    Li, N, O, H, C = 3, 7, 8, 1, 6
    centres = np.array([[5.0, 5, 5], [25, 5, 5], [5, 25, 5], [25, 25, 25]])
    shell = {0: [(N, 3.0), (O, 3.5)], 1: [(N, 3.0), (H, 4.0), (O, 3.2)],
             2: [(N, 3.0), (N, -3.5)], 3: [(O, 3.0), (O, -3.0)]}
    pos, types = list(centres), [Li] * 4
    for i, atoms in shell.items():
        for axis, (z, d) in enumerate(atoms):
            offset = np.zeros(3)
            offset[axis % 3] = d
            pos.append(centres[i] + offset)
            types.append(z)
    pos.append([15.0, 15, 15])  # a far backbone bead
    types.append(C)
    coords = np.array(pos)[None]
    labels, counts = shells.solvation_states(coords, 40 * np.eye(3)[None], np.array(types),
                                             np.arange(4))
    assert labels[0].tolist() == [shells.ANION_ETHER, shells.ANION_END, shells.ANIONS,
                                  shells.POLYMER]
    assert counts[0].tolist() == [[1, 1, 0], [1, 1, 1], [2, 0, 0], [0, 2, 0]]
    np.testing.assert_array_equal(shells.one_hot(labels)[0, 2], [0, 0, 1, 0])


def test_lifetimes_ignore_brief_excursions():
    col = np.array([0] * 10 + [1] * 2 + [0] * 10 + [1] * 20 + [0] * 5)
    np.testing.assert_array_equal(shells.lifetimes(col[:, None]), [2, 10, 20])
    # Excursions shorter than 5 frames are no state change: 0 for 22 frames, then 1.
    np.testing.assert_array_equal(shells.lifetimes(col[:, None], min_frames=5), [20])


@pytest.mark.slow
def test_a_run_without_equilibration_starts_production_cleanly():
    # the first production run must set up the new fixes (it crashed LAMMPS with `pre no`)
    run = simulate(seed=5, **dict(TINY, production_tau=3.0, equilibration_tau=0.0))
    assert run.coords.shape[0] == 3 and np.isfinite(run.coords).all()


def test_shell_cutoff_is_in_the_units_of_the_simulator():
    assert shells.SHELL_CUTOFF_A == pytest.approx(1.35 * SIGMA_A)


def test_layout_and_lj_arguments_describe_what_simulate_writes():
    config = dict(seeds=[4, 7], time_ns=0.045, n_chains=4, chain_length=11, n_salt=6,
                  density=0.85, equilibration_ns=0.015, temperature_K=363.0)
    lay = layout(**config, frame_interval_ps=1.5)
    assert lay.names == ("seed-004", "seed-007") and lay.n_frames == (30, 30)
    assert lay.n_atoms == 4 * 11 + 6 * 4 and lay.n_targets == 6
    assert lay.volume_A3 == pytest.approx(68 / 0.85 * 4.0**3)
    args = lj_arguments(**{k: v for k, v in config.items() if k != "seeds"}, frame_interval_ps=1.5)
    assert args["production_tau"] == pytest.approx(30.0) and args["frame_interval_tau"] == 1.0
    assert args["equilibration_tau"] == pytest.approx(10.0) and args["temperature"] == 1.0
    assert {k: args[k] for k in ("n_chains", "chain_length", "n_salt")} == dict(
        n_chains=4, chain_length=11, n_salt=6)
    with pytest.raises(ValueError, match="time_ns"):
        lj_arguments(time_ns=0.0, frame_interval_ps=1.5)
