"""Experiments: TOML configs validated into the components' dataclasses, the registry (strings ->
classes), the run/resume machinery with crash-safe files, sweeps on a local pool or Dask, and
self-contained HTML reports. Entry points: ``runner.run_experiment``, ``sweep.run_sweep``,
``report.build_report`` (also ``memlearn.run_experiment`` ...); submodules are imported on use.
"""
