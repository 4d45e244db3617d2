"""Si-Au analog: a crystal slab in contact with its liquid (LAMMPS simulation and known answers)."""
