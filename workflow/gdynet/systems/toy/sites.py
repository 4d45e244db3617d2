"""Geometric ground truth for the toy system: which interstitial site holds the Li.

The S atoms form an FCC lattice (conventional cubic cell of edge a, S at
(0,0,0), (0,½,½), (½,0,½), (½,½,0)·a). FCC space is tiled exactly by S
tetrahedra (8 per cell, one around each tetrahedral site) and S octahedra
(4 per cell, one around each octahedral site). A Li belongs to the site whose
polyhedron contains it, so the tet/oct boundary lies on the tetrahedron faces,
i.e. on the saddle of the Tet–Oct migration path. (A nearest-site rule would put
the boundary beyond the saddle and count spurious recrossings as hops.)

Construction used here: cut the unit cell into 8 sub-cubes of edge a/2. Each
sub-cube holds one tet site at its centre, and the S tetrahedron around that
site is inscribed in the sub-cube: its 4 vertices are the 4 sub-cube corners
occupied by S. The other 4 corners are oct sites, and each of the 4 corner
pyramids cut off by the tetrahedron faces belongs to the octahedron of that
corner's oct site. So with q the position relative to the sub-cube centre in
units of a/4 (q in [-1, 1]^3), and the vertex signs oriented so that the S
corners are the sign vectors s with s1·s2·s3 = +1:

    in the tetrahedron  <=>  w·q <= 1 for the 4 oct corners w (w1·w2·w3 = -1)

and otherwise the Li is in the octahedron of the corner w maximising w·q. This
equals the nearest oct site under periodic boundaries (the octahedron lies
inside the Voronoi cell of its oct site), which the tests check by brute force.
"""

from __future__ import annotations

import itertools

import numpy as np

OCT, TET = 0, 1

# Fractional coordinates of the sites; the order defines site_id.
_OCT_FRAC = np.array([[0.5, 0.5, 0.5], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]])
_TET_FRAC = np.array(list(itertools.product([0.25, 0.75], repeat=3)))

# Oct corners in the oriented frame (sign product -1); columns of a (3, 4) matrix.
_OCT_CORNERS = np.array([[-1, -1, -1], [-1, 1, 1], [1, -1, 1], [1, 1, -1]], dtype=np.float64).T


def _oct_lookup() -> np.ndarray:
    """site_id of each oct site, indexed by its 3-bit code 4·b0 + 2·b1 + b2 (b = 2·frac)."""
    lut = np.full(8, -1, dtype=np.int8)
    for k, frac in enumerate(_OCT_FRAC):
        b = (2 * frac).astype(int)
        lut[4 * b[0] + 2 * b[1] + b[2]] = k
    return lut


_OCT_LUT = _oct_lookup()
_CHUNK = 1 << 16  # frames per block: bounds temporaries, keeps them in cache


def unit_cell_sites(a: float = 6.5) -> tuple[np.ndarray, np.ndarray]:
    """Interstitial sites of the FCC unit cell of edge `a` (Å).

    Returns (oct (4, 3), tet (8, 3)) Cartesian positions in Å, inside [0, a).
    oct: (½,½,½), (½,0,0), (0,½,0), (0,0,½)·a; tet: (¼|¾, ¼|¾, ¼|¾)·a with the
    last coordinate varying fastest. site_id k of label_sites is oct[k] for
    k < 4 and tet[k - 4] otherwise.
    """
    a = _check_lattice(a)
    return _OCT_FRAC * a, _TET_FRAC * a


def label_sites(li_positions, a: float = 6.5) -> tuple[np.ndarray, np.ndarray]:
    """Tet/oct site of each Li position.

    li_positions: (F, 3) Å (any leading shape (..., 3) works), any values; they
        are folded into the unit cell modulo `a`.
    a: FCC lattice parameter in Å (6.5 for the toy system).
    Returns site_type (F,) int8 (0 = oct, 1 = tet) and site_id (F,) int8 in
    0..11 (0-3 oct, 4-11 tet, in the order of unit_cell_sites). A point exactly
    on a tetrahedron face counts as tet.
    """
    a = _check_lattice(a)
    x = np.asarray(li_positions)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"li_positions must have shape (F, 3), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"li_positions must be real numbers, got dtype {x.dtype}")
    shape = x.shape[:-1]
    x = x.reshape(-1, 3)
    if not np.all(np.isfinite(x)):
        raise ValueError("li_positions contains NaN or inf; drop or repair those frames first")
    site_type = np.empty(len(x), dtype=np.int8)
    site_id = np.empty(len(x), dtype=np.int8)
    for start in range(0, len(x), _CHUNK):
        sl = slice(start, start + _CHUNK)
        site_type[sl], site_id[sl] = _label_block(x[sl], a)
    return site_type.reshape(shape), site_id.reshape(shape)


def _label_block(x: np.ndarray, a: float) -> tuple[np.ndarray, np.ndarray]:
    # p: position in units of a/4, folded into [0, 4].
    p = x.astype(np.float64) * (4.0 / a)
    p -= 4.0 * np.floor(p * 0.25)
    cube = np.clip(np.floor(p * 0.5), 0, 1).astype(np.int8)  # sub-cube index (F, 3)
    q = p - (2.0 * cube + 1.0)  # relative to the sub-cube centre, in [-1, 1]
    # In sub-cube i, corner q = s is an S site iff s1·s2·s3 = -(-1)^(i1+i2+i3)
    # (FCC: sum of the doubled fractional coordinates even). Flip q so that the
    # S corners are always the sign vectors with product +1.
    orient = np.where(cube.sum(axis=1) % 2 == 0, -1.0, 1.0)
    r = q * orient[:, None]
    d = r @ _OCT_CORNERS  # (F, 4): projections on the oct corners
    best = np.argmax(d, axis=1)
    is_tet = np.take_along_axis(d, best[:, None], axis=1)[:, 0] <= 1.0

    # Oct corner in p coordinates, folded; its doubled fractional coordinates
    # (0 or 1 each) index the oct lookup table.
    corner = _OCT_CORNERS.T[best] * orient[:, None]  # (F, 3) in the q frame
    bits = ((2 * cube + 1 + corner.astype(np.int8)) // 2) % 2
    oct_id = _OCT_LUT[4 * bits[:, 0] + 2 * bits[:, 1] + bits[:, 2]]
    tet_id = 4 + 4 * cube[:, 0] + 2 * cube[:, 1] + cube[:, 2]
    site_id = np.where(is_tet, tet_id, oct_id).astype(np.int8)
    return is_tet.astype(np.int8), site_id


def _check_lattice(a) -> float:
    a = float(a)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"lattice parameter a must be a positive length in Å, got {a}")
    return a
