"""Charts drawn on the server as inline SVG: bar charts (horizontal or vertical, one or more
series), a line / area chart over time and a funnel. Every dashboard (sales, service, marketing,
analytics) draws with these.

Contract:
- Pure functions: data in, markup out. The answer is a `SafeString` because every piece of it is
  built with `format_html` (labels are user data — a competitor's or a stage's name — and are
  escaped there); callers render it with `{{ chart }}`, never with `|safe` on anything else.
- Accessible: the `<svg>` has `role="img"`, an `aria-label` (the title), a `<title>` and a `<desc>`
  that lists every value in words, and each bar or point has its own `<title>` (the browser's
  tooltip, without script).
- Responsive: a `viewBox` and no width or height; CSS (`.chart` in rapport/web/static/web/rapport.css)
  makes it as wide as its box. Colours come from that stylesheet's variables through classes
  (`chart-tone-accent`, `-ok`, `-danger`, `-warn`, `-muted`): the SVG carries no style of its own,
  which the Content-Security-Policy (`style-src 'self'`) would refuse anyway.
- Values are numbers ≥ 0 (int, float or Decimal); a negative value is drawn as 0 but told as it is.
  No data (or only zeros) draws an empty chart that says so.

Why not a charting package: pygal (the well-kept one that renders SVG in Python) puts a `<style>`
element with its own colours in every chart — refused by the CSP above, and blind to the theme's
CSS variables — draws on a fixed 800x600 canvas with pixel-sized text, and has no `role`/`aria`/
`<desc>`; leather has fixed sizes and colours and no funnel. What is needed here is small.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

Number = int | float | Decimal
Formatter = Callable[[Number], str]

TONES = ("accent", "ok", "danger", "warn", "muted")
FONT = 14  # label text, in viewBox units
SMALL = 12  # axis and note text
CHAR, CHAR_SMALL = 7.6, 6.8  # the mean width of a character of FONT and SMALL text (with digits and capitals)
LABEL_MAX = 28  # characters of a label shown before "…" (the full label is in the tooltip and <desc>)


@dataclass(frozen=True)
class Series:
    """One set of values drawn in one colour: `values[i]` belongs to the chart's `labels[i]`."""

    name: str
    values: Sequence[Number]
    tone: str = "accent"


# --- numbers ------------------------------------------------------------------------------------


def plain(value: Number) -> str:
    """1234.5 → "1,234.5"; 1234 → "1,234" (the default way a value is told)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return f"{value:,f}"
    return f"{int(value):,}"


def compact(value: Number) -> str:
    """An axis label: 950 → "950", 12500 → "12.5k", 3000000 → "3M"."""
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{number:.1f}".rstrip("0").rstrip(".") if not number.is_integer() else str(int(number))


def nice_max(value: float) -> float:
    """The smallest "round" number ≥ `value` for the top of an axis: 1, 2, 2.5, 5 or 10 x 10^k
    (0 → 1, so that an all-zero chart still has a scale)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude + 1e-9 * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def scale(value: Number, top: float, length: float) -> float:
    """`value` on an axis from 0 to `top` drawn `length` units long (negatives at 0, clipped at the top)."""
    if top <= 0:
        return 0.0
    return max(0.0, min(float(value), top)) / top * length


def _n(value: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _short(label: str, limit: int = LABEL_MAX) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _tone(tone: str) -> str:
    return tone if tone in TONES else "accent"


# --- the frame ----------------------------------------------------------------------------------


def _svg(kind: str, title: str, desc: str, width: float, height: float, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart chart-{}" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title><desc>{}</desc>{}</svg>",
        kind,
        _n(width),
        _n(height),
        title,
        title,
        desc,
        body,
    )


def _empty(kind: str, title: str, message: str, width: float = 480) -> SafeString:
    body = format_html('<text class="chart-empty" x="{}" y="48" text-anchor="middle">{}</text>', _n(width / 2), message)
    return _svg(kind, title, message, width, 80, body)


def _join(parts: Sequence[SafeString]) -> SafeString:
    """Pieces of markup (each built by format_html) one after the other."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _has_data(values: Sequence[Number]) -> bool:
    return any(float(v) > 0 for v in values)


def _describe(labels: Sequence[str], series: Sequence[Series], fmt: Formatter) -> str:
    """Every value in words: "Won: Acme 3, Globex 1. Lost: Acme 2, Globex 0."."""
    parts = []
    for s in series:
        values = ", ".join(f"{label} {fmt(value)}" for label, value in zip(labels, s.values, strict=False))
        parts.append(f"{s.name}: {values}." if len(series) > 1 or s.name else f"{values}.")
    return " ".join(parts)


def _legend(series: Sequence[Series], x: float, y: float) -> SafeString:
    """Coloured squares with the series' names in a row (only with two or more series)."""
    if len(series) < 2:
        return _join([])
    items = []
    offset = x
    for s in series:
        name = _short(s.name, 20)
        items.append((_n(offset), _n(y - 10), _tone(s.tone), _n(offset + 16), _n(y), name))
        offset += 28 + len(name) * 8
    return format_html_join(
        "",
        '<rect class="chart-tone-{2}" x="{0}" y="{1}" width="11" height="11" rx="2"></rect>'
        '<text class="chart-legend" x="{3}" y="{4}">{5}</text>',
        ((left, top, tone, text_x, base, name) for left, top, tone, text_x, base, name in items),
    )


# --- bar charts ---------------------------------------------------------------------------------


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    horizontal: bool = True,
    fmt: Formatter = plain,
    empty: str = "No data yet.",
) -> SafeString:
    """Bars of one or more series per label: horizontal (a row per label, its name on the left,
    the value at the end of each bar; best for names) or vertical (a column per label with a value
    axis; best for a few short labels)."""
    if not labels or not series or not any(_has_data(s.values) for s in series):
        return _empty("bar", title, empty)
    top = nice_max(max(float(v) for s in series for v in s.values))
    desc = _describe(labels, series, fmt)
    if horizontal:
        return _horizontal_bars(labels, series, title, desc, top, fmt)
    return _vertical_bars(labels, series, title, desc, top, fmt)


def _horizontal_bars(
    labels: Sequence[str], series: Sequence[Series], title: str, desc: str, top: float, fmt: Formatter
) -> SafeString:
    # Room for the longest label (at most 20 characters) and the longest value, in text widths.
    width = 480.0
    label_w = min(20, max(len(_short(label, 20)) for label in labels)) * CHAR + 12
    value_w = max(len(fmt(v)) for s in series for v in s.values) * CHAR_SMALL + 10
    bar_h, gap = 18.0, 14.0
    legend_h = 24.0 if len(series) > 1 else 0.0
    group_h = bar_h * len(series) + gap
    plot_w = width - label_w - value_w
    height = legend_h + group_h * len(labels) + 4
    parts: list[SafeString] = [_legend(series, label_w, 14)]
    for i, label in enumerate(labels):
        y0 = legend_h + i * group_h + gap / 2
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
                _n(label_w - 8),
                _n(y0 + bar_h * len(series) / 2 + FONT * 0.35),
                _short(label, 20),
            )
        )
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            y = y0 + j * bar_h
            length = scale(value, top, plot_w)
            parts.append(
                format_html(
                    '<g class="chart-bar"><title>{}: {}</title>'
                    '<rect class="chart-tone-{}" x="{}" y="{}" width="{}" height="{}" rx="2"></rect>'
                    '<text class="chart-value" x="{}" y="{}">{}</text></g>',
                    f"{label} · {s.name}" if s.name else label,
                    fmt(value),
                    _tone(s.tone),
                    _n(label_w),
                    _n(y + 1),
                    _n(length),
                    _n(bar_h - 2),
                    _n(label_w + length + 5),
                    _n(y + bar_h / 2 + SMALL * 0.35),
                    fmt(value),
                )
            )
    return _svg("bar", title, desc, width, height, _join(parts))


def _y_axis(top: float, left: float, right: float, y_top: float, plot_h: float, ticks: int = 4) -> SafeString:
    """Horizontal grid lines with their values (0 … top) on the left."""
    rows = []
    for k in range(ticks + 1):
        value = top * k / ticks
        y = y_top + plot_h - plot_h * k / ticks
        rows.append((_n(left), _n(y), _n(right), _n(left - 6), _n(y + SMALL * 0.35), compact(value)))
    return format_html_join(
        "",
        '<line class="chart-grid" x1="{0}" y1="{1}" x2="{2}" y2="{1}"></line>'
        '<text class="chart-axis" x="{3}" y="{4}" text-anchor="end">{5}</text>',
        rows,
    )


def _x_labels(labels: Sequence[str], centers: Sequence[float], y: float) -> SafeString:
    """Labels under the plot; when they would overlap, every n-th."""
    room = (centers[-1] - centers[0]) / (len(centers) - 1) if len(centers) > 1 else 1e9
    widest = max(len(_short(label, 10)) for label in labels) * CHAR_SMALL + 6
    step = max(1, math.ceil(widest / room))
    return format_html_join(
        "",
        '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (_n(x), _n(y), _short(label, 10))
            for i, (label, x) in enumerate(zip(labels, centers, strict=False))
            if i % step == 0
        ),
    )


def _vertical_bars(
    labels: Sequence[str], series: Sequence[Series], title: str, desc: str, top: float, fmt: Formatter
) -> SafeString:
    width, height, left, right_pad = 480.0, 260.0, 44.0, 8.0
    legend_h = 24.0 if len(series) > 1 else 0.0
    y_top, bottom = legend_h + 10, 26.0
    plot_h = height - y_top - bottom
    slot = (width - left - right_pad) / len(labels)
    bar_w = min(40.0, slot * 0.7 / len(series))
    parts: list[SafeString] = [_legend(series, left, 14), _y_axis(top, left, width - right_pad, y_top, plot_h)]
    centers = []
    for i, label in enumerate(labels):
        center = left + slot * (i + 0.5)
        centers.append(center)
        x0 = center - bar_w * len(series) / 2
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            h = scale(value, top, plot_h)
            parts.append(
                format_html(
                    '<g class="chart-bar"><title>{}: {}</title>'
                    '<rect class="chart-tone-{}" x="{}" y="{}" width="{}" height="{}" rx="2"></rect></g>',
                    f"{label} · {s.name}" if s.name else label,
                    fmt(value),
                    _tone(s.tone),
                    _n(x0 + j * bar_w),
                    _n(y_top + plot_h - h),
                    _n(bar_w - 1),
                    _n(h),
                )
            )
    parts.append(_x_labels(labels, centers, height - 8))
    return _svg("bar", title, desc, width, height, _join(parts))


# --- line / area chart --------------------------------------------------------------------------


def line_chart(
    labels: Sequence[str],
    values: Sequence[Number],
    *,
    title: str,
    name: str = "",
    tone: str = "accent",
    area: bool = True,
    fmt: Formatter = plain,
    empty: str = "No data yet.",
) -> SafeString:
    """Values over time (`labels` are the periods in order, such as months), joined by a line, the
    area under it shaded (`area`), a dot with a tooltip per value."""
    if not labels or not _has_data(values):
        return _empty("line", title, empty)
    width, height, left, right_pad, y_top, bottom = 480.0, 240.0, 44.0, 12.0, 12.0, 26.0
    plot_h = height - y_top - bottom
    top = nice_max(max(float(v) for v in values))
    count = len(labels)
    span = width - left - right_pad
    xs = [left + (span / 2 if count == 1 else span * i / (count - 1)) for i in range(count)]
    ys = [y_top + plot_h - scale(values[i] if i < len(values) else 0, top, plot_h) for i in range(count)]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y in zip(xs, ys, strict=True))
    parts: list[SafeString] = [_y_axis(top, left, width - right_pad, y_top, plot_h)]
    tone = _tone(tone)
    if area:
        base = _n(y_top + plot_h)
        parts.append(
            format_html(
                '<polygon class="chart-area chart-tone-{}" points="{},{} {} {},{}"></polygon>',
                tone,
                _n(xs[0]),
                base,
                line,
                _n(xs[-1]),
                base,
            )
        )
    parts.append(format_html('<polyline class="chart-line chart-stroke-{}" points="{}"></polyline>', tone, line))
    parts.append(
        format_html_join(
            "",
            '<g class="chart-point"><title>{}: {}</title>'
            '<circle class="chart-tone-{}" cx="{}" cy="{}" r="4"></circle></g>',
            (
                (label, fmt(values[i] if i < len(values) else 0), tone, _n(xs[i]), _n(ys[i]))
                for i, label in enumerate(labels)
            ),
        )
    )
    parts.append(_x_labels(labels, xs, height - 8))
    desc = _describe(labels, [Series(name, values, tone)], fmt)
    return _svg("line", title, desc, width, height, _join(parts))


# --- funnel -------------------------------------------------------------------------------------


def funnel_chart(
    steps: Sequence[tuple[str, Number]],
    *,
    title: str,
    rates: Sequence[float | None] | None = None,
    fmt: Formatter = plain,
    empty: str = "No data yet.",
) -> SafeString:
    """A funnel: one centred bar per step (its width is its value against the largest), the step's
    name and value on the left and, between two steps, the conversion rate from one to the next.
    `rates[i]` (0 to 1, or None for "no deal to convert") is the rate from step i to step i+1; by
    default value[i+1] / value[i]."""
    if not steps or not _has_data([value for _, value in steps]):
        return _empty("funnel", title, empty)
    if rates is None:
        rates = [(float(b) / float(a)) if float(a) > 0 else None for (_, a), (_, b) in itertools.pairwise(steps)]
    width, label_w, step_h, gap = 480.0, 170.0, 26.0, 22.0
    plot_w = width - label_w
    top = max(float(value) for _, value in steps)
    parts: list[SafeString] = []
    lines = []
    for i, (label, value) in enumerate(steps):
        y = i * (step_h + gap)
        bar = max(2.0, scale(value, top, plot_w)) if float(value) > 0 else 0.0
        parts.append(
            format_html(
                '<g class="chart-bar"><title>{}: {}</title>'
                '<text class="chart-label" x="0" y="{}">{}</text>'
                '<text class="chart-value" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="chart-tone-accent" x="{}" y="{}" width="{}" height="{}" rx="3"></rect></g>',
                label,
                fmt(value),
                _n(y + step_h / 2 + FONT * 0.35),
                _short(label, 16),
                _n(label_w - 10),
                _n(y + step_h / 2 + FONT * 0.35),
                fmt(value),
                _n(label_w + (plot_w - bar) / 2),
                _n(y),
                _n(bar),
                _n(step_h),
            )
        )
        lines.append(f"{label} {fmt(value)}")
        if i < len(steps) - 1:
            rate = rates[i] if i < len(rates) else None
            text = "—" if rate is None else f"↓ {rate * 100:.0f}%"
            parts.append(
                format_html(
                    '<text class="chart-note" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _n(label_w + plot_w / 2),
                    _n(y + step_h + gap / 2 + SMALL * 0.4),
                    text,
                )
            )
            if rate is not None:
                lines.append(f"{rate * 100:.0f}% go on to {steps[i + 1][0]}")
    height = len(steps) * (step_h + gap) - gap + 2
    desc = "; ".join(lines) + "."
    return _svg("funnel", title, desc, width, height, _join(parts))
