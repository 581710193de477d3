"""Bar charts as inline SVG: no network, no plotting library, and no fonts to embed.

The report's charts are histograms over a few dozen bins, drawn as grouped bars with a
labelled axis. SVG written here keeps them small, byte-stable and searchable, and lets the
browser draw labels (source names, terms) with its own fonts, Chinese included, where a
plotting library would need a CJK font installed to render them. Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

COLOURS = ("#3b6ea8", "#d9822b", "#5a9e4b", "#a14d8c")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 48, 44, 62  # the legend above the plot, the marker label below it


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value``."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    while scale > value:
        scale /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    y_label: str,
    marker: tuple[float, str] | None = None,
    log: bool = False,
) -> Markup:
    """Grouped bars: one group per label, one bar per series. ``marker`` is ``(position,
    text)``: a vertical line at a bin boundary (position 2.0 is the left edge of the third
    bin, 2.5 its middle), e.g. a filter's threshold. ``log``: a logarithmic y axis (bar
    heights by log10(1 + count)), so that a few documents show beside thousands."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((max(values, default=0) for _, values in series), default=0)
    if log:
        span = math.log10(1 + 10 ** max(1, math.ceil(math.log10(1 + highest))))
        ticks = [(0, 0.0)] + [(10**k, math.log10(1 + 10**k) / span) for k in range(round(span) + 1)]

        def scale(value: float) -> float:
            return math.log10(1 + value) / span

    else:
        top = _nice_top(highest)
        ticks = [(top * tick / 4, tick / 4) for tick in range(5)]

        def scale(value: float) -> float:
            return value / top

    group = plot_width / max(len(labels), 1)
    bar = group * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" font-family="sans-serif" font-size="11">'
    ]
    for value, fraction in ticks:  # horizontal grid and y axis labels
        y = TOP + plot_height - plot_height * fraction
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_number(value))}</text>')
    parts.append(
        f'<text x="14" y="{TOP + plot_height / 2:.1f}" transform="rotate(-90 14 {TOP + plot_height / 2:.1f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    for index, (name, values) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for position, value in enumerate(values):
            height = plot_height * scale(value)
            x = LEFT + position * group + group * 0.1 + index * bar
            y = TOP + plot_height - height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar - 1, 1):.1f}" height="{height:.1f}" fill="{colour}">'
                f"<title>{escape(f'{name}, {labels[position]}: {value:,g}')}</title></rect>"
            )
    step = max(1, len(labels) // 14)  # at most 14 x labels, rotated
    for position, label in enumerate(labels):
        if position % step:
            continue
        x = LEFT + position * group + group / 2
        y = TOP + plot_height + 12
        parts.append(f'<text x="{x:.1f}" y="{y}" transform="rotate(30 {x:.1f} {y})">{escape(label)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_height}" stroke="#333"/>')
    if marker is not None:
        position, text = marker
        x = LEFT + position * group
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 14}" x2="{x:.1f}" y2="{TOP + plot_height}" stroke="#c0392b" stroke-width="2" stroke-dasharray="5 3"/>'
        )
        anchor, shift = ("end", -4) if x > WIDTH / 2 else ("start", 4)  # the label stays inside the chart
        parts.append(f'<text x="{x + shift:.1f}" y="{TOP - 6}" text-anchor="{anchor}" fill="#c0392b">{escape(text)}</text>')
    for index, (name, _) in enumerate(series):  # legend, top right
        x = WIDTH - RIGHT - 150 * (len(series) - index)
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{COLOURS[index % len(COLOURS)]}"/>')
        parts.append(f'<text x={quoteattr(str(x + 14))} y="15">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape() or quoteattr()
