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
    import dataclasses

    import torch

    response = device.response
    spreads = {f.name: 0.0 for f in dataclasses.fields(response) if f.name.startswith("d2d_")}
    nominal = dataclasses.replace(response, **spreads)
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
        model: str = typer.Option("exp_ltp_ltd", "--model", help="model to fit (exp_ltp_ltd)"),
        out: Path = typer.Option(Path("mydevice.toml"), "--out", help="TOML with the fitted [device] section"),
        plot: Path = typer.Option(None, "--plot", help="PNG of data vs model (default: OUT with .png)")) -> None:
    """Fit a device model to measured pulse trains; write a [device] config section and a plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import tomli_w

    from memlearn.devices.config import device_to_dict
    from memlearn.devices.fit import check_pulse_trains, fit_exp_ltp_ltd, model_curves, read_pulse_trains

    if model != "exp_ltp_ltd":
        raise typer.BadParameter(f"model={model!r} cannot be fitted yet; allowed: exp_ltp_ltd", param_hint="--model")
    try:
        frame = read_pulse_trains(data)
        result = fit_exp_ltp_ltd(frame)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="DATA") from None
    response = result.device.response
    section = device_to_dict(result.device)
    header = (f"# Fitted by `memlearn devices fit {data.name} --model {model}`: {result.n_devices} devices, "
              f"{result.n_cycles} cycles; fit error (rms of mean curves) {result.rmse:.2%} of Gmax-Gmin.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + tomli_w.dumps({"device": section}))
    plot = plot or out.with_suffix(".png")
    frame = check_pulse_trains(frame)
    m_up, m_down = model_curves(response)
    scale, unit = (1e6, "µS") if response.g_max >= 1e-6 else (1e9, "nS")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    offset = {1: 0, -1: response.n_ltp}
    for (_, _, sign), train in frame.groupby(["device", "cycle", "sign"]):
        ax.plot(train["pulse"] + offset[sign], train["conductance"] * scale, ".", ms=1.5, color="0.6", alpha=0.4)
    ax.plot(range(len(m_up)), m_up * scale, "-", color="tab:red", lw=2, label="fitted model, LTP")
    ax.plot([response.n_ltp + k for k in range(len(m_down))], m_down * scale, "-", color="tab:blue", lw=2,
            label="fitted model, LTD")
    ax.plot([], [], ".", color="0.6", label="measured")
    ax.set_xlabel("pulse number (potentiation, then depression)")
    ax.set_ylabel(f"conductance ({unit})")
    ax.set_title(f"{data.name}: NL {response.nonlinearity_ltp:.2f}/{response.nonlinearity_ltd:.2f}, "
                 f"c2c {response.sigma_c2c:.2%}, fit error {result.rmse:.2%} of range", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(plot)
    plt.close(fig)
    typer.echo(f"wrote {out} and {plot} (fit error {result.rmse:.2%} of Gmax-Gmin)")
