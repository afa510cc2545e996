"""``[https]`` and ``[clients]``: every bad file's exact message, and good files' values.

The bad files state their message on their first line (``# expect: ...``), which
tests/config/test_bad_files.py also checks through ``seawall config check``; here the
list of cases is pinned, so a lost file or a changed message is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall import config as config_module
from seawall.config.clients import PLACEHOLDERS
from seawall.config.https import DEFAULT_POLICY, REDIRECT_OR_CLOSED
from seawall.errors import ConfigError

BAD = Path(__file__).parent / "bad"
CASES = {
    "https_bad_host", "https_bad_port", "https_ca_file_unreadable", "https_duplicate_service",
    "https_max_redirects_range", "https_plain_http_choice", "https_policy_unknown_key",
    "https_ca_file_not_pem", "https_relative_path", "https_same_ports", "https_timeout_type",
    "https_unknown_policy",
    "clients_bad_name", "clients_duplicate_name", "clients_empty_command",
    "clients_missing_command", "clients_timeout_range", "clients_unbalanced_brace",
    "clients_unbalanced_quote", "clients_unknown_key", "clients_unknown_placeholder",
}


def test_the_bad_files_are_all_there():
    found = {p.stem for p in BAD.glob("*.toml") if p.stem.startswith(("https_", "clients_"))}
    assert found == CASES


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_message(case):
    path = BAD / f"{case}.toml"
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    with pytest.raises(ConfigError) as info:
        config_module.load(str(path))
    assert str(info.value) == first.removeprefix("# expect: ").replace("{file}", str(path))


def test_unknown_policy_message_names_the_fix(tmp_path):
    path = tmp_path / "seawall.toml"
    path.write_text('[[https.services]]\nhost = "a.example.com"\npolicy = "strict"\n')
    with pytest.raises(ConfigError) as info:
        config_module.load(str(path))
    assert str(info.value) == (
        f"{path}: https.services[0].policy: 'strict' is not a defined policy "
        "(define [https.policies.strict] or use one of: default)")


def test_good_https_config(tmp_path):
    from seawall.lab import LabPki

    pki = LabPki(tmp_path / "pki")
    (tmp_path / "ca.pem").write_bytes(pki.root_ca_file.read_bytes())
    path = tmp_path / "seawall.toml"
    path.write_text(
        '[https]\ntimeout = 3\nconcurrency = 7\n'
        '[https.policies.internal]\nplain_http = "redirect_or_closed"\n'
        'hsts_min_age = 86400\nrequire_include_subdomains = true\nmax_redirects = 2\n'
        '[[https.services]]\nhost = "www.example.com"\n'
        '[[https.services]]\nhost = "intra.example.com"\nhttp_port = 8080\n'
        'https_port = 8443\npath = "/health?x=1"\npolicy = "internal"\nca_file = "ca.pem"\n'
        'name = "intranet"\n')
    https = config_module.load(str(path)).https
    assert (https.timeout, https.concurrency) == (3.0, 7)
    assert https.policies["default"] == DEFAULT_POLICY
    internal = https.policies["internal"]
    assert (internal.plain_http, internal.hsts_min_age, internal.require_include_subdomains,
            internal.max_redirects) == (REDIRECT_OR_CLOSED, 86400, True, 2)
    first, second = https.services
    assert (first.id, first.http_port, first.policy, first.ca_file) == (
        "www.example.com:443", 80, "default", None)
    assert second.id == "intra.example.com:8443"
    assert (second.http_port, second.path, second.name) == (8080, "/health?x=1", "intranet")
    assert second.ca_file == tmp_path / "ca.pem"


def test_default_policy_is_one_year_and_redirect():
    assert DEFAULT_POLICY.hsts_min_age == 31536000
    assert DEFAULT_POLICY.plain_http == "redirect"
    assert DEFAULT_POLICY.max_redirects == 5
    assert DEFAULT_POLICY.require_include_subdomains is False


def test_good_clients_config(tmp_path):
    path = tmp_path / "seawall.toml"
    path.write_text(
        '[[clients.commands]]\nname = "curl"\n'
        'command = "curl -sS --cacert {ca_file} --resolve {host}:{port}:{ip} {url}"\n'
        '[[clients.commands]]\nname = "wget.v2"\ncommand = "wget -q -O- {url} | head"\n'
        'shell = true\ntimeout = 2.5\n')
    commands = config_module.load(str(path)).clients.commands
    assert [c.id for c in commands] == ["curl", "wget.v2"]
    assert (commands[0].timeout, commands[0].shell) == (10.0, False)
    assert (commands[1].timeout, commands[1].shell) == (2.5, True)
    assert PLACEHOLDERS == ("host", "port", "ip", "url", "ca_file")


def test_lab_config_has_no_clients_or_services():
    loaded = config_module.Config()
    assert loaded.clients.commands == ()
    assert loaded.https.services == ()
