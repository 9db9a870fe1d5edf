"""Draw docs/img/crossbar.png: the tile's signal path (left) and measured errors of a 600x300
tile with each non-ideality switched on alone (right; computed by running the tile).

Run: .venv/bin/python docs/make_crossbar_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyBboxPatch, Rectangle

from memlearn.crossbar.ir_drop import IRDropConfig
from memlearn.crossbar.mapping import DifferentialMapping
from memlearn.devices.device import Device
from memlearn.devices.drift import Drift
from memlearn.devices.read_noise import ReadNoise
from memlearn.devices.responses.ideal import Ideal
from memlearn.nn import AnalogTile, TileConfig
from memlearn.periphery import ADC, DAC, BoundManagement
from memlearn.units import DAY


def _schematic(ax) -> None:
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    box = lambda x, y, w, h, text, color: (
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="#444")),
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8))
    box(0.1, 8.3, 2.2, 1.2, "x / alpha\n(noise mgmt)", "#fcbba1")
    box(0.1, 6.6, 2.2, 1.2, "DAC\nclip, 2^b-1 levels\nu * v_read", "#fcbba1")
    # 3 x 3 physical arrays of a 600 x 300 weight matrix, 256 x 256 each
    for r in range(3):
        for c in range(3):
            x0, y0 = 3.0 + c * 1.9, 6.6 - r * 1.9
            ax.add_patch(Rectangle((x0, y0), 1.7, 1.7 if r < 2 else 0.7, fc="#fee391", ec="#444"))
            ax.text(x0 + 0.85, y0 + (0.85 if r < 2 else 0.35), f"array\n[{r},{c}]", ha="center", va="center", fontsize=7)
    ax.text(5.75, 8.6, "G+ / G- pairs on adjacent bit lines\nread at t (drift), read noise per MVM", ha="center", fontsize=7.5)
    ax.annotate("", xy=(3.0, 7.2), xytext=(2.3, 7.2), arrowprops=dict(arrowstyle="->"))
    for c in range(3):
        x0 = 3.0 + c * 1.9
        box(x0, 1.55, 1.7, 0.7, "ADC / array", "#fcbba1")
        ax.annotate("", xy=(x0 + 0.85, 2.3), xytext=(x0 + 0.85, 2.8), arrowprops=dict(arrowstyle="->"))
    box(1.0, 0.3, 7.6, 0.8, "digital sum over arrays  x alpha x weight scale  (+ bound management repeats)", "#dadaeb")
    ax.text(0.2, 4.6, "word lines: inputs\n(256 per array)\n\nbit lines: outputs\n(128 pairs per array)\n\n"
            "backward: the transposed\nread, its own DAC/ADC", fontsize=7.5, va="center")
    ax.set_title("AnalogTile forward: 600 x 300 weights on 256 x 256 arrays", fontsize=9)


def _errors(ax) -> None:
    torch.manual_seed(0)
    w = torch.randn(300, 600) * 0.04
    x = torch.rand(64, 600)
    exact = x @ w.T
    cases = {
        "ideal": TileConfig(),
        "DAC 8b": TileConfig(dac=DAC(bits=8)),
        "ADC 8b": TileConfig(adc=ADC(bits=8)),
        "ADC 6b + BM": TileConfig(adc=ADC(bits=6, output_range=4.0), bound_management=BoundManagement()),
        "read noise 2%, mid": TileConfig(device=Device(response=Ideal(), read_noise=ReadNoise(relative=0.02))),
        "read noise 2%, min": TileConfig(device=Device(response=Ideal(), read_noise=ReadNoise(relative=0.02)),
                                         mapping=DifferentialMapping(baseline="min")),
        "output noise 0.06": TileConfig(output_noise=0.06),
        "drift 1 day, mid": TileConfig(device=Device(response=Ideal(), drift=Drift(nu_mean=0.05, nu_std=0.02))),
        "drift 1 day, min": TileConfig(device=Device(response=Ideal(), drift=Drift(nu_mean=0.05, nu_std=0.02)),
                                       mapping=DifferentialMapping(baseline="min")),
        "IR drop 1 ohm": TileConfig(ir_drop=IRDropConfig(r_word_line=1.0, r_bit_line=1.0)),
    }
    names, errs = [], []
    for name, cfg in cases.items():
        tile = AnalogTile(600, 300, cfg, seed=1)
        tile.set_weights_exact(w)
        if name.startswith("drift"):
            tile.set_read_time(DAY)
        with torch.no_grad():
            y = tile(x)
        names.append(name)
        errs.append(float((y - exact).norm() / exact.norm()))
    ax.barh(names[::-1], [max(e, 1e-8) for e in errs[::-1]], color="#6baed6")
    ax.set_xscale("log")
    ax.set_xlabel("relative error ||y - Wx|| / ||Wx||  (mid / min: pair baseline)")
    ax.set_title("one non-ideality at a time (measured)", fontsize=9)


def main() -> None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.3, 1]})
    _schematic(a)
    _errors(b)
    fig.tight_layout()
    out = Path(__file__).resolve().parent / "img" / "crossbar.png"
    fig.savefig(out, dpi=130)
    print(out)


if __name__ == "__main__":
    main()
