"""Toy system: one Li in a frozen FCC S lattice (simulation and ground-truth site labels)."""
