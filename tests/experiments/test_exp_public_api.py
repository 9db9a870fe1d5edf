"""The curated top-level API: every exported name resolves; unknown names fail clearly."""

from __future__ import annotations

import pytest

import memlearn


def test_every_public_name_resolves():
    for name in memlearn.__all__:
        assert getattr(memlearn, name) is not None, name


def test_unknown_name():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        memlearn.nope  # noqa: B018
