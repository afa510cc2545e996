"""The storage stack under a path: ``/proc/self/mountinfo``, then ``/sys/dev/block``.

:func:`describe` finds the mount holding a path and walks its block device down
(partitions to their disk, ``loop/backing_file``, ``dm/uuid`` and ``slaves/``) to the
*medium*: the device whose bytes a canary read must inspect. An encrypting FUSE mount
whose source is a directory (gocryptfs shows its cipher directory there) is followed
to the file system under that directory. tmpfs, overlay and network mounts are
recognised by type and have no medium we can read.

``sysfs`` and ``devdir`` are parameters so dm-crypt chains, which need device-mapper
(absent on the test machine), can be exercised on a sysfs-like fixture tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from seawall.at_rest.facts import Layer

NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre",
              "afs", "fuse.sshfs", "fuse.s3fs", "fuse.rclone", "virtiofs"}
MEMORY_FS = {"tmpfs", "ramfs", "devtmpfs", "proc", "sysfs", "cgroup2", "devpts", "mqueue"}
#: FUSE/stacked file systems that encrypt by design: a hint the canary must confirm.
ENCRYPTING_FS = {"fuse.gocryptfs", "fuse.encfs", "fuse.cryfs", "fuse.securefs",
                 "fuse.cryptomator", "ecryptfs"}
NOT_ENCRYPTING_DM = ("CRYPT-VERITY-", "CRYPT-INTEGRITY-", "CRYPT-SUBDEV-")


@dataclass(frozen=True, kw_only=True)
class Mount:
    """One line of mountinfo."""

    mountpoint: str
    fstype: str
    source: str
    dev: str  # "maj:min"
    root: str = "/"
    options: str = ""


@dataclass(frozen=True, kw_only=True)
class Stack:
    """The stack of one path: its mount, the layers, the medium and how to read it.

    ``medium`` is the device (or image) path to read, or "" when there is none we can
    read (``why_not`` says why). ``one_to_one`` is true when file system offsets
    (FIEMAP) are offsets on the medium (no dm layer in between). ``lower`` is the stack
    of the directory under an encrypting FUSE/stacked mount; ``upper_device`` the file
    system's own device when the medium lies below a dm layer (a control read there
    must find the canary).
    """

    path: str
    mount: Mount
    layers: tuple[Layer, ...]
    medium: str = ""
    one_to_one: bool = False
    upper_device: str = ""
    lower: Stack | None = None
    why_not: str = ""
    dm_layers: tuple[Layer, ...] = field(default=())


def _unescape(text: str) -> str:
    return (text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def read_mountinfo(path: str = "/proc/self/mountinfo") -> list[Mount]:
    """Parse mountinfo (proc(5)); later lines shadow earlier ones on the same point."""
    mounts = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            left, _, right = line.rstrip("\n").partition(" - ")
            a, b = left.split(" "), right.split(" ")
            if len(a) < 6 or len(b) < 2:
                continue
            mounts.append(Mount(mountpoint=_unescape(a[4]), root=_unescape(a[3]), dev=a[2],
                                options=a[5], fstype=b[0], source=_unescape(b[1])))
    return mounts


def mount_of(path: str, mounts: list[Mount]) -> Mount:
    """The mount holding ``path`` (resolved): the longest mount point prefix, the last
    mounted one on ties. Raises FileNotFoundError when ``path`` does not exist."""
    real = os.path.realpath(path)
    os.stat(real)
    best: Mount | None = None
    for m in mounts:
        mp = m.mountpoint
        inside = real == mp or real.startswith(mp.rstrip("/") + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mountpoint)):
            best = m
    if best is None:
        raise FileNotFoundError(f"no mount holds {real}")
    return best


def block_chain(dev: str, *, sysfs: str = "/sys", devdir: str = "/dev") -> list[Layer]:
    """Layers of block device ``maj:min`` downwards (top first), following partitions to
    their disk, loop devices to their backing file and dm devices to their slaves."""
    base = os.path.realpath(os.path.join(sysfs, "dev", "block", dev))
    if not os.path.isdir(base):
        return []
    return _walk(base, sysfs=sysfs, devdir=devdir, depth=0)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _walk(base: str, *, sysfs: str, devdir: str, depth: int) -> list[Layer]:
    name = os.path.basename(base)
    detail: dict[str, object] = {"dev": _read(os.path.join(base, "dev")),
                                 "node": os.path.join(devdir, name)}
    if depth > 16:
        return []
    if os.path.exists(os.path.join(base, "partition")):
        disk = os.path.dirname(base)
        layer = Layer(kind="partition", name=name, detail=dict(detail))
        return [layer, *_walk(disk, sysfs=sysfs, devdir=devdir, depth=depth + 1)]
    backing = _read(os.path.join(base, "loop", "backing_file"))
    if backing:
        detail["backing_file"] = backing
        detail["offset"] = int(_read(os.path.join(base, "loop", "offset")) or 0)
        return [Layer(kind="loop", name=name, detail=detail)]
    uuid = _read(os.path.join(base, "dm", "uuid"))
    if os.path.isdir(os.path.join(base, "dm")):
        detail.update(uuid=uuid, dm_name=_read(os.path.join(base, "dm", "name")))
        layers = [Layer(kind="dm", name=name, detail=detail)]
        slaves = os.path.join(base, "slaves")
        for slave in sorted(os.listdir(slaves)) if os.path.isdir(slaves) else []:
            target = os.path.realpath(os.path.join(slaves, slave))
            layers += _walk(target, sysfs=sysfs, devdir=devdir, depth=depth + 1)
        return layers
    return [Layer(kind="disk", name=name, detail=detail)]


def describe(path: str, *, mounts: list[Mount] | None = None, sysfs: str = "/sys",
             devdir: str = "/dev") -> Stack:
    """The stack under ``path``. Raises FileNotFoundError for a missing path."""
    mounts = read_mountinfo() if mounts is None else mounts
    mount = mount_of(path, mounts)
    top = Layer(kind=_mount_kind(mount), name=mount.mountpoint,
                detail={"fstype": mount.fstype, "source": mount.source, "dev": mount.dev})
    if mount.fstype.startswith("fuse") or mount.fstype == "ecryptfs":
        lower = None
        if mount.fstype in ENCRYPTING_FS and os.path.isdir(mount.source):
            lower = describe(mount.source, mounts=mounts, sysfs=sysfs, devdir=devdir)
        if lower is None or not lower.medium:
            why = lower.why_not if lower else f"{mount.fstype} has no readable lower directory"
            return Stack(path=path, mount=mount, layers=(top,), lower=lower, why_not=why)
        return Stack(path=path, mount=mount, layers=(top, *lower.layers), lower=lower,
                     medium=lower.medium, one_to_one=False)
    chain = block_chain(mount.dev, sysfs=sysfs, devdir=devdir) if top.kind == "mount" else []
    if not chain:
        why = f"{mount.fstype} at {mount.mountpoint} is not on a block device we can read"
        return Stack(path=path, mount=mount, layers=(top,), why_not=why)
    dms = tuple(layer for layer in chain if layer.kind == "dm")
    if not dms:  # the file system's own device: FIEMAP offsets are offsets on it
        return Stack(path=path, mount=mount, layers=(top, *chain),
                     medium=str(chain[0].detail["node"]), one_to_one=True)
    return Stack(path=path, mount=mount, layers=(top, *chain),
                 medium=str(chain[-1].detail["node"]), one_to_one=False,
                 upper_device=str(chain[0].detail["node"]), dm_layers=dms)


def _mount_kind(mount: Mount) -> str:
    if mount.fstype in NETWORK_FS:
        return "network"
    if mount.fstype in MEMORY_FS:
        return "tmpfs"
    if mount.fstype == "overlay":
        return "overlay"
    if mount.fstype.startswith("fuse") or mount.fstype == "ecryptfs":
        return "fuse"
    return "mount"
