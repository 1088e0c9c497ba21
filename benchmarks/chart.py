"""The benchmark's comparison as a chart, an SVG for the docs.

Three panels, one above the other, with a bar per subject: requests per
second and worker CPU per request of the mixed workload under gunicorn (the
median of the rounds, and a line from the lowest round to the highest), and
dollars per million requests of the mixed workload at DynamoDB's on-demand
prices (from the capacity units measured, as the report gives them).

Written with the standard library: text in a generic sans-serif font, no
dates or generated ids, so the same results always give the same file.
"""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path
from xml.sax.saxutils import escape

from .apps import TITLES
from .report import dollars, shown

#: Where the docs take the chart from.
PATH = Path(__file__).resolve().parent.parent / "docs" / "_static" / "benchmark.svg"
#: The subjects of the workload panels, top to bottom.
ORDER = ("cookie", "auto", "encrypted", "boto3", "flask_session")
#: The subjects of the cost panel: no DynamoDB, then this package in each
#: ``consistent_read`` mode (measured on the lean transport; boto3 makes the
#: same calls), then Flask-Session.
COST_LABELS = {
    "cookie": "Flask cookie session (no DynamoDB)",
    "read_true": "flask-dynamodb-session, consistent_read=True (the default)",
    "read_auto": 'flask-dynamodb-session, consistent_read="auto"',
    "read_false": "flask-dynamodb-session, consistent_read=False",
    "flask_session": TITLES["flask_session"],
}
COLOURS = {
    "cookie": "#9d9d9d",
    "auto": "#3b75af",
    "read_true": "#3b75af",
    "encrypted": "#5d93c9",
    "read_auto": "#5d93c9",
    "boto3": "#95bce3",
    "read_false": "#95bce3",
    "flask_session": "#ef8a2e",
}
WIDTH = 800
MARGIN = 20
#: Room right of the longest bar for its value.
VALUE_ROOM = 110
ROW = 42
FONT = "font-family='Arial, Helvetica, sans-serif'"
TITLE_STYLE = "font-size='16' font-weight='bold'"
LABEL_STYLE = "font-size='13' fill='#333'"
VALUE_STYLE = "font-size='13' font-weight='bold'"
CAPTION_STYLE = "font-size='11.5' fill='#555'"
HEADING = "flask-dynamodb-session against Flask-Session and Flask's cookie session"


@dataclasses.dataclass(frozen=True)
class Bar:
    key: str
    label: str
    value: float
    #: The value as written next to the bar.
    text: str
    #: The lowest and highest round, if the value is a median of rounds.
    low: float | None = None
    high: float | None = None


@dataclasses.dataclass(frozen=True)
class Panel:
    title: str
    bars: list[Bar]


def workload_bars(results: t.Mapping[str, t.Any], figure: str, unit: str) -> list[Bar]:
    """A bar per subject of the mixed workload: the median of its rounds."""
    measured = shown(results)
    titles = results.get("subjects", TITLES)
    bars = []
    for name in ORDER:
        if name not in measured:
            continue
        rounds = results["workload"]["summary"][name][figure]
        median = float(rounds["median"])
        text = f"{median:,.0f}{unit}"
        low, high = float(rounds["min"]), float(rounds["max"])
        bars.append(Bar(name, titles[name], median, text, low, high))
    return bars


def cost_bars(results: t.Mapping[str, t.Any]) -> list[Bar]:
    """A bar per cost subject, and the cookie session's $0."""
    mixed = results["cost"]["mixed"]
    bars = [Bar("cookie", COST_LABELS["cookie"], 0.0, dollars(0))]
    for name, label in COST_LABELS.items():
        if name in mixed:
            value = float(mixed[name]["dollars_per_million"])
            bars.append(Bar(name, label, value, dollars(value)))
    return bars


def panels(results: t.Mapping[str, t.Any]) -> list[Panel]:
    """The three measures, top to bottom."""
    return [
        Panel(
            "Requests per second \N{EM DASH} higher is better",
            workload_bars(results, "requests_per_second", ""),
        ),
        Panel(
            "Worker CPU per request, \N{MICRO SIGN}s \N{EM DASH} lower is better",
            workload_bars(results, "worker_cpu_us", " \N{MICRO SIGN}s"),
        ),
        Panel(
            "Dollars per million requests, DynamoDB on demand \N{EM DASH}"
            " lower is better",
            cost_bars(results),
        ),
    ]


def caption(results: t.Mapping[str, t.Any]) -> list[str]:
    """What was run, when and where: a line each."""
    meta = results["meta"]
    settings = meta["settings"]
    machine = meta["machine"]
    versions = meta["versions"]
    cost = results["cost"]
    prices = cost["prices"]
    mix = settings["mix"]
    return [
        f"Mixed workload: {mix['read']} % reads, {mix['change']} % changes,"
        f" {mix['untouched']} % requests that leave the session untouched;"
        f" gunicorn, {settings['workers']} workers.",
        f"Requests and CPU: bars are the median of {settings['rounds']} rounds,"
        " lines run from the lowest round to the highest.",
        f"Dollars: capacity units measured over {cost['mix_requests']:,} mixed"
        f" requests, at DynamoDB's on-demand prices in {prices['region']} since"
        f" {prices['since']},",
        f"${prices['read_per_million_units']} per million read units and"
        f" ${prices['write_per_million_units']} per million write units.",
        f"Run {meta['date']}, commit {meta.get('revision', 'unknown')}, on"
        f" {machine['cpu_model']}, {machine['cores']} cores; Python"
        f" {versions['python']}, Flask {versions['flask']}, dynalite"
        f" {versions['dynalite']}.",
    ]


def text(x: float, y: float, content: str, style: str) -> str:
    return f"<text x='{x:g}' y='{y:g}' {style}>{escape(content)}</text>"


def whisker(left: float, right: float, middle: float) -> str:
    """A line from ``left`` to ``right``, with a tick at each end."""
    return (
        f"<path d='M{left:g} {middle - 5:g}v10M{left:g} {middle:g}H{right:g}"
        f"M{right:g} {middle - 5:g}v10' stroke='#222' stroke-width='1.5'"
        " fill='none'/>"
    )


def draw_panel(panel: Panel, top: float) -> tuple[list[str], float]:
    """The SVG elements of ``panel`` from ``top``, and the height it takes."""
    largest = max(max(bar.value, bar.high or 0.0) for bar in panel.bars) or 1.0

    def x(value: float) -> float:
        return MARGIN + round(value / largest * (WIDTH - 2 * MARGIN - VALUE_ROOM), 1)

    parts = [text(MARGIN, top + 16, panel.title, TITLE_STYLE)]
    y = top + 30
    for bar in panel.bars:
        parts.append(text(MARGIN, y + 12, bar.label, LABEL_STYLE))
        parts.append(
            f"<rect x='{MARGIN}' y='{y + 17:g}' width='{x(bar.value) - MARGIN:g}'"
            f" height='16' fill='{COLOURS[bar.key]}'><title>{escape(bar.label)}:"
            f" {escape(bar.text)}</title></rect>"
        )
        end = x(bar.value)
        if bar.low is not None and bar.high is not None:
            end = max(end, x(bar.high))
            parts.append(whisker(x(bar.low), x(bar.high), y + 25))
        parts.append(text(end + 6, y + 30, bar.text, VALUE_STYLE))
        y += ROW
    parts.append(f"<path d='M{MARGIN} {top + 42:g}V{y - 6:g}' stroke='#555'/>")
    return parts, y - top + 14


def svg(results: t.Mapping[str, t.Any]) -> str:
    """The chart of ``results`` (as stored in ``results.json``), as SVG."""
    body = [text(MARGIN, 28, HEADING, "font-size='19' font-weight='bold'")]
    top = 48.0
    for panel in panels(results):
        parts, height = draw_panel(panel, top)
        body += parts
        top += height
    for line in caption(results):
        top += 16
        body.append(text(MARGIN, top, line, CAPTION_STYLE))
    height = top + MARGIN
    return "\n".join(
        [
            "<svg xmlns='http://www.w3.org/2000/svg' role='img'"
            f" width='{WIDTH}' height='{height:g}' viewBox='0 0 {WIDTH} {height:g}'"
            f" {FONT} fill='#111'>",
            "<title>Benchmark: requests per second, worker CPU per request and"
            " dollars per million requests</title>",
            f"<rect width='{WIDTH}' height='{height:g}' fill='#fff'/>",
            *body,
            "</svg>",
            "",
        ]
    )


def write(results: t.Mapping[str, t.Any], path: Path = PATH) -> None:
    """Write the chart of ``results`` to ``path``, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(results), "utf-8")
