"""Draw docs/img/architecture.png: memlearn's layers and the seams between them.

Run: .venv/bin/python docs/make_architecture_figure.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

LAYERS = [
    ("cli  (memlearn run | sweep | report | devices)", "#d9d9d9"),
    ("experiments: config (TOML -> dataclasses) · registry (names -> classes) · device_section · runner · kinds ·\n"
     "sweeps (sweep_executor: pool or Dask) · report", "#c6dbef"),
    ("hardware_aware · continual (strategies = pulse transforms) · meta", "#fdd0a2"),
    ("rules: StochasticPulse · Manhattan · MixedPrecision · TikiTaka · chain · apply_update · AnalogSGD     eqprop",
     "#c7e9c0"),
    ("nn: AnalogTile (tile · _circuit · _read_cache · _write) · Pulses · AnalogLinear · AnalogConv2d · convert\n"
     "(convert_to_analog, set_read_time)",
     "#dadaeb"),
    ("periphery: DAC · ADC · management · pulse coding · mvm (Periphery, analog_mvm) · weight_read", "#fcbba1"),
    ("crossbar: Crossbar (g, state, apply_pulses, set_conductances) · mapping · ir_drop/ · programming · cost",
     "#fee391"),
    ("devices: Device = PulseResponse + ReadNoise + Drift + Faults · presets · fit", "#d4b9da"),
    ("foundation: units · validation (check_range ...) · datasets · user_data · omniglot", "#f0f0f0"),
]
# Seam drawn in the gap below layer i (0 = top).
SEAMS = {0: "Typer commands -> runner", 1: "kinds: run(config, run_dir, log, seed) -> summary",
         2: "UpdateRequest(x, d, lr) · PulseTransform · Programmer",
         3: "rule.update -> Pulses; apply_update -> tile.write(pulses)",
         4: "analog_mvm(x, Periphery, partials) · DAC / ADC",
         5: "Crossbar.mvm · apply_pulses · apply_pulse_sequence · set_conductances",
         6: "Device.sample / pulse / read / wear",
         7: "SI units · range checks · Dataset tensors"}

fig, ax = plt.subplots(figsize=(11, 9))
for i, (text, color) in enumerate(LAYERS):
    y = len(LAYERS) - 1 - i
    ax.add_patch(FancyBboxPatch((0.02, y + 0.08), 0.96, 0.8, boxstyle="round,pad=0.01", fc=color, ec="#444"))
    ax.text(0.5, y + 0.48, text, ha="center", va="center", fontsize=10)
for i, label in SEAMS.items():
    y = len(LAYERS) - 1 - i - 0.02
    ax.text(0.5, y, label, ha="center", va="center", fontsize=8, color="#7f0000", style="italic",
            bbox=dict(fc="white", ec="none", pad=0.5))
ax.annotate("", xy=(0.01, len(LAYERS) - 0.1), xytext=(0.01, 0.1), arrowprops=dict(arrowstyle="->", color="#444"))
ax.text(0.003, len(LAYERS) / 2, "imports only downward", rotation=90, va="center", fontsize=8)
ax.set_xlim(0, 1)
ax.set_ylim(0, len(LAYERS))
ax.axis("off")
ax.set_title("memlearn: layers (data flows up from physics to experiments)")
out = Path(__file__).parent / "img" / "architecture.png"
fig.savefig(out, dpi=110, bbox_inches="tight")
print(out)
