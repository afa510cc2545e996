"""A schedule's tags (``SEAWALL_TAGS``, set by the scheduler on its child runs) go on
everything the reporter sends, normalised and bounded like every other tag."""

from __future__ import annotations

from typing import Any

from seawall.lab.intake import DatadogIntake
from seawall.model import Outcome
from seawall.report.datadog import DatadogReporter
from seawall.report.tags import MAX_EXTRA_TAGS, MAX_TAG, extra_tags, is_valid


def test_extra_tags_are_normalised_deduplicated_and_bounded() -> None:
    assert extra_tags("tier:1, Owner:Net Sec ,tier:1,zone:EU/West") == [
        "tier:1", "owner:net_sec", "zone:eu/west"]
    assert extra_tags("") == []
    assert extra_tags("no-colon,:no-key,no-value:,  ,") == []
    many = ",".join(f"k{i}:v" for i in range(50))
    assert len(extra_tags(many)) == MAX_EXTRA_TAGS
    [long] = extra_tags("note:" + "x" * 500)
    assert len(long) == MAX_TAG and is_valid(long)


def test_extra_tags_never_replace_the_standard_ones() -> None:
    text = "env:prod,service:other,schedule:x,check:y,target:z,outcome:pass,reason:r,Env:dev"
    assert extra_tags(text) == []
    assert extra_tags("environment:prod") == ["environment:prod"]


def test_the_reporter_tags_everything_with_the_schedule_tags(
        kit: Any, intake: DatadogIntake, api_key: str) -> None:
    environ = {"DD_API_KEY": api_key, "DD_SITE": intake.url,
               "SEAWALL_TAGS": "tier:1,Owner:Net-Sec,env:hijack"}
    reporter = DatadogReporter.create(state_dir=kit.state_dir, environ=environ,
                                      ca_file=intake.ca_file, timeout=2.0)
    kit.run(reporter, [kit.finding(target="a.example.com:443"),
                       kit.finding(target="b.example.com:443", outcome=Outcome.FAIL)])
    sent = [*intake.series, *intake.checks, *intake.events]
    assert intake.series and len(intake.checks) == 2 and len(intake.events) == 1
    assert intake.rejected == []
    for item in sent:
        assert {"tier:1", "owner:net-sec", "env:test"} <= set(item["tags"]), item
        assert "env:hijack" not in item["tags"]


def test_without_schedule_tags_nothing_is_added(kit: Any, intake: DatadogIntake) -> None:
    kit.run(kit.reporter(), [kit.finding()])
    assert not any(t.startswith("tier:") for s in intake.series for t in s["tags"])
