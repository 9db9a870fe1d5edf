"""NeuroSim's nonlinearity label -> normalised A: closed form against the published table."""

from __future__ import annotations

import pytest
import torch

from memlearn.devices.responses._nonlinearity import nonlinearity_of, normalized_a, normalized_a_tensor

# Entries of the normalised-A table published with MLP+NeuroSim V3.0
# (documents/Nonlinearity-NormA.htm; getParamA in formula.cpp).
PUBLISHED = [(0.01, 126.268958), (0.02, 63.134314), (0.10, 12.625807), (1.51, 0.8195), (3.01, 0.3853),
             (4.51, 0.2266), (6.01, 0.1351), (7.51, 0.0702)]


@pytest.mark.parametrize("nl, a", PUBLISHED)
def test_closed_form_reproduces_published_table(nl, a):
    # The entries carry 6 decimals (first three: agree to 1e-7) or 4 (the rest: half the last digit).
    tol = 1e-7 * a if a > 10 else 5.1e-5
    assert normalized_a(nl) == pytest.approx(a, abs=tol)
    assert normalized_a(-nl) == pytest.approx(-a, abs=tol)
    assert nonlinearity_of(normalized_a(nl)) == pytest.approx(nl, rel=1e-5)


def test_tensor_version_matches_scalar_and_keeps_sign():
    nl = torch.tensor([-4.88, -0.63, 0.04, 2.4, 9.0], dtype=torch.float64)
    got = normalized_a_tensor(nl)
    want = torch.tensor([normalized_a(float(v)) for v in nl], dtype=torch.float64)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=0)
    assert (got.sign() == nl.sign()).all()
