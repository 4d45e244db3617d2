"""Simulated systems, each with its LAMMPS input and its geometric known answers."""
