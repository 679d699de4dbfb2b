"""The dashboard's server-drawn bar chart, checked on data as a browser would parse it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.dashboard.html import tag
from bot.dashboard.svg import bar_chart, nice_ceiling

NS = {"svg": "http://www.w3.org/2000/svg"}


def bars(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall("svg:rect[@class='bar']", NS)


def test_bar_heights_are_proportional_to_the_values() -> None:
    svg = bar_chart(["Mon", "Tue", "Wed"], {"answers": [2, 4, 8]}, title="Answers per round")
    heights = [float(b.attrib["height"]) for b in bars(svg)]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == pytest.approx(4 * heights[0])
    assert [b.attrib["data-value"] for b in bars(svg)] == ["2", "4", "8"]


def test_groups_hold_one_bar_per_series_with_a_legend() -> None:
    svg = bar_chart(
        ["round 1", "round 2"],
        {"web": [3, 1], "matrix": [0, 5]},
        title="Members reached per platform",
    )
    found = bars(svg)
    assert len(found) == 4
    assert {b.attrib["fill"] for b in found[::2]} != {b.attrib["fill"] for b in found[1::2]}
    legend = ET.fromstring(svg).find("svg:g[@class='legend']", NS)
    assert legend is not None
    assert [t.text for t in legend.findall("svg:text", NS)] == ["web", "matrix"]
    assert found[2].find("svg:title", NS).text == "round 2 — web: 1"  # type: ignore[union-attr]


def test_the_chart_speaks_its_numbers_and_escapes_labels() -> None:
    svg = bar_chart(["<script>x</script>"], {"a & b": [1.5]}, title="T <1>")
    root = ET.fromstring(svg)
    assert root.attrib["aria-label"] == "T <1>"
    assert root.find("svg:desc", NS).text == "<script>x</script>: a & b 1.5"  # type: ignore[union-attr]
    assert "<script>" not in svg


def test_no_data_says_so() -> None:
    svg = bar_chart([], {}, title="Nothing")
    assert bars(svg) == []
    assert "No data yet" in svg
    zeros = bar_chart(["a"], {"s": [0]}, title="Zero")
    assert [b.attrib["height"] for b in bars(zeros)] == ["0.0"]


@pytest.mark.parametrize(
    ("labels", "series"),
    [(["a", "b"], {"s": [1.0]}), (["a"], {"s": [-1.0]}), (["a"], {"s": [float("nan")]})],
)
def test_bad_data_is_refused(labels: list[str], series: dict[str, list[float]]) -> None:
    with pytest.raises(ValueError, match="series 's'"):
        bar_chart(labels, series, title="bad")


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (23, 25), (4100, 5000)]
)
def test_the_axis_ends_on_a_round_number(value: float, ceiling: float) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize(
    ("values", "ticks"),
    [
        ([1], ["0", "1"]),
        ([3, 1], ["0", "1", "2", "3", "4", "5"]),
        ([17], ["0", "4", "8", "12", "16", "20"]),
        ([0.3], ["0", "0.125", "0.25", "0.375", "0.5"]),
    ],
)
def test_counts_get_whole_number_gridlines(values: list[float], ticks: list[str]) -> None:
    svg = bar_chart([str(i) for i in range(len(values))], {"n": values}, title="counts")
    axis = [t.text for t in ET.fromstring(svg).findall("svg:text[@text-anchor='end']", NS)]
    assert axis == ticks


def test_markup_is_escaped_unless_built_as_markup() -> None:
    assert tag("p", "<b>", title='"x"') == '<p title="&quot;x&quot;">&lt;b&gt;</p>'
    assert tag("p", tag("b", "ok")) == "<p><b>ok</b></p>"
    assert tag("input", disabled=True, hidden=None) == "<input disabled>"
