"""Self-contained HTML reports of a run or a sweep, built from the files in its folder only.

Every ``fig_*.png`` is embedded as base64 and every ``table_*.md`` rendered as an HTML table;
``summary.json``, the resolved config and the last metrics records are shown. The page loads no
external resource, so it opens anywhere (and a headless browser test checks that it renders).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from memlearn.experiments.storage import CorruptFileError, atomic_write_text, read_json, read_jsonl

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}.bad{color:#b00020;font-weight:bold}
"""


# After load, record how many figures decoded (read by the headless-browser test from the DOM).
_CHECK = ("<script>window.addEventListener('load',function(){var i=Array.prototype.slice.call(document.images);"
          "document.body.setAttribute('data-figures',i.length);document.body.setAttribute('data-rendered',"
          "i.filter(function(m){return m.complete&&m.naturalWidth>0;}).length);});</script>")


def _md_table_to_html(text: str) -> str:
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    if len(rows) < 2:
        return f"<pre>{html.escape(text)}</pre>"
    cells = lambda line: [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]
    head = "".join(f"<th>{c}</th>" for c in cells(rows[0]))
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in cells(r)) + "</tr>" for r in rows[2:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv_table(d: dict) -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v)
            if len(v) > 300:
                v = v[:300] + " ..."
        rows.append(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = path.stem.removeprefix("fig_").replace("_", " ")
    return (f'<figure><img class="figure" alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


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
    parts: list[str] = []
    title = folder.name
    warnings: list[str] = []
    summary = {}
    if (folder / "summary.json").exists():
        try:
            summary = read_json(folder / "summary.json")
        except CorruptFileError as exc:
            warnings.append(str(exc))
    status = summary.get("status")
    heading = f"memlearn {'sweep' if is_sweep else 'run'}: {title}"
    parts.append(f"<h1>{html.escape(heading)}</h1>")
    if status and status != "ok":
        parts.append(f'<p class="bad">status: {html.escape(str(status))}: {html.escape(str(summary.get("reason", "")))}</p>')
    if summary:
        parts.append("<h2>Summary</h2>" + _kv_table({k: v for k, v in summary.items() if k != "diagnosis"}))
        if summary.get("diagnosis"):
            parts.append("<h2>Diagnosis</h2>" + "".join(_kv_table(d) for d in summary["diagnosis"]))
    figs = sorted(folder.glob("fig_*.png"))
    if figs:
        parts.append("<h2>Figures</h2>" + "".join(_figure(p) for p in figs))
    tables = sorted(folder.glob("table_*.md"))
    for t in tables:
        parts.append(f"<h2>Table: {html.escape(t.stem.removeprefix('table_').replace('_', ' '))}</h2>"
                     + _md_table_to_html(t.read_text(encoding="utf-8")))
    if not is_sweep and (folder / "metrics.jsonl").exists():
        try:
            records = read_jsonl(folder / "metrics.jsonl")
        except CorruptFileError as exc:
            warnings.append(str(exc))
            records = []
        epochs = [r for r in records if "test_accuracy" in r]
        if epochs:
            cols = [c for c in ("epoch", "test_accuracy", "float_test_accuracy", "train_loss", "pulses", "energy")
                    if any(c in r for r in epochs)]
            head = "".join(f"<th>{c}</th>" for c in cols)
            fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
            body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
                           for r in epochs)
            parts.append(f"<h2>Metrics per epoch</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append(f"<p>{len(records)} records in metrics.jsonl.</p>")
    if config_file.exists():
        parts.append(f"<h2>Configuration ({config_file.name})</h2><pre>{html.escape(config_file.read_text(encoding='utf-8'))}</pre>")
    for w in warnings:
        parts.append(f'<p class="bad">{html.escape(w)}</p>')
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(heading)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}{_CHECK}</body></html>\n")
    out = folder / "report.html"
    atomic_write_text(out, page)
    return out
