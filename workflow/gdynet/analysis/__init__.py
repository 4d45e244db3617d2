"""Stage 5-6: analyses of the learned states (Koopman models, and per-system science)."""
