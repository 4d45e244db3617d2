"""Known answers for the interface: do the learned states match the order parameter?

The bond-order criterion labels every target atom-frame solid or liquid
(`gdynet.analysis.bond_order`), independently of the network. A trained model passes
when its states, named and grouped by `gdynet.analysis.interface.name_states`, agree
with those labels, when its solid-like states sit inside the crystal slab, and when its
slowest timescale is comparable with the one counted from the labels. The same checks
serve the simulated analog and the paper's Si-Au trajectory (q3 labels).
"""

from __future__ import annotations

import numpy as np

from gdynet.analysis import interface, koopman
from gdynet.learn import simplex

# The learned states pass when, grouped solid-like / liquid-like, they agree with the
# order-parameter labels on at least this balanced share of the test atom-frames.
AGREEMENT_REQUIRED = 0.85


def validate(chi_pieces, observables, interfaces: interface.Interfaces, lag: int, lag_ps: float,
             min_frames: int = 1, bin_A: float = 0.5) -> dict:
    """All interface checks of one trained model at lag τ (validation.json).

    chi_pieces: list of (F_s, n, k) test-set state weights (the simplex map's, entries may lie
        slightly outside [0, 1]), one per contiguous piece.
    observables: matching list of `interface.TargetObservables` (the same frames and
        targets).
    interfaces: the slab (`TargetSelection.interfaces`); lag: τ in frames; lag_ps: τ in ps.
    min_frames: `interface.persistent_labels` smoothing of the solid labels (1 = none)
        before they are compared and counted; a few frames remove the momentary
        solid reads of liquid atoms.
    Returns a JSON-ready dict:
        state_names, solid_like, solid_fraction, population   `interface.name_states`
        state_agreement             balanced accuracy, solid-like/liquid-like vs labels
        solid_fraction_inside_slab  share of solid-like atom-frames inside |zc| <= w
        timescale_ps                slowest learned timescale at τ (Eq. 11)
        reference_timescale_ps      the same, from the 2-state count model of the labels
        state_agreement_required, passes   AGREEMENT_REQUIRED, and whether the agreement meets it
        label_solid_fraction        share of solid target atom-frames
        smoothing_frames            min_frames
        notes                       why a value is None
    """
    if not chi_pieces or len(chi_pieces) != len(observables):
        raise ValueError("chi_pieces and observables must be non-empty lists of equal length "
                         "(one entry per test piece)")
    chi_pieces = [np.asarray(c, dtype=np.float64) for c in chi_pieces]
    for i, (c, o) in enumerate(zip(chi_pieces, observables)):
        if c.shape[:-1] != o.solid.shape:
            raise ValueError(f"test piece {i}: chi has atom-frames {c.shape[:-1]} but the "
                             f"observables {o.solid.shape}; use the same frames and targets")
    solid = [interface.persistent_labels(o.solid, min_frames).astype(bool) for o in observables]
    # state-resolved averages weigh by probabilities; the Koopman timescale takes χ as it is,
    # so that it is the timescale of timescales.csv (clipping is not a similarity map)
    chi_all = simplex.probabilities(np.concatenate([c.reshape(-1, c.shape[-1]) for c in chi_pieces]))
    solid_all = np.concatenate([s.ravel() for s in solid])
    depth_all = np.concatenate([o.depth_A.ravel() for o in observables])
    order_all = np.concatenate([o.order.ravel() for o in observables])
    z_all = np.concatenate([o.z_centered_A.ravel() for o in observables])
    notes: list[str] = []
    out: dict = {"smoothing_frames": int(min_frames), "label_solid_fraction": float(solid_all.mean()),
                 "notes": notes}

    def attempt(key, fn):
        try:
            out[key] = fn()
        except ValueError as err:
            out[key] = None
            notes.append(f"{key}: {err}")

    names = interface.name_states(chi_all, solid_all, depth_all, order=order_all)
    out.update(state_names=list(names.names), solid_like=names.solid_like.tolist(),
               solid_fraction=names.solid_fraction.tolist(), mean_order=names.mean_order.tolist(),
               population=names.population.tolist())
    attempt("state_agreement", lambda: interface.state_agreement(chi_all, solid_all, names.solid_like))
    out["state_agreement_required"] = AGREEMENT_REQUIRED
    out["passes"] = out["state_agreement"] is not None and out["state_agreement"] >= AGREEMENT_REQUIRED
    profiles = interface.z_profiles(z_all, chi_all, interfaces.length_A, bin_A)
    attempt("solid_fraction_inside_slab",
            lambda: interface.solid_fraction_inside_slab(profiles, names.solid_like, interfaces))
    attempt("timescale_ps", lambda: float(koopman.implied_timescales(
        koopman.koopman_matrix(chi_pieces, lag), lag_ps)[0]))
    attempt("reference_timescale_ps", lambda: interface.reference_timescale_ps(
        [s.astype(np.int64) for s in solid], lag, lag_ps / lag))
    return out
