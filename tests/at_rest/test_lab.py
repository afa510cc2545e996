"""The canary proof on real encrypted file systems: an ext4 loop image with an fscrypt v2
directory and a plain one, and a gocryptfs mount; each case reports what it really is."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from seawall.at_rest import engine, fscrypt, rules, stack
from seawall.at_rest.facts import AtRestReason, Mechanism
from seawall.at_rest.policy import DataPathPolicy
from seawall.lab import storage
from seawall.model import Outcome
from seawall.reasons import Reason
from seawall.targets import DataPath

pytestmark = pytest.mark.privileged
Lab = tuple[str, dict[str, storage.LabCase]]


def look(case: storage.LabCase, policy: DataPathPolicy | None = None):  # type: ignore[no-untyped-def]
    policy = policy or DataPathPolicy(mechanism=None)
    return engine.gather([case.target], {case.target.id: policy})[case.target.id]


def leftovers(directory: str) -> list[str]:
    return [n for n in os.listdir(directory) if n.startswith(".seawall")]


def test_fscrypt_directory_passes(lab: Lab) -> None:
    root, cases = lab
    facts = look(cases["fscrypt"])
    finding = rules.encrypted(facts, DataPathPolicy(mechanism=Mechanism.FSCRYPT), 1.0)
    assert finding.outcome is Outcome.PASS, finding.summary
    assert facts.canary and facts.canary.canary.method == "fiemap"
    assert facts.canary.canary.bytes_read <= 8192  # a targeted read costs a few KiB
    assert facts.canary.control and facts.canary.control.found is True
    [mech] = facts.mechanisms
    assert mech.kind is Mechanism.FSCRYPT and mech.detail["contents_mode"] == "AES-256-XTS"
    assert "xattrs" in mech.uncovered  # metadata fscrypt leaves in plaintext: noted
    assert rules.mechanism(facts, DataPathPolicy(mechanism=Mechanism.FSCRYPT), 1.0).outcome \
        is Outcome.PASS
    assert leftovers(cases["fscrypt"].target.path) == [] and leftovers(f"{root}/ext4") == []


def test_plain_directory_fails_with_the_canary_found(lab: Lab) -> None:
    _, cases = lab
    facts = look(cases["plain"])
    finding = rules.encrypted(facts, DataPathPolicy(), 1.0)
    assert finding.outcome is Outcome.FAIL
    assert finding.reason == AtRestReason.PLAINTEXT_ON_MEDIUM
    assert "canary read back in plaintext from /dev/loop" in finding.summary
    assert finding.metrics["at_rest.canary.found"] == 1.0
    mech = rules.mechanism(facts, DataPathPolicy(), 1.0)
    assert mech.reason == AtRestReason.NO_ENCRYPTION_LAYER
    ok = rules.encrypted(facts, DataPathPolicy(expect_encrypted=False), 1.0)
    assert ok.outcome is Outcome.PASS and "canary readable" in ok.summary
    assert leftovers(cases["plain"].target.path) == []


def test_gocryptfs_mount_passes_by_full_scan(lab: Lab) -> None:
    _, cases = lab
    if "gocryptfs" not in cases:
        pytest.skip("gocryptfs is not installed")
    facts = look(cases["gocryptfs"])
    finding = rules.encrypted(facts, DataPathPolicy(mechanism=Mechanism.FUSE), 1.0)
    assert finding.outcome is Outcome.PASS, finding.summary
    assert facts.canary and facts.canary.canary.method == "scan"
    assert facts.canary.control and facts.canary.control.method == "scan"
    assert [layer.kind for layer in facts.stack][:3] == ["fuse", "mount", "loop"]
    assert facts.mechanisms[0].hint and "confirmed by the canary" in finding.summary
    wrong = rules.mechanism(facts, DataPathPolicy(mechanism=Mechanism.FSCRYPT), 1.0)
    assert wrong.reason == AtRestReason.MECHANISM_MISMATCH


def test_control_on_another_medium_is_inconclusive(lab: Lab, tmp_path: Path) -> None:
    _, cases = lab
    policy = DataPathPolicy(control=str(tmp_path))  # the root file system, not the image
    finding = rules.encrypted(look(cases["fscrypt"], policy), policy, 1.0)
    assert finding.outcome is Outcome.ERROR
    assert finding.reason == Reason.CONTROL_FAILED
    assert "not plaintext on the same medium" in finding.summary


def test_encrypted_control_is_inconclusive(lab: Lab) -> None:
    _, cases = lab
    policy = DataPathPolicy(control=cases["fscrypt"].target.path)
    facts = look(cases["fscrypt"], policy)
    finding = rules.encrypted(facts, policy, 1.0)
    assert finding.outcome is Outcome.ERROR and finding.reason == Reason.CONTROL_FAILED


def test_missing_path_is_an_error(lab: Lab) -> None:
    root, _ = lab
    target = DataPath(path=f"{root}/ext4/nope")
    facts = engine.gather([target], {target.id: DataPathPolicy()})[target.id]
    finding = rules.encrypted(facts, DataPathPolicy(), 1.0)
    assert finding.outcome is Outcome.ERROR and finding.reason == AtRestReason.PATH_MISSING


def test_unprivileged_look_reports_stack_only(lab: Lab) -> None:
    """As nobody: the raw device cannot be read, so stack and mechanisms only (warn)."""
    root, cases = lab
    plain = cases["plain"].target.path
    os.chmod(plain, 0o777)
    os.chmod(f"{root}/ext4", 0o755)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to nobody and looks
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            # inspect, not gather: trio's thread cache does not survive a fork
            facts = engine.inspect(DataPath(path=plain), DataPathPolicy(), prefix="seawall-t")
            out = [rules.encrypted(facts, DataPathPolicy(), 1.0).to_json(),
                   rules.encrypted(facts, DataPathPolicy(unprivileged=Outcome.ERROR),
                                   1.0).to_json()]
            os.write(write, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    warn, error = json.loads(data)
    assert (warn["outcome"], warn["reason"]) == ("warn", "stack_only")
    assert (error["outcome"], error["reason"]) == ("error", "stack_only")
    assert "not_permitted" in warn["summary"]
    assert leftovers(plain) == []


def test_fscrypt_policy_ioctl(lab: Lab) -> None:
    _, cases = lab
    policy = fscrypt.get_policy(cases["fscrypt"].target.path)
    assert policy is not None and policy.version == 2 and len(policy.key_id) == 32
    assert fscrypt.get_policy(cases["plain"].target.path) is None
    with pytest.raises(OSError) as info:
        fscrypt.get_policy("/proc/self")
    assert engine.classify(info.value) == Reason.UNKNOWN_ERROR


def test_teardown_removes_everything_also_on_failure(tmp_path: Path) -> None:
    root = str(tmp_path / "lab")
    with pytest.raises(RuntimeError, match="boom"), contextlib.ExitStack() as resources:
        storage.start(resources, root, size_mib=32)
        image = next(Path(root, "images").glob("seawall-*.img"))
        raise RuntimeError("boom")
    assert not any(m.mountpoint.startswith(root) for m in stack.read_mountinfo())
    assert not image.exists()
    backing = [p.read_text().strip() for p in Path("/sys/block").glob("loop*/loop/backing_file")]
    assert str(image) not in backing
    assert subprocess.run(["pgrep", "-f", f"gocryptfs.*{root}"], check=False).returncode == 1


def test_sweep_removes_what_a_dead_run_left(tmp_path: Path) -> None:
    root = str(tmp_path / "lab")
    child = subprocess.Popen(["true"])
    child.wait()
    os.makedirs(f"{root}/images")
    image = f"{root}/images/seawall-{child.pid}-abcdef.img"
    with open(image, "wb") as fh:
        fh.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
    loop = subprocess.run(["losetup", "--find", "--show", image], check=True,
                          capture_output=True, text=True).stdout.strip()
    os.makedirs(f"{root}/ext4")
    subprocess.run(["mount", loop, f"{root}/ext4"], check=True)
    assert storage.sweep(root) == [image]
    assert not os.path.exists(image)
    assert not any(m.mountpoint.startswith(root) for m in stack.read_mountinfo())
    backing = [p.read_text().strip() for p in Path("/sys/block").glob("loop*/loop/backing_file")]
    assert not any(b.startswith(image) for b in backing)
    assert loop.startswith("/dev/loop")


def test_this_machines_own_disk_is_plaintext(tmp_path: Path) -> None:
    """A directory on the unencrypted root disk of this machine: the canary is found,
    or, where the sandbox denies even root the raw disk (the test VM does: EPERM on
    /dev/vda), the probe says so and gives the weaker stack-only result."""
    target = DataPath(path=str(tmp_path))
    st = stack.describe(str(tmp_path))
    if not st.one_to_one or st.mount.fstype not in ("ext4", "xfs", "btrfs"):
        pytest.skip(f"tmp_path is on {st.mount.fstype}, not a plain block device")
    try:
        os.close(os.open(st.medium, os.O_RDONLY))
        readable = True
    except PermissionError:
        readable = False
    facts = engine.gather([target], {target.id: DataPathPolicy()})[target.id]
    finding = rules.encrypted(facts, DataPathPolicy(), 1.0)
    assert facts.canary is not None
    if readable:
        assert (finding.outcome, finding.reason) == (Outcome.FAIL,
                                                     AtRestReason.PLAINTEXT_ON_MEDIUM)
        assert facts.canary.canary.bytes_read <= 8192
    else:
        assert (finding.outcome, finding.reason) == (Outcome.WARN, AtRestReason.STACK_ONLY)
        assert facts.canary.canary.reason == Reason.NOT_PERMITTED
        assert "no encrypting layer" in finding.summary
    assert list(tmp_path.iterdir()) == []
    assert not [n for n in os.listdir(st.mount.mountpoint) if n.startswith(".seawall")]


def test_tmpfs_has_no_medium_to_read() -> None:
    target = DataPath(path="/dev/shm")
    facts = engine.gather([target], {target.id: DataPathPolicy()})[target.id]
    finding = rules.encrypted(facts, DataPathPolicy(), 1.0)
    assert (finding.outcome, finding.reason) == (Outcome.WARN,
                                                 AtRestReason.MEDIUM_OUT_OF_REACH)
    assert "tmpfs" in finding.summary
