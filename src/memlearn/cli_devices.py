"""`memlearn devices`: list presets, plot their pulse responses, fit a device to measured data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Device presets: list, show, fit.", no_args_is_help=True)


@app.callback(invoke_without_command=True)
def list_presets(ctx: typer.Context) -> None:
    """List the device presets (placeholder until presets exist)."""
    if ctx.invoked_subcommand is None:
        typer.echo("no presets yet")
