"""Stages 3-4: the networks, the VAMP-2 loss, training and prediction."""
