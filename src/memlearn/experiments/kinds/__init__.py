"""Experiment kinds: each module exposes ``run(config, run_dir, log, seed) -> summary dict``.

``train`` (on-chip MLP training next to its float baseline) lives here; the registry's ``KINDS``
table maps every kind name to its module, imported on first use.
"""
