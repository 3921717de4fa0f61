"""A small inline-SVG trend chart: daily mentions per sentiment, stacked bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .data import TrendDay

COLOURS = {"negative": "#c0392b", "neutral": "#95a5a6", "positive": "#27ae60"}
SPARK = "▁▂▃▄▅▆▇█"


def svg_trend(days: Sequence[TrendDay], title: str, width: int = 336, height: int = 96) -> str:
    """Stacked bars (negative at the bottom) for each day; every label is escaped."""
    n = max(len(days), 1)
    pad_l, pad_b, pad_t = 24, 16, 6
    plot_w, plot_h = width - pad_l - 4, height - pad_b - pad_t
    top = max([d.total for d in days] + [1])
    bar_w = plot_w / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" class="trend">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 4}" y2="{pad_t + plot_h}" stroke="#999" stroke-width="1"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" font-size="9" text-anchor="end" fill="#555">{top}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" font-size="9" text-anchor="end" fill="#555">0</text>',
    ]
    for i, d in enumerate(days):
        x = pad_l + i * bar_w + 1
        y = pad_t + plot_h
        tip = f"{d.day:%d-%m}: {d.negative} negatief, {d.neutral} neutraal, {d.positive} positief"
        parts.append(f"<g><title>{escape(tip)}</title>")
        for key in ("negative", "neutral", "positive"):
            v = getattr(d, key)
            if not v:
                continue
            h = plot_h * v / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[key]}" class="{key}"/>'
            )
        parts.append("</g>")
    if days:
        parts.append(f'<text x="{pad_l}" y="{height - 3}" font-size="9" fill="#555">{days[0].day:%d-%m}</text>')
        parts.append(
            f'<text x="{width - 4}" y="{height - 3}" font-size="9" text-anchor="end" fill="#555">'
            f"{days[-1].day:%d-%m}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(values: Sequence[int]) -> str:
    """A one-line text chart (for the plain-text digest)."""
    top = max(list(values) + [1])
    return "".join(" " if v == 0 else SPARK[min(len(SPARK) - 1, round((len(SPARK) - 1) * v / top))] for v in values)
