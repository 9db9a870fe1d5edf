"""Weight <-> conductance mappings: round trips, layouts, noise combination, physical blocks."""

from __future__ import annotations

import pytest
import torch

from memlearn.crossbar.mapping import DifferentialMapping, ReferenceColumnMapping

G_MIN, G_MAX = 1e-6, 1e-5


@pytest.mark.parametrize("mapping", [DifferentialMapping(), ReferenceColumnMapping()])
def test_round_trip(mapping):
    w_n = torch.rand(5, 7, generator=torch.Generator().manual_seed(0)) * 2 - 1
    g = mapping.targets(w_n, G_MIN, G_MAX)
    assert g.shape == (7, mapping.n_columns(5))
    assert float(g.min()) >= G_MIN - 1e-12 and float(g.max()) <= G_MAX + 1e-12
    torch.testing.assert_close(mapping.normalised(g, G_MIN, G_MAX, 5), w_n.T)


def test_differential_legacy_api():
    m = DifferentialMapping(w_max=0.5)
    w = torch.tensor([[0.25, -0.5], [1.0, 0.0]])
    g = m.target_conductances(w, G_MIN, G_MAX)
    torch.testing.assert_close(m.to_weights(g, G_MAX - G_MIN, 2), w.clamp(-0.5, 0.5))
    n = torch.tensor([[1, -2], [3, 0]])
    assert torch.equal(m.device_pulses(n), torch.cat([n.T, -n.T], dim=1))


def test_pair_noise_adds_in_quadrature():
    std = torch.tensor([[3.0, 1.0, 4.0, 1.0]])
    torch.testing.assert_close(DifferentialMapping().normalised_std(std, 1.0, 2), torch.tensor([[5.0, 2**0.5]]))


@pytest.mark.parametrize("mapping", [DifferentialMapping(), ReferenceColumnMapping()])
def test_physical_block_currents(mapping):
    """The block a physical array holds, read with ideal wires, gives the mapped weights' MVM."""
    gen = torch.Generator().manual_seed(1)
    w_n = torch.rand(6, 4, generator=gen) * 2 - 1
    g = mapping.targets(w_n, G_MIN, G_MAX)
    v = torch.rand(3, 4, generator=gen)
    block = mapping.array_block(g, 2, 5, 6, G_MIN, G_MAX)
    unit = mapping.conductance_per_weight(G_MAX - G_MIN)
    torch.testing.assert_close(mapping.output_currents(v @ block, 3) / unit, v @ w_n[2:5].T)
    d = torch.rand(3, 3, generator=gen)  # transposed read: drive the bit lines, sense the word lines
    torch.testing.assert_close(mapping.bit_line_voltages(d) @ block.T / unit, d @ w_n[2:5])


def test_mapping_validation():
    with pytest.raises(ValueError, match="mapping.w_max"):
        DifferentialMapping(w_max=0.0)
    with pytest.raises(ValueError, match="mapping.scale"):
        ReferenceColumnMapping(scale="row")
