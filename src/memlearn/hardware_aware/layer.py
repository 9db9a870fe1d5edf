"""HardwareAwareLayer: an nn.Linear / nn.Conv2d trained through the chip's quantisation, noise and faults.

``prepare_hardware_aware(model, config)`` wraps every Linear/Conv2d of an ordinary torch model;
any torch optimizer and training loop then trains it. ``strip_hardware_aware(model)`` returns
the plain layers (same parameters) for deployment. The scheme follows noise-injection training
for analog inference (Joshi et al., Nat. Commun. 2020; Rasch et al., Nat. Commun. 2023,
"Hardware-aware training for large-scale and diverse deep learning inference workloads using
in-memory computing-based accelerators"): fresh noise on the weights in every forward pass,
the float weights being what the optimizer updates.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from memlearn.devices.pcm_like import PCMLikeDrift
from memlearn.devices.state import STUCK_AT_GMAX, STUCK_AT_GMIN
from memlearn.hardware_aware.config import HardwareAwareConfig
from memlearn.hardware_aware.placement import pair_targets
from memlearn.hardware_aware.quantization import RangeQuantizer, WeightQuantizer, device_levels, uniform_levels

_WRAPPABLE = (nn.Linear, nn.Conv2d)


def weight_scale(w: Tensor) -> Tensor:
    """Per-layer full-scale weight ``max |w|`` (detached): the weight mapped onto the full
    conductance range. Deployment uses the same rule (:func:`memlearn.hardware_aware.deploy.deploy`)."""
    return w.detach().abs().max().clamp_min(1e-12)


class HardwareAwareLayer(nn.Module):
    """Wraps a Linear or Conv2d: DAC -> (quantised, noisy, faulty) weights -> output noise -> ADC -> + bias.

    The wrapped module keeps its ``weight`` and ``bias`` parameters (the optimizer trains them);
    only the forward pass sees the hardware. Weights (out, in[, kh, kw]) are flattened to
    (out, fan_in), mapped to conductances (fan_in, 2*out) by the chip's mapping, perturbed there,
    and mapped back.

    Args:
        module: the nn.Linear or nn.Conv2d to wrap.
        config: the hardware effects to simulate.
        seed: seeds the layer's noise generator.
    """

    def __init__(self, module: nn.Module, config: HardwareAwareConfig, *, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(module, _WRAPPABLE):
            raise TypeError(f"HardwareAwareLayer wraps nn.Linear or nn.Conv2d, got {type(module).__name__}")
        self.module, self.config = module, config
        dev = module.weight.device
        self.generator = torch.Generator(device=dev).manual_seed(int(seed))
        self.weight_quantizer: WeightQuantizer | None = None
        if config.quantize_weights:
            if config.level_spacing == "device":
                levels = device_levels(config.device, config.weight_levels, torch_device=dev)
            else:
                n = config.weight_levels
                if n is None:
                    state = config.device.sample((1,), torch.Generator().manual_seed(0))
                    n = int(torch.round(config.device.n_states(state)).item()) + 1
                levels = uniform_levels(n, device=dev)
            self.weight_quantizer = WeightQuantizer(levels)
        self.dac = RangeQuantizer(config.dac_bits, config.dac_range, config.range_mode) if config.dac_bits else None
        self.adc = RangeQuantizer(config.adc_bits, config.adc_range, config.range_mode) if config.adc_bits else None
        self.register_buffer("fault_map", None)

    def set_fault_map(self, fault: Tensor | None) -> None:
        """Train against a known chip's fault map: int8 codes (fan_in, 2*out) as in
        :class:`memlearn.devices.state.DeviceState` (``None`` = draw fresh faults at the chip's rates)."""
        out = self.module.weight.shape[0]
        fan_in = self.module.weight[0].numel()
        if fault is not None and tuple(fault.shape) != (fan_in, 2 * out):
            raise ValueError(f"fault map has shape {tuple(fault.shape)}, layer needs {(fan_in, 2 * out)}")
        self.fault_map = None if fault is None else fault.to(device=self.module.weight.device, dtype=torch.int8)

    def _gen(self, device: torch.device) -> torch.Generator:
        if self.generator.device != device:
            seed = int(torch.randint(0, 2**62, (1,), generator=self.generator).item())
            self.generator = torch.Generator(device=device).manual_seed(seed)
        return self.generator

    def effective_weight(self) -> Tensor:
        """The weight this forward pass computes with, shape of ``module.weight``."""
        cfg = self.config
        w = self.module.weight
        scale = weight_scale(w)
        if self.weight_quantizer is not None:
            w = self.weight_quantizer(w, scale)
        # The noise scales with max|w| (conductances are normalised by it); letting its gradient
        # through teaches the network that one large weight makes every weight noisier, the
        # effect that weight clipping imposes by hand in Joshi et al., Nat. Commun. 2020.
        scale = w.abs().max().clamp_min(1e-12)
        noisy = self.training or cfg.inject_in_eval
        if not noisy or not (cfg.programming_noise or cfg.read_noise or cfg.faults or cfg.drift
                             or self.fault_map is not None):
            return w
        gen = self._gen(w.device)
        shape, out = w.shape, w.shape[0]
        response = cfg.device.response
        g_min, g_max = float(response.g_min), float(response.g_max)
        g = pair_targets(w.reshape(out, -1) / scale, g_min, g_max, cfg.pair_placement, cfg.mapping)
        if cfg.programming_noise is not None:
            g_noisy = cfg.programming_noise.sample(g, g_min, g_max, gen)
            g = g + cfg.noise_scale * (g_noisy - g).detach()
        drifted = cfg.drift
        if drifted:
            g = self._drift(g, gen)
        if cfg.read_noise:
            std = cfg.device.read_noise.std(g.detach(), torch.full_like(g, g_max))
            g = g + cfg.noise_scale * std * torch.randn(g.shape, generator=gen, device=g.device, dtype=g.dtype)
        fault = self.fault_map
        if fault is None and cfg.faults:
            fault, _ = cfg.device.faults.sample(g.shape, gen, g.device, g.dtype)
        if fault is not None:
            g = torch.where(fault == STUCK_AT_GMIN, torch.full_like(g, g_min), g)
            g = torch.where(fault == STUCK_AT_GMAX, torch.full_like(g, g_max), g)
        w_hw = cfg.mapping.to_weights(g, g_max - g_min, out) * (scale / cfg.mapping.w_max)
        if drifted:  # global drift compensation: one gain per layer restores the total |w|
            w_hw = w_hw * (w.detach().abs().sum() / w_hw.detach().abs().sum().clamp_min(1e-30))
        return w_hw.reshape(shape)

    def _drift(self, g: Tensor, gen: torch.Generator) -> Tensor:
        """Conductances read at a random time in ``[t0, drift_t_max]`` (log-uniform), each device
        with its own exponent from the device's drift model (Joshi et al., Nat. Commun. 2020)."""
        drift = self.config.device.drift
        if isinstance(drift, PCMLikeDrift):
            return self._statistical(g, drift, gen)
        nu = drift.sample_nu(g.shape, gen, g.device, g.dtype)
        u = torch.rand((), generator=gen, device=g.device, dtype=g.dtype)
        log_ratio = u * math.log(self.config.drift_t_max / drift.t0)
        return g * torch.exp(-nu * log_ratio).detach()

    def _statistical(self, g: Tensor, model: PCMLikeDrift, gen: torch.Generator) -> Tensor:
        """A statistical PCM chip (:class:`PCMLikeDrift`) at a random read time, log-uniform in
        ``[1 s, drift_t_max]``: fitted programming error, target-dependent drift, accumulated read
        noise; ``noise_scale`` multiplies the two noise stds. Straight-through: the gradient is
        that of the target conductances."""
        s = self.config.noise_scale
        model = dataclasses.replace(model, prog_noise_scale=s * model.prog_noise_scale,
                                    read_noise_scale=s * model.read_noise_scale)
        target = g.detach()
        t = math.exp(float(torch.rand((), generator=gen, device=g.device)) * math.log(self.config.drift_t_max))
        g_read = model.at_time(model.program(target, gen), model.drift_exponents(target, gen), t, gen)
        return g + (g_read - target).detach()

    def forward(self, x: Tensor) -> Tensor:
        if self.dac is not None:
            x = self.dac(x)
        w = self.effective_weight()
        m = self.module
        if isinstance(m, nn.Conv2d):
            if m.padding_mode != "zeros":
                raise ValueError(f"padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
            z = F.conv2d(x, w, None, m.stride, m.padding, m.dilation, m.groups)
        else:
            z = F.linear(x, w)
        if self.config.output_noise > 0 and (self.training or self.config.inject_in_eval):
            gen = self._gen(z.device)
            std = self.config.noise_scale * self.config.output_noise * z.detach().abs().max()
            z = z + std * torch.randn(z.shape, generator=gen, device=z.device, dtype=z.dtype)
        if self.adc is not None:
            z = self.adc(z)
        if m.bias is not None:
            z = z + (m.bias.view(1, -1, 1, 1) if isinstance(m, nn.Conv2d) else m.bias)
        return z


def prepare_hardware_aware(model: nn.Module, config: HardwareAwareConfig, *, seed: int = 0) -> nn.Module:
    """Wrap every nn.Linear / nn.Conv2d of ``model`` (in place) in a :class:`HardwareAwareLayer`.

    Returns the same model object; its parameters are unchanged (the wrappers hold the original
    layers), so an optimizer built before or after this call trains the same tensors. A model
    that is itself a Linear/Conv2d is returned wrapped.
    """
    if isinstance(model, _WRAPPABLE):
        return HardwareAwareLayer(model, config, seed=seed)
    counter = [seed]

    def _wrap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, HardwareAwareLayer):
                continue
            if isinstance(child, _WRAPPABLE):
                counter[0] += 1
                setattr(parent, name, HardwareAwareLayer(child, config, seed=counter[0] * 7919))
            else:
                _wrap(child)

    _wrap(model)
    return model


def strip_hardware_aware(model: nn.Module) -> nn.Module:
    """Replace every :class:`HardwareAwareLayer` by the layer it wraps (in place); returns the model."""
    if isinstance(model, HardwareAwareLayer):
        return model.module
    for name, child in model.named_children():
        if isinstance(child, HardwareAwareLayer):
            setattr(model, name, child.module)
        else:
            strip_hardware_aware(child)
    return model
