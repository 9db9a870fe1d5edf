"""Off-chip training for deployment: small reference models and a plain torch training loop.

Hardware-aware training is ordinary torch training of a model prepared with
:func:`memlearn.hardware_aware.layer.prepare_hardware_aware`; this module only provides the two
reference networks of the drift study and a seeded Adam loop (Kingma & Ba, ICLR 2015).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from memlearn.validation import check_range

ARCHITECTURES = ("mlp", "cnn")


def build_model(architecture: str, n_features: int, n_classes: int, *, hidden: tuple[int, ...] = (32,),
                image_shape: tuple[int, int] | None = None, channels: tuple[int, int] = (8, 16),
                seed: int = 0) -> nn.Module:
    """A float reference network (the one that is trained, then deployed).

    ``"mlp"``: ``n_features - hidden... - n_classes`` with ReLU. ``"cnn"``: two 5x5 convolutions
    (stride 2, ReLU, ``channels`` maps) and a linear classifier, for flattened square images
    (``image_shape``), e.g. 784 -> 8x12x12 -> 16x4x4 -> 10 on MNIST.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture={architecture!r} must be one of {ARCHITECTURES}")
    if architecture == "mlp":
        sizes = [n_features, *hidden, n_classes]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return _initialise(nn.Sequential(*layers), seed)
    if image_shape is None or image_shape[0] * image_shape[1] != n_features:
        raise ValueError(f"architecture='cnn' needs image_shape with {n_features} pixels, got {image_shape}")
    h, w = image_shape
    side = lambda n: (n - 5) // 2 + 1
    h2, w2 = side(side(h)), side(side(w))
    if h2 < 1 or w2 < 1:
        raise ValueError(f"image_shape={image_shape} is too small for two 5x5 stride-2 convolutions")
    c1, c2 = channels
    return _initialise(nn.Sequential(nn.Unflatten(1, (1, h, w)), nn.Conv2d(1, c1, 5, stride=2), nn.ReLU(),
                                     nn.Conv2d(c1, c2, 5, stride=2), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(c2 * h2 * w2, n_classes)), seed)


@torch.no_grad()
def _initialise(model: nn.Module, seed: int) -> nn.Module:
    """torch's default layer initialisation (uniform in ``+-1/sqrt(fan_in)``), from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            bound = m.weight[0].numel() ** -0.5
            m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound)
            if m.bias is not None:
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)
    return model


def fit(model: nn.Module, x: Tensor, y: Tensor, *, epochs: int, batch_size: int = 32, lr: float = 3e-3,
        seed: int = 0, on_epoch: Callable[[int, float, float], None] | None = None) -> nn.Module:
    """Train ``model`` with Adam and cross-entropy; a seeded generator fixes the data order.

    Args:
        x, y: training inputs (n, features) and labels (n,).
        on_epoch: called as ``on_epoch(epoch, mean_loss, train_accuracy)`` after every epoch.
    """
    check_range("epochs", epochs, 1, 1e6)
    check_range("batch_size", batch_size, 1, 1e7)
    check_range("lr", lr, 1e-12, 10.0)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    n = len(x)
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen).to(x.device)
        total, correct = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            out = model(x[idx])
            loss = nn.functional.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        if on_epoch is not None:
            on_epoch(epoch, total / n, correct / n)
    return model.eval()
