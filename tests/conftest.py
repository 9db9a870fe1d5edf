"""Shared test setup: one torch thread per worker (pytest -n 2 uses both cores), data paths."""

from __future__ import annotations

import pytest
import torch
from threadpoolctl import threadpool_limits

from memlearn.datasets import default_data_root

torch.set_num_threads(1)
# One BLAS thread too: with `pytest -n 2` two workers already fill both cores, and an
# oversubscribed OpenBLAS makes scipy-heavy tests tens of times slower.
threadpool_limits(1)


@pytest.fixture(scope="session")
def shared_data():
    """Path of ``../shared/data``; skips the test with a clear message where it is absent."""
    root = default_data_root()
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} is absent (set MEMLEARN_DATA to its path)")
    return root
