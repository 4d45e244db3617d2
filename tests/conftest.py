"""Shared test setup."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    # Tiny models: a second OpenMP thread only adds synchronisation, and on a shared
    # (oversubscribed) CPU it made the model tests ~8x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
