"""The https suite object (plan, gather with the lab) and the probes end to end."""

from __future__ import annotations

import contextlib
from pathlib import Path

from seawall import config as config_module
from seawall.https.suite import SERVICES
from seawall.lab import HTTP_CASES
from seawall.suites import load_kind

PROBES = Path(__file__).resolve().parents[2] / "probes" / "https"


def test_registered_as_the_service_kind():
    assert load_kind("service") is SERVICES
    assert (SERVICES.name, SERVICES.kind) == ("https", "service")


def test_lab_plan_is_the_static_catalogue():
    plan = SERVICES.plan(config_module.Config())
    ids = [t.id for t in plan.targets]
    assert ids == [f"{c.host}:443" for c in HTTP_CASES.values()]
    assert all((t.http_port, t.https_port) == (80, 443) for t in plan.targets)
    by_name = {t.name: plan.policies[t.id].name for t in plan.targets}
    assert by_name["http_closed"] == "closed-ok"
    assert by_name["redirect_ok"] == "default"


def test_config_plan(tmp_path):
    path = tmp_path / "seawall.toml"
    path.write_text('[https]\ntimeout = 2\n[https.policies.lax]\nhsts_min_age = 60\n'
                    '[[https.services]]\nhost = "www.example.com"\npolicy = "lax"\n')
    loaded = config_module.load(str(path))
    plan = SERVICES.plan(loaded)
    assert [t.id for t in plan.targets] == ["www.example.com:443"]
    assert plan.policies["www.example.com:443"].hsts_min_age == 60
    assert plan.context.timeout == 2.0
    assert plan.context.lab is False


def test_lab_gather_starts_only_the_selected_cases_and_stops_them():
    plan = SERVICES.plan(config_module.Config())
    selected = [t for t in plan.targets if t.name in ("redirect_ok", "http_closed")]
    with contextlib.ExitStack() as resources:
        facts = SERVICES.gather(plan, selected, config_module.Config(), resources)
        assert sorted(facts) == sorted(t.id for t in selected)
        ok = facts["redirect-ok.lab.seawall.test:443"]
        assert [h.status for h in ok.chain] == [301, 200]
        closed = facts["http-closed.lab.seawall.test:443"]
        assert closed.chain[0].reason == "refused"


def test_probes_against_the_lab(pytester, monkeypatch):
    """``pytest probes/https`` with no config: each lab case ends as the lab intends."""
    monkeypatch.delenv("SEAWALL_CONFIG", raising=False)
    result = pytester.runpytest_inprocess(str(PROBES), "-p", "no:randomly", "-q", "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 10 and outcomes.get("failed") == 6, result.stdout.str()
    text = result.stdout.str()
    lines = text.splitlines()
    expected = {
        "test_redirect[plain-ok.lab.seawall.test:443]": "FAILED",
        "test_redirect[redirect-offsite.lab.seawall.test:443]": "FAILED",
        "test_redirect[redirect-downgrade.lab.seawall.test:443]": "FAILED",
        "test_redirect[redirect-loop.lab.seawall.test:443]": "FAILED",
        "test_hsts[hsts-missing.lab.seawall.test:443]": "FAILED",
        "test_hsts[hsts-short.lab.seawall.test:443]": "FAILED",
        "test_redirect[http-closed.lab.seawall.test:443]": "PASSED",
        "test_redirect[redirect-ok.lab.seawall.test:443]": "PASSED",
        "test_hsts[redirect-ok.lab.seawall.test:443]": "PASSED",
    }
    for test_id, status in expected.items():
        assert any(line.startswith(status) and f"::{test_id}" in line for line in lines), \
            (test_id, status, text)
    assert "Traceback" not in text
