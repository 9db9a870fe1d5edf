"""The run report reads like a lab-meeting page: headline with units, the chip, captions, one epoch table,
no flat drift figure; sweep pages sort; headless Chromium renders every image without horizontal overflow."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from memlearn.experiments import figures
from memlearn.experiments.report import build_report
from memlearn.experiments.report_parts import si
from memlearn.experiments.runner import run_experiment
from memlearn.experiments.storage import atomic_write_json

from .helpers import tiny_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    cfg = tiny_config(folder, epochs=2, n_train=120, extra="[eval]\ndrift_times = [10.0, 1000.0]\n")
    result = run_experiment(cfg, runs_dir=folder / "runs", progress=False)
    return result.report, result.report.read_text()


def _text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page.split("<script>")[0])


def test_headline_comes_first_with_rounded_numbers_and_units(run_page):
    _, page = run_page
    text = _text(page)
    head = text.index("test accuracy on the chip")
    assert head < text.index("The chip") < text.index("Training") < text.index("Per epoch")
    for label in ("energy per training sample", "energy per inference", "write pulses", "worn-out devices", "wall time"):
        assert label in text
    assert re.search(r"test accuracy on the chip\s+\d+\.\d %", text)
    assert re.search(r"energy per training sample\s+[\d.]+ [pnµmf]?J", text)
    assert not re.search(r"\d\.\d{6,}", text.split("Configuration")[0]), "unrounded floats before the config"


def test_chip_is_described_with_the_device_source(run_page):
    _, page = run_page
    text = _text(page)
    assert "ReRAM_SB" in text and "Gokmen" in text  # the preset and its paper
    for row in ("mapping", "periphery", "arrays", "update rule", "stochastic", "differential pair"):
        assert row in text


def test_each_figure_has_a_caption_no_table_repeats_and_no_flat_drift(run_page):
    _, page = run_page
    figures_ = re.findall(r"<figure>.*?</figure>", page)
    assert len(figures_) == 3
    assert all(len(re.search(r"<figcaption>(.*?)</figcaption>", f).group(1)) > 60 for f in figures_)
    assert "No drift model in this preset (ReRAM_SB)" in page and "accuracy_vs_drift" not in page
    assert page.count("<h2>Per epoch</h2>") == 1 and "Table: epochs" not in page and "Metrics per epoch" not in page
    assert '"drift"' not in page and "[{" not in page  # no raw JSON dumps


def test_si_prefixes():
    assert si(3.2e-9, "J") == "3.2 nJ" and si(1.5e-12, "J") == "1.5 pJ" and si(0, "J") == "0 J"
    assert si(2.5e-5, "J") == "25 µJ" and si(None, "J") == "n/a"


def _sweep_folder(folder):
    folder.mkdir()
    (folder / "sweep.resolved.toml").write_text('name = "s"\n')
    figures.tradeoff(np.array([1e-6, 2e-6, 4e-6]), np.array([0.5, 0.9, 0.8]), ["a", "b", "c"],
                     folder / "fig_tradeoff.png", "training energy (J)", "test accuracy", "s")
    figures.write_table([{"device": d, "test_accuracy_mean": a, "energy_mean": e, "pareto": p}
                         for d, a, e, p in (("a", 0.5, 1e-6, True), ("b", 0.9, 2e-6, True), ("c", 0.8, 4e-6, False))],
                        folder / "table_points.md")
    atomic_write_json(folder / "summary.json", {"status": "ok", "best": {"device": "b", "test_accuracy_mean": 0.9}})
    return build_report(folder)


def test_sweep_page_has_the_pareto_figure_and_a_sortable_table(tmp_path):
    page = _sweep_folder(tmp_path / "sweep").read_text()
    assert page.count("<figure>") == 1 and "Pareto front" in page
    assert '<table class="sortable">' in page and "click a column to sort" in page


def _render(report, tmp_path):
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--window-size=1000,2000"]
    dom = subprocess.run([*common, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'data-(\w+)="(\d+)"', body.group(0)))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run does it)")
def test_pages_render_every_image_without_horizontal_overflow(run_page, tmp_path):
    attrs = _render(run_page[0], tmp_path)
    assert attrs["figures"] == attrs["rendered"] == "3" and attrs["overflow"] == "0", attrs
    attrs = _render(_sweep_folder(tmp_path / "sweep"), tmp_path)
    assert attrs["figures"] == attrs["rendered"] == "1" and attrs["overflow"] == "0", attrs
