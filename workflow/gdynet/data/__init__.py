"""Stage 1: trajectories in (download, import, the trajectory contract), stores and splits out."""
