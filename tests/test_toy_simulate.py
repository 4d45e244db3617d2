"""Tests for the LAMMPS toy simulation (Li walkers in a frozen FCC S lattice).

Known answers: the FCC geometry, the thermostat temperature, and the canonical
average of the Li potential energy, integrated here on a grid with a Born–Mayer
sum written independently of gdynet.
"""

import itertools

import numpy as np
import pytest

from gdynet.systems.lammps import load_lammps
from gdynet.systems.toy.simulate import fold, simulate
from gdynet.systems.toy.sites import label_sites

A = 6.5
T = 64.0
KB = 8.617333262e-5  # eV/K
BORN_A, BORN_RHO, CUTOFF = 3.6e9, 0.10, 4.0
S_SITES = np.array([[0, 0, 0], [0, 3.25, 3.25], [3.25, 0, 3.25], [3.25, 3.25, 0]])
S_IMAGES = np.array(
    [s + A * np.array(n) for n in itertools.product([-1, 0, 1], repeat=3) for s in S_SITES]
)

# 100 walkers in a 2x2x2 supercell (32 oct sites): about 3 Li per oct site. The
# known answers below hold for one Li alone, so they also check that the walkers
# do not feel each other (any Li–Li repulsion would push them out of shared sites).
N_WALKERS, TIME_NS, SUPERCELL = 100, 0.04, 2


@pytest.fixture(scope="module")
def run():
    fractions = []
    result = simulate(
        n_walkers=N_WALKERS, time_ns=TIME_NS, seed=0, supercell=SUPERCELL, progress=fractions.append
    )
    return result, fractions


def li_energy(x):
    """Shifted Born–Mayer energy (eV) of Li at x (F, 3) in [0, a) from all S within the cutoff."""
    out = np.zeros(len(x))
    for s in S_IMAGES:
        r = np.linalg.norm(x - s, axis=1)
        pair = BORN_A * (np.exp(-r / BORN_RHO) - np.exp(-CUTOFF / BORN_RHO))
        out += np.where(r < CUTOFF, pair, 0.0)
    return out


def min_s_distance(x):
    return np.linalg.norm(x[:, None, :] - S_IMAGES[None], axis=-1).min(axis=1)


@pytest.mark.slow
def test_load_lammps_gives_a_working_instance():
    lmp = load_lammps()
    try:
        assert lmp.has_style("pair", "born")
        lmp.command("units metal")
        assert lmp.extract_global("units") == "metal"
    finally:
        lmp.close()


@pytest.mark.slow
def test_output_contract(run):
    r, _ = run
    n_frames = round(TIME_NS * 1000 / 0.1)
    coords = r["coords"]
    assert coords.shape == (N_WALKERS, n_frames, 5, 3) and coords.dtype == np.float32
    assert np.all(np.isfinite(coords))
    assert coords.min() >= 0 and coords.max() < A
    np.testing.assert_array_equal(r["lattice"], A * np.eye(3))
    assert r["atom_types"].tolist() == [3, 16, 16, 16, 16]
    assert r["target_index"].tolist() == [0]
    assert r["frame_interval_ps"] == 0.1 and r["temperature_K"] == T
    # S atoms exactly at their unit-cell sites in every frame.
    s_expected = np.broadcast_to(S_SITES, coords[:, :, 1:].shape)
    np.testing.assert_array_equal(coords[:, :, 1:], s_expected)


@pytest.mark.slow
def test_progress_is_reported_about_every_five_percent(run):
    _, fractions = run
    assert 15 <= len(fractions) <= 25
    assert np.all(np.diff(fractions) > 0) and fractions[-1] == 1.0


@pytest.mark.slow
def test_li_stays_away_from_s_and_mostly_octahedral(run):
    r, _ = run
    li = r["coords"][:, :, 0].reshape(-1, 3).astype(np.float64)
    # E(1.5 Å) = 3.6e9·e^-15 ≈ 1100 eV: a thermal Li can never get there.
    assert min_s_distance(li).min() > 1.5
    # Tet sites lie 8.4 meV above oct; the canonical tet share at 64 K is ~1.5 %.
    site_type, _ = label_sites(li, a=A)
    assert np.mean(site_type == 0) > 0.8


@pytest.mark.slow
def test_thermostat_holds_the_li_temperature(run):
    r, _ = run
    kinetic = r["kinetic_temperature_K"]
    assert kinetic.shape == (r["coords"].shape[1],)
    # 3·100 degrees of freedom: one frame scatters by T·sqrt(2/300) ≈ 5 K, the mean
    # over 400 nearly independent frames by ≈ 0.3 K.
    assert kinetic.mean() == pytest.approx(T, abs=2.5)


@pytest.mark.slow
def test_octahedral_energy_matches_the_canonical_average(run):
    """<U | oct> from MD equals the Boltzmann average over the octahedra at 64 K.

    Checks the potential (A, ρ, cutoff, shift) and the canonical sampling together:
    doubling A moves the answer by 13 %, 60 K instead of 64 K by 5 %. Conditioning on
    oct removes the noise of the rare, slow tet visits.
    """
    r, _ = run
    n = 64
    g = (np.arange(n) + 0.5) * A / n
    grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    grid_energy = li_energy(grid)
    weight = np.exp(-(grid_energy - grid_energy.min()) / (KB * T))
    in_oct = label_sites(grid, a=A)[0] == 0
    expected = np.sum((weight * grid_energy)[in_oct]) / np.sum(weight[in_oct])

    li = r["coords"][:, :, 0].reshape(-1, 3).astype(np.float64)
    md_energy = li_energy(li)
    md_oct = label_sites(li, a=A)[0] == 0
    assert md_energy[md_oct].mean() == pytest.approx(expected, rel=0.03)


@pytest.mark.slow
def test_same_seed_same_trajectory():
    kw = dict(n_walkers=3, time_ns=0.002, equilibration_ps=1.0)
    a = simulate(seed=5, **kw)["coords"]
    b = simulate(seed=5, **kw)["coords"]
    c = simulate(seed=6, **kw)["coords"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fold_stays_inside_the_cell():
    x = np.array([-1e-12, A, 2 * A - 1e-13, -A, 3.25, -3.25, 1e3 * A + 0.5])
    folded = fold(x, A)
    assert folded.dtype == np.float32
    assert np.all((folded >= 0) & (folded < A))
    np.testing.assert_allclose(folded, [0, 0, 0, 0, 3.25, 3.25, 0.5], atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_walkers=0, time_ns=0.001), "n_walkers"),
        (dict(n_walkers=2.5, time_ns=0.001), "n_walkers"),
        (dict(n_walkers=1, time_ns=0.0), "time_ns"),
        (dict(n_walkers=1, time_ns=1e-6), "shorter than one frame"),
        (dict(n_walkers=1, time_ns=0.001, timestep_fs=0.7), "whole number"),
        (dict(n_walkers=1, time_ns=0.001, temperature_K=-5), "temperature_K"),
        (dict(n_walkers=1, time_ns=0.001, seed=-1), "seed"),
        (dict(n_walkers=1, time_ns=0.001, supercell=1), "supercell"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(**kwargs)
