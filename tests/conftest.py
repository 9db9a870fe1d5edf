"""Shared test setup: one torch thread per worker (pytest -n 2 uses both cores), data paths."""

from __future__ import annotations

import pytest
import torch

from memlearn.datasets import default_data_root

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data():
    """Path of ``../shared/data``; skips the test with a clear message where it is absent."""
    root = default_data_root()
    if not root.is_dir():
        pytest.skip(f"shared data folder {root} is absent (set MEMLEARN_DATA to its path)")
    return root
