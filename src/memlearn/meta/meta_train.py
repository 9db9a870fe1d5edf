"""Off-chip meta-training (first-order MAML, Reptile) with hardware noise in the loop."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from memlearn.validation import check_range
from memlearn.meta.episodes import EpisodeSampler

ALGORITHMS = ("fomaml", "reptile")


@dataclass(frozen=True, kw_only=True)
class MetaTraining:
    """Meta-training schedule.

    ``fomaml``: first-order MAML (Finn, Abbeel & Levine, ICML 2017, Sec. 5.2): adapt on the support
    set with ``inner_steps`` SGD steps, then step the initialisation with the query-loss gradient taken
    at the adapted weights. ``reptile`` (Nichol, Achiam & Schulman, arXiv 2018, Alg. 2): adapt on
    support + query and move the initialisation towards the adapted weights,
    ``phi += outer_lr * mean(phi_task - phi)``.
    """

    algorithm: str = "fomaml"
    """``fomaml`` or ``reptile``."""
    meta_steps: int = 300
    """Outer updates (>= 1)."""
    meta_batch: int = 4
    """Episodes per outer update (>= 1)."""
    inner_steps: int = 5
    """SGD steps of the inner adaptation (>= 1); use the same number as on the chip."""
    inner_lr: float = 0.5
    """Inner SGD learning rate (> 0); the same as the on-chip adaptation's."""
    outer_lr: float = 0.003
    """Outer learning rate: Adam's for fomaml, the interpolation step for reptile (> 0)."""
    weight_noise: float = 0.02
    """Std of Gaussian noise added to every weight in every forward, relative to the layer's largest
    |weight| (>= 0): programming error and read noise of the chip, injected as in noise-aware training
    (Joshi et al., Nat. Commun. 2020)."""
    adapt: str = "last"
    """Layers adapted in the inner loop (and on the chip): ``last`` (output layer only, as in
    Ortner et al. 2025) or ``all``. Reptile needs ``all`` (it learns only what the inner loop changes)."""

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm={self.algorithm!r} is not one of {ALGORITHMS}")
        if self.adapt not in ("last", "all"):
            raise ValueError(f"adapt={self.adapt!r} is not one of ('last', 'all')")
        if self.algorithm == "reptile" and self.adapt != "all":
            raise ValueError("adapt='last' with algorithm='reptile' would never train the other layers; use adapt='all'")
        check_range("meta_steps", self.meta_steps, 1, 1e7)
        check_range("meta_batch", self.meta_batch, 1, 1e5)
        check_range("inner_steps", self.inner_steps, 1, 1e4)
        check_range("inner_lr", self.inner_lr, 1e-9, 1e3)
        check_range("outer_lr", self.outer_lr, 1e-9, 1e3)
        check_range("weight_noise", self.weight_noise, 0.0, 10.0)


def adapted_names(model: nn.Module, adapt: str) -> list[str]:
    """Names of the parameters the inner loop adapts: all, or those of the last module that has any."""
    names = [n for n, _ in model.named_parameters()]
    if adapt == "all":
        return names
    last = [n for n, _ in model.named_parameters()][-1].rsplit(".", 1)[0]
    return [n for n in names if n.rsplit(".", 1)[0] == last]


def _noisy(params: dict[str, Tensor], sigma: float, generator: torch.Generator) -> dict[str, Tensor]:
    if sigma <= 0:
        return params
    out = {}
    for name, p in params.items():
        if p.ndim >= 2:
            noise = torch.randn(p.shape, generator=generator).to(p)
            p = p + sigma * p.detach().abs().max() * noise
        out[name] = p
    return out


def _loss(model: nn.Module, params: dict[str, Tensor], x: Tensor, y: Tensor, sigma: float,
          generator: torch.Generator) -> Tensor:
    return nn.functional.cross_entropy(functional_call(model, _noisy(params, sigma, generator), (x,)), y)


def inner_adapt(model: nn.Module, params: dict[str, Tensor], x: Tensor, y: Tensor, names: list[str],
                config: MetaTraining, generator: torch.Generator) -> dict[str, Tensor]:
    """``inner_steps`` SGD steps on ``(x, y)`` over the parameters ``names``; returns new (detached) params."""
    params = {k: v.detach() for k, v in params.items()}
    for _ in range(config.inner_steps):
        live = {k: (v.requires_grad_(True) if k in names else v) for k, v in params.items()}
        grads = torch.autograd.grad(_loss(model, live, x, y, config.weight_noise, generator), [live[k] for k in names])
        params = {k: v.detach() for k, v in live.items()}
        for k, g in zip(names, grads):
            params[k] = params[k] - config.inner_lr * g
    return params


def meta_train(model: nn.Module, sampler: EpisodeSampler, config: MetaTraining, generator: torch.Generator,
               on_step=None) -> list[float]:
    """Meta-train ``model``'s float parameters in place; returns the query loss of each outer step.

    Args:
        model: float network with ``sampler.n_way`` outputs (it is later deployed to the chip).
        sampler: meta-training episodes (classes disjoint from the meta-test classes).
        on_step: optional callback ``({"step", "loss"})``.
    """
    names = adapted_names(model, config.adapt)
    opt = torch.optim.Adam(model.parameters(), lr=config.outer_lr) if config.algorithm == "fomaml" else None
    history = []
    for step in range(config.meta_steps):
        phi = {k: v.detach() for k, v in model.named_parameters()}
        total = {k: torch.zeros_like(v) for k, v in phi.items()}
        loss_sum = 0.0
        for _ in range(config.meta_batch):
            ep = sampler.sample(generator)
            if config.algorithm == "fomaml":
                adapted = inner_adapt(model, phi, ep.x_support, ep.y_support, names, config, generator)
                live = {k: v.requires_grad_(True) for k, v in adapted.items()}
                loss = _loss(model, live, ep.x_query, ep.y_query, config.weight_noise, generator)
                for k, g in zip(live, torch.autograd.grad(loss, list(live.values()))):
                    total[k] += g / config.meta_batch
            else:
                x, y = torch.cat([ep.x_support, ep.x_query]), torch.cat([ep.y_support, ep.y_query])
                adapted = inner_adapt(model, phi, x, y, names, config, generator)
                with torch.no_grad():
                    loss = _loss(model, adapted, ep.x_query, ep.y_query, 0.0, generator)
                for k in total:
                    total[k] += (phi[k] - adapted[k]) / config.meta_batch
            loss_sum += float(loss.detach())
        with torch.no_grad():
            if opt is not None:
                for k, p in model.named_parameters():
                    p.grad = total[k]
                opt.step()
            else:
                for k, p in model.named_parameters():
                    p.sub_(config.outer_lr * total[k])
        history.append(loss_sum / config.meta_batch)
        if on_step is not None:
            on_step({"step": step, "loss": history[-1]})
    return history
