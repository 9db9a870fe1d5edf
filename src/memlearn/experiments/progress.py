"""Live progress of a run, fed by the same records that go to ``metrics.jsonl``.

Step records (``epoch``, ``batch``, ``n_batches``, ``n_epochs``, ``loss``, ``pulses``, ``energy``) move
a rich progress bar with its ETA; epoch records (``test_accuracy`` ...) print one line each. Any
experiment kind gets progress by logging those fields; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}{unit}"
    if isinstance(value, int) and abs(value) >= 1_000_000:
        return f"{value / 1e6:.2f}M{unit}"
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


class RunProgress:
    """A context manager showing a progress bar on ``console`` (stderr by default)."""

    def __init__(self, title: str, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.title = title
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                  TimeRemainingColumn(), console=self.console, transient=False)
        self._task = None

    def __enter__(self) -> "RunProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._progress.stop()

    def update(self, record: dict) -> None:
        if not self.enabled:
            return
        if self._task is None:  # started on the first record, so a config error prints no empty bar
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=None, info="starting")
        if "batch" in record and "n_batches" in record and "n_epochs" in record:
            total = record["n_batches"] * record["n_epochs"]
            done = (record["epoch"] - 1) * record["n_batches"] + record["batch"]
            info = (f"epoch {record['epoch']}/{record['n_epochs']} batch {record['batch']}/{record['n_batches']} "
                    f"loss {_fmt(record.get('loss'))} pulses {_fmt(record.get('pulses'))} "
                    f"energy {_fmt(record.get('energy'), ' J')}")
            self._progress.update(self._task, total=total, completed=done, info=info)
        elif "test_accuracy" in record and "epoch" in record:
            parts = [f"epoch {record['epoch']}" + (f"/{record['n_epochs']}" if "n_epochs" in record else ""),
                     f"acc {_fmt(record['test_accuracy'])}"]
            if record.get("float_test_accuracy") is not None:
                parts[-1] += f" (float {_fmt(record['float_test_accuracy'])})"
            if "train_loss" in record:
                parts.append(f"loss {_fmt(record['train_loss'])}")
            parts += [f"pulses {_fmt(record.get('pulses'))}", f"energy {_fmt(record.get('energy'), ' J')}"]
            self._progress.console.print("  ".join(parts), soft_wrap=True, highlight=False)
        elif "step" in record:
            self._progress.update(self._task, info=f"step {record['step']}")


class TensorBoardLog:
    """Writes the numeric fields of the same records to TensorBoard (``torch.utils.tensorboard``), one scalar
    per field: step records against the global step, epoch records against the epoch.

    Needs the ``tensorboard`` package, which memlearn does not depend on: :meth:`open` raises ImportError
    with the fix when it is missing.
    """

    _STEP = ("loss", "pulses", "energy")
    _EPOCH = ("train_loss", "train_accuracy", "test_accuracy", "float_test_accuracy", "float_train_loss", "pulses",
              "energy", "train_energy")

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    @staticmethod
    def open(folder) -> "TensorBoardLog":
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard is optional (not a dependency): say how to get it
            raise ImportError(f"train.tensorboard = true needs the tensorboard package ({exc}); "
                              "pip install tensorboard, or set train.tensorboard = false") from None
        return TensorBoardLog(SummaryWriter(log_dir=str(folder)))

    def __call__(self, record: dict) -> None:
        if "test_accuracy" in record and "epoch" in record:
            keys, prefix, x = self._EPOCH, "epoch", record["epoch"]
        elif "step" in record and "batch" in record:
            keys, prefix, x = self._STEP, "step", record["step"]
        else:
            return
        for k in keys:
            v = record.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.writer.add_scalar(f"{prefix}/{k}", v, x)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
