"""The SVG charts: labels are escaped, the markup is well-formed and accessible, empty data says so,
and values are scaled against a round axis maximum."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from rapport.core import charts
from rapport.core.charts import Series, bar_chart, funnel_chart, line_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
EVIL = '<script>alert("x")</script> & "quoted" \'single\''


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed (an unescaped label would break this)."""
    return ET.fromstring(svg)  # noqa: S314  (our own markup)


def desc(root: ET.Element) -> str:
    element = root.find("svg:desc", NS)
    assert element is not None
    return element.text or ""


def num(element: ET.Element, name: str) -> float:
    return float(element.get(name) or "nan")


def rects(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if "chart-tone" in r.get("class", "")]


def test_a_malicious_label_is_escaped_everywhere_it_appears():
    svg = bar_chart([EVIL, "Fine"], [Series(EVIL, [3, 1])], title=EVIL)
    assert isinstance(svg, SafeString)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="&lt;script&gt;alert(&quot;x&quot;)' in svg  # attribute quotes escaped too
    root = parse(svg)
    first_title = next(root.iter("{http://www.w3.org/2000/svg}title"))
    assert first_title.text == EVIL  # the XML parser sees the text as it was given
    for chart in (
        line_chart([EVIL, "b"], [1, 2], title=EVIL, name=EVIL),
        funnel_chart([(EVIL, 4), ("b", 2)], title=EVIL),
        bar_chart([EVIL], [Series("a", [1]), Series(EVIL, [2], tone="danger")], title="t", horizontal=False),
    ):
        assert "<script>" not in chart and "&lt;script&gt;" in chart
        parse(chart)


def test_rendered_in_a_template_the_chart_is_not_escaped_twice():
    svg = bar_chart(["A & B"], [Series("", [1])], title="T")
    out = Template("{{ chart }}").render(Context({"chart": svg}))
    assert out == svg and "A &amp; B" in out and "&amp;amp;" not in out


def test_the_svg_is_accessible_and_responsive():
    root = parse(bar_chart(["Won", "Lost"], [Series("Deals", [3, 1])], title="Won and lost"))
    assert root.get("role") == "img" and root.get("aria-label") == "Won and lost"
    assert root.get("viewBox", "").startswith("0 0 ") and root.get("width") is None and root.get("height") is None
    assert desc(root) == "Deals: Won 3, Lost 1."
    tips = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert tips == ["Won and lost", "Won · Deals: 3", "Lost · Deals: 1"]
    assert "style" not in bar_chart(["A"], [Series("", [1])], title="T")  # no inline style (CSP)


@pytest.mark.parametrize(
    "chart",
    [
        lambda: bar_chart([], [Series("", [])], title="Empty"),
        lambda: bar_chart(["A", "B"], [Series("", [0, 0])], title="Empty"),
        lambda: line_chart([], [], title="Empty"),
        lambda: line_chart(["Jan", "Feb"], [0, 0], title="Empty", empty="No deals won."),
        lambda: funnel_chart([], title="Empty"),
        lambda: funnel_chart([("Qualified", 0)], title="Empty"),
    ],
)
def test_empty_data_draws_a_small_chart_that_says_so(chart):
    root = parse(chart())
    assert root.get("role") == "img"
    text = "".join(root.itertext())
    assert "No data yet." in text or "No deals won." in text
    assert not rects(root)


def test_round_axis_maxima():
    assert [charts.nice_max(v) for v in (0, 0.3, 1, 7, 10, 11, 23, 240, 251, 999, 1001)] == [
        1,
        0.5,
        1,
        10,
        10,
        20,
        25,
        250,
        500,
        1000,
        2000,
    ]
    assert charts.scale(50, 200, 100) == 25
    assert charts.scale(-5, 200, 100) == 0 and charts.scale(500, 200, 100) == 100
    assert [charts.compact(v) for v in (0, 950, 12500, 3_000_000, 2.5)] == ["0", "950", "12.5k", "3M", "2.5"]
    assert charts.plain(Decimal("1234.50")) == "1,234.50" and charts.plain(1234) == "1,234"


def test_horizontal_bars_are_scaled_against_the_round_maximum():
    # Largest 40 → axis 50. The bars start after the widest label (1 character: 7.6 + 12 units)
    # and leave room for the widest value (2 characters: 13.6 + 10): 480 - 19.6 - 23.6 = 436.8.
    root = parse(bar_chart(["A", "B", "C"], [Series("", [40, Decimal("10"), 0])], title="T"))
    widths = [num(r, "width") for r in rects(root)]
    assert widths == pytest.approx([436.8 * 40 / 50, 436.8 * 10 / 50, 0])
    assert [num(r, "x") for r in rects(root)] == pytest.approx([19.6] * 3)
    values = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "chart-value"]
    assert values == ["40", "10", "0"]


def test_long_values_and_labels_still_fit_the_width():
    labels, values = ["Qualified", "Negotiation"], [Decimal("2027300.27"), Decimal("467257.68")]
    root = parse(bar_chart(labels, [Series("", values)], title="T", fmt=lambda v: f"USD {v:,.2f}"))
    bar = rects(root)[0]
    value_text = len("USD 2,027,300.27") * charts.CHAR_SMALL
    assert num(bar, "x") >= len("Negotiation") * charts.CHAR  # the label fits on its left
    assert num(bar, "x") + num(bar, "width") + 5 + value_text <= 480  # the value fits on its right


def test_two_series_get_a_legend_and_their_own_tones():
    svg = bar_chart(
        ["Acme", "Globex"],
        [Series("Won", [3, 1], tone="ok"), Series("Lost", [2, 4], tone="danger")],
        title="Win/loss",
    )
    root = parse(svg)
    classes = [r.get("class") for r in rects(root)]
    assert classes.count("chart-tone-ok") == 3 and classes.count("chart-tone-danger") == 3  # 2 bars + 1 key each
    assert desc(root) == "Won: Acme 3, Globex 1. Lost: Acme 2, Globex 4."
    assert "chart-tone-nonsense" not in bar_chart(["A"], [Series("", [1], tone="nonsense")], title="T")


def test_vertical_bars_stand_on_the_axis():
    root = parse(bar_chart(["Q1", "Q2"], [Series("", [25, 100])], title="T", horizontal=False))
    bars = rects(root)
    heights = [num(r, "height") for r in bars]
    assert heights[1] == pytest.approx(4 * heights[0])
    bottoms = {round(num(r, "y") + num(r, "height"), 2) for r in bars}
    assert len(bottoms) == 1  # both stand on the same baseline
    axis = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "chart-axis"]
    assert axis[:5] == ["0", "25", "50", "75", "100"] and axis[5:] == ["Q1", "Q2"]


def test_the_line_chart_puts_each_point_at_its_value():
    root = parse(line_chart(["Jan", "Feb", "Mar"], [0, 50, 100], title="Won", fmt=lambda v: f"{v} EUR"))
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    ys = [num(c, "cy") for c in circles]
    xs = [num(c, "cx") for c in circles]
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2]) and ys[0] > ys[2]  # linear, upwards
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])  # evenly spaced
    assert desc(root) == "Jan 0 EUR, Feb 50 EUR, Mar 100 EUR."
    assert root.find(".//svg:polygon", NS) is not None  # the shaded area
    assert parse(line_chart(["Jan"], [5], title="One", area=False)).find(".//svg:polygon", NS) is None


def test_many_labels_are_thinned_so_they_do_not_overlap():
    labels = [f"M{i}" for i in range(24)]
    root = parse(line_chart(labels, list(range(24)), title="Two years"))
    shown = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text and t.text.startswith("M")]
    assert shown == [f"M{i}" for i in range(0, 24, 2)]


def test_the_funnel_shows_each_step_and_the_rate_between():
    svg = funnel_chart([("Qualified", 40), ("Proposal", 10), ("Won", 5)], title="Conversion", rates=[0.25, None])
    root = parse(svg)
    widths = [num(r, "width") for r in rects(root)]
    assert widths == pytest.approx([310, 310 / 4, 310 / 8])  # 480 - 170 units for the widest
    notes = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "chart-note"]
    assert notes == ["↓ 25%", "—"]
    assert desc(root) == "Qualified 40; 25% go on to Proposal; Proposal 10; Won 5."
    default = parse(funnel_chart([("A", 8), ("B", 2)], title="T"))
    assert [t.text for t in default.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "chart-note"] == [
        "↓ 25%"
    ]


def test_long_labels_are_shortened_on_the_chart_but_told_in_full():
    name = "A competitor with a very long name indeed, longer than any bar"
    svg = bar_chart([name], [Series("", [1])], title="T")
    root = parse(svg)
    label = next(t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("class") == "chart-label")
    assert (label.text or "").endswith("…") and len(label.text or "") <= 20
    assert name in desc(root)
    assert re.search(r"<title>A competitor with a very long name indeed", svg)
