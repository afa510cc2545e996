"""Due-time computation (DST, month ends, weekday numbering) and the shipped schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from seawall.errors import ConfigError
from seawall.schedule import spec

from .conftest import make_schedule

REPO = Path(__file__).resolve().parents[2]


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def utc(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M")


def fires(schedule: spec.Schedule, start: float, n: int) -> list[str]:
    it = schedule.fires_after(start)
    return [utc(next(it)) for _ in range(n)]


def test_spring_forward_runs_the_skipped_local_time_once(project: Path) -> None:
    # Berlin skips 02:00-03:00 local on 2025-03-30: a 02:30 job runs at 03:00 CEST
    # (01:00 UTC) that day, like Debian cron, not never and not twice.
    s = make_schedule(project, cron="30 2 * * *", timezone="Europe/Berlin", timeout=60)
    assert fires(s, ts(2025, 3, 28, 12), 4) == [
        "2025-03-29 01:30", "2025-03-30 01:00", "2025-03-31 00:30", "2025-04-01 00:30",
    ]


def test_fall_back_runs_the_repeated_local_time_once(project: Path) -> None:
    # 02:30 local happens twice on 2025-10-26 in Berlin: one run, at the first one.
    s = make_schedule(project, cron="30 2 * * *", timezone="Europe/Berlin", timeout=60)
    assert fires(s, ts(2025, 10, 25, 12), 3) == [
        "2025-10-26 00:30", "2025-10-27 01:30", "2025-10-28 01:30",
    ]


def test_utc_schedules_ignore_dst(project: Path) -> None:
    s = make_schedule(project, cron="0 * * * *", timeout=60)
    assert fires(s, ts(2025, 3, 30, 0, 30), 3) == [
        "2025-03-30 01:00", "2025-03-30 02:00", "2025-03-30 03:00",
    ]


def test_month_end_day_31_skips_short_months(project: Path) -> None:
    s = make_schedule(project, cron="0 6 31 * *", timeout=60)
    assert fires(s, ts(2025, 1, 15), 4) == [
        "2025-01-31 06:00", "2025-03-31 06:00", "2025-05-31 06:00", "2025-07-31 06:00",
    ]


def test_last_day_of_month_including_leap_february(project: Path) -> None:
    s = make_schedule(project, cron="0 23 L * *", timeout=60)
    assert fires(s, ts(2028, 1, 31, 23, 30), 3) == [
        "2028-02-29 23:00", "2028-03-31 23:00", "2028-04-30 23:00",
    ]


def test_weekday_0_is_sunday_not_monday(project: Path) -> None:
    # APScheduler's crontab reader would say Monday; cron and cronsim say Sunday.
    s = make_schedule(project, cron="0 9 * * 0", timeout=60)
    first = datetime.fromtimestamp(s.next_fire(ts(2025, 6, 2)), UTC)  # a Monday
    assert first.strftime("%A %Y-%m-%d %H:%M") == "Sunday 2025-06-08 09:00"


def test_last_fire_is_inclusive_and_whole_seconds(project: Path) -> None:
    s = make_schedule(project, cron="*/5 * * * *", timeout=60)
    assert utc(s.last_fire(ts(2025, 1, 1, 10, 5))) == "2025-01-01 10:05"
    assert utc(s.last_fire(ts(2025, 1, 1, 10, 4) + 59.9)) == "2025-01-01 10:00"
    assert s.next_fire(ts(2025, 1, 1, 10, 5)) == ts(2025, 1, 1, 10, 10)


def test_period_is_the_shortest_gap(project: Path) -> None:
    assert make_schedule(project, cron="*/5 * * * *", timeout=60).period == 300
    assert make_schedule(project, cron="0 9,10 * * *", timeout=60).period == 3600


def test_timeout_must_be_below_the_period(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_schedule(project, cron="*/5 * * * *", timeout=290, jitter=20)
    assert str(info.value) == (
        "test.toml: timeout: timeout 290s + jitter 20s is not below the period 300s of "
        "'*/5 * * * *' (a run must end before the next one is due)"
    )


def test_pytest_args(project: Path) -> None:
    s = make_schedule(project, markers="tls and not slow", keywords="expiry")
    assert s.pytest_args() == ["probes", "-m", "tls and not slow", "-k", "expiry"]


def test_shipped_schedules_match_the_documented_cadence(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = {s.name: s for s in spec.load_dir(REPO / "schedules", cwd=REPO)}
    assert {n: s.period for n, s in loaded.items()} == {
        "tls": 300, "https": 900, "isolation": 900, "at_rest": 3600,
    }
    for name, s in loaded.items():
        assert s.markers == name
        assert s.timeout + s.jitter < s.period
        assert str(s.zone) == "UTC"
