"""The storage stack: mountinfo parsing and the /sys/dev/block walk.

device-mapper is absent on the test machine (no /dev/mapper, no dm_crypt), so dm-crypt
chains are walked on a sysfs-like fixture tree: the one stand-in these tests use. The
LUKS header under that fixture is a real one made by cryptsetup.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seawall.at_rest import engine, rules, stack
from seawall.at_rest.facts import AtRestReason, DataPathFacts, Mechanism
from seawall.at_rest.policy import DataPathPolicy
from seawall.lab import storage
from seawall.model import Outcome

MOUNTINFO = """\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 22 253:0 / /srv/data\\040dir rw - ext4 /dev/mapper/data rw
41 22 0:50 / /srv/data\\040dir/cache rw - tmpfs tmpfs rw
42 22 0:51 / /mnt/nfs rw - nfs4 server:/export rw
43 22 0:52 / /var/lib/docker/overlay rw - overlay overlay rw
"""


def sysfs_tree(root: Path, dm_uuid: str, slave_node: str = "") -> tuple[str, str]:
    """A sysfs-like tree: 253:0 is dm-0 (uuid ``dm_uuid``) over loop7 over an image."""
    devices = root / "sys" / "devices" / "virtual" / "block"
    dm = devices / "dm-0"
    (dm / "dm").mkdir(parents=True)
    (dm / "dm" / "uuid").write_text(dm_uuid + "\n")
    (dm / "dm" / "name").write_text("data\n")
    (dm / "dev").write_text("253:0\n")
    loop = devices / "loop7"
    (loop / "loop").mkdir(parents=True)
    (loop / "loop" / "backing_file").write_text("/var/lib/images/data.img\n")
    (loop / "dev").write_text("7:7\n")
    (dm / "slaves").mkdir()
    os.symlink(loop, dm / "slaves" / "loop7")
    byno = root / "sys" / "dev" / "block"
    byno.mkdir(parents=True)
    os.symlink(dm, byno / "253:0")
    os.symlink(loop, byno / "7:7")
    devdir = root / "dev"
    devdir.mkdir()
    if slave_node:
        os.symlink(slave_node, devdir / "loop7")
    return str(root / "sys"), str(devdir)


def test_mountinfo_unescapes_and_finds_the_longest_prefix(tmp_path: Path) -> None:
    (tmp_path / "mi").write_text(MOUNTINFO)
    mounts = stack.read_mountinfo(str(tmp_path / "mi"))
    assert mounts[1].mountpoint == "/srv/data dir"
    real = [stack.Mount(mountpoint="/", fstype="ext4", source="/dev/vda", dev="254:0"),
            stack.Mount(mountpoint=str(tmp_path), fstype="tmpfs", source="tmpfs", dev="0:9")]
    assert stack.mount_of(str(tmp_path / "mi"), real).fstype == "tmpfs"
    with pytest.raises(FileNotFoundError):
        stack.mount_of(str(tmp_path / "missing"), real)


def test_tmpfs_and_network_mounts_have_no_medium(tmp_path: Path) -> None:
    for fstype, kind in (("tmpfs", "tmpfs"), ("nfs4", "network"), ("overlay", "overlay")):
        mounts = [stack.Mount(mountpoint=str(tmp_path), fstype=fstype, source="x", dev="0:9")]
        st = stack.describe(str(tmp_path), mounts=mounts)
        assert st.layers[0].kind == kind and st.medium == ""
        assert "not on a block device" in st.why_not


def test_dm_crypt_chain_reads_below_the_dm_layer(tmp_path: Path) -> None:
    sysfs, devdir = sysfs_tree(tmp_path, "CRYPT-LUKS2-0123abcd-data")
    mounts = [stack.Mount(mountpoint=str(tmp_path), fstype="ext4", source="/dev/dm-0",
                          dev="253:0")]
    st = stack.describe(str(tmp_path), mounts=mounts, sysfs=sysfs, devdir=devdir)
    assert [layer.kind for layer in st.layers] == ["mount", "dm", "loop"]
    assert st.medium == f"{devdir}/loop7" and st.upper_device == f"{devdir}/dm-0"
    assert not st.one_to_one
    assert st.layers[2].detail["backing_file"] == "/var/lib/images/data.img"
    found, _ = engine.mechanisms(str(tmp_path), st)
    assert [(m.kind, m.encrypts) for m in found] == [(Mechanism.DM_CRYPT, True)]


@pytest.mark.parametrize("uuid", ["CRYPT-VERITY-0123-data", "CRYPT-INTEGRITY-0123-data",
                                  "CRYPT-SUBDEV-0123-data"])
def test_verity_integrity_subdev_do_not_encrypt(tmp_path: Path, uuid: str) -> None:
    sysfs, devdir = sysfs_tree(tmp_path, uuid)
    mounts = [stack.Mount(mountpoint=str(tmp_path), fstype="ext4", source="x", dev="253:0")]
    st = stack.describe(str(tmp_path), mounts=mounts, sysfs=sysfs, devdir=devdir)
    found, _ = engine.mechanisms(str(tmp_path), st)
    assert [(m.kind, m.encrypts) for m in found] == [(Mechanism.DM_CRYPT, False)]
    facts = DataPathFacts(path=str(tmp_path), observed_at=1.0, stack=st.layers,
                          mechanisms=found)
    finding = rules.mechanism(facts, DataPathPolicy(mechanism=Mechanism.DM_CRYPT), 1.0)
    assert finding.outcome is Outcome.FAIL
    assert finding.reason == AtRestReason.HEADER_WITHOUT_ENCRYPTION


@pytest.mark.privileged
def test_luks_header_under_dm_crypt_is_parsed(tmp_path: Path) -> None:
    image = storage.luks_file(str(tmp_path / "re.img"), plaintext_init=True)
    sysfs, devdir = sysfs_tree(tmp_path / "t", "CRYPT-LUKS2-0123abcd-data", image)
    mounts = [stack.Mount(mountpoint=str(tmp_path), fstype="ext4", source="x", dev="253:0")]
    st = stack.describe(str(tmp_path), mounts=mounts, sysfs=sysfs, devdir=devdir)
    found, notes = engine.mechanisms(str(tmp_path), st)
    assert notes == ()
    assert [(m.kind, m.encrypts) for m in found] == [(Mechanism.DM_CRYPT, True),
                                                      (Mechanism.LUKS, False)]
    facts = DataPathFacts(path=str(tmp_path), observed_at=1.0, stack=st.layers,
                          mechanisms=found)
    finding = rules.mechanism(facts, DataPathPolicy(mechanism=Mechanism.LUKS), 1.0)
    assert finding.outcome is Outcome.FAIL
    assert finding.reason == AtRestReason.HEADER_WITHOUT_ENCRYPTION
    assert "segment 0 is linear" in finding.summary
    good = storage.luks_file(str(tmp_path / "good.img"), size_mib=32)
    sysfs, devdir = sysfs_tree(tmp_path / "g", "CRYPT-LUKS2-0123abcd-data", good)
    st = stack.describe(str(tmp_path), mounts=mounts, sysfs=sysfs, devdir=devdir)
    found, _ = engine.mechanisms(str(tmp_path), st)
    facts = DataPathFacts(path=str(tmp_path), observed_at=1.0, stack=st.layers,
                          mechanisms=found)
    assert rules.mechanism(facts, DataPathPolicy(mechanism=Mechanism.LUKS), 1.0).outcome \
        is Outcome.PASS


def test_real_root_file_system_is_described() -> None:
    st = stack.describe("/")
    assert st.layers[0].name == "/"
    assert st.layers[0].detail["fstype"]
