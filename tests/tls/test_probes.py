"""``pytest probes/tls -m tls`` with no config, through the real plugin: every lab case
ends as the expectation table says, with its reason on the line of its test."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall.lab import TLS_CASES

from .test_lab_expectations import BAD, CHECKS

PROBES = Path(__file__).resolve().parents[2] / "probes" / "tls"
TESTS = {"tls.versions": "test_versions", "tls.cipher": "test_cipher",
         "tls.cert_chain": "test_cert_chain", "tls.cert_hostname": "test_cert_hostname",
         "tls.cert_expiry": "test_cert_expiry", "tls.cert_key": "test_cert_key",
         "tls.cert_signature": "test_cert_signature"}


def test_probes_against_the_lab(pytester: pytest.Pytester,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEAWALL_CONFIG", raising=False)
    files = [str(p) for p in sorted(PROBES.glob("test_*.py")) if "clients" not in p.name]
    result = pytester.runpytest_inprocess(*files, "-m", "tls", "-p", "no:randomly", "-rA")
    text = result.stdout.str()
    assert "Traceback" not in text
    outcomes = result.parseoutcomes()
    bad = [(case, check, *BAD[case][check]) for case in TLS_CASES for check in CHECKS
           if check in BAD[case]]
    fails = sum(1 for *_, outcome, _ in bad if outcome == "fail")
    errors = sum(1 for *_, outcome, _ in bad if outcome == "error")
    warns = sum(1 for *_, outcome, _ in bad if outcome == "warn")
    assert outcomes.get("failed") == fails, text
    assert outcomes.get("inconclusive") == errors, text
    assert outcomes.get("warn") == warns, text
    assert outcomes.get("passed") == len(TLS_CASES) * len(CHECKS) - fails - errors - warns, text
    for case, check, _, reason in bad:
        host = TLS_CASES[case].host
        assert f"{check} {host}:443 [{reason}]" in text, (case, check, reason)
