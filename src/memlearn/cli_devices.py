"""`memlearn devices`: list presets, plot their pulse responses, fit a device to measured data."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Device presets: list, show, fit.", add_completion=False)


@app.callback(invoke_without_command=True)
def list_presets(ctx: typer.Context) -> None:
    """List the device presets: states, on/off ratio, nonlinearity, variation, source."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from memlearn.devices.presets import list_presets as presets

    table = Table(title="memlearn device presets", caption="c2c: std per pulse, relative to Gmax - Gmin; d2d: "
                  "device-to-device relative std of the step. Full sources: `memlearn devices show NAME`, "
                  "docs/devices.md")
    numeric = ("states", "on/off", "NL LTP", "NL LTD", "c2c", "d2d")
    for column in ("name", "model", *numeric, "source"):
        table.add_column(column, justify="right" if column in numeric else "left", no_wrap=column != "source")
    fmt = lambda v: "-" if v is None else f"{v:g}"
    for p in presets():
        table.add_row(p.name, p.model, str(p.n_states), f"{p.on_off:g}", fmt(p.nl_ltp), fmt(p.nl_ltd),
                      f"{p.c2c:.2%}", f"{p.d2d:.0%}", p.citation)
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)
    console.print(table)


def _default_pulses(device) -> tuple[int, int]:
    import torch

    response = device.response
    if hasattr(response, "n_ltp"):
        return int(response.n_ltp), int(response.n_ltd)
    state = device.sample((1,), torch.Generator().manual_seed(0))
    n = int(min(1000, max(20, round(float(device.n_states(state).mean())))))
    return n, n


def _nominal_mean_curve(device, n_up: int, n_down: int, cycles: int):
    """Expected conductance of a device without device-to-device spread, pulse by pulse."""
    import torch

    from memlearn.devices.fit_families import without_spread

    nominal = without_spread(device.response)
    params = nominal.sample((1,), torch.Generator(), dtype=torch.float64)
    g = nominal.initial(params)
    trace = [g]
    for _ in range(cycles):
        for count, sign in ((n_up, 1), (n_down, -1)):
            step = torch.full((1,), sign, dtype=torch.int32)
            for _ in range(count):
                g = nominal.moments(g, step, params)[0].clamp(params["g_min"], params["g_max"])
                trace.append(g)
    return torch.cat(trace).numpy()


@app.command()
def show(name: str = typer.Argument(..., help="preset name (see `memlearn devices`)"),
         out: Path = typer.Option(Path("curve.png"), "--out", help="PNG to write"),
         devices: int = typer.Option(5, "--devices", min=1, max=50, help="sampled devices to draw"),
         pulses: int = typer.Option(0, "--pulses", min=0, help="pulses per direction (0: enough to span the range)"),
         cycles: int = typer.Option(1, "--cycles", min=1, max=10, help="potentiation/depression cycles"),
         seed: int = typer.Option(0, "--seed", help="seed of the device draws and noise")) -> None:
    """Plot potentiation-then-depression pulse responses of several sampled devices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from memlearn.devices.presets import get_preset, preset_info

    try:
        device, info = get_preset(name), preset_info(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    n_up, n_down = (pulses, pulses) if pulses else _default_pulses(device)
    gen = torch.Generator().manual_seed(seed)
    state = device.sample((devices,), gen, dtype=torch.float64)
    g = device.initial(state)
    trace = [g]
    for _ in range(cycles):
        for count, sign in ((n_up, 1), (n_down, -1)):
            step = torch.full((devices,), sign, dtype=torch.int32)
            for _ in range(count):  # the protocol's pulses, one at a time, all devices at once
                g = device.pulse(g, step, state, gen)
                trace.append(g)
    curves = torch.stack(trace).numpy()
    mean_curve = _nominal_mean_curve(device, n_up, n_down, cycles)
    scale, unit = (1e6, "µS") if float(state.g_max.max()) >= 1e-6 else (1e9, "nS")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for k in range(devices):
        ax.plot(curves[:, k] * scale, ".-", ms=2.5, lw=0.7, alpha=0.85, label=f"device {k + 1}")
    ax.plot(mean_curve * scale, "k--", lw=1.4, label="nominal device, mean")
    period = n_up + n_down
    for c in range(cycles):
        ax.axvspan(c * period, c * period + n_up, color="tab:red", alpha=0.05, lw=0)
    ax.set_xlabel("pulse number (potentiation, then depression)")
    ax.set_ylabel(f"conductance ({unit})")
    nl = "" if info.nl_ltp is None else f", NL {info.nl_ltp:g}/{info.nl_ltd:g}"
    ax.set_title(f"{info.name}: {info.n_states} states, on/off {info.on_off:g}{nl}, c2c {info.c2c:.1%}", fontsize=10)
    ax.text(0.01, -0.2, info.source[:160] + ("..." if len(info.source) > 160 else ""), transform=ax.transAxes,
            fontsize=6, va="top", wrap=True)
    if devices <= 8:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    typer.echo(f"wrote {out}")


@app.command()
def fit(data: Path = typer.Argument(..., exists=True, dir_okay=False, help="pulse-train CSV (docs/devices.md)"),
        model: str = typer.Option("auto", "--model", help="auto (lowest held-out error), linear_step, soft_bounds, "
                                                         "exp_ltp_ltd or pcm"),
        out: Path = typer.Option(Path("mydevice.toml"), "--out", help="TOML with the fitted [device] section"),
        plot: Path = typer.Option(None, "--plot", help="PNG of data vs model (default: OUT with .png)"),
        layout: Path = typer.Option(None, "--layout", exists=True, dir_okay=False,
                                    help="TOML with a [columns] table naming the CSV's columns and unit"),
        device_col: str = typer.Option(None, "--device", help="column of the device id (default: device)"),
        cycle_col: str = typer.Option(None, "--cycle", help="column of the cycle index (default: cycle)"),
        pulse_col: str = typer.Option(None, "--pulse", help="column of the pulse count in the train (default: pulse)"),
        direction_col: str = typer.Option(None, "--direction", help="column of ltp/ltd or +1/-1 (default: direction "
                                                                     "or polarity)"),
        conductance_col: str = typer.Option(None, "--conductance", help="conductance column (default: conductance "
                                                                         "or conductance_<unit>)"),
        unit: str = typer.Option(None, "--unit", help="unit of the conductance column: S, mS, uS, nS, pS")) -> None:
    """Fit device models to measured pulse trains; report each family's held-out error; write the chosen
    model's [device] section (usable with `memlearn run ... --set device.file=OUT`) and a plot."""
    import dataclasses
    import warnings

    import tomli_w

    from memlearn.experiments.device_section import device_to_dict
    from memlearn.devices.fit_families import FAMILIES, best, fit_families
    from memlearn.devices.fit_layout import Layout, read

    if model != "auto" and model not in FAMILIES:
        raise typer.BadParameter(f"model={model!r}; allowed: auto, {', '.join(FAMILIES)}", param_hint="--model")
    try:
        columns = Layout.from_toml(layout) if layout else Layout()
        given = {"device": device_col, "cycle": cycle_col, "pulse": pulse_col, "direction": direction_col,
                 "conductance": conductance_col, "unit": unit}
        columns = dataclasses.replace(columns, **{k: v for k, v in given.items() if v is not None})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = read(data, columns)
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
        fits = fit_families(frame, FAMILIES if model == "auto" else (model,))
        chosen = best(fits)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="DATA") from None
    where = "held-out trains" if chosen.held_out else "the fitted trains (too few to hold any out)"
    typer.echo(f"fit error (rms of the mean prediction on {where}, relative to Gmax-Gmin):")
    for f in fits:
        mark = " <- chosen" if f is chosen else ""
        value = f"{f.error:.2%}" if f.device is not None else "not fitted"
        typer.echo(f"  {f.model:12s} {value:>10s}{mark}" + (f"  ({f.note})" if f.note else ""))
    response = chosen.device.response
    section = device_to_dict(chosen.device)
    header = (f"# Fitted by `memlearn devices fit {data.name} --model {model}`: {chosen.model}, fit error "
              f"{chosen.error:.2%} of Gmax-Gmin on {where}.\n"
              "# Use it with: memlearn run CONFIG --set device.file=" + out.name + "\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + tomli_w.dumps({"device": section}))
    plot = plot or out.with_suffix(".png")
    _fit_plot(frame, chosen, data.name, plot)
    typer.echo(f"wrote {out} ({chosen.model}) and {plot}")


def _fit_plot(frame, chosen, title: str, path: Path) -> None:
    """Measured trains (grey) and the chosen model's mean prediction from each train's start, one panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from memlearn.devices.fit import check_pulse_trains
    from memlearn.devices.fit_families import without_spread

    frame = check_pulse_trains(frame)
    response = without_spread(chosen.device.response)
    n_up = int(frame.loc[frame["sign"] > 0, "pulse"].max())
    scale, unit = (1e6, "µS") if response.g_max >= 1e-6 else (1e9, "nS")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for (_, _, sign), train in frame.groupby(["device", "cycle", "sign"]):
        ax.plot(train["pulse"] + (0 if sign > 0 else n_up), train["conductance"] * scale, ".", ms=1.5, color="0.6",
                alpha=0.4)
    params = response.sample((1,), torch.Generator().manual_seed(0), dtype=torch.float64)
    for sign, color, label in ((1, "tab:red", "potentiation"), (-1, "tab:blue", "depression")):
        trains = frame[frame["sign"] == sign]
        g0 = float(trains[trains["pulse"] == 0]["conductance"].mean())
        k = np.arange(int(trains["pulse"].max()) + 1)
        mean, _ = response.moments(torch.full((len(k),), g0, dtype=torch.float64),
                                   torch.as_tensor(sign * k, dtype=torch.int64), params)
        mean = torch.where(torch.as_tensor(k) == 0, torch.tensor(g0, dtype=torch.float64), mean)
        mean = mean.clamp(response.g_min, response.g_max).numpy()
        ax.plot(k + (0 if sign > 0 else n_up), mean * scale, "-", color=color, lw=2, label=f"{chosen.model}, {label}")
    ax.plot([], [], ".", color="0.6", label="measured")
    ax.set_xlabel("pulse number (potentiation, then depression)")
    ax.set_ylabel(f"conductance ({unit})")
    ax.set_title(f"{title}: {chosen.model}, fit error {chosen.error:.2%} of range", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
