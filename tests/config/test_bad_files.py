"""Every file in tests/config/bad/ whose first line states a message
(``# expect: {file}: key: problem (fix)``) is rejected with exactly that message, through
both front doors: the loader used by pytest and ``seawall config check`` (exit 2, one
line, no traceback). Files without that line are checked by their suite's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from seawall import cli
from seawall import config as config_module
from seawall.errors import ConfigError

BAD = Path(__file__).parent / "bad"
FILES = sorted(p for p in BAD.glob("*.toml") if p.read_text().startswith("# expect: "))


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    return first.removeprefix("# expect: ").replace("{file}", str(path))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_loader_names_file_key_and_fix(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        config_module.load(str(path))
    assert str(info.value) == expected_message(path)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_config_check_exits_2_with_one_line(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "check", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"seawall: {expected_message(path)}\n"
    assert out == ""


def test_there_are_bad_files() -> None:
    assert len(FILES) >= 8


def test_good_file_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "seawall.toml"
    good.write_text(
        '[seawall]\nenv = "prod"\ntimeout = 2\n[claims]\n"tls.min_version" = "TLS 1.3 only"\n'
    )
    loaded = config_module.load(str(good))
    assert loaded.general.env == "prod"
    assert loaded.general.timeout == 2.0
    assert loaded.claims == {"tls.min_version": "TLS 1.3 only"}
    assert not loaded.lab
    assert cli.main(["config", "check", "--config", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: OK\n"


def test_no_file_means_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEAWALL_CONFIG", raising=False)
    assert config_module.locate(None) is None
    assert config_module.load(None).lab


def test_env_var_is_used_and_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEAWALL_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError) as info:
        config_module.locate(None)
    assert str(info.value) == (
        f"SEAWALL_CONFIG: '{tmp_path}/missing.toml' is not a readable file "
        "(check the path given to SEAWALL_CONFIG)"
    )
