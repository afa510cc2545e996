"""The example configuration the README points to loads, and its claims name real checks."""

from __future__ import annotations

from pathlib import Path

from seawall import config as config_module

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    loaded = config_module.load(str(ROOT / "examples" / "seawall.toml"))
    assert not loaded.lab
    assert loaded.general.env == "prod"
    ids = [t.id for t in loaded.tls.targets]
    assert ids == ["api.example.com:443", "internal.example.com:8443"]


def test_example_claims_name_checks_seawall_emits() -> None:
    loaded = config_module.load(str(ROOT / "examples" / "seawall.toml"))
    source = "\n".join(p.read_text() for p in (ROOT / "seawall").rglob("*.py"))
    for check in loaded.claims:
        assert f'"{check}"' in source, f"claim for unknown check {check}"
