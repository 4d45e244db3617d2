"""The LAMMPS solid–liquid interface (gdynet.systems.interface.simulate), tiny versions.

Known answers: the trajectory contract; the two-phase structure the protocol builds (a
crystal slab in the middle of the box, solid by the bond-order criterion, and a liquid
around it); the B atoms stay in the liquid; the tethered slab does not drift; and for
Stillinger–Weber Si, the diamond q̄3 of the crystal (perfect diamond 1/√5 = 0.447).
"""

import numpy as np
import pytest

from gdynet.analysis import bond_order as bo
from gdynet.analysis import interface as itf
from gdynet.data.trajectory import Trajectory, validate
from gdynet.systems.interface.simulate import (
    CI_CELLS,
    LJ_UNITS,
    MODELS,
    layout,
    simulate,
    trajectory_name,
)

LJ_CELLS, SW_CELLS = CI_CELLS["binary_lj"], CI_CELLS["sw_si"]


@pytest.fixture(scope="module")
def lj():
    fractions = []
    r = simulate(time_ns=0.02, frame_interval_ps=1.0, model="binary_lj", cells=LJ_CELLS,
                 equilibration_ps=10.0, seed=3, progress=fractions.append)
    return r, fractions


@pytest.fixture(scope="module")
def sw():
    return simulate(time_ns=0.008, frame_interval_ps=1.0, model="sw_si", cells=SW_CELLS,
                    equilibration_ps=4.0, seed=1)


def phases(r, frame, criterion):
    """(interfaces, z_centered, solid, atom_types) of one frame."""
    x, lattice, types = r["traj_coords"][frame], r["lattices"][frame], r["atom_types"]
    order = bo.bond_order(x, lattice, criterion)
    z, period = itf.normal_coordinate(x, lattice, 2)
    si = types == 14
    slab = itf.locate_interfaces(z[si], order.solid[si], float(period), r["layer_spacing_A"])
    return slab, slab.centered(z), order, types


@pytest.mark.slow
def test_lj_trajectory_meets_the_contract(lj):
    r, fractions = lj
    n_atoms = 4 * np.prod(LJ_CELLS)
    assert r["traj_coords"].shape == (20, n_atoms, 3) and r["traj_coords"].dtype == np.float32
    validate(Trajectory(r["traj_coords"], r["lattices"], r["atom_types"], r["target_index"]), "lj")
    box = np.diag(r["lattices"][0])
    assert np.all(r["lattices"] == r["lattices"][0]) and np.allclose(r["lattices"][0], np.diag(box))
    assert r["traj_coords"].min() >= 0 and np.all(r["traj_coords"].max(axis=(0, 1)) < box)
    # x and y stay at the crystal's lattice: 4 FCC cells at density 0.9805, σ = 2.1 Å
    a = (4 / 0.9805) ** (1 / 3) * LJ_UNITS.sigma_A
    np.testing.assert_allclose(box[:2], 4 * a, rtol=1e-6)
    assert set(np.unique(r["atom_types"])) == {14, 79}
    assert np.isin(r["atom_types"][r["target_index"]], 14).all()
    assert LJ_UNITS.tau_ps == pytest.approx(0.3609, abs=1e-4)
    # the frame interval is a whole number of steps of at most 0.005 τ
    steps = r["frame_interval_ps"] / r["timestep_ps"]
    assert steps == pytest.approx(round(steps)) and r["timestep_ps"] <= 0.005 * LJ_UNITS.tau_ps
    assert 15 <= len(fractions) <= 25 and fractions[-1] == 1.0


@pytest.mark.slow
def test_lj_has_a_crystal_slab_in_the_middle_and_a_liquid_around_it(lj):
    r, _ = lj
    spec = MODELS["binary_lj"]
    for frame in (0, -1):
        slab, zc, order, types = phases(r, frame, spec.criterion)
        length = slab.length_A
        assert slab.center_A == pytest.approx(length / 2, abs=2 * spec.layer_spacing_A)
        # built with 4 of 8 cells = 8 layers; the interfaces may move by a layer or so
        assert 6 <= len(slab.layer_centers_A) <= 10
        inner = np.abs(zc) < slab.half_width_A - spec.layer_spacing_A
        liquid = np.abs(zc) > slab.half_width_A + 2 * spec.layer_spacing_A
        assert order.solid[inner & (types == 14)].mean() > 0.95
        assert order.solid[liquid].mean() < 0.1 and order.q_bar[liquid].mean() < 0.3
        # B (Au) is too large for the A crystal: none of it inside the slab
        assert not np.any((types == 79) & inner)
    # the liquid started with x_B = 0.3 of its atoms as B
    n_b = np.sum(r["atom_types"] == 79)
    assert 0.2 < n_b / (4 * np.prod(LJ_CELLS) / 2) < 0.4


@pytest.mark.slow
def test_the_tethered_slab_does_not_drift(lj):
    r, _ = lj
    z = r["traj_coords"][:, r["tethered"], 2].astype(np.float64)
    assert len(r["tethered"]) > 0 and np.isin(r["atom_types"][r["tethered"]], 14).all()
    assert np.abs(z.mean(axis=1) - z[0].mean()).max() < 0.3  # Å
    first = phases(r, 0, bo.FCC_Q6)[0].center_A
    last = phases(r, -1, bo.FCC_Q6)[0].center_A
    assert abs(first - last) < MODELS["binary_lj"].layer_spacing_A


@pytest.mark.slow
def test_sw_silicon_is_a_diamond_slab_by_q3(sw):
    spec = MODELS["sw_si"]
    assert spec.criterion == bo.DIAMOND_Q3
    assert set(np.unique(sw["atom_types"])) == {14} and sw["units"] == {}
    a = 5.462  # Å, SW diamond at 1690 K (NPT), where the slab is built
    assert sw["layer_spacing_A"] == pytest.approx(a / (2 * np.sqrt(2)))
    slab, zc, order, _ = phases(sw, -1, spec.criterion)
    inner = np.abs(zc) < slab.half_width_A - spec.layer_spacing_A
    liquid = np.abs(zc) > slab.half_width_A + 2 * spec.layer_spacing_A
    assert inner.sum() > 50 and liquid.sum() > 50
    assert order.solid[inner].mean() > 0.9 and order.solid[liquid].mean() < 0.1
    # thermal diamond at 1710 K sits below the perfect 1/√5 = 0.447; its liquid near 0.2
    assert 0.37 < order.q_bar[inner].mean() < 0.447
    assert order.q_bar[liquid].mean() < 0.27
    np.testing.assert_allclose(np.diag(sw["lattices"][0])[:2], [2 * a, 2 * a * np.sqrt(2)],
                               rtol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="model"):
        simulate(time_ns=0.01, frame_interval_ps=1.0, model="meam")
    with pytest.raises(ValueError, match="crystal_fraction"):
        simulate(time_ns=0.01, frame_interval_ps=1.0, crystal_fraction=1.0)
    with pytest.raises(ValueError, match="too thin"):
        simulate(time_ns=0.01, frame_interval_ps=1.0, cells=(4, 4, 4))


@pytest.mark.slow
def test_layout_predicts_what_simulate_writes(lj, sw):
    r, _ = lj
    for result, kw in ((r, dict(model="binary_lj", cells=LJ_CELLS, time_ns=0.02, seed=3)),
                       (sw, dict(model="sw_si", cells=SW_CELLS, time_ns=0.008, seed=1))):
        lay = layout(frame_interval_ps=1.0, **kw)
        assert lay.names == (trajectory_name(kw["seed"]),)
        assert lay.n_frames == (len(result["traj_coords"]),)
        assert lay.n_atoms == result["traj_coords"].shape[1]
        volume = np.prod(np.diag(result["lattices"][0]))
        assert lay.volume_A3 == pytest.approx(volume, rel=0.08)
