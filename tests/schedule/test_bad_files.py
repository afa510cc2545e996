"""Every tests/config/bad/schedule_*.toml is rejected with the exact message on its first
line (``# schedule-expect: {file}: key: problem (fix)``), through the loader and through
``seawall schedule check`` (exit 2, one line on stderr, no traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seawall import cli
from seawall.errors import ConfigError
from seawall.schedule import spec

BAD = Path(__file__).resolve().parents[1] / "config" / "bad"
FILES = sorted(BAD.glob("schedule_*.toml"))
PREFIX = "# schedule-expect: "


def expected(path: Path, shown_as: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith(PREFIX), f"{path.name}: first line must state the message"
    return first.removeprefix(PREFIX).replace("{file}", str(shown_as)).replace("{cwd}", str(BAD))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_loader_names_file_key_and_fix(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        spec.load_file(path, cwd=BAD)
    assert str(info.value) == expected(path, path)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_schedule_check_exits_2_with_one_line(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(BAD)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    assert cli.main(["schedule", "check", "--schedules", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"seawall: {expected(path, copy)}\n"
    assert out == ""


def test_there_are_bad_files() -> None:
    assert len(FILES) >= 10


def test_duplicate_names_name_both_files(tmp_path: Path) -> None:
    body = 'name = "tls"\ncron = "*/5 * * * *"\ntimeout = 60\npaths = ["."]\n'
    (tmp_path / "a.toml").write_text(body)
    (tmp_path / "b.toml").write_text(body)
    with pytest.raises(ConfigError) as info:
        spec.load_dir(tmp_path, cwd=tmp_path)
    assert str(info.value) == (
        f"{tmp_path}/b.toml: name: 'tls' is also the name in {tmp_path}/a.toml "
        "(give every schedule its own name)"
    )


def test_empty_and_missing_directories(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        spec.load_dir(tmp_path, cwd=tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: holds no *.toml schedule files (add one, see schedules/tls.toml)")
    with pytest.raises(ConfigError) as info:
        spec.load_dir(tmp_path / "nope", cwd=tmp_path)
    assert str(info.value) == (
        f"{tmp_path}/nope: is not a directory of schedule files "
        "(give --schedules DIR or set SEAWALL_SCHEDULES)"
    )


def test_bad_toml_syntax(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('name = "tls\n')
    with pytest.raises(ConfigError) as info:
        spec.load_dir(tmp_path, cwd=tmp_path)
    assert str(info.value).startswith(f"{tmp_path}/x.toml: not valid TOML: ")
    assert str(info.value).endswith("(fix the syntax at the line shown)")


def test_check_prints_next_fire_times(capsys: pytest.CaptureFixture[str]) -> None:
    repo = Path(__file__).resolve().parents[2]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(repo)
        assert cli.main(["schedule", "check", "--count", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["at_rest", "https", "isolation", "tls"]
    assert "'*/5 * * * *' timeout 240s, pytest probes -m tls; next: " in lines[3]
