"""``probe``: run an attempt plan from inside a sandbox; JSON results on stdout.

The plan (one JSON document on stdin)::

    {"key": "<run key hex>", "max_in_flight": 1024, "rate": 0,
     "attempts": [{"id": "...", "kind": "tcp|udp|icmp|tunnel|dns|arp|ndp|raw|spoof",
                   "host": "...",
                   "port": 80, "timeout": 1.0, "nonce": "...", "source": "..."}],
     "sweep": {"host": "...", "first": 1, "last": 65535, "timeout": 1.0},
     "sweeps": {"<id>": {...same as sweep...}}}

Each result carries the attempt ``id`` and raw facts: ``status`` (``connected``,
``answered``, ``echo_reply``, ``tunnel``, ``mac``, ``available``, ``sent``, ``silent``,
``timeout``, ``error``), an ``errno`` name, and for canary answers the name they claim and whether
the signature is valid (``answer_name``, ``answer_valid``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import select
import socket
import struct
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from seawall.agent import canary, dns, scan

Result = dict[str, Any]


def _errno(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _verify(key: bytes, nonce: str | None, result: Result) -> Result:
    answer = result.pop("answer", None)
    if answer is not None:
        result["banner"] = answer[:80]
        if nonce is not None:
            name, valid = canary.verify(key, nonce, answer.encode())
            result["answer_name"], result["answer_valid"] = name, valid
    return result


def tcp(plan: list[dict[str, Any]], key: bytes, *, max_in_flight: int, rate: float
        ) -> dict[str, Result]:
    """Connect (and handshake) for each TCP attempt."""
    results: dict[str, Result] = {}

    def done(att: scan.Attempt, result: Result) -> None:
        results[att.key] = _verify(key, att.nonce, result)

    names: dict[str, str | None] = {}
    for a in plan:
        if a["host"] not in names:
            names[a["host"]] = _resolve(a["host"])
        if names[a["host"]] is None:
            results[a["id"]] = {"status": "error", "errno": "EAI_NONAME"}
    attempts = (scan.Attempt(key=a["id"], host=str(names[a["host"]]), port=a["port"],
                             timeout=a["timeout"], nonce=a.get("nonce"))
                for a in plan if names[a["host"]] is not None)
    scan.scan(attempts, done, max_in_flight=max_in_flight, rate=rate)
    return results


def _resolve(host: str) -> str | None:
    """``host`` as an address (a configured name like metadata.google.internal is
    resolved inside the sandbox, as a workload would); None when it does not resolve."""
    try:
        return str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0])
    except (OSError, UnicodeError):
        return None


def udp(attempt: dict[str, Any], key: bytes) -> Result:
    """Send the nonce; wait for a signed echo, an ICMP error or the timeout.

    Silence proves nothing for UDP: the destination canary's log decides."""
    family = socket.AF_INET6 if ":" in attempt["host"] else socket.AF_INET
    start = time.monotonic()
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((attempt["host"], attempt["port"]))
            for _ in range(2):
                sock.send(canary.request(attempt["nonce"]))
                ready, _, _ = select.select([sock], [], [], attempt["timeout"] / 2)
                if ready:
                    data = sock.recv(512)
                    name, valid = canary.verify(key, attempt["nonce"], data)
                    return {"status": "answered", "answer_name": name, "answer_valid": valid,
                            "banner": data[:80].decode("ascii", "replace")}
            return {"status": "silent", "elapsed": round(time.monotonic() - start, 4)}
    except OSError as exc:
        return {"status": "error", "errno": _errno(exc)}


def icmp(attempt: dict[str, Any]) -> Result:
    """One ICMP echo: an unprivileged ICMP socket, else a raw one."""
    v6 = ":" in attempt["host"]
    family = socket.AF_INET6 if v6 else socket.AF_INET
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    payload = attempt.get("nonce", "seawall").encode()
    kind, sock = "none", None
    for label, stype in (("dgram", socket.SOCK_DGRAM), ("raw", socket.SOCK_RAW)):
        try:
            sock = socket.socket(family, stype, proto)
            kind = label
            break
        except OSError as exc:
            error = exc
    if sock is None:
        return {"status": "error", "errno": _errno(error), "socket": "none"}
    echo = 128 if v6 else 8
    body = struct.pack("!BBHHH", echo, 0, 0, os.getpid() & 0xFFFF, 1) + payload
    if not v6:
        csum = _checksum(body)
        body = body[:2] + struct.pack("!H", csum) + body[4:]
    deadline = time.monotonic() + attempt["timeout"]
    with sock:
        try:
            sock.sendto(body, (attempt["host"], 0))
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data, peer = sock.recvfrom(2048)
                if kind == "raw" and not v6:
                    data = data[(data[0] & 0x0F) * 4:]
                if data and data[0] in (0, 129) and payload in data:
                    return {"status": "echo_reply", "from": str(peer[0]), "socket": kind}
        except OSError as exc:
            return {"status": "error", "errno": _errno(exc), "socket": kind}
    return {"status": "timeout", "socket": kind}


def tunnel(attempt: dict[str, Any]) -> Result:
    """An ICMP echo tunnel through an *unprivileged* ICMP socket (no CAP_NET_RAW needed
    where net.ipv4.ping_group_range allows our group): data out in an echo request,
    back in the reply. ``tunnel`` only when the reply carries our payload intact."""
    v6 = ":" in attempt["host"]
    family, proto = ((socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6
                     else (socket.AF_INET, socket.IPPROTO_ICMP))
    payload = (attempt["nonce"] * 32).encode()[:256]
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM, proto)
    except OSError as exc:  # EACCES: our group is outside net.ipv4.ping_group_range
        return {"status": "no_socket", "errno": _errno(exc), "socket": "dgram"}
    deadline = time.monotonic() + attempt["timeout"]
    with sock:
        try:
            sock.sendto(struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, 0, 1) + payload,
                        (attempt["host"], 0))
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([sock], [], [], left)
                if not ready:
                    break
                data, peer = sock.recvfrom(2048)
                if data[8:] == payload:
                    return {"status": "tunnel", "from": str(peer[0]), "bytes": len(payload)}
        except OSError as exc:
            return {"status": "error", "errno": _errno(exc), "socket": "dgram"}
    return {"status": "timeout", "socket": "dgram"}


def dns_query(attempt: dict[str, Any]) -> Result:
    """Ask the resolver ``host`` for ``<nonce>.<domain>`` over UDP (twice within the
    timeout); any response means the name left the sandbox."""
    family = socket.AF_INET6 if ":" in attempt["host"] else socket.AF_INET
    ident, packet = dns.query(attempt["nonce"])
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((attempt["host"], attempt.get("port", 53)))
            for _ in range(2):
                sock.send(packet)
                ready, _, _ = select.select([sock], [], [], attempt["timeout"] / 2)
                if ready:
                    code = dns.response_code(sock.recv(1500), ident)
                    if code is not None:
                        return {"status": "answered", "rcode": code}
            return {"status": "silent"}
    except OSError as exc:
        return {"status": "error", "errno": _errno(exc)}


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return int(~total & 0xFFFF)


def _sweep_slice(host: str, ports: range, timeout: float, *, max_in_flight: int,
                 rate: float) -> tuple[dict[str, int], list[int]]:
    counts: Counter[str] = Counter()
    open_ports: list[int] = []

    def done(att: scan.Attempt, result: Result) -> None:
        counts[result.get("errno") or result["status"]] += 1
        if result["status"] == "connected":
            open_ports.append(att.port)

    attempts = (scan.Attempt(key=p, host=host, port=p, timeout=timeout) for p in ports)
    scan.scan(attempts, done, max_in_flight=max_in_flight, rate=rate)
    return dict(counts), open_ports


def _forked(host: str, ports: range, timeout: float, *, max_in_flight: int, rate: float,
            workers: int) -> tuple[dict[str, int], list[int]]:
    """The range split over ``workers`` forked processes (one core each: the loop is
    CPU-bound in Python; BENCHMARKS.md), bounds and rate split evenly."""
    children = []
    for i in range(workers):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: scan our slice, report as JSON, exit without cleanup
            os.close(read)
            got = _sweep_slice(host, ports[i::workers], timeout,
                               max_in_flight=max(1, max_in_flight // workers),
                               rate=rate / workers)
            with os.fdopen(write, "w") as out:
                json.dump(got, out)
            os._exit(0)
        os.close(write)
        children.append((pid, read))
    counts: Counter[str] = Counter()
    open_ports: list[int] = []
    for pid, read in children:
        with os.fdopen(read) as pipe:
            text = pipe.read()
        os.waitpid(pid, 0)
        if not text:
            counts["worker_died"] += 1
            continue
        part, found = json.loads(text)
        counts.update(part)
        open_ports.extend(found)
    return dict(counts), open_ports


def sweep(spec: dict[str, Any], key: bytes, *, max_in_flight: int, rate: float) -> Result:
    """Every port of a range: counts by outcome, and the open ports with what answered.

    ``spec["workers"]`` > 1 splits the range over that many forked processes."""
    start = time.monotonic()
    ports = range(spec["first"], spec["last"] + 1)
    workers = max(1, min(int(spec.get("workers", 1)), os.cpu_count() or 1))
    if workers > 1:
        counts, open_ports = _forked(spec["host"], ports, spec["timeout"],
                                     max_in_flight=max_in_flight, rate=rate, workers=workers)
    else:
        counts, open_ports = _sweep_slice(spec["host"], ports, spec["timeout"],
                                          max_in_flight=max_in_flight, rate=rate)
    elapsed = time.monotonic() - start
    nonce = canary.new_nonce()
    answers = tcp([{"id": str(p), "host": spec["host"], "port": p, "timeout": spec["timeout"],
                    "nonce": nonce} for p in sorted(open_ports)], key,
                  max_in_flight=max_in_flight, rate=rate)
    return {"counts": counts, "open": sorted(open_ports), "answers": answers,
            "nonce": nonce, "elapsed": round(elapsed, 3), "ports": len(ports),
            "workers": workers}


def _other(attempt: dict[str, Any], key: bytes) -> Result:
    kind = attempt["kind"]
    if kind == "udp":
        return udp(attempt, key)
    if kind == "icmp":
        return icmp(attempt)
    if kind == "tunnel":
        return tunnel(attempt)
    if kind == "dns":
        return dns_query(attempt)
    from seawall.agent import link

    return link.run(attempt)


def main() -> int:
    """Read the plan on stdin, run it, print the results."""
    plan = json.load(sys.stdin)
    key = bytes.fromhex(plan["key"])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    in_flight = min(int(plan.get("max_in_flight", 1024)), max(64, hard - 64))
    rate = float(plan.get("rate", 0))
    attempts = plan.get("attempts", [])
    others = [a for a in attempts if a["kind"] != "tcp"]
    # UDP, ICMP and link attempts each wait out their own timeout: run them on threads
    # alongside the TCP loop so a cell costs one timeout, not one per attempt.
    with ThreadPoolExecutor(max_workers=max(1, min(64, len(others)))) as pool:
        futures = {a["id"]: pool.submit(_other, a, key) for a in others}
        results = tcp([a for a in attempts if a["kind"] == "tcp"], key,
                      max_in_flight=in_flight, rate=rate)
        for attempt_id, future in futures.items():
            results[attempt_id] = future.result()
    out: Result = {"results": results}
    if plan.get("sweep"):
        out["sweep"] = sweep(plan["sweep"], key, max_in_flight=in_flight, rate=rate)
    out["sweeps"] = {sid: sweep(spec, key, max_in_flight=in_flight, rate=rate)
                     for sid, spec in plan.get("sweeps", {}).items()}
    json.dump(out, sys.stdout)
    return 0
