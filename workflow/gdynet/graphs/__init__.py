"""Stage 2: periodic M-nearest-neighbour graphs of every frame."""
