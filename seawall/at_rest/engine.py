"""Gathers :class:`DataPathFacts` for data paths, concurrently (trio, blocking I/O in
worker threads): stack, mechanisms, then the canary proof with its control.

:func:`classify` is the one place that looks at errno values and trio exceptions.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

import trio

from seawall.at_rest import canary, fscrypt, luks, stack
from seawall.at_rest.facts import (
    AtRestReason,
    CanaryFacts,
    DataPathFacts,
    Mechanism,
    MechanismFact,
    ProbeRead,
)
from seawall.at_rest.policy import DataPathPolicy
from seawall.reasons import Reason
from seawall.targets import DataPath


def classify(exc: BaseException) -> Reason | AtRestReason:
    """The reason an attempt to look failed."""
    if isinstance(exc, trio.TooSlowError):
        return Reason.TIMEOUT
    if isinstance(exc, FileNotFoundError):
        return AtRestReason.PATH_MISSING
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Reason.NOT_PERMITTED
    if isinstance(exc, OSError | luks.LuksFormatError):
        return Reason.UNKNOWN_ERROR
    return Reason.PROBE_CRASHED


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def mechanisms(path: str, st: stack.Stack) -> tuple[tuple[MechanismFact, ...], tuple[str, ...]]:
    """Mechanisms found in the stack of ``path``, and notes on what could not be read."""
    found: list[MechanismFact] = []
    notes: list[str] = []
    for layer in st.dm_layers:
        uuid = str(layer.detail.get("uuid", ""))
        if not uuid.startswith("CRYPT-"):
            continue
        encrypts = not uuid.startswith(stack.NOT_ENCRYPTING_DM)
        found.append(MechanismFact(kind=Mechanism.DM_CRYPT, layer=layer.name, encrypts=encrypts,
                                   detail={"type": uuid.split("-")[1], "uuid": uuid}))
        if uuid.startswith(("CRYPT-LUKS1-", "CRYPT-LUKS2-")):
            found.extend(_luks_below(layer.name, st, notes))
    try:
        pol = fscrypt.get_policy(path)
    except OSError as exc:
        pol = None
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
            notes.append(f"fscrypt policy unreadable: {_why(exc)}")
    if pol is not None:
        found.append(MechanismFact(kind=Mechanism.FSCRYPT, layer=st.mount.mountpoint,
                                   encrypts=True, detail=pol.to_json(),
                                   uncovered=pol.uncovered))
    if st.mount.fstype in stack.ENCRYPTING_FS:
        found.append(MechanismFact(
            kind=Mechanism.FUSE, layer=st.mount.mountpoint, encrypts=True, hint=True,
            detail={"fstype": st.mount.fstype, "source": st.mount.source},
            uncovered=("file sizes (rounded)", "directory layout", "timestamps")))
    return tuple(found), tuple(notes)


def _luks_below(dm_name: str, st: stack.Stack, notes: list[str]) -> list[MechanismFact]:
    out = []
    names = [layer.name for layer in st.layers]
    for layer in st.layers[names.index(dm_name) + 1:]:
        if layer.kind == "dm":
            break
        node = str(layer.detail.get("node", ""))
        try:
            header = luks.read_header(node)
        except (OSError, luks.LuksFormatError) as exc:
            notes.append(f"LUKS header on {node} unreadable: {_why(exc)}")
            continue
        if header is not None:
            out.append(MechanismFact(kind=Mechanism.LUKS, layer=layer.name,
                                     encrypts=header.encrypts, detail=header.to_json()))
            break
    return out


def _look(medium: str, written: str, data: bytes, *, targeted: bool,
          limit: int | None) -> ProbeRead:
    """Locate ``written`` (fsynced, holding ``data``) on ``medium``."""
    needle = data[:canary.NEEDLE]
    extents = canary.fiemap(written) if targeted else None
    if extents and all(e.locatable for e in extents):
        hit, cost = canary.read_extents(medium, extents, needle)
        method = "fiemap"
    else:
        hit, cost = canary.scan(medium, needle, limit=limit)
        method = "scan"
    return ProbeRead(written_in=os.path.dirname(written), medium=medium, method=method,
                     found=hit is not None, offset=hit, bytes_read=cost)


def prove(path: str, st: stack.Stack, policy: DataPathPolicy, *, prefix: str) -> CanaryFacts:
    """Write a canary through ``path`` and a control beside it, look for both on the
    medium, remove both. Never raises for an expected failure: the ProbeReads say why."""
    if not st.medium:
        return CanaryFacts(canary=ProbeRead(written_in=path, medium="", reason=str(
            AtRestReason.MEDIUM_OUT_OF_REACH), detail=st.why_not), control=None)
    try:
        os.close(os.open(st.medium, os.O_RDONLY | os.O_CLOEXEC))
    except OSError as exc:
        return CanaryFacts(canary=ProbeRead(written_in=path, medium=st.medium,
                                            reason=str(classify(exc)), detail=_why(exc)),
                           control=None)
    cleanup: list[Callable[[], None]] = []
    try:
        return _prove(path, st, policy, prefix=prefix, cleanup=cleanup)
    finally:
        for undo in reversed(cleanup):
            with contextlib.suppress(OSError):
                undo()


def _prove(path: str, st: stack.Stack, policy: DataPathPolicy, *, prefix: str,
           cleanup: list[Callable[[], None]]) -> CanaryFacts:
    data = canary.fresh()
    try:
        written = canary.plant(path, data, prefix=prefix)
    except OSError as exc:
        return CanaryFacts(canary=_failed(path, st.medium, exc), control=None)
    cleanup.append(lambda: canary.remove(written))
    limit = policy.max_scan_bytes
    if st.upper_device:  # dm below the file system: the canary must show above the dm layer
        try:
            seen = _look(st.medium, written, data, targeted=False, limit=limit)
        except OSError as exc:
            seen = _failed(path, st.medium, exc)
        try:
            control = _look(st.upper_device, written, data, targeted=True, limit=limit)
        except OSError as exc:
            control = _failed(path, st.upper_device, exc)
        return CanaryFacts(canary=seen, control=control)
    planted = _plant_control(st, policy, prefix=prefix, cleanup=cleanup)
    extents = canary.fiemap(written) if st.one_to_one else None
    try:
        if extents and all(e.locatable for e in extents):
            seen = _look(st.medium, written, data, targeted=True, limit=limit)
            if isinstance(planted, ProbeRead):
                return CanaryFacts(canary=seen, control=planted)
            ctl_written, ctl_data = planted
            return CanaryFacts(canary=seen, control=_look(st.medium, ctl_written, ctl_data,
                                                          targeted=True, limit=limit))
        return _scan_both(path, st, data, planted, limit=limit)
    except OSError as exc:
        failed = _failed(path, st.medium, exc)
        return CanaryFacts(canary=failed, control=failed)


def _scan_both(path: str, st: stack.Stack, data: bytes, planted: tuple[str, bytes] | ProbeRead,
               *, limit: int | None) -> CanaryFacts:
    """One pass over the medium for the canary and its control (FUSE: no FIEMAP)."""
    needles: tuple[bytes, ...] = (data[:canary.NEEDLE],)
    if not isinstance(planted, ProbeRead):
        needles += (planted[1][:canary.NEEDLE],)
    hits, cost = canary.scan_many(st.medium, needles, limit=limit)
    seen = ProbeRead(written_in=path, medium=st.medium, method="scan",
                     found=hits[0] is not None, offset=hits[0], bytes_read=cost)
    if isinstance(planted, ProbeRead):
        return CanaryFacts(canary=seen, control=planted)
    control = ProbeRead(written_in=os.path.dirname(planted[0]), medium=st.medium,
                        method="scan", found=hits[1] is not None, offset=hits[1],
                        bytes_read=cost, detail="same pass as the canary")
    return CanaryFacts(canary=seen, control=control)


def _failed(where: str, medium: str, exc: OSError) -> ProbeRead:
    return ProbeRead(written_in=where, medium=medium, reason=str(classify(exc)),
                     detail=_why(exc))


def _plant_control(st: stack.Stack, policy: DataPathPolicy, *, prefix: str,
                   cleanup: list[Callable[[], None]]) -> tuple[str, bytes] | ProbeRead:
    """The positive control: a canary in a plaintext directory on the same medium
    (configured, or made at the root of the file system on the medium). Returns the
    file and its data, or a ProbeRead saying why there is no usable control."""
    base = st.lower.mount.mountpoint if st.lower else st.mount.mountpoint
    directory = policy.control
    try:
        if directory is None:
            directory = os.path.join(base, f".{prefix}-{secrets.token_hex(3)}-control")
            os.mkdir(directory, 0o700)
            cleanup.append(lambda: os.rmdir(str(directory)))
        ctl_stack = stack.describe(directory)
        if ctl_stack.medium != st.medium or fscrypt_policy(directory):
            return ProbeRead(written_in=directory, medium=ctl_stack.medium, found=False,
                             detail="control is not plaintext on the same medium")
        ctl_data = canary.fresh()
        ctl_written = canary.plant(directory, ctl_data, prefix=prefix)
        cleanup.append(lambda: canary.remove(ctl_written))
        return ctl_written, ctl_data
    except OSError as exc:
        return _failed(str(directory), st.medium, exc)


def fscrypt_policy(path: str) -> bool:
    """Whether ``path`` has an fscrypt policy (errors: no)."""
    try:
        return fscrypt.get_policy(path) is not None
    except OSError:
        return False


def inspect(target: DataPath, policy: DataPathPolicy, *, prefix: str,
            clock: Callable[[], float] = time.time, sysfs: str = "/sys",
            devdir: str = "/dev") -> DataPathFacts:
    """All facts about one path (blocking; run in a worker thread). Never raises."""
    observed = clock()
    try:
        st = stack.describe(target.path, sysfs=sysfs, devdir=devdir)
        found, notes = mechanisms(target.path, st)
        proof = prove(target.path, st, policy, prefix=prefix) if policy.canary else None
    except Exception as exc:
        return DataPathFacts(path=target.path, observed_at=observed,
                             reason=str(classify(exc)), detail=_why(exc))
    return DataPathFacts(path=target.path, observed_at=observed, stack=st.layers,
                         mechanisms=found, canary=proof, notes=notes)


def gather(targets: Sequence[DataPath], policies: Mapping[str, DataPathPolicy], *,
           prefix: str | None = None, concurrency: int = 2,
           clock: Callable[[], float] = time.time) -> dict[str, DataPathFacts]:
    """Facts for every target, looked at concurrently (at most ``concurrency`` at once:
    full scans compete for the same disks), each within its policy's timeout."""
    prefix = prefix or f"seawall-{os.getpid()}-{secrets.token_hex(3)}"
    results: dict[str, DataPathFacts] = {}

    async def one(target: DataPath, limiter: trio.CapacityLimiter) -> None:
        policy = policies[target.id]
        try:
            with trio.fail_after(policy.timeout):
                results[target.id] = await trio.to_thread.run_sync(
                    lambda: inspect(target, policy, prefix=prefix, clock=clock),
                    abandon_on_cancel=True, limiter=limiter)
        except trio.TooSlowError as exc:
            results[target.id] = DataPathFacts(
                path=target.path, observed_at=clock(), reason=str(classify(exc)),
                detail=f"no answer within {policy.timeout:g} s")

    async def main() -> None:
        limiter = trio.CapacityLimiter(concurrency)
        async with trio.open_nursery() as nursery:
            for target in targets:
                nursery.start_soon(one, target, limiter)

    trio.run(main)
    return results
