"""Toy-system figures (Fig. 2c): where the Li is, coloured by its learned state."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdynet.plots import style


def state_map(positions_A: np.ndarray, p_state0: np.ndarray, lattice_A: float,
              sulfur_A: np.ndarray | None = None) -> plt.Figure:
    """Li positions folded into the cubic cell, coloured by the probability of state 0.

    positions_A: (P, 3) Å in [0, a); p_state0: (P,); sulfur_A: (S, 3) Å lattice sites.
    """
    style()
    fig = plt.figure(figsize=(6.2, 4.8))
    ax = fig.add_subplot(projection="3d")
    ax.set_box_aspect((1, 1, 1), zoom=0.85)  # room for the axis labels inside the figure
    sc = ax.scatter(*positions_A.T, c=p_state0, cmap="coolwarm", vmin=0, vmax=1, s=2,
                    alpha=0.6, linewidths=0)
    if sulfur_A is not None:
        # draw the S sites and their periodic images on the cell faces
        shifts = np.array(np.meshgrid(*[[0, 1]] * 3)).reshape(3, -1).T * lattice_A
        images = (sulfur_A[:, None] + shifts[None]).reshape(-1, 3)
        images = images[(images <= lattice_A + 1e-6).all(axis=1)]
        ax.scatter(*images.T, c="gold", s=80, edgecolors="k", depthshade=False, label="S")
        ax.legend(loc="upper left", frameon=False)
    for s, e in _cube_edges(lattice_A):
        ax.plot(*zip(s, e), color="0.4", lw=0.8)
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.set_zlabel("z (Å)", labelpad=6)
    # the colour bar well right of the axes, so it cannot hide the z label
    bar = fig.colorbar(sc, ax=ax, shrink=0.65, pad=0.1, label="P(state 0)")
    bar.solids.set_alpha(1)  # the bar shows the colours, not the points' transparency
    return fig


def _cube_edges(a: float):
    corners = np.array(np.meshgrid(*[[0, a]] * 3)).reshape(3, -1).T
    for i, c1 in enumerate(corners):
        for c2 in corners[i + 1:]:
            if np.count_nonzero(c1 != c2) == 1:
                yield c1, c2
