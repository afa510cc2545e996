"""Launch listeners, probe from every sandbox concurrently (trio), turn results into facts.

The agents report raw observations (errno names, what answered); :func:`classify` is
the one place that reads them as reasons. Per fleet: start a canary listener in each
sandbox and the hub, run one ``agent probe`` per source sandbox (all concurrently, each
with every attempt of its cells and its positive controls), stop the listeners and read
their nonce logs (the proof for UDP and spoofing), then build :class:`CellFacts`.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from seawall.agent import canary
from seawall.isolation import sweep
from seawall.isolation.facts import AttemptFacts, CellFacts, ControlFacts, IsolationReason
from seawall.isolation.plan import Destination, FleetPlan, forbidden_groups
from seawall.reasons import Reason
from seawall.runtime.base import Sandbox, SandboxRuntime
from seawall.targets import Cell

AGENT = [sys.executable, "-m", "seawall.agent"]
_ERRNO = {
    "ECONNREFUSED": Reason.REFUSED, "EHOSTUNREACH": Reason.UNREACHABLE,
    "ENETUNREACH": Reason.UNREACHABLE, "ECONNRESET": Reason.RESET,
    "ETIMEDOUT": Reason.TIMEOUT, "EPERM": Reason.LOCAL_POLICY,
    "EAI_NONAME": Reason.DNS_FAILURE,
}


def classify(observed: BaseException | Mapping[str, Any], *, v6: bool = False) -> str:
    """The reason for an exception or an agent's failed-attempt observation.

    EACCES over IPv6 is an ICMPv6 administratively-prohibited answer (unreachable); over
    IPv4 it is our own side refusing (not_permitted). EPERM is a local netfilter drop
    inside the sandbox: our probe was stopped before sending, never a pass."""
    if isinstance(observed, BaseException):
        if isinstance(observed, trio.TooSlowError | subprocess.TimeoutExpired):
            return Reason.TIMEOUT
        if isinstance(observed, PermissionError):
            return Reason.NOT_PERMITTED
        return Reason.PROBE_CRASHED if isinstance(observed, OSError) else Reason.UNKNOWN_ERROR
    if observed.get("status") in ("timeout", "silent"):
        return Reason.TIMEOUT
    name = str(observed.get("errno", ""))
    if name == "EACCES":
        return Reason.UNREACHABLE if v6 else Reason.NOT_PERMITTED
    return _ERRNO.get(name, Reason.UNKNOWN_ERROR)


@dataclass
class Launched:
    """A fleet as launched: its plan, runtime, sandboxes by id and their hub."""

    plan: FleetPlan
    runtime: SandboxRuntime
    members: dict[str, Sandbox]
    hub: Sandbox | None = None
    listeners: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    ready: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class _Attempt:
    cell: Cell | None
    control: str
    spec: dict[str, Any]
    expect: str = ""


def start_listeners(fleet: Launched, run_key: bytes, stack: contextlib.ExitStack) -> None:
    """Start a canary in every sandbox (and the hub); wait until each is ready."""
    plan = fleet.plan
    wanted: dict[str, tuple[Sandbox, list[int], list[int], bool]] = {
        sid: (sb, list(plan.canary_tcp + plan.ports), list(plan.canary_udp), True)
        for sid, sb in fleet.members.items()}
    if fleet.hub is not None:
        ports = sorted({d.port for d in plan.allowed + plan.forbidden
                        if d.canary == fleet.hub.id})
        wanted[fleet.hub.id] = (fleet.hub, ports, [], False)
    resolver_ports = {sid: sorted({d.port for d in plan.resolvers if d.canary == sid})
                      for sid in wanted}
    for sid, (sandbox, tcp, udp, high) in wanted.items():
        proc = subprocess.Popen(fleet.runtime.command(sandbox, [*AGENT, "listen"]),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        stack.callback(_stop, proc)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"name": sid, "key": canary.sandbox_key(run_key, sid).hex(),
                                     "tcp": tcp, "udp": udp, "dns": resolver_ports[sid],
                                     "random_high": high}) + "\n")
        proc.stdin.flush()
        fleet.listeners[sid] = proc
    for sid, proc in fleet.listeners.items():
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else ""
        fleet.ready[sid] = json.loads(line) if line.startswith("{") else {}


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def stop_listeners(fleet: Launched) -> None:
    """Close each canary's stdin (it exits) and read its nonce log."""
    for sid, proc in fleet.listeners.items():
        try:
            out, _ = proc.communicate(input="", timeout=5)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            proc.kill()
            out = ""
        fleet.logs[sid] = {json.loads(line).get("nonce", "") for line in (out or "").splitlines()
                           if line.startswith("{")}


def _tcp(host: str, port: int, timeout: float, expect: str) -> dict[str, Any]:
    return {"kind": "tcp", "host": host, "port": port, "timeout": timeout,
            "nonce": canary.new_nonce(), "expect": expect}


def _pair_attempts(plan: FleetPlan, cell: Cell, src: Sandbox, dst: Sandbox,
                   ready: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    v6 = cell.protocol.endswith("6") or cell.protocol == "ndp"
    host = dst.ipv6 if v6 else dst.ipv4
    if host is None:
        return None
    timeout = plan.timeout_v6 if v6 else plan.timeout
    proto = cell.protocol.rstrip("6")
    if proto == "tcp":
        ports = list(dict.fromkeys([*ready.get("tcp", plan.canary_tcp), *plan.ports]))
        return [_tcp(host, p, timeout, dst.id) for p in ports]
    if proto == "udp":
        return [{"kind": "udp", "host": host, "port": p, "timeout": timeout,
                 "nonce": canary.new_nonce()} for p in plan.canary_udp]
    if proto == "icmp":
        return [{"kind": "icmp", "host": host, "timeout": timeout, "nonce": canary.new_nonce()}]
    if proto == "l2":
        return [{"kind": "arp", "host": host, "timeout": timeout}]
    if proto == "ndp":
        return [{"kind": "ndp", "host": host, "timeout": timeout}]
    if proto == "spoof" and plan.canary_udp:
        return [{"kind": "spoof", "host": host, "port": plan.canary_udp[0],
                 "source": plan.spoof_source, "nonce": canary.new_nonce(), "timeout": timeout}]
    return None


def _timeout(plan: FleetPlan, host: str) -> float:
    return plan.timeout_v6 if ":" in host else plan.timeout


def plan_source(fleet: Launched, src: Sandbox, cells: Sequence[Cell]
                ) -> tuple[list[_Attempt], dict[Cell, str]]:
    """Every attempt one source makes: its cells', and its positive controls."""
    plan = fleet.plan
    out: list[_Attempt] = []
    missing: dict[Cell, str] = {}
    groups = forbidden_groups(plan)
    for cell in cells:
        specs: list[dict[str, Any]] | None
        if cell.destination in fleet.members:
            dst = fleet.members[cell.destination]
            specs = _pair_attempts(plan, cell, src, dst, fleet.ready.get(dst.id, {}))
        elif cell.protocol == "raw":
            specs = [{"kind": "raw", "timeout": plan.timeout}]
        elif cell.protocol == "dns":
            specs = [{"kind": "dns", "host": d.host, "port": d.port, "nonce": canary.new_nonce(),
                      "expect": d.canary, "timeout": _timeout(plan, d.host)}
                     for d in plan.resolvers]
        elif cell.protocol == "icmp_tunnel":
            specs = [{"kind": "tunnel", "host": h, "nonce": canary.new_nonce(),
                      "timeout": _timeout(plan, h)} for h in plan.tunnel_hosts]
        else:
            specs = [_tcp(d.host, d.port, plan.timeout_v6 if ":" in d.host else plan.timeout,
                          d.canary) for d in groups.get(cell.destination, ())]
        if not specs:
            missing[cell] = f"no address or port to try for {cell.destination}"
            continue
        out.extend(_Attempt(cell=cell, control="", spec=s, expect=s.pop("expect")
                            if "expect" in s else cell.destination) for s in specs)
    controls: list[tuple[str, Destination]] = []
    if src.ipv4 and plan.canary_tcp:
        controls.append(("self", Destination(label="self", host=src.ipv4,
                                             port=plan.canary_tcp[0], canary=src.id)))
    controls += [(f"allowed:{d.label}", d) for d in plan.allowed]
    for name, dest in controls:
        spec = _tcp(dest.host, dest.port, plan.timeout_v6 if ":" in dest.host else plan.timeout,
                    dest.canary)
        out.append(_Attempt(cell=None, control=name, expect=spec.pop("expect"), spec=spec))
    return out, missing


def judge(attempt: _Attempt, raw: Mapping[str, Any], logs: Mapping[str, set[str]]) -> str:
    """One attempt's result (a reason value) from the agent's raw observation."""
    kind, status = attempt.spec["kind"], raw.get("status")
    v6 = ":" in str(attempt.spec.get("host", ""))
    nonce = attempt.spec.get("nonce", "")
    if kind == "tcp" and status == "connected":
        signed = raw.get("answer_valid") and raw.get("answer_name") == attempt.expect
        if attempt.expect and signed:
            return IsolationReason.REACHED_CANARY
        return IsolationReason.REACHED_OTHER
    if kind in ("udp", "spoof"):
        if nonce and nonce in logs.get(attempt.expect, set()):
            if kind == "udp":
                return IsolationReason.REACHED_CANARY
            return IsolationReason.SPOOF_DELIVERED
        if status == "answered":
            return IsolationReason.REACHED_OTHER
        if status == "sent":
            return Reason.TIMEOUT
    if kind == "dns":
        if nonce and nonce in logs.get(attempt.expect, set()):
            return IsolationReason.REACHED_CANARY
        if status == "answered":
            return IsolationReason.DNS_ANSWERED
    if kind == "tunnel" and status == "tunnel":
        return IsolationReason.ICMP_TUNNEL_OPEN
    if kind == "tunnel" and status == "no_socket" and raw.get("errno") in ("EACCES", "EPERM"):
        return IsolationReason.NO_ICMP_SOCKET
    if kind == "icmp" and status == "echo_reply":
        return IsolationReason.REACHED_OTHER
    if kind in ("arp", "ndp") and status == "mac":
        return IsolationReason.L2_VISIBLE
    if kind == "raw" and status == "available":
        return IsolationReason.RAW_SOCKET_AVAILABLE
    if kind in ("arp", "ndp", "raw", "spoof") and raw.get("errno") == "EPERM":
        return IsolationReason.NO_RAW_SOCKET
    return classify(raw, v6=v6)


async def probe_source(fleet: Launched, src: Sandbox, attempts: list[_Attempt],
                       run_key: bytes, sweeps: Mapping[str, Mapping[str, Any]] | None = None
                       ) -> dict[str, Any]:
    """Run one source's attempts (and sweeps) through its agent; the raw results by
    attempt index (and sweep id)."""
    plan = fleet.plan
    doc = {"key": run_key.hex(), "max_in_flight": plan.max_in_flight, "rate": plan.rate,
           "attempts": [{"id": str(i), **a.spec} for i, a in enumerate(attempts)],
           "sweeps": dict(sweeps or {})}
    argv = fleet.runtime.command(src, [*AGENT, "probe"])
    limit = 30 + len(attempts) * max(plan.timeout, plan.timeout_v6) / 8
    for spec in (sweeps or {}).values():
        limit += sweep.seconds(spec["last"] - spec["first"] + 1, rate=plan.rate,
                               in_flight=plan.max_in_flight, timeout=spec["timeout"])
    try:
        with trio.fail_after(limit):
            done = await trio.run_process(argv, stdin=json.dumps(doc).encode(),
                                          capture_stdout=True, capture_stderr=True, check=False)
    except (trio.TooSlowError, OSError) as exc:
        return {"error": classify(exc), "detail": repr(exc)}
    if done.returncode != 0:
        return {"error": Reason.PROBE_CRASHED,
                "detail": done.stderr.decode(errors="replace").strip()[-300:]}
    out = json.loads(done.stdout)
    results: dict[str, Any] = out["results"]
    results.update(out.get("sweeps", {}))
    return results


async def probe_fleet(fleet: Launched, cells: Sequence[Cell], run_key: bytes
                      ) -> dict[str, CellFacts]:
    """Probe every cell of one launched fleet; facts by cell id."""
    by_source: dict[str, list[Cell]] = {}
    for cell in cells:
        by_source.setdefault(cell.source, []).append(cell)
    planned = {sid: plan_source(fleet, fleet.members[sid], cs) for sid, cs in by_source.items()}
    plan = fleet.plan
    sweeps = {sid: sweep.plan(cs, fleet.members, first=plan.sweep_range[0],
                              last=plan.sweep_range[1], timeout=plan.timeout,
                              timeout_v6=plan.timeout_v6) if plan.full_sweep else {}
              for sid, cs in by_source.items()}
    raw: dict[str, dict[str, Any]] = {}

    async def one(sid: str) -> None:
        specs = {key: spec for key, (_, spec) in sweeps[sid].items()}
        raw[sid] = await probe_source(fleet, fleet.members[sid], planned[sid][0], run_key,
                                      specs)

    async with trio.open_nursery() as nursery:
        for sid in planned:
            nursery.start_soon(one, sid)
    await trio.to_thread.run_sync(stop_listeners, fleet)
    return build_facts(fleet, by_source, planned, raw, sweeps)


def build_facts(fleet: Launched, by_source: Mapping[str, list[Cell]],
                planned: Mapping[str, tuple[list[_Attempt], dict[Cell, str]]],
                raw: Mapping[str, Mapping[str, Any]],
                sweeps: Mapping[str, Mapping[str, tuple[Cell, Mapping[str, Any]]]] | None = None,
                ) -> dict[str, CellFacts]:
    """Turn every source's raw results into cell facts (controls and sweeps included)."""
    now = time.time()
    controls: dict[str, list[ControlFacts]] = {}
    attempts: dict[Cell, list[AttemptFacts]] = {}
    for sid, (items, _) in planned.items():
        results = raw.get(sid, {})
        for i, att in enumerate(items):
            got = results.get(str(i), {"status": "error", "errno": "ENODATA"})
            if not isinstance(got, Mapping):
                continue
            result = judge(att, got, fleet.logs)
            host, port = str(att.spec.get("host", "")), att.spec.get("port")
            if att.cell is None:
                ok = result == IsolationReason.REACHED_CANARY or (
                    not att.expect and result == IsolationReason.REACHED_OTHER)
                controls.setdefault(sid, []).append(ControlFacts(
                    name=att.control, sandbox=sid, target=f"{host}:{port}", ok=ok, result=result))
            else:
                attempts.setdefault(att.cell, []).append(
                    AttemptFacts(kind=att.spec["kind"], host=host, port=port, result=result,
                                 detail=dict(got)))
    for sid, mine in (sweeps or {}).items():
        for key, (cell, spec) in mine.items():
            attempts.setdefault(cell, []).extend(
                sweep.facts(cell, spec, raw.get(sid, {}).get(key)))
    facts: dict[str, CellFacts] = {}
    for sid, cells in by_source.items():
        missing, error = planned[sid][1], raw.get(sid, {}).get("error")
        for cell in cells:
            ctl = list(controls.get(sid, []))
            if cell.destination in fleet.members:
                ctl += [c for c in controls.get(cell.destination, []) if c.name == "self"]
                if cell.destination not in controls:
                    ctl.append(ControlFacts(name="self", sandbox=cell.destination,
                                            target="(not probed)", ok=True, result="skipped"))
            problem, detail = None, ""
            if error:
                problem, detail = str(error), str(raw[sid].get("detail", ""))
            elif cell in missing:
                problem, detail = IsolationReason.NO_ADDRESS, missing[cell]
            facts[cell.id] = CellFacts(cell=cell, observed_at=now, problem=problem,
                                       detail=detail, controls=tuple(ctl),
                                       attempts=tuple(attempts.get(cell, ())))
    return facts


def new_run_key() -> bytes:
    """A fresh secret for this run's canary signatures (never logged)."""
    return secrets.token_bytes(32)
