"""The storage lab: real encrypted and plain file systems on a loop-mounted ext4 image.

Built as root by :func:`start` (never at import or plan time)::

    <root>/images/seawall-<pid>-<hex>.img   ext4 -O encrypt, 4 KiB blocks, on /dev/loopN
    <root>/ext4/                            its mount point
    <root>/ext4/secret                      fscrypt v2 directory (random 64-byte key, ioctls)
    <root>/ext4/plain                       plain directory (deliberately broken: expects encrypted)
    <root>/ext4/gocryptfs.cipher            gocryptfs cipher directory (random password)
    <root>/gocryptfs                        its FUSE mount (when the gocryptfs binary exists)

Every step registers its undo on the caller's ExitStack as soon as it is done, so a
failure, Ctrl-C or SIGTERM half-way tears down exactly what exists. :func:`sweep`
removes what a dead run left behind (images carry the run's pid). LUKS header files
for tests come from :func:`luks_file` (``cryptsetup luksFormat`` on a plain file, no
device-mapper needed).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from seawall.at_rest import fscrypt, stack
from seawall.targets import DataPath

ROOT = "/run/seawall-lab/at_rest"
SIZE_MIB = 64


class LabError(RuntimeError):
    """The lab could not be built (a tool is missing or failed); the message says which."""


@dataclass(frozen=True, kw_only=True)
class LabCase:
    """One lab data path with the promise it is probed against and what it really is."""

    target: DataPath
    expect: str
    mechanism: str
    really: str


def catalogue(root: str = ROOT, *, gocryptfs: bool | None = None) -> tuple[LabCase, ...]:
    """The lab's static cases (cheap, no side effects): ids are deterministic paths."""
    has_gocryptfs = shutil.which("gocryptfs") is not None if gocryptfs is None else gocryptfs
    cases = [
        LabCase(target=DataPath(path=f"{root}/ext4/secret", name="fscrypt"),
                expect="encrypted", mechanism="fscrypt", really="fscrypt v2, AES-256-XTS"),
        LabCase(target=DataPath(path=f"{root}/ext4/plain", name="plain"),
                expect="encrypted", mechanism="any", really="plaintext (deliberately broken)"),
    ]
    if has_gocryptfs:
        cases.append(LabCase(target=DataPath(path=f"{root}/gocryptfs", name="gocryptfs"),
                             expect="encrypted", mechanism="fuse", really="gocryptfs over ext4"))
    return tuple(cases)


def _run(*argv: str, timeout: float = 60) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout.strip()


def _quiet(*argv: str) -> None:
    with contextlib.suppress(LabError):
        _run(*argv, timeout=30)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unmount(path: str) -> None:
    """Unmount ``path`` if mounted (lazily when busy)."""
    if any(m.mountpoint == path for m in stack.read_mountinfo()):
        try:
            _run("umount", path, timeout=30)
        except LabError:
            _quiet("umount", "-l", path)


def _detach(image: str) -> None:
    """Detach every loop device backed by ``image``."""
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        if backing.read_text().strip().removesuffix(" (deleted)") == image:
            _quiet("losetup", "-d", f"/dev/{backing.parent.parent.name}")


def sweep(root: str = ROOT) -> list[str]:
    """Remove what dead runs left under ``root``: mounts, loop devices, images.
    Returns the images removed. A live run's lab is left alone."""
    images = Path(root, "images")
    stale = [p for p in images.glob("seawall-*.img")
             if not _pid_alive(int(p.name.split("-")[1]))] if images.is_dir() else []
    if stale:
        for mount in sorted((m.mountpoint for m in stack.read_mountinfo()
                             if m.mountpoint.startswith(root + "/")), key=len, reverse=True):
            _unmount(mount)
        for image in stale:
            _detach(str(image))
            image.unlink(missing_ok=True)
    return [str(p) for p in stale]


def start(resources: contextlib.ExitStack, root: str = ROOT, *,
          size_mib: int = SIZE_MIB, gocryptfs: bool = True) -> tuple[LabCase, ...]:
    """Build the lab under ``root``; every undo goes on ``resources``. Needs root.
    Raises LabError when a step fails (what was built is still torn down)."""
    sweep(root)
    mnt, images = f"{root}/ext4", f"{root}/images"
    if any(m.mountpoint in (mnt, f"{root}/gocryptfs") for m in stack.read_mountinfo()):
        raise LabError(f"{root} is in use by a live run (pid files in {images})")
    os.makedirs(images, exist_ok=True)
    image = f"{images}/seawall-{os.getpid()}-{secrets.token_hex(3)}.img"
    resources.callback(Path(image).unlink, missing_ok=True)
    with open(image, "wb") as fh:
        fh.truncate(size_mib * 1024 * 1024)
    _run("mkfs.ext4", "-q", "-F", "-b", "4096", "-m", "0", "-O", "encrypt", image)
    loop = _run("losetup", "--find", "--show", image)
    resources.callback(_quiet, "losetup", "-d", loop)
    os.makedirs(mnt, exist_ok=True)
    resources.callback(_rmdir, mnt)
    _run("mount", "-t", "ext4", loop, mnt)
    resources.callback(_unmount, mnt)
    key_id = fscrypt.add_key(mnt, secrets.token_bytes(64))
    resources.callback(_forget_key, mnt, key_id)
    os.mkdir(f"{mnt}/secret", 0o700)
    fscrypt.set_policy_v2(f"{mnt}/secret", key_id)
    os.mkdir(f"{mnt}/plain", 0o700)
    cases = catalogue(root, gocryptfs=gocryptfs and shutil.which("gocryptfs") is not None)
    if any(c.target.name == "gocryptfs" for c in cases):
        _start_gocryptfs(resources, f"{mnt}/gocryptfs.cipher", f"{root}/gocryptfs", root)
    return cases


def _rmdir(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _forget_key(mnt: str, key_id: bytes) -> None:
    with contextlib.suppress(OSError):
        fscrypt.remove_key(mnt, key_id)


def _start_gocryptfs(resources: contextlib.ExitStack, cipher: str, mnt: str, root: str) -> None:
    """Init a cipher dir with a random password and mount it with a gocryptfs we own."""
    os.mkdir(cipher, 0o700)
    os.makedirs(mnt, exist_ok=True)
    resources.callback(_rmdir, mnt)
    passfile = f"{root}/.pass-{os.getpid()}-{secrets.token_hex(3)}"
    fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_urlsafe(32).encode() + b"\n")
    finally:
        os.close(fd)
    try:
        # scryptn 10: the lab's password is random, key stretching buys nothing here.
        _run("gocryptfs", "-q", "-init", "-scryptn", "10", "-passfile", passfile, cipher)
        proc = subprocess.Popen(
            ["gocryptfs", "-fg", "-nosyslog", "-q", "-passfile", passfile, cipher, mnt],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        resources.callback(_stop, proc, mnt)
        deadline = time.monotonic() + 15
        while not any(m.mountpoint == mnt for m in stack.read_mountinfo()):
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise LabError(f"gocryptfs did not mount {mnt}: {err.strip() or 'timeout'}")
            time.sleep(0.05)
    finally:
        os.unlink(passfile)


def _stop(proc: subprocess.Popen[bytes], mnt: str) -> None:
    """Unmount a gocryptfs we started and reap it (kill if it will not go)."""
    if any(m.mountpoint == mnt for m in stack.read_mountinfo()):
        _quiet("fusermount", "-u", mnt) if shutil.which("fusermount") else None
        _unmount(mnt)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    if proc.stderr:
        proc.stderr.close()


def luks_file(path: str, *, version: int = 2, plaintext_init: bool = False,
              size_mib: int = 64, data: bytes = b"") -> str:
    """A file with a real LUKS header made by cryptsetup (random key, fast PBKDF).

    ``data`` is written at 3/8 of the file first (where it stays after an
    ``--init-only`` reencryption, which moves only the file's head to its tail). With
    ``plaintext_init``, ``cryptsetup reencrypt --encrypt --init-only`` writes a LUKS2
    header while the data stays plaintext; otherwise ``luksFormat`` does.
    """
    with open(path, "wb") as fh:
        fh.truncate(size_mib * 1024 * 1024)
        fh.seek(size_mib * 1024 * 1024 * 3 // 8)
        fh.write(data)
    keyfile = f"{path}.key"
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(secrets.token_bytes(32))
    kdf = ["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"]
    try:
        if plaintext_init:
            _run("cryptsetup", "reencrypt", "--encrypt", "--init-only", "-q", "--type",
                 "luks2", "--key-file", keyfile, *kdf, "--reduce-device-size",
                 f"{size_mib // 2}M", path)
        else:
            _run("cryptsetup", "luksFormat", "-q", "--type", f"luks{version}",
                 "--key-file", keyfile, *kdf, path)
    finally:
        os.unlink(keyfile)
    return path
