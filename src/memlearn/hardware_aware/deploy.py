"""deploy(model, chip): program a trained model's weights onto simulated arrays and report the cost."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from memlearn.crossbar.cost import model_cost
from memlearn.hardware_aware.chip import ChipConfig, program_tile
from memlearn.hardware_aware.compensation import DeployedLayer, find_tile
from memlearn.hardware_aware.layer import strip_hardware_aware, weight_scale
from memlearn.hardware_aware.programming_noise import ProgrammingNoise
from memlearn.hardware_aware.statistical import program_statistical, statistical_model
from memlearn.nn.convert import convert_to_analog, convert_to_digital


@dataclass(frozen=True)
class ProgrammingReport:
    """What programming the model cost and how well it worked."""

    pulses: int
    """Programming pulses applied over all tiles (write-verify iterations included)."""
    energy: float
    """Programming energy (J): write pulses, ``V^2 G t_pulse`` each (tiles' cost model)."""
    time: float
    """Programming latency (s): pulse steps one after another (tiles' cost model)."""
    weight_error: float
    """Relative weight error right after programming, ``||W_chip - W|| / ||W||`` over all layers."""
    layers: tuple[dict, ...] = ()
    """Per-layer figures: name, shape, scale (full-scale weight), pulses, weight_error."""


def _bare_copy(layer: nn.Module) -> nn.Module:
    """A copy of ``layer`` without bias (the bias stays digital in :class:`DeployedLayer`)."""
    bare = copy.deepcopy(layer)
    bare.register_parameter("bias", None)
    return bare


@torch.no_grad()
def _add_programming_error(tile, noise: ProgrammingNoise, generator: torch.Generator) -> None:
    """Draw the residual error write-verify leaves on every fault-free device."""
    array, state = tile.array, tile.array.state
    g = noise.sample(array.g, state.g_min, state.g_max, generator)
    array.set_conductances(g)  # fault-free devices only


def _record_inputs(model: nn.Module, layers: dict[str, nn.Module], x: Tensor) -> dict[str, Tensor]:
    captured: dict[str, Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: captured.__setitem__(name, args[0].detach()))
             for name, m in layers.items()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return captured


def deploy(model: nn.Module, chip: ChipConfig, *, calibration_inputs: Tensor | None = None
           ) -> tuple[nn.Module, ProgrammingReport]:
    """Program the weights of every nn.Linear / nn.Conv2d of ``model`` onto a simulated chip.

    Each layer becomes a :class:`DeployedLayer` around the analog layer ``convert_to_analog`` makes
    of it, programmed with the tile's programmer (write-verify by default: ``AnalogTile.program``,
    pulses through ``Crossbar.apply_pulses``, so they count), after which the chip's programming
    error is drawn. An analog model (e.g. from ``convert_to_analog``) is first read back with
    ``convert_to_digital``. The layer's full-scale weight
    ``max |W|`` becomes the tile's weight scale (the rule noise-aware training assumes). The input
    model is not modified; hardware-aware wrappers are stripped from a copy.

    Args:
        model: a trained torch model (plain or prepared with ``prepare_hardware_aware``).
        chip: the chip instance.
        calibration_inputs: a few model inputs; when given, every layer's per-column gain and
            offset are calibrated against the digital model (mapping-bias compensation).
    Returns:
        the analog model (same structure, layers replaced) and a :class:`ProgrammingReport`.
    """
    digital = convert_to_digital(strip_hardware_aware(copy.deepcopy(model)), inplace=True).eval()
    targets = {name: m for name, m in digital.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    if not targets:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer to deploy")
    inputs = _record_inputs(digital, targets, calibration_inputs) if calibration_inputs is not None else {}
    gen = torch.Generator(device=next(digital.parameters()).device).manual_seed(chip.seed * 1_000_003 + 17)
    analog_model = copy.deepcopy(digital)
    statistical = statistical_model(chip.tile.device)
    rows, total_pulses, err_num, err_den, energy, latency = [], 0, 0.0, 0.0, 0.0, 0.0
    for index, (name, layer) in enumerate(targets.items()):
        w = layer.weight.detach()
        scale = float(weight_scale(w))
        mapping = chip.tile.mapping
        if mapping.scale == "fixed":
            mapping = dataclasses.replace(mapping, scale="tile")
        config = dataclasses.replace(chip.tile, mapping=mapping)
        analog = convert_to_analog(_bare_copy(layer), config, seed=chip.seed * 1_000_003 + 101 * index)
        tile = find_tile(analog)
        w_flat = w.reshape(w.shape[0], -1)
        g_programmed = None
        if statistical is not None:  # fitted programming error of the statistical PCM model
            g_programmed = program_statistical(tile, w_flat, statistical, gen)
        else:
            program_tile(tile, w_flat, chip.pair_placement)
        if chip.programming_noise is not None:
            _add_programming_error(tile, chip.programming_noise, gen)
            g_programmed = None if g_programmed is None else tile.array.g.clone()
        cost = model_cost(analog)
        pulses = int(cost.n_pulses)
        energy += cost.energy_write
        latency += cost.latency_write
        w_chip = tile.weights()
        layer_err = float((w_chip - w_flat).norm() / w_flat.norm().clamp_min(1e-30))
        err_num += float((w_chip - w_flat).pow(2).sum())
        err_den += float(w_flat.pow(2).sum())
        total_pulses += pulses
        u = torch.rand(chip.n_calibration, w_flat.shape[1], generator=gen, device=w.device, dtype=w.dtype)
        deployed = DeployedLayer(analog, layer.bias, channel_dim=1 if isinstance(layer, nn.Conv2d) else -1,
                                 calibration_vectors=u, t_reference=chip.t_reference)
        if g_programmed is not None:
            deployed.hold_statistical(statistical, g_programmed, seed=chip.seed * 1_000_003 + 7 * index + 3)
        if chip.drift_compensation:
            deployed.calibrate_reference()
        if name in inputs:
            x_in = inputs[name]
            z_target = layer(x_in) - (0 if layer.bias is None else deployed._shape(layer.bias, x_in.ndim))
            deployed.calibrate_columns(x_in, z_target)
        analog_model = _replace(analog_model, name, deployed)
        rows.append(dict(name=name, shape=tuple(w.shape), scale=scale, pulses=pulses, weight_error=layer_err))
    report = ProgrammingReport(pulses=total_pulses, energy=energy, time=latency,
                               weight_error=(err_num / max(err_den, 1e-30)) ** 0.5, layers=tuple(rows))
    return analog_model.eval(), report


def _replace(root: nn.Module, name: str, new: nn.Module) -> nn.Module:
    if name == "":
        return new
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)
    return root

