"""tls.client_verifies with real clients against real lab endpoints."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from seawall import config as config_module
from seawall.config.clients import ClientCommand
from seawall.model import Outcome
from seawall.suites import load_kind
from seawall.tls import clients

DEFAULTS = {c.name: c for c in clients.lab_clients()}
BAD = list(clients.BAD_CASES)
CURL = "curl -sS -o /dev/null --noproxy '*' --cacert {ca_file} --resolve {host}:{port}:{ip} {url}"


@pytest.fixture(scope="module")
def lab_defaults(run_clients):
    return run_clients(list(DEFAULTS.values()))


@pytest.mark.parametrize("name", ["curl", "python-urllib"])
def test_verifying_clients_pass(lab_defaults, name):
    finding = clients.client_verifies(lab_defaults[name])
    assert finding.outcome is Outcome.PASS, finding.summary
    assert finding.check == "tls.client_verifies"
    assert finding.target == name
    assert finding.evidence["good"]["exit_code"] == 0
    assert all(run["exit_code"] not in (0, None) for run in finding.evidence["bad"])
    assert finding.metrics == {"tls.client.accepted_invalid": 0.0}


def test_insecure_client_fails_with_every_bad_case_listed(lab_defaults):
    finding = clients.client_verifies(lab_defaults["curl-insecure"])
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "accepts_invalid_cert")
    assert finding.evidence["accepted_invalid"] == BAD
    assert finding.summary == (
        "client curl-insecure accepts invalid certificates: "
        "self_signed, wrong_host, expired, untrusted_root")
    assert finding.metrics == {"tls.client.accepted_invalid": 4.0}


def test_refusals_are_certificate_errors(lab_defaults):
    """The bad runs fail for the certificate, not for want of a connection."""
    for run in lab_defaults["curl"].bad:
        assert "certificate" in run.stderr.lower() or "SSL" in run.stderr, run.stderr


def test_client_that_cannot_connect_is_an_error(run_clients):
    unreachable = ClientCommand(name="nowhere", timeout=5,
                                command=CURL.replace("{ip}", "127.0.0.1").replace(
                                    "{url}", "https://{host}:1/"))
    finding = clients.client_verifies(run_clients([unreachable])["nowhere"])
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "control_failed")
    assert "good endpoint" in finding.summary


def test_client_without_the_lab_root_is_an_error_not_a_pass(run_clients):
    """It refuses every bad certificate, but also the good one: that proves nothing."""
    untrusting = ClientCommand(name="untrusting",
                               command=CURL.replace("--cacert {ca_file} ", ""))
    finding = clients.client_verifies(run_clients([untrusting])["untrusting"])
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "control_failed")


def test_missing_client_is_an_error(run_clients):
    missing = ClientCommand(name="missing", command="/nonexistent/seawall-client {url}")
    finding = clients.client_verifies(run_clients([missing])["missing"])
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "client_missing")


def test_client_hanging_on_bad_certificates_is_a_timeout_not_a_pass(run_clients):
    """Fetches the good endpoint, then hangs on the bad ones: inconclusive, not refused."""
    hangs = ClientCommand(
        name="hangs", shell=True, timeout=1.0,
        command="case {host} in good13.*) exit 0;; *) sleep 31.75; true;; esac")
    facts = run_clients([hangs])["hangs"]
    finding = clients.client_verifies(facts)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, "timeout")
    assert all(run.exit_code is None for run in facts.bad)
    # the shell's child was killed with it (the client runs in its own session)
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline")
                if b"31.75" in _read(p)]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_accepting_one_bad_case_is_a_fail_even_if_others_hang(run_clients):
    partly = ClientCommand(
        name="partly", shell=True, timeout=1.0,
        command="case {host} in good13.*|expired.*) exit 0;; *) exec sleep 30;; esac")
    finding = clients.client_verifies(run_clients([partly])["partly"])
    assert (finding.outcome, finding.reason) == (Outcome.FAIL, "accepts_invalid_cert")
    assert finding.evidence["accepted_invalid"] == ["expired"]


def test_render_fills_words_without_a_shell():
    command = ClientCommand(name="x", command="tool --name '{host} x' {url}")
    values = {"host": "a b", "port": "1", "ip": "127.0.0.1", "url": "https://a:1/",
              "ca_file": "/c"}
    assert clients.render(command, values) == ["tool", "--name", "a b x", "https://a:1/"]
    shell = ClientCommand(name="y", command="tool {host}; echo", shell=True)
    assert clients.render(shell, values) == ["/bin/sh", "-c", "tool 'a b'; echo"]


def test_suite_plan_and_gather_in_lab_mode():
    suite = load_kind("client")
    assert (suite.name, suite.kind) == ("tls", "client")
    lab_config = config_module.Config()
    plan = suite.plan(lab_config)
    assert [t.id for t in plan.targets] == ["curl", "python-urllib", "curl-insecure"]
    with contextlib.ExitStack() as resources:
        facts = suite.gather(plan, plan.targets[:1], lab_config, resources)
    assert list(facts) == ["curl"]
    assert clients.client_verifies(facts["curl"]).outcome is Outcome.PASS


def test_config_mode_uses_only_configured_clients(tmp_path):
    path = tmp_path / "seawall.toml"
    path.write_text('[seawall]\nenv = "test"\n')
    assert load_kind("client").plan(config_module.load(str(path))).targets == ()
    path.write_text('[[clients.commands]]\nname = "mine"\ncommand = "curl {url}"\n')
    plan = load_kind("client").plan(config_module.load(str(path)))
    assert [t.id for t in plan.targets] == ["mine"]


def test_probe_against_the_lab(pytester, monkeypatch):
    """``pytest probes/tls/test_clients_verify.py`` with no config: curl and urllib pass,
    curl-insecure fails."""
    monkeypatch.delenv("SEAWALL_CONFIG", raising=False)
    probe = Path(__file__).resolve().parents[2] / "probes" / "tls" / "test_clients_verify.py"
    result = pytester.runpytest_inprocess(str(probe), "-p", "no:randomly", "-q", "-rA")
    assert result.parseoutcomes() == {"passed": 2, "failed": 1}, result.stdout.str()
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert len(failed) == 1 and "test_client_verifies[curl-insecure]" in failed[0]


def test_credentials_in_a_command_stay_out_of_the_evidence(run_clients):
    import json

    secret = "s3cret-token-value"
    command = CURL.replace("curl ", f"curl -H 'Authorization: Bearer {secret}' -u bob:{secret} ")
    with_token = ClientCommand(name="token", command=command)
    finding = clients.client_verifies(run_clients([with_token])["token"])
    assert finding.outcome is Outcome.PASS, finding.summary
    dumped = json.dumps(finding.to_json())
    assert secret not in dumped
    assert "Authorization: <redacted>" in dumped


@pytest.mark.parametrize(("argv", "shown"), [
    (["curl", "--user=bob:pw", "{url}"], ["curl", "--user=<redacted>", "{url}"]),
    (["curl", "--header", "Cookie: a=b"], ["curl", "--header", "Cookie: <redacted>"]),
    (["curl", "-H", "Accept: text/plain"], ["curl", "-H", "Accept: text/plain"]),
    (["wget", "https://bob:pw@h.test/"], ["wget", "https://<redacted>@h.test/"]),
    (["tool", "-u", "-u", "x"], ["tool", "-u", "<redacted>", "x"]),
])
def test_redact(argv, shown):
    assert clients.redact(argv) == shown
