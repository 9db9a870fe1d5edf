"""Pieces of the HTML report: rounded numbers with units, tables, the chip described from the config.

Everything here turns plain data (a run folder's files, parsed) into escaped HTML strings.
"""

from __future__ import annotations

import html
import math
import tomllib
from typing import Any, Sequence

_PREFIXES = [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"),
             (1e-15, "f"), (1e-18, "a")]

CAPTIONS = {
    "learning_curves": "Test accuracy (left) and training loss (right) per epoch: the chip (solid) next to its float "
                       "twin (dashed; same initial weights, data order and learning rate, plain SGD). The gap between "
                       "the two curves is what the device physics costs.",
    "conductances": "Conductance of every device before and after training, one panel per layer. Devices piled up at "
                    "either end sit at a bound and can no longer move that way.",
    "pulses_per_device": "Cumulative write pulses per device (log count axis), one panel per layer. Compare the "
                         "maximum with the device's endurance: a long tail means a few devices wear out first.",
    "accuracy_vs_drift": "Test accuracy read at times after programming (log time axis), with the device's drift "
                         "model. Where it falls, the chip needs recalibration or refresh.",
    "tradeoff": "Each grey point is one sweep point (mean over its seeds); red points are the Pareto front, where no "
                "other point has both a lower cost and a higher accuracy. Choose along the red line.",
}
"""Caption of each ``fig_<name>.png``: what it shows and what to look at."""


def si(value: Any, unit: str, digits: int = 3) -> str:
    """``value`` with an SI prefix and ``digits`` significant digits: ``si(3.2e-9, "J") == "3.2 nJ"``."""
    if value is None or isinstance(value, str) or not math.isfinite(float(value)):
        return "n/a"
    v = float(value)
    if v == 0:
        return f"0 {unit}"
    for factor, prefix in _PREFIXES:
        if abs(v) >= factor * 0.9995:
            return f"{v / factor:.{digits}g} {prefix}{unit}"
    return f"{v:.{digits}g} {unit}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage: ``pct(0.9333) == "93.3 %"``."""
    if value is None or isinstance(value, str) or not math.isfinite(float(value)):
        return "n/a"
    return f"{100 * float(value):.{digits}f} %"


def count(value: Any) -> str:
    """An integer with thin-space thousands separators (``1 234 567``)."""
    if value is None:
        return "n/a"
    return f"{int(value):,}".replace(",", "\u202f")


def duration(seconds: Any) -> str:
    """``83.2`` -> ``"1 min 23 s"``."""
    if seconds is None:
        return "n/a"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {s} s"
    h, m = divmod(m, 60)
    return f"{h} h {m} min"


def number(value: Any) -> str:
    """A table cell: floats to 4 significant digits, ints with separators, other values as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], sortable: bool = False,
          numeric: Sequence[bool] | None = None) -> str:
    """An HTML table of already formatted cells (escaped here), wrapped so that it scrolls, not the page."""
    cls = ' class="sortable"' if sortable else ""
    hint = ' title="click to sort"' if sortable else ""
    head = "".join(f"<th{hint}>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="scroll"><table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def markdown_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a GitHub markdown table (as written by :func:`memlearn.experiments.figures.markdown_table`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]
    if len(lines) < 2:
        return [], []
    return cells(lines[0]), [cells(line) for line in lines[2:]]


def _device(section: dict) -> tuple[str, str]:
    """(what the device is, where its parameters come from) from the ``[device]`` table."""
    from memlearn.devices.presets import preset_info

    if "file" in section:  # the file's device replaces the config's preset or model
        try:
            with open(section["file"], "rb") as f:
                model = tomllib.load(f).get("device", {}).get("model", "?")
        except (OSError, tomllib.TOMLDecodeError):
            model = "?"
        return (f"{model} read from {section['file']}",
                f"fitted to measured pulse trains (memlearn devices fit); see the comment at the top of {section['file']}")
    if "preset" in section:
        try:
            info = preset_info(section["preset"])
        except ValueError:
            return f"preset {section['preset']}", "unknown preset"
        overrides = sorted(k for k in section if k not in ("preset",))
        extra = f" with {', '.join(overrides)} changed" if overrides else ""
        return f"{info.name} ({info.model}: {info.description}){extra}", info.source
    return f"{section.get('model', 'ideal')} with the fields given in the config", "set by hand in the config"


def chip(config: dict, summary: dict) -> list[tuple[str, str]]:
    """Rows describing the simulated chip: device and source, mapping, periphery, arrays, rule, network."""
    from memlearn.experiments import registry

    rows = []
    device, source = _device(config.get("device", registry.DEFAULT_DEVICE))
    rows += [("device", device), ("device source", source)]
    try:
        tile = registry.build_tile_config(config)
    except Exception as exc:  # an old or hand-edited config: describe what can be read  # noqa: BLE001
        rows.append(("crossbar", f"could not be rebuilt from the config ({exc})"))
        tile = None
    if tile is not None:
        m = tile.mapping
        kind = ("differential pair (two devices per weight, w ∝ G+ - G-)" if type(m).__name__ == "DifferentialMapping"
                else "one device per weight against a shared reference column")
        rows.append(("mapping", f"{kind}, weights up to ±{m.w_max:g}"))
        dac = (f"{tile.dac.bits}-bit DAC, full scale ±{tile.dac.input_range:g}, {tile.dac.v_read:g} V"
               if tile.dac else "ideal DAC (no clipping, no rounding)")
        adc = (f"{tile.adc.bits}-bit ADC, saturating at ±{tile.adc.output_range:g}" if tile.adc else "ideal ADC")
        noise = f", output noise {tile.output_noise:g}" if tile.output_noise else ""
        rows.append(("periphery", f"{dac}; {adc}; noise management {tile.noise_management}{noise}"))
        layers = summary.get("layers") or []
        rows_, cols = tile.array_size
        arrays = [math.ceil(i / rows_) * math.ceil(m.n_columns(o) / cols) for i, o in zip(layers[:-1], layers[1:])]
        rows.append(("arrays", f"{rows_} x {cols} devices each; " +
                     (f"{' + '.join(map(str, arrays))} arrays for the {len(arrays)} layers" if arrays else "")))
        if tile.ir_drop is not None:
            rows.append(("wires", f"IR drop modelled ({type(tile.ir_drop).__name__})"))
    learning = config.get("learning", {})
    rows.append(("update rule", f"{learning.get('rule', 'stochastic')}, learning rate {learning.get('lr', 0.1):g}"))
    model = config.get("model", {})
    if summary.get("layers"):
        rows.append(("network", f"{'-'.join(map(str, summary['layers']))} MLP, {model.get('activation', 'tanh')} "
                                f"hidden units, {count(summary.get('n_devices'))} devices"))
    return rows


def data_rows(record: dict) -> list[tuple[str, str]]:
    """Rows describing the data (from the run's ``data.json``)."""
    norm = record.get("normalisation", {})
    method = norm.get("method", "none")
    lo, hi = record.get("raw_range", [None, None])
    how = {"none": "none (inputs used as stored)", "minmax": "min-max to [0, 1], fitted on the training split",
           "standard": "zero mean, unit std, fitted on the training split"}.get(method, method)
    rows = [("data set", f"{record.get('name')}" + (f" ({record['path']})" if record.get("path") else "")),
            ("samples", f"{count(record.get('n_train'))} training, {count(record.get('n_test'))} test; "
                        f"{record.get('n_features')} features, {record.get('n_classes')} classes"),
            ("raw input range", f"{lo:.4g} to {hi:.4g}" if lo is not None else "n/a"),
            ("normalisation", how)]
    if record.get("class_names"):
        names = record["class_names"]
        rows.append(("labels", ", ".join(f"{i} = {n}" for i, n in enumerate(names[:20])) + (" ..." if len(names) > 20 else "")))
    return rows
