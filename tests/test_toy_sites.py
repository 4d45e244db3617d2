"""Known-answer tests for the geometric tet/oct labels of the FCC toy lattice.

Expected labels come from the FCC geometry written out here independently of
gdynet.systems.toy.sites: explicit S positions with periodic images, barycentric
coordinates in each S tetrahedron, and brute-force nearest oct sites.
"""

import itertools

import numpy as np
import pytest

from gdynet.systems.toy.sites import label_sites, unit_cell_sites

A = 6.5
S_FRAC = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
OCT_FRAC = np.array([[0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
TET_FRAC = np.array(list(itertools.product([0.25, 0.75], repeat=3)))
IMAGES = np.array(list(itertools.product([-1, 0, 1], repeat=3)))


def s_images(a=A):
    """All S positions of the 27 unit cells around the origin cell, (108, 3) Å."""
    return ((IMAGES[:, None, :] + S_FRAC[None]) * a).reshape(-1, 3)


def tetrahedra(a=A):
    """(8, 4, 3): the 4 S atoms nearest to each tet site (periodic images included)."""
    s = s_images(a)
    out = []
    for t in TET_FRAC * a:
        d = np.linalg.norm(s - t, axis=1)
        nearest = np.argsort(d)[:4]
        assert np.allclose(d[nearest], a * np.sqrt(3) / 4)  # regular tetrahedron
        out.append(s[nearest])
    return np.array(out)


def brute_force_labels(x, a=A):
    """Labels by barycentric coordinates and nearest oct image; x (F, 3) in [0, a)."""
    site_type = np.zeros(len(x), dtype=int)
    site_id = np.full(len(x), -1)
    for t, verts in enumerate(tetrahedra(a)):
        # barycentric coordinates of x in the tetrahedron (v0, v1, v2, v3)
        m = (verts[1:] - verts[0]).T
        lam = np.linalg.solve(m, (x - verts[0]).T).T
        bary = np.column_stack([1 - lam.sum(axis=1), lam])
        inside = np.all(bary >= 0, axis=1)
        assert not np.any(inside & (site_type == 1))  # tetrahedra do not overlap
        site_type[inside] = 1
        site_id[inside] = 4 + t
    octs = ((IMAGES[:, None, :] + OCT_FRAC[None]) * a)  # (27, 4, 3)
    d = np.linalg.norm(x[:, None, None, :] - octs[None], axis=-1).min(axis=1)  # (F, 4)
    nearest_oct = np.argmin(d, axis=1)
    site_id[site_type == 0] = nearest_oct[site_type == 0]
    return site_type, site_id


def test_unit_cell_sites_positions():
    oct_sites, tet_sites = unit_cell_sites(A)
    assert oct_sites.shape == (4, 3) and tet_sites.shape == (8, 3)
    s = s_images()
    # Octahedral sites: 6 S at a/2. Tetrahedral sites: 4 S at a·√3/4.
    for site in oct_sites:
        d = np.sort(np.linalg.norm(s - site, axis=1))
        assert np.allclose(d[:6], A / 2) and d[6] > A / 2 + 1
    for site in tet_sites:
        d = np.sort(np.linalg.norm(s - site, axis=1))
        assert np.allclose(d[:4], A * np.sqrt(3) / 4) and d[4] > A * np.sqrt(3) / 4 + 1
    all_sites = np.vstack([oct_sites, tet_sites])
    assert len(np.unique(np.round(all_sites, 6), axis=0)) == 12
    assert np.all((all_sites >= 0) & (all_sites < A))


@pytest.mark.parametrize("a", [6.5, 4.2])
def test_each_site_gets_its_own_label(a):
    oct_sites, tet_sites = unit_cell_sites(a)
    sites = np.vstack([oct_sites, tet_sites])
    site_type, site_id = label_sites(sites, a=a)
    assert site_type.dtype == np.int8 and site_id.dtype == np.int8
    assert site_type.tolist() == [0] * 4 + [1] * 8
    assert site_id.tolist() == list(range(12))


def test_face_centroids_split_tet_from_oct():
    eps = 1e-4  # Å
    tet_sites = unit_cell_sites(A)[1]
    inside_pts, outside_pts, tet_ids, oct_ids = [], [], [], []
    for t, verts in enumerate(tetrahedra()):
        centre = verts.mean(axis=0)
        assert np.allclose(centre, tet_sites[t])
        for k in range(4):
            face = np.delete(verts, k, axis=0)
            centroid = face.mean(axis=0)
            normal = np.cross(face[1] - face[0], face[2] - face[0])
            normal /= np.linalg.norm(normal)
            if np.dot(normal, centroid - verts[k]) < 0:
                normal = -normal  # point away from the opposite vertex
            inside_pts.append(centroid - eps * normal)
            outside_pts.append(centroid + eps * normal)
            tet_ids.append(4 + t)
            # The octahedron behind this face shares it; its centre lies on the
            # face normal at the octahedron's inradius, edge/√6 = a/(2√3).
            centre_oct = np.mod(centroid + A / (2 * np.sqrt(3)) * normal, A)
            match = np.flatnonzero(
                np.all(np.isclose(OCT_FRAC * A, centre_oct, atol=1e-9)
                       | np.isclose(OCT_FRAC * A + A, centre_oct, atol=1e-9), axis=1)
            )
            assert len(match) == 1
            oct_ids.append(int(match[0]))
    inside_type, inside_id = label_sites(np.array(inside_pts))
    outside_type, outside_id = label_sites(np.array(outside_pts))
    assert np.all(inside_type == 1) and inside_id.tolist() == tet_ids
    assert np.all(outside_type == 0) and outside_id.tolist() == oct_ids
    # Each oct site borders 8 tetrahedron faces.
    assert np.bincount(oct_ids, minlength=4).tolist() == [8, 8, 8, 8]


def test_random_points_match_brute_force_geometry():
    x = np.random.default_rng(1).uniform(0, A, size=(20_000, 3))
    expected_type, expected_id = brute_force_labels(x)
    site_type, site_id = label_sites(x)
    np.testing.assert_array_equal(site_type, expected_type)
    np.testing.assert_array_equal(site_id, expected_id)


def test_periodic_images_get_the_same_label():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, A, size=(5_000, 3))
    ref_type, ref_id = label_sites(x)
    for shift in ([1, 0, 0], [0, -1, 0], [-3, 2, 7], [100, -50, 3]):
        t, i = label_sites(x + A * np.array(shift))
        np.testing.assert_array_equal(t, ref_type)
        np.testing.assert_array_equal(i, ref_id)
    t32, i32 = label_sites((x + A * np.array([-2, 1, 0])).astype(np.float32))
    # float32 moves points by ~1e-6 Å: only points that close to a face may differ.
    assert np.mean(i32 != ref_id) < 1e-3


def test_volume_fractions_of_uniform_sample():
    n = 400_000
    x = np.random.default_rng(3).uniform(0, A, size=(n, 3))
    site_type, site_id = label_sites(x)
    # 8 tetrahedra of volume (a/2)³/3 = a³/24 fill a³/3; the 4 octahedra a³/6 each.
    tet_fraction = site_type.mean()
    assert abs(tet_fraction - 1 / 3) < 4 * np.sqrt((1 / 3) * (2 / 3) / n)
    per_site = np.bincount(site_id, minlength=12) / n
    expected = np.array([1 / 6] * 4 + [1 / 24] * 8)
    assert np.all(np.abs(per_site - expected) < 4 * np.sqrt(expected * (1 - expected) / n))


def test_leading_shape_is_kept():
    x = np.random.default_rng(4).uniform(-10, 10, size=(3, 7, 3))
    site_type, site_id = label_sites(x)
    assert site_type.shape == (3, 7) and site_id.shape == (3, 7)
    flat_type, flat_id = label_sites(x.reshape(-1, 3))
    np.testing.assert_array_equal(site_id.ravel(), flat_id)


@pytest.mark.parametrize(
    "x, a, match",
    [
        (np.zeros((4, 2)), A, "shape"),
        (np.array([[0.0, np.nan, 1.0]]), A, "NaN"),
        (np.zeros((2, 3)), 0.0, "positive"),
        (np.zeros((2, 3)), -6.5, "positive"),
    ],
)
def test_bad_input_raises(x, a, match):
    with pytest.raises(ValueError, match=match):
        label_sites(x, a=a)
