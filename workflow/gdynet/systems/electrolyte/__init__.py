"""Coarse-grained PEO/LiTFSI analog: LAMMPS simulation and geometric solvation-state labels."""
