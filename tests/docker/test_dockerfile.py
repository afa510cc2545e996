"""The container as documented: the Dockerfile parsed (dockerfile-parse) and checked
against deploy/README.md, and its exact ENTRYPOINT + CMD and HEALTHCHECK run here (no
container engine runs on our machines). The Kubernetes alternative is checked against
the schedule files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from seawall.schedule import spec

REPO = Path(__file__).resolve().parents[2]
#: Console scripts of the environment running the tests (``.venv/bin`` in CI), as the
#: image's PATH holds the installed ``seawall``.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
DOCS = (REPO / "deploy" / "README.md").read_text()


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(REPO / "Dockerfile"))


def instruction(parser: DockerfileParser, name: str) -> list[str]:
    return [s["value"] for s in parser.structure if s["instruction"] == name]


def exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"{value!r} is not the exec (JSON) form"
    return parsed


def healthcheck(parser: DockerfileParser) -> list[str]:
    [value] = instruction(parser, "HEALTHCHECK")
    return exec_form(value.split("CMD", 1)[1].strip())


def test_entrypoint_is_tini_and_cmd_is_the_scheduler(dockerfile: DockerfileParser) -> None:
    [entrypoint] = instruction(dockerfile, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["tini", "--"]
    assert exec_form(dockerfile.cmd) == ["seawall", "schedule", "run"]
    assert '`ENTRYPOINT ["tini", "--"]`' in DOCS
    assert '`CMD ["seawall", "schedule", "run"]`' in DOCS


def test_runs_as_the_documented_non_root_user(dockerfile: DockerfileParser) -> None:
    [user] = instruction(dockerfile, "USER")
    assert user not in ("root", "0")
    uid = re.search(r"useradd .*--uid (\d+) .*\b" + re.escape(user) + r"\b",
                    " ".join(instruction(dockerfile, "RUN")))
    assert uid, "the USER is created by useradd with a fixed uid"
    assert f"`{user}` (uid {uid.group(1)}), not root" in DOCS


def test_volume_is_the_state_dir_and_documented(dockerfile: DockerfileParser) -> None:
    [volume] = instruction(dockerfile, "VOLUME")
    assert exec_form(volume) == [dockerfile.envs["SEAWALL_STATE_DIR"]] == ["/var/lib/seawall"]
    assert "| Volume | `/var/lib/seawall`" in DOCS
    assert "-v seawall-state:/var/lib/seawall" in DOCS


def test_healthcheck_is_the_documented_command(dockerfile: DockerfileParser) -> None:
    assert healthcheck(dockerfile) == ["seawall", "schedule", "health"]
    assert '`HEALTHCHECK CMD ["seawall", "schedule", "health"]`' in DOCS


def test_base_image_and_runtime_tools(dockerfile: DockerfileParser) -> None:
    assert dockerfile.baseimage == "python:3.11-slim-bookworm"
    installs = " ".join(instruction(dockerfile, "RUN"))
    for tool in ("tini", "iproute2", "nftables"):
        assert re.search(rf"\b{tool}\b", installs), tool
    assert dockerfile.envs["SEAWALL_SCHEDULES"] == "/opt/seawall/schedules"
    assert instruction(dockerfile, "WORKDIR") == ["/opt/seawall"]


def test_documented_capabilities_are_narrow() -> None:
    assert "--user 0 --cap-add NET_ADMIN --cap-add NET_RAW" in DOCS
    assert "--privileged`" in DOCS  # named only to say it is never used
    assert "docker run -d" in DOCS and "--privileged \\" not in DOCS


def test_kubernetes_cronjobs_follow_the_schedules() -> None:
    text = (REPO / "deploy" / "kubernetes" / "cronjobs.yaml").read_text()
    schedules = {s.name: s for s in spec.load_dir(REPO / "schedules", cwd=REPO)}
    jobs = text.split("\n---\n")
    assert len(jobs) == len(schedules)
    for job in jobs:
        name = re.search(r'"--once", "([a-z_]+)"', job).group(1)  # type: ignore[union-attr]
        s = schedules[name]
        assert f'schedule: "{s.cron}"' in job
        assert "concurrencyPolicy: Forbid" in job
        assert "timeZone: Etc/UTC" in job
        assert "backoffLimit: 0" in job
        assert re.search(r"startingDeadlineSeconds: \d+", job)
        deadline = int(re.search(r"activeDeadlineSeconds: (\d+)", job).group(1))  # type: ignore[union-attr]
        assert s.timeout < deadline < s.period, name


def test_the_exact_cmd_runs_reports_healthy_and_stops_with_0_on_sigterm(
    dockerfile: DockerfileParser, tmp_path: Path
) -> None:
    [entrypoint] = instruction(dockerfile, "ENTRYPOINT")
    command = exec_form(entrypoint) + exec_form(dockerfile.cmd)
    (tmp_path / "probes").mkdir()
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "lab.toml").write_text(
        'name = "lab"\ncron = "0 0 1 1 *"\ntimeout = 60\npaths = ["probes"]\n')
    secret = "dd-api-key-value-never-logged"
    env = {**os.environ, "PATH": PATH, "SEAWALL_STATE_DIR": str(tmp_path / "state"),
           "SEAWALL_SCHEDULES": str(tmp_path / "schedules"), "DD_API_KEY": secret}
    health = healthcheck(dockerfile)
    before = subprocess.run(health, cwd=tmp_path, env=env, capture_output=True, text=True,
                            check=False)
    assert before.returncode == 1 and before.stdout.startswith("unhealthy: no scheduler")

    proc = subprocess.Popen(command, cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        state = tmp_path / "state" / "schedule" / "state.json"
        end = time.monotonic() + 60
        while not state.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, "no heartbeat"
            time.sleep(0.05)
        during = subprocess.run(health, cwd=tmp_path, env=env, capture_output=True,
                                text=True, check=False)
        assert during.returncode == 0, during.stdout
        assert during.stdout.startswith("healthy: last scheduler tick")
        proc.send_signal(signal.SIGTERM)  # docker stop
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]  # JSON lines only
    assert [e["event"] for e in events] == ["scheduler_started", "scheduler_stopped"]
    assert events[0]["schedules"][0]["next_due"].endswith("-01-01T00:00:00Z")
    assert secret not in out and secret not in err
    after = subprocess.run(health, cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=False)
    assert (after.returncode, after.stdout) == (1, "unhealthy: the scheduler has stopped\n")


def test_command_words_are_on_path() -> None:
    for word in ("tini", "seawall"):
        found = subprocess.run(["which", word], capture_output=True, check=False,
                               env={**os.environ, "PATH": PATH})
        assert found.returncode == 0, f"{word} is not installed here (.ci/packages.apt)"
