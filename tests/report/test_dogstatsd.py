"""The best-effort DogStatsD transport against a real UDP listener, and its parser."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from seawall.lab.dogstatsd import StatsdListener, parse_line
from seawall.model import Outcome
from seawall.report.datadog import DatadogReporter


def test_results_go_over_dogstatsd_when_only_an_agent_is_there(kit: Any, tmp_path: Path) -> None:
    with StatsdListener() as listener:
        environ = {"DD_DOGSTATSD_URL": f"udp://127.0.0.1:{listener.port}"}
        reporter = DatadogReporter.create(state_dir=tmp_path / "s", environ=environ)
        fail = kit.finding(outcome=Outcome.FAIL, ago=30)
        kit.run(reporter, [kit.finding(target="ok.example.com:443"), fail])
        got = listener.wait_for(2 * 2 + 8 + 2 + 1)
    assert listener.invalid == []
    kinds = [d.kind for d in got]
    assert kinds.count("service_check") == 2 and kinds.count("event") == 1
    result = next(d for d in got if d.name == "seawall.check.result" and d.value == 2)
    assert result.fields["T"] == str(int(fail.observed_at))
    assert "target:api.example.com:443" in result.tags
    check = next(d for d in got if d.kind == "service_check" and d.value == 2)
    assert check.fields["d"] == str(int(fail.observed_at))
    event = next(d for d in got if d.kind == "event")
    assert event.name.startswith("[Seawall] FAIL tls.min_version on api.example.com:443")
    assert event.fields["t"] == "error"
    assert "best effort over DogStatsD" in reporter.status()
    assert not (tmp_path / "s" / "spool").exists()


@pytest.mark.parametrize("line", [
    "seawall.check.result:2|g|#env:prod,check:tls.x|T1700000000",
    "page.views:1|c|@0.5|#a:b",
    "_sc|seawall.check|2|d:1700000000|h:seawall-lab|#env:prod|m:broken",
    "_e{5,4}:title|text|d:1700000000|k:agg|t:error|#env:prod",
])
def test_parser_accepts_the_grammar(line: str) -> None:
    parse_line(line)


@pytest.mark.parametrize("line", [
    "seawall.check.result|g", "9metric:1|g", "m:1|x", "m:nan-ish|g",
    "_sc|seawall.check|7", "_e{9,4}:title|text", "m:1|g|Tsoon", "m:1|g|zz",
])
def test_parser_rejects_bad_lines(line: str) -> None:
    with pytest.raises(ValueError):
        parse_line(line)


def test_time_sanity() -> None:
    assert parse_line(f"m:1|g|T{int(time.time())}").fields["T"].isdigit()
