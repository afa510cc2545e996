"""``netns``: Linux network namespaces, created with a run prefix or attached by name.

Created namespaces are named ``<prefix><fleet>.<name>`` (prefix ``sw<6 hex>-``) so a
later run can sweep what a killed run left behind (:func:`sweep_stale`). Wiring
(veth pairs, a bridge or a routing hub) belongs to whoever builds the fleet (the lab,
:mod:`seawall.lab.fleet`); this driver creates, enters, inspects and removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from seawall.errors import LocalProbeError
from seawall.runtime.base import Sandbox, run
from seawall.targets import SandboxSpec

PREFIX_RE = re.compile(r"^sw[0-9a-f]{6}-")
LOCK_DIR = Path("/run/seawall")
ETC_NETNS = Path("/etc/netns")  # `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc


class RunLock:
    """Marks a run prefix as alive: an flock held on ``/run/seawall/<prefix>.lock``.

    A prefix whose lock nobody holds belongs to a run that died: its namespaces are
    stale. Concurrent live runs (xdist workers, other suites) keep theirs."""

    def __init__(self, prefix: str) -> None:
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.path = LOCK_DIR / f"{prefix}.lock"
        self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        """Drop the lock and its file."""
        self.path.unlink(missing_ok=True)
        os.close(self._fd)


def _alive(prefix: str) -> bool:
    path = LOCK_DIR / f"{prefix}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)
    return False


def list_namespaces() -> list[str]:
    """Names of every network namespace known to ``ip netns``."""
    out = run(["ip", "-j", "netns", "list"], target="netns", check=False).strip()
    return [entry["name"] for entry in json.loads(out or "[]")]


def delete_namespace(name: str) -> None:
    """Kill every process in namespace ``name``, then delete it."""
    for pid in run(["ip", "netns", "pids", name], target=name, check=False).split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run(["ip", "netns", "delete", name], target=name, check=False)
    if PREFIX_RE.match(name):  # per-namespace /etc files (hosts, resolv.conf) we wrote
        shutil.rmtree(ETC_NETNS / name, ignore_errors=True)


def sweep_stale() -> list[str]:
    """Delete namespaces of runs that are no longer alive; their names."""
    swept = []
    for name in list_namespaces():
        match = PREFIX_RE.match(name)
        if match and not _alive(match.group(0)):
            delete_namespace(name)
            swept.append(name)
    return swept


class NetnsRuntime:
    """Network namespaces as sandboxes. ``prefix`` names what we create."""

    name = "netns"

    def __init__(self, prefix: str = "", *, python: str = sys.executable) -> None:
        self.prefix = prefix
        self.python = python

    def namespace(self, spec: SandboxSpec) -> str:
        """The namespace of ``spec``: the attached one, or ``<prefix><id>``."""
        return spec.namespace or f"{self.prefix}{spec.id}"

    def create(self, spec: SandboxSpec) -> Sandbox:
        """Create the namespace (loopback up), or attach to ``spec.namespace``; attaching
        to a namespace that does not exist raises LocalProbeError (reason ``no_sandbox``)."""
        name = self.namespace(spec)
        if spec.namespace:
            known = list_namespaces()
            if name not in known:
                raise LocalProbeError(
                    spec.id, "no_sandbox",
                    f"network namespace {name!r} to attach to does not exist (ip netns list: "
                    f"{', '.join(sorted(known)[:8]) or 'none'}); create it or fix "
                    "[isolation].sandboxes")
            return Sandbox(spec=spec, handle=name, owned=False)
        run(["ip", "netns", "add", name], target=name)
        run(["ip", "-n", name, "link", "set", "lo", "up"], target=name)
        return Sandbox(spec=spec, handle=name)

    def command(self, sandbox: Sandbox, argv: Sequence[str]) -> list[str]:
        """``ip netns exec <ns> [setpriv ...] argv``."""
        wrapper: list[str] = []
        if sandbox.spec.drop_caps:
            caps = ",".join(f"-{cap}" for cap in sandbox.spec.drop_caps)
            wrapper = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
        return ["ip", "netns", "exec", sandbox.handle, *wrapper, *argv]

    def addresses(self, sandbox: Sandbox) -> Sandbox:
        """The first global IPv4 and IPv6 address inside the namespace."""
        out = run(["ip", "-n", sandbox.handle, "-j", "addr", "show"], target=sandbox.handle)
        return _pick(sandbox, json.loads(out or "[]"))

    def destroy(self, sandbox: Sandbox) -> None:
        """Delete the namespace and kill what runs in it (attached ones are left)."""
        if sandbox.owned:
            delete_namespace(sandbox.handle)


def _pick(sandbox: Sandbox, links: list[dict[str, object]]) -> Sandbox:
    from dataclasses import replace

    v4 = v6 = None
    for link in links:
        if link.get("ifname") == "lo":
            continue
        infos = link.get("addr_info")
        for info in infos if isinstance(infos, list) else []:
            if info.get("scope") != "global":
                continue
            if info.get("family") == "inet" and v4 is None:
                v4 = str(info["local"])
            elif info.get("family") == "inet6" and v6 is None:
                v6 = str(info["local"])
    return replace(sandbox, ipv4=v4, ipv6=v6)
