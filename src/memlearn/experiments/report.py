"""Self-contained HTML reports of a run or a sweep, built from the files in its folder only.

A run's page opens with a headline (chip vs float accuracy, energy per training sample and per
inference, pulses, worn-out devices, wall time), then describes the chip (device and its source,
mapping, periphery, arrays, rule) and the data, then shows each figure with a caption saying what
to look at, the per-layer DAC/ADC clipping, one table of the epochs, and the configuration
(folded). Numbers are rounded and carry units. A sweep's page shows the trade-off figure with
its Pareto front and a sortable table of the points. The page loads no external resource; a
headless browser test checks that every figure decodes and nothing overflows horizontally.
"""

from __future__ import annotations

import base64
import html
import tomllib
from pathlib import Path

from memlearn.experiments import report_parts as rp
from memlearn.experiments.storage import CorruptFileError, atomic_write_text, read_json, read_jsonl

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.sub{color:#555;margin-top:0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:.6em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;background:#fafafa}
.card .v{font-size:1.35em;font-weight:600}.card .k{font-size:.8em;color:#555}.card .n{font-size:.8em;color:#333}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
table.kv td{text-align:left}table.sortable th{cursor:pointer}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.88em;color:#444;max-width:75ch}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;white-space:pre-wrap;word-break:break-word;font-size:.85em}
.bad{color:#b00020;font-weight:bold}.warn{background:#fff4e5;border-left:4px solid #e69500;padding:.4em .8em}
.note{color:#555;font-style:italic}
"""

# After load, record how many figures decoded and whether the page overflows horizontally
# (read by the headless-browser test from the DOM); clicking a sortable table's header sorts it.
_SCRIPT = """<script>
window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.images),d=document.documentElement;
document.body.setAttribute('data-figures',i.length);
document.body.setAttribute('data-rendered',i.filter(function(m){return m.complete&&m.naturalWidth>0;}).length);
document.body.setAttribute('data-overflow',d.scrollWidth>d.clientWidth?'1':'0');});
document.querySelectorAll('table.sortable').forEach(function(t){t.querySelectorAll('th').forEach(function(h,c){
h.addEventListener('click',function(){var b=t.tBodies[0],r=Array.prototype.slice.call(b.rows),up=h.getAttribute('data-up')!=='1';
var key=function(x){var s=x.cells[c].textContent.replace(/[\\u202f %]/g,''),f=parseFloat(s);return isNaN(f)?s:f;};
r.sort(function(a,z){var p=key(a),q=key(z);return (p<q?-1:p>q?1:0)*(up?1:-1);});
r.forEach(function(x){b.appendChild(x);});h.setAttribute('data-up',up?'1':'0');});});});
</script>"""


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = path.stem.removeprefix("fig_")
    caption = rp.CAPTIONS.get(name, name.replace("_", " "))
    return (f'<figure><img class="figure" alt="{html.escape(name.replace("_", " "))}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>')


def _card(key: str, value: str, note: str = "") -> str:
    extra = f'<div class="n">{html.escape(note)}</div>' if note else ""
    return f'<div class="card"><div class="k">{html.escape(key)}</div><div class="v">{html.escape(value)}</div>{extra}</div>'


def _kv(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<div class="scroll"><table class="kv">{body}</table></div>'


def _headline(summary: dict, run: dict) -> str:
    chip, ref = summary.get("test_accuracy"), summary.get("float_test_accuracy")
    gap = f"float baseline {rp.pct(ref)}" + (f", {100 * (chip - ref):+.1f} points" if chip is not None and ref is not None else "")
    n_dev = summary.get("n_devices")
    worn = summary.get("worn_out_devices")
    cards = [_card("test accuracy on the chip", rp.pct(chip), gap if ref is not None else "no float baseline"),
             _card("energy per training sample", rp.si(summary.get("energy_per_train_sample"), "J"),
                   f"{rp.si(summary.get('energy'), 'J')} in total"),
             _card("energy per inference", rp.si(summary.get("energy_per_inference"), "J"), "one forward pass"),
             _card("write pulses", rp.count(summary.get("pulses")),
                   f"at most {rp.count(summary.get('max_pulses_per_device'))} on one device"),
             _card("worn-out devices", rp.count(worn) if worn is not None else "n/a",
                   f"of {rp.count(n_dev)} (past their endurance)" if n_dev else ""),
             _card("wall time", rp.duration(run.get("wall_time_s")),
                   f"{summary.get('epochs')} epochs" + (", resumed" if run.get("resumed") else ""))]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _epochs(records: list[dict]) -> str:
    epochs = [r for r in records if "test_accuracy" in r and "epoch" in r]
    if not epochs:
        return ""
    has_float = any(r.get("float_test_accuracy") is not None for r in epochs)
    headers = ["epoch", "chip test accuracy"] + (["float test accuracy"] if has_float else []) + \
              ["training loss", "write pulses", "energy so far"]
    rows = [[r["epoch"], rp.pct(r["test_accuracy"])] + ([rp.pct(r.get("float_test_accuracy"))] if has_float else []) +
            [f"{r['train_loss']:.3g}" if isinstance(r.get("train_loss"), float) else "n/a",
             rp.count(r.get("pulses")), rp.si(r.get("energy"), "J")] for r in epochs]
    return "<h2>Per epoch</h2>" + rp.table(headers, rows)


def _clipping(layers: list[dict]) -> str:
    if not layers:
        return ""
    rows = [[c["layer"], rp.pct(c["beyond_full_scale"]), rp.pct(c["dac_clipped"]) if c["has_dac"] else "no DAC",
             rp.pct(c["adc_saturated"]) if c["has_adc"] else "no ADC", f"{c['input_absmax']:.3g}"] for c in layers]
    return ("<h2>Converter ranges per layer</h2><p>Measured on the test inputs with the final weights: the share of "
            "inputs beyond the DAC's full scale, clipped by the DAC, and of column outputs the ADC saturates.</p>"
            + rp.table(["layer", "inputs beyond full scale", "DAC clipped", "ADC saturated", "largest |input|"], rows))


def _drift(summary: dict, config: dict, figs: list[Path]) -> str:
    drift = summary.get("drift") or []
    if not drift and not config.get("eval", {}).get("drift_times"):
        return ""
    if summary.get("drift_model") is False:
        device = config.get("device", {})
        name = device.get("preset") or device.get("file") or device.get("model", "this device")
        return (f'<h2>Retention</h2><p class="note">No drift model in this preset ({html.escape(str(name))}): '
                "the accuracy does not change with read time, so no drift figure is drawn.</p>")
    out = "<h2>Retention</h2>" + "".join(_figure(p) for p in figs if p.stem == "fig_accuracy_vs_drift")
    rows = [[rp.duration(d["time"]) if d["time"] < 3600 else f"{d['time'] / 3600:.3g} h", rp.pct(d["test_accuracy"])]
            for d in drift]
    return out + rp.table(["time after programming", "test accuracy"], rows)


def _run_page(folder: Path, summary: dict, config: dict, warnings: list[str]) -> list[str]:
    parts = []
    run = {}
    if (folder / "run.json").exists():
        try:
            run = read_json(folder / "run.json")
        except CorruptFileError as exc:
            warnings.append(str(exc))
    if summary.get("test_accuracy") is not None:
        parts.append(_headline(summary, run))
    for w in summary.get("warnings") or []:
        parts.append(f'<p class="warn">{html.escape(str(w))}</p>')
    if config:
        parts.append("<h2>The chip</h2>" + _kv(rp.chip(config, summary)))
    if (folder / "data.json").exists():
        try:
            parts.append("<h2>The data</h2>" + _kv(rp.data_rows(read_json(folder / "data.json"))))
        except CorruptFileError as exc:
            warnings.append(str(exc))
    order = [f"fig_{name}" for name in rp.CAPTIONS]  # the reading order of the captions table, then the rest
    figs = sorted(folder.glob("fig_*.png"), key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    main = [p for p in figs if p.stem != "fig_accuracy_vs_drift"]
    if main:
        parts.append("<h2>Training</h2>" + "".join(_figure(p) for p in main))
    parts.append(_drift(summary, config, figs))
    parts.append(_clipping(summary.get("clipping") or []))
    records = []
    if (folder / "metrics.jsonl").exists():
        try:
            records = read_jsonl(folder / "metrics.jsonl")
        except CorruptFileError as exc:
            warnings.append(str(exc))
    parts.append(_epochs(records))
    return parts


def _sweep_page(folder: Path, summary: dict) -> list[str]:
    parts = []
    best = summary.get("best") or {}
    if best:
        parts.append("<h2>Best point</h2>" + _kv([(str(k), rp.number(v)) for k, v in best.items()]))
    parts += [_figure(p) for p in sorted(folder.glob("fig_*.png"))]
    for name, title in (("table_points.md", "Points (click a column to sort)"), ("table_failed.md", "Failed trials")):
        if (folder / name).exists():
            headers, rows = rp.markdown_rows((folder / name).read_text(encoding="utf-8"))
            if headers:
                parts.append(f"<h2>{title}</h2>" + rp.table(headers, rows, sortable=True))
    return parts


def build_report(folder: str | Path) -> Path:
    """Write ``<folder>/report.html`` from the folder's files and return its path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a run or sweep folder")
    is_sweep = (folder / "sweep.resolved.toml").exists()
    config_file = folder / ("sweep.resolved.toml" if is_sweep else "config.resolved.toml")
    if not config_file.exists() and not (folder / "summary.json").exists():
        raise FileNotFoundError(f"{folder} holds neither config.resolved.toml nor sweep.resolved.toml: "
                                "not a memlearn run or sweep folder")
    warnings: list[str] = []
    summary: dict = {}
    if (folder / "summary.json").exists():
        try:
            summary = read_json(folder / "summary.json")
        except CorruptFileError as exc:
            warnings.append(str(exc))
    config_text = config_file.read_text(encoding="utf-8") if config_file.exists() else ""
    try:
        config = tomllib.loads(config_text) if config_text else {}
    except tomllib.TOMLDecodeError as exc:
        warnings.append(f"{config_file}: {exc}")
        config = {}
    title = summary.get("name") or config.get("name") or folder.name
    kind = "sweep" if is_sweep else summary.get("kind", config.get("kind", "train"))
    heading = f"{title}: memlearn {kind} {'' if is_sweep else 'run'}".strip()
    parts = [f"<h1>{html.escape(heading)}</h1>",
             f'<p class="sub">folder {html.escape(folder.name)}' +
             (f", seed {html.escape(str(summary['seed']))}" if "seed" in summary else "") + "</p>"]
    status = summary.get("status")
    if status and status != "ok":
        parts.append(f'<p class="bad">status {html.escape(str(status))}: {html.escape(str(summary.get("reason", "")))}</p>')
        if summary.get("diagnosis"):
            rows = [[rp.number(v) for v in d.values()] for d in summary["diagnosis"]]
            parts.append("<h2>Diagnosis</h2>" + rp.table(list(summary["diagnosis"][0]), rows))
    parts += _sweep_page(folder, summary) if is_sweep else _run_page(folder, summary, config, warnings)
    if config_text:
        parts.append(f"<h2>Configuration</h2><details><summary>{html.escape(config_file.name)}</summary>"
                     f"<pre>{html.escape(config_text)}</pre></details>")
    for w in warnings:
        parts.append(f'<p class="bad">{html.escape(w)}</p>')
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(heading)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(p for p in parts if p)}{_SCRIPT}</body></html>\n")
    out = folder / "report.html"
    atomic_write_text(out, page)
    return out
