"""The benchmark's chart: what it names and draws, and where it is written.

No server and no plotting library: the chart is drawn from a results dict.
"""

from __future__ import annotations

import json
import typing as t
import xml.etree.ElementTree as ET

import pytest

from benchmarks import chart, run

if t.TYPE_CHECKING:
    from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"
MICROSECONDS = "\N{MICRO SIGN}s"


def spread(median: float, low: float, high: float) -> dict[str, t.Any]:
    return {"median": median, "min": low, "max": high, "rounds": [low, median, high]}


def workload(rps: float, cpu: float) -> dict[str, t.Any]:
    return {
        "requests_per_second": spread(rps, rps - 100, rps + 50),
        "worker_cpu_us": spread(cpu, cpu - 20, cpu + 40),
    }


def dollars(value: float) -> dict[str, float]:
    return {"dollars_per_million": value}


def make_results() -> dict[str, t.Any]:
    """Results as ``run.py`` stores them, with only what the chart reads."""
    return {
        "meta": {
            "date": "2031-02-03 04:05 UTC",
            "revision": "abc1234",
            "machine": {"cpu_model": "Test CPU", "cores": 3},
            "versions": {"python": "3.99.0", "flask": "9.8.7", "dynalite": "1.2.3"},
            "settings": {
                "workers": 2,
                "rounds": 5,
                "mix": {"read": 60, "change": 20, "untouched": 20},
            },
        },
        "subjects": {
            "auto": 'flask-dynamodb-session, transport="auto"',
            "encrypted": 'flask-dynamodb-session, transport="auto", encrypt=True',
            "boto3": 'flask-dynamodb-session, transport="boto3"',
            "flask_session": "Flask-Session 0.8 (DynamoDB)",
            "cookie": "Flask cookie session",
        },
        "workload": {
            "summary": {
                "auto": workload(1200, 800),
                "encrypted": workload(1100, 860),
                "boto3": workload(900, 1650),
                "flask_session": workload(400, 3000),
                "cookie": workload(2400, 600),
            }
        },
        "cost": {
            "mix_requests": 1000,
            "prices": {
                "region": "us-east-1",
                "since": "1 November 2024",
                "read_per_million_units": 0.125,
                "write_per_million_units": 0.625,
            },
            "mixed": {
                "read_true": dollars(0.225),
                "read_auto": dollars(0.175),
                "read_false": dollars(0.175),
                "flask_session": dollars(0.6875),
            },
        },
    }


def texts(svg: str) -> list[str]:
    """The text the chart shows, element by element."""
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def bar_widths(svg: str) -> dict[str, float]:
    """Each bar's width by its tooltip, ``label: value``."""
    root = ET.fromstring(svg)
    widths = {}
    for rect in root.iter(f"{SVG}rect"):
        tooltip = rect.find(f"{SVG}title")
        if tooltip is not None and tooltip.text:
            widths[tooltip.text] = float(rect.attrib["width"])
    return widths


def test_names_every_subject_and_measure() -> None:
    shown = texts(chart.svg(make_results()))
    for title in make_results()["subjects"].values():
        # Requests per second and worker CPU; Flask-Session's cost too.
        assert shown.count(title) >= 2
    for label in chart.COST_LABELS.values():
        assert label in shown
    titles = [line for line in shown if "is better" in line]
    assert titles == [
        "Requests per second \N{EM DASH} higher is better",
        f"Worker CPU per request, {MICROSECONDS} \N{EM DASH} lower is better",
        "Dollars per million requests, DynamoDB on demand \N{EM DASH} lower is better",
    ]


def test_draws_the_numbers_given() -> None:
    svg = chart.svg(make_results())
    shown = texts(svg)
    for rps in ("2,400", "1,200", "1,100", "900", "400"):
        assert rps in shown
    for cpu in ("600", "800", "860", "1,650", "3,000"):
        assert f"{cpu} {MICROSECONDS}" in shown
    for cost in ("$0", "$0.225", "$0.175", "$0.6875"):
        assert cost in shown
    widths = bar_widths(svg)
    ours = widths['flask-dynamodb-session, transport="auto": 1,200']
    theirs = widths["Flask-Session 0.8 (DynamoDB): 400"]
    assert ours / theirs == pytest.approx(3, rel=1e-3)
    ours = widths["flask-dynamodb-session, consistent_read=True (the default): $0.225"]
    theirs = widths["Flask-Session 0.8 (DynamoDB): $0.6875"]
    assert theirs / ours == pytest.approx(0.6875 / 0.225, rel=1e-3)
    assert widths["Flask cookie session (no DynamoDB): $0"] == 0


def test_caption_gives_the_run() -> None:
    caption = " ".join(texts(chart.svg(make_results())))
    for fact in ("2031-02-03 04:05 UTC", "abc1234", "Test CPU, 3 cores", "5 rounds"):
        assert fact in caption


def test_a_run_without_encryption_has_no_encrypted_bar() -> None:
    results = make_results()
    del results["subjects"]["encrypted"]
    del results["workload"]["summary"]["encrypted"]
    shown = texts(chart.svg(results))
    assert not [line for line in shown if "encrypt=True" in line]
    assert shown.count('flask-dynamodb-session, transport="auto"') == 2


def test_same_results_same_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "chart.svg", tmp_path / "b" / "chart.svg"
    chart.write(make_results(), first)
    chart.write(make_results(), second)
    assert first.read_bytes() == second.read_bytes()


def test_the_kept_chart_is_that_of_the_kept_results() -> None:
    results = json.loads((run.HERE / "results.json").read_text("utf-8"))
    assert chart.PATH.read_text("utf-8") == chart.svg(results), (
        "redraw it: python benchmarks/run.py --chart"
    )


def test_the_kept_results_draw_the_docs_chart() -> None:
    assert run.parse_args(["--chart"]).output_dir == run.HERE
    assert run.chart_path(run.HERE) == chart.PATH
    assert chart.PATH.parent.name == "_static"


def test_chart_option_draws_without_running(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps(make_results()), "utf-8")
    assert run.main(["--chart", "--output-dir", str(tmp_path)]) == 0
    drawn = (tmp_path / "benchmark.svg").read_text("utf-8")
    assert drawn == chart.svg(make_results())


def test_chart_option_refuses_results_without_a_workload(tmp_path: Path) -> None:
    results = make_results()
    del results["workload"]
    (tmp_path / "results.json").write_text(json.dumps(results), "utf-8")
    with pytest.raises(SystemExit, match="lacks the workload"):
        run.main(["--chart", "--output-dir", str(tmp_path)])
    assert not (tmp_path / "benchmark.svg").exists()
