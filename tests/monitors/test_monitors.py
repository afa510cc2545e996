"""Alerts as code: the rules over monitor bodies, and validate/diff/push through the
real ``datadog`` client against the local intake."""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seawall import cli
from seawall.lab.intake import DatadogIntake
from seawall.monitors.rules import problems
from seawall.report import registry

ROOT = Path(__file__).resolve().parents[2]
MONITORS = ROOT / "monitors"
COUNT = len(list(MONITORS.glob("*.json")))
GOOD = json.loads((MONITORS / "cert-expiry.json").read_text())


@pytest.mark.parametrize("path", sorted(MONITORS.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_monitors_are_valid(path: Path) -> None:
    assert problems(path.stem, json.loads(path.read_text())) == []


def test_the_promised_monitors_exist() -> None:
    bodies = {p.stem: json.loads(p.read_text()) for p in MONITORS.glob("*.json")}
    status = bodies["check-status"]
    assert status["type"] == "service check" and ".last(3)" in status["query"]
    assert status["options"]["thresholds"]["critical"] == 2
    assert status["options"]["thresholds"]["ok"] == 2
    assert bodies["heartbeat-tls"]["options"]["notify_no_data"] is True
    assert "seawall.check.result" in bodies["inconclusive"]["query"]


def bad(**change: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    body.update(change)
    return body


@pytest.mark.parametrize(("body", "message"), [
    (bad(query="min(last_4h):min:seawall.tls.cert.days_left{service:seawall} by {target} < 14"),
     "query: 'seawall.tls.cert.days_left' is not a name Seawall emits"),
    (bad(tags=["service:seawall"]), "tags: must contain 'seawall_monitor:cert-expiry'"),
    (bad(query="min(last_4h):min:seawall.tls.cert.days_to_expiry{service:seawall} by {ip} < 14"),
     "query: tag 'ip' is not one Seawall sets"),
    (bad(query="min(last_4h):min:seawall.tls.cert.days_to_expiry{service:seawall} < 7"),
     "options.thresholds.critical: 14 differs from the query's threshold 7"),
    (bad(type="log alert"), "type: 'log alert' is not one of"),
    (bad(escalation="x"), "escalation: unknown field"),
    (bad(message=""), "message: required"),
    (bad(type="service check", query='"seawall.check".over("*").count_by_status()'),
     "a service check monitor reads"),
    (bad(type="service check", options={"thresholds": {"critical": 4}},
         query='"seawall.check".over("*").last(3).count_by_status()'),
     "options.thresholds.critical: 4 must be an integer 1..3"),
    (bad(type="service check", query='"seawall.chek".over("*").last(3).count_by_status()'),
     "query: 'seawall.chek' is not a name Seawall emits"),
    ([GOOD], "the file must hold one JSON object"),
])
def test_bad_monitors_are_caught(body: Any, message: str) -> None:
    found = problems("cert-expiry", body)
    assert any(message in p for p in found), found


def test_dashboard_uses_only_emitted_names() -> None:
    text = (ROOT / "dashboards" / "seawall.json").read_text()
    json.loads(text)
    names = set(re.findall(r"\b(?:min|max|avg|sum):(seawall\.[a-z0-9_.]+)\{", text))
    names |= set(re.findall(r'"check": "(seawall\.[a-z0-9_.]+)"', text))
    assert names and all(registry.is_emitted(n) for n in names), names
    assert {"seawall.tls.cert.days_to_expiry", "seawall.run.heartbeat"} <= names


def test_validate_locally(capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DD_APP_KEY", raising=False)
    assert cli.main(["monitors", "validate", "--dir", str(MONITORS)]) == 0
    out = capsys.readouterr().out
    assert out == f"{COUNT} monitors valid locally (no DD_APP_KEY: API not asked)\n"


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cert-expiry.json").write_text(json.dumps(bad(tags=[], message="")))
    assert cli.main(["monitors", "validate", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{tmp_path}/cert-expiry.json: message: required, a non-empty str",
                   f"{tmp_path}/cert-expiry.json: tags: required, a non-empty list"]


def test_bad_json_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("{")
    assert cli.main(["monitors", "validate", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"seawall: {tmp_path}/x.json: not valid JSON: ")


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DatadogIntake]:
    api_key, app_key = secrets.token_hex(16), secrets.token_hex(20)
    with DatadogIntake(tmp_path / "intake", api_key=api_key, app_key=app_key) as intake:
        monkeypatch.setenv("DD_API_KEY", api_key)
        monkeypatch.setenv("DD_APP_KEY", app_key)
        monkeypatch.setenv("DD_SITE", intake.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(intake.ca_file))
        yield intake
        assert intake.key_leaks == []


def test_push_is_idempotent_by_tag(keys: DatadogIntake, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "monitors"
    work.mkdir()
    for path in MONITORS.glob("*.json"):
        (work / path.name).write_text(path.read_text())
    assert cli.main(["monitors", "validate", "--dir", str(work)]) == 0
    assert capsys.readouterr().out == f"{COUNT} monitors valid and by the API\n"
    assert cli.main(["monitors", "diff", "--dir", str(work)]) == 0
    assert capsys.readouterr().out.count(": create") == COUNT
    assert cli.main(["monitors", "push", "--dir", str(work)]) == 0
    assert capsys.readouterr().out.count(": created (id ") == COUNT
    assert len(keys.monitors) == COUNT
    assert cli.main(["monitors", "push", "--dir", str(work)]) == 0
    assert capsys.readouterr().out.count(": unchanged (id ") == COUNT
    changed = bad(query=GOOD["query"].replace("< 14", "< 10"),
                  options={**GOOD["options"], "thresholds": {"critical": 10, "warning": 30}})
    (work / "cert-expiry.json").write_text(json.dumps(changed))
    assert cli.main(["monitors", "diff", "--dir", str(work)]) == 0
    assert "cert-expiry: update: query, options (id " in capsys.readouterr().out
    assert cli.main(["monitors", "push", "--dir", str(work)]) == 0
    assert "cert-expiry: updated query, options" in capsys.readouterr().out
    assert len(keys.monitors) == COUNT
    stored = [m for m in keys.monitors.values() if "seawall_monitor:cert-expiry" in m["tags"]]
    assert stored[0]["query"].endswith("< 10")


def test_push_refuses_duplicates(keys: DatadogIntake, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "m"
    work.mkdir()
    (work / "cert-expiry.json").write_text(json.dumps(GOOD))
    for _ in range(2):
        keys.state.monitors[len(keys.state.monitors) + 1] = {**GOOD, "id": 1}
    assert cli.main(["monitors", "push", "--dir", str(work)]) == 2
    assert "2 monitors carry seawall_monitor:cert-expiry" in capsys.readouterr().err


def test_push_needs_an_application_key(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DD_APP_KEY", raising=False)
    assert cli.main(["monitors", "push", "--dir", str(MONITORS)]) == 2
    assert capsys.readouterr().err == (
        "seawall: environment: DD_API_KEY/DD_APP_KEY: not set (monitors need both an API "
        "key and an application key; set them where you deploy monitors, not in the probe "
        "container)\n")


def test_every_schedule_has_a_dead_mans_switch_within_three_periods() -> None:
    """A schedule that stops running must alert within minutes of its own period, not
    after a fleet-wide window: one heartbeat monitor per shipped schedule."""
    from seawall.schedule.spec import load_dir

    for schedule in load_dir(ROOT / "schedules", cwd=ROOT):
        body = json.loads((MONITORS / f"heartbeat-{schedule.name}.json").read_text())
        assert f"schedule:{schedule.name}" in body["query"]
        assert body["options"]["notify_no_data"] is True
        match = re.match(r"max\(last_(\d+)([mh])\)", body["query"])
        assert match, body["query"]
        window = int(match[1]) * (60 if match[2] == "m" else 3600)
        assert schedule.period < window <= 3 * schedule.period
