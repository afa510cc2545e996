"""The at_rest suite object (plan, gather) and the probes end to end through pytest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from seawall import config as config_module
from seawall.at_rest.facts import Mechanism
from seawall.at_rest.suite import DATA_PATHS, UNAVAILABLE, DataPathSuite
from seawall.lab import storage
from seawall.model import Outcome
from seawall.suites import load_kind

PROBES = Path(__file__).resolve().parents[2] / "probes" / "at_rest"
BAD = Path(__file__).resolve().parents[1] / "config" / "bad"


def not_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner pytest is a plain run even when this one is an xdist worker."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def test_registered_as_the_data_path_kind() -> None:
    assert load_kind("data_path") is DATA_PATHS
    assert (DATA_PATHS.name, DATA_PATHS.kind) == ("at_rest", "data_path")


def test_config_plan(tmp_path: Path) -> None:
    path = tmp_path / "seawall.toml"
    path.write_text(
        '[at_rest]\ntimeout = 30\n'
        '[[at_rest.paths]]\npath = "/var/lib/db/"\nmechanism = "luks"\ncontrol = "/var/plain"\n'
        'unprivileged = "error"\nmax_scan_mib = 512\n'
        '[[at_rest.paths]]\npath = "/scratch"\nexpect = "plaintext_ok"\ncanary = false\n')
    plan = DATA_PATHS.plan(config_module.load(str(path)))
    assert [t.id for t in plan.targets] == ["/var/lib/db", "/scratch"]
    db = plan.policies["/var/lib/db"]
    assert (db.mechanism, db.control, db.unprivileged) == (Mechanism.LUKS, "/var/plain",
                                                           Outcome.ERROR)
    assert (db.max_scan_bytes, db.timeout, db.label) == (512 << 20, 30.0, "encrypted by luks")
    scratch = plan.policies["/scratch"]
    assert not scratch.expect_encrypted and not scratch.canary and scratch.mechanism is None


def test_bad_config_messages_are_exact() -> None:
    """The at_rest bad files (also run by tests/config) with their messages spelled out."""
    cases = {
        "at_rest_relative_path": "at_rest.paths[0].path: 'var/lib/db' is not an absolute "
        "path (give the full path, e.g. /var/lib/postgresql)",
        "at_rest_duplicate_path": "at_rest.paths[1].path: '/srv/data' is already listed as "
        "at_rest.paths[0].path (list each data path once)",
        "at_rest_bad_mechanism": "at_rest.paths[0].mechanism: 'bitlocker' is not one of "
        "'any', 'dm-crypt', 'luks', 'fscrypt', 'fuse', 'below_os'",
        "at_rest_unprivileged_pass": "at_rest.paths[0].unprivileged: 'pass' is not one of "
        "'warn', 'error'",
    }
    for name, message in cases.items():
        path = BAD / f"{name}.toml"
        with pytest.raises(config_module.ConfigError) as info:
            config_module.load(str(path))
        assert str(info.value) == f"{path}: {message}"
    assert len(list(BAD.glob("at_rest_*.toml"))) >= 8


@pytest.mark.privileged
def test_lab_plan_is_static_and_builds_nothing(tmp_path: Path) -> None:
    root = str(tmp_path / "lab")
    plan = DataPathSuite(root).plan(config_module.Config())
    assert [t.id for t in plan.targets][:2] == [f"{root}/ext4/secret", f"{root}/ext4/plain"]
    assert plan.policies[f"{root}/ext4/secret"].mechanism is Mechanism.FSCRYPT
    assert not os.path.exists(root)


@pytest.mark.privileged
def test_lab_plan_without_root_is_unavailable(tmp_path: Path) -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            os.setuid(65534)
            plan = DataPathSuite(str(tmp_path)).plan(config_module.Config())
            os.write(write, json.dumps([plan.unavailable, len(plan.targets)]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        assert json.loads(fh.read()) == [UNAVAILABLE, 0]
    os.waitpid(pid, 0)


@pytest.mark.privileged
def test_lab_gather_builds_and_tears_down(tmp_path: Path) -> None:
    import contextlib

    suite = DataPathSuite(str(tmp_path / "lab"))
    config = config_module.Config()
    plan = suite.plan(config)
    with contextlib.ExitStack() as resources:
        facts = suite.gather(plan, list(plan.targets), config, resources)
        assert sorted(facts) == sorted(t.id for t in plan.targets)
        plain = facts[f"{tmp_path}/lab/ext4/plain"]
        assert plain.canary is not None and plain.canary.canary.found is True
    assert not list((tmp_path / "lab" / "images").glob("*.img"))


@pytest.mark.privileged
def test_probes_on_configured_paths(pytester: pytest.Pytester, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``pytest probes/at_rest`` with a config naming real lab paths: each case ends as it
    really is (fscrypt passes, plain fails, plain allowed passes)."""
    import contextlib

    not_a_worker(monkeypatch)

    root = str(tmp_path / "lab")
    with contextlib.ExitStack() as resources:
        cases = {c.target.name: c.target.path for c in storage.start(resources, root,
                                                                      size_mib=32)}
        config = tmp_path / "seawall.toml"
        config.write_text(
            f'[[at_rest.paths]]\npath = "{cases["fscrypt"]}"\nmechanism = "fscrypt"\n'
            f'[[at_rest.paths]]\npath = "{cases["plain"]}"\n'
            f'[[at_rest.paths]]\npath = "{root}/ext4"\nexpect = "plaintext_ok"\n')
        result = pytester.runpytest_subprocess(
            str(PROBES), "-p", "no:randomly", "-q", "-rA", f"--seawall-config={config}",
            f"--seawall-state-dir={tmp_path / 'state'}")
    out = result.stdout.str()
    assert result.parseoutcomes() == {"passed": 4, "failed": 2}, out
    assert f"FAIL [plaintext_on_medium] {cases['plain']}: canary read back" in out
    assert f"FAIL [no_encryption_layer] {cases['plain']}" in out


def test_deselected_suite_builds_no_lab(pytester: pytest.Pytester, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """``-m tls`` deselects at_rest: plan runs at collection, nothing is built."""
    not_a_worker(monkeypatch)
    before = set(Path("/sys/block").glob("loop*/loop/backing_file"))
    result = pytester.runpytest_subprocess(str(PROBES), "-p", "no:randomly", "-q", "-m", "tls",
                                           f"--seawall-state-dir={tmp_path / 'state'}")
    assert "deselected" in result.stdout.str()
    assert set(Path("/sys/block").glob("loop*/loop/backing_file")) == before
    images = Path(storage.ROOT, "images")
    assert not images.is_dir() or not list(images.glob(f"seawall-{os.getpid()}-*"))
