"""``[tls]``: defaults, built-in and custom policies, targets, and the lab plan.
(Bad files with their exact messages live in tests/config/bad/tls_*.toml.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall import config as config_module
from seawall.config.tls import BUILTIN_POLICIES, TlsConfig
from seawall.errors import ConfigError
from seawall.lab import TLS_CASES
from seawall.tls.suite import ENDPOINTS


def load(tmp_path: Path, text: str) -> config_module.Config:
    path = tmp_path / "seawall.toml"
    path.write_text(text)
    return config_module.load(str(path))


def test_defaults_without_a_tls_table(tmp_path: Path) -> None:
    tls = load(tmp_path, "").tls
    assert tls == TlsConfig()
    assert tls.timeout is None and tls.concurrency is None and tls.targets == ()  # [seawall]
    assert BUILTIN_POLICIES["default"].versions == ("TLSv1.2", "TLSv1.3")
    assert BUILTIN_POLICIES["modern"].versions == ("TLSv1.3",)
    strict = BUILTIN_POLICIES["strict"]
    assert strict.require_forward_secrecy and strict.require_aead
    assert (strict.cert_warn_days, strict.cert_fail_days, strict.min_rsa_bits) == (30, 14, 2048)


def test_a_full_tls_table(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("placeholder\n")
    tls = load(tmp_path, """
[tls]
timeout = 2.5
concurrency = 20

[tls.policies.public-api]
versions = ["TLSv1.3", "TLSv1.2"]
require_forward_secrecy = true
cert_warn_days = 21
cert_fail_days = 7

[tls.policies.default]
min_version = "TLSv1.0"
max_version = "TLSv1.2"

[[tls.targets]]
host = "api.example.com"
policy = "public-api"

[[tls.targets]]
host = "10.1.2.3"
port = 8443
sni = "internal.example.com"
ca_file = "ca.pem"
name = "internal"
""").tls
    assert (tls.timeout, tls.concurrency) == (2.5, 20)
    public = tls.policies["public-api"]
    assert public.versions == ("TLSv1.2", "TLSv1.3")  # sorted oldest first
    assert public.require_forward_secrecy and not public.require_aead
    assert (public.cert_warn_days, public.cert_fail_days) == (21, 7)
    assert tls.policies["default"].versions == ("TLSv1.0", "TLSv1.1", "TLSv1.2")
    assert tls.policies["modern"] == BUILTIN_POLICIES["modern"]
    first, second = tls.targets
    assert (first.id, first.port, first.policy) == ("api.example.com:443", 443, "public-api")
    assert second.id == "internal.example.com@10.1.2.3:8443"
    assert second.ca_file == ca and second.server_name == "internal.example.com"
    assert second.policy == "default" and second.name == "internal"


def test_policy_descriptions(tmp_path: Path) -> None:
    assert BUILTIN_POLICIES["default"].describe_versions() == ">= TLSv1.2"
    assert BUILTIN_POLICIES["modern"].describe_versions() == "TLSv1.3 only"
    tls = load(tmp_path, '[tls.policies.p]\nmin_version = "TLSv1.0"\nmax_version = "TLSv1.2"\n').tls
    assert tls.policies["p"].describe_versions() == "TLSv1.0 to TLSv1.2"
    tls = load(tmp_path, '[tls.policies.p]\nversions = ["TLSv1.1", "TLSv1.3"]\n').tls
    assert tls.policies["p"].describe_versions() == "TLSv1.1 or TLSv1.3"


def test_policy_name_must_be_an_identifier(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, '[tls.policies."Public API"]\nmin_version = "TLSv1.2"\n')
    assert str(info.value) == (
        f"{tmp_path}/seawall.toml: tls.policies.Public API: is not a policy name "
        "(use lowercase letters, digits, '-' and '_')")


def test_plan_from_config_maps_each_target_to_its_policy(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[[tls.targets]]\nhost = "a.example.com"\npolicy = "modern"\n')
    plan = ENDPOINTS.plan(loaded)
    assert [t.id for t in plan.targets] == ["a.example.com:443"]
    assert plan.policies["a.example.com:443"] is BUILTIN_POLICIES["modern"]
    assert plan.source == str(tmp_path / "seawall.toml")


def test_lab_plan_has_stable_ids_and_no_lab_ports() -> None:
    plan = ENDPOINTS.plan(config_module.Config())
    assert [t.id for t in plan.targets] == [f"{c.host}:443" for c in TLS_CASES.values()]
    assert plan.policies["good13.lab.seawall.test:443"].name == "modern"
    assert plan.policies["weak-cipher.lab.seawall.test:443"].name == "strict"
    assert plan.policies["expired.lab.seawall.test:443"].name == "default"
    assert plan.source == "embedded lab"
