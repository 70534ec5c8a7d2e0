"""The results of ``stack eval run-benchmark``: one JSON file per benchmark and one self-contained
HTML report (no script, no CDN) with an inline SVG bar chart of each benchmark's headline metric."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

__all__ = ["headline", "write_html", "write_json"]

_PREFERRED = ("accuracy", "average", "weighted_average", "median")


def headline(result: Mapping[str, Any]) -> tuple[str, float] | None:
    """The benchmark's headline metric: the first scoring function's accuracy (else average, ...)."""
    for aggregates in (s.get("aggregated_results", {}) for s in result.get("scores", {}).values()):
        for name in _PREFERRED:
            value = aggregates.get(name)
            if isinstance(value, int | float):
                return name, float(value)
    return None


def write_json(directory: Path, benchmark_id: str, summary: Mapping[str, Any]) -> Path:
    path = directory / f"{benchmark_id.replace('/', '_')}.json"
    path.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return path


def _chart(bars: Sequence[tuple[str, str, float]]) -> str:
    width, row, label = 640, 34, 220
    height = row * len(bars) + 30
    parts = [
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Benchmark results">'
    ]
    span = width - label - 70
    for i, (name, metric, value) in enumerate(bars):
        y, length = 10 + i * row, max(0.0, min(value, 1.0)) * span
        parts.append(f'<text x="{label - 8}" y="{y + 17}" text-anchor="end">{html.escape(name)}</text>')
        parts.append(
            f'<rect class="bar" x="{label}" y="{y}" width="{length:.1f}" height="{row - 10}" fill="#3b6ea5">'
            f"<title>{html.escape(metric)} {value:.4f}</title></rect>"
        )
        parts.append(f'<text x="{label + length + 6:.1f}" y="{y + 17}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(directory: Path, model: str, summaries: Sequence[Mapping[str, Any]]) -> Path:
    """``report.html``: a table of every benchmark's aggregates and the chart of headline metrics."""
    bars = [(str(s["benchmark_id"]), *h) for s in summaries if (h := headline(s)) is not None]
    rows = "".join(
        f"<tr><td>{html.escape(str(s['benchmark_id']))}</td><td>{html.escape(fn)}</td>"
        f"<td><code>{html.escape(orjson.dumps(scores.get('aggregated_results', {})).decode())}</code></td>"
        f"<td>{s.get('num_rows', '')}</td></tr>"
        for s in summaries
        for fn, scores in s.get("scores", {}).items()
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Stack eval report: {html.escape(model)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}svg text{{font-size:13px}}</style></head>
<body><h1>Eval report</h1><p>Model: <b>{html.escape(model)}</b></p>
{_chart(bars)}
<table><tr><th>benchmark</th><th>scoring function</th><th>aggregates</th><th>rows</th></tr>{rows}</table>
</body></html>
"""
    path = directory / "report.html"
    path.write_text(page)
    return path
