"""Where a sweep's trials run: a local thread pool of trial processes or a Dask cluster. Both call
:func:`memlearn.experiments.trial.run_trial` and yield one result row per trial as it finishes; a
trial lost with its worker becomes a failed row, so the sweep goes on."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor, as_completed

from memlearn.experiments.schema import ConfigError
from memlearn.experiments.trial import run_trial


class TrialExecutor:
    """Submit trial specs and yield rows as they finish, on a thread pool of trial processes or on Dask."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.scheduler = scheduler
        if scheduler is None:
            self.pool = ThreadPoolExecutor(max_workers=workers)
            self.client = None
        else:
            from distributed import Client

            try:
                self.client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None

    def run(self, specs: list[dict]):
        if self.client is None:
            futures = {self.pool.submit(run_trial, s): s for s in specs}
            for fut in as_completed(futures):
                yield _row_of(fut, futures[fut])
        else:
            from distributed import as_completed as dask_completed

            futures = {}
            for s in specs:
                fut = self.client.submit(run_trial, s, pure=False, key=f"trial-{s['trial_id']}-{random.random():.12f}")
                futures[fut.key] = (fut, s)
            for fut in dask_completed([f for f, _ in futures.values()]):
                yield _row_of(fut, futures[fut.key][1])

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        else:
            self.pool.shutdown(wait=True)


def _row_of(fut, spec: dict) -> dict:
    try:
        return fut.result()
    except BaseException as exc:  # KilledWorker, CancelledError, a lost connection...
        reason = type(exc).__name__
        if reason == "KilledWorker":
            reason = "worker died while running the trial (KilledWorker)"
        return {"trial_id": spec["trial_id"], "seed": spec["seed"], **spec["point"], "status": "failed",
                "error": f"{reason}: {exc}"[:500]}
