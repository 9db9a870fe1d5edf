"""The `memlearn` command line: run | sweep | report | devices | bench."""

from __future__ import annotations

import typer

from memlearn.cli_devices import app as devices_app

app = typer.Typer(help="memlearn: simulate memristor crossbars and train neural networks on the chip.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(devices_app, name="devices")

if __name__ == "__main__":
    app()
