"""Isolation speed: the full 65,535-port TCP sweep between two lab sandboxes, for the
rejected-traffic (RST) and the dropped-traffic case, side by side with
``nmap -sT -T4 -p- -n -Pn`` on the same pair; the in-flight bound tuned by measurement;
trio-one-task-per-attempt as the engine we did not choose; and a 10-sandbox fleet probed
pairwise on the canary ports. Run as root:

    python bench/isolation.py [--repeat N] [--in-flight 1024,2048,4096,8192] [--bound 90]
                              [--drop-in-flight 16384] [--trio] [--only sweep|fleet]

Every tool run is bounded by ``--bound`` seconds; a run cut off is reported as such with
what it did until then (nmap's own progress line). Namespaces are removed at the end,
on failure, on Ctrl-C and on SIGTERM/SIGHUP (and swept by the next run if we were
SIGKILLed). Prints figures, the load average and the exact commands.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from seawall.config import Config
from seawall.isolation import rules, suite
from seawall.isolation.plan import cells_for
from seawall.isolation.policy import IsolationPolicy
from seawall.lab import fleet as lab
from seawall.runtime.base import Sandbox
from seawall.runtime.netns import NetnsRuntime, RunLock, sweep_stale

AGENT = [sys.executable, "-m", "seawall.agent"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load avg {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def sweep(runtime: NetnsRuntime, src: Sandbox, dst: Sandbox, in_flight: int,
          bound: float, workers: int = 1) -> dict[str, Any]:
    """The agent's epoll sweep of 1-65535 from ``src`` to ``dst`` (1 s per attempt)."""
    plan = {"key": "00" * 32, "max_in_flight": in_flight, "attempts": [],
            "sweep": {"host": dst.ipv4, "first": 1, "last": 65535, "timeout": 1.0,
                      "workers": workers}}
    t = time.monotonic()
    try:
        out = subprocess.run(runtime.command(src, [*AGENT, "probe"]), input=json.dumps(plan),
                             capture_output=True, text=True, check=True, timeout=bound)
    except subprocess.TimeoutExpired:
        return {"cut_off": True, "elapsed": bound}
    result = json.loads(out.stdout)["sweep"]
    return {"cut_off": False, "elapsed": time.monotonic() - t, "open": result["open"],
            "counts": result["counts"], "loop": result["elapsed"]}


def nmap(runtime: NetnsRuntime, src: Sandbox, dst: Sandbox, bound: float) -> dict[str, Any]:
    """``nmap -sT -T4 -p- -n -Pn`` inside ``src``; progress kept if it is cut off."""
    assert dst.ipv4 is not None
    argv = ["nmap", "-sT", "-T4", "-p-", "-n", "-Pn", dst.ipv4]
    extra = ["-v", "--stats-every", "2s"]
    with tempfile.TemporaryFile("w+") as log:
        t = time.monotonic()
        proc = subprocess.Popen(runtime.command(src, [*argv, *extra]), stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        try:
            proc.wait(timeout=bound)
            cut_off = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            cut_off = True
        elapsed = time.monotonic() - t
        log.seek(0)
        text = log.read()
    found = sorted({int(p) for p in re.findall(r"Discovered open port (\d+)/tcp", text)})
    done = re.findall(r"About ([\d.]+)% done", text)
    states = re.findall(r"Not shown: (\d+) (\w+) tcp ports", text)
    return {"cut_off": cut_off, "elapsed": elapsed, "open": found,
            "progress": f"{done[-1]}%" if done and cut_off else "100%",
            "not_shown": states, "command": " ".join(argv)}


TRIO_SWEEP = """
import sys, time, trio
host, n = sys.argv[1], int(sys.argv[2])
async def main():
    limit = trio.CapacityLimiter(n); counts = {}
    async def one(port):
        async with limit:
            s = trio.socket.socket()
            try:
                with trio.fail_after(1.0):
                    await s.connect((host, port)); r = "open"
            except trio.TooSlowError: r = "timeout"
            except OSError as e: r = str(e.errno)
            finally: s.close()
            counts[r] = counts.get(r, 0) + 1
    t = time.monotonic()
    async with trio.open_nursery() as nursery:
        for port in range(1, 65536): nursery.start_soon(one, port)
    print(time.monotonic() - t, counts)
trio.run(main)
"""


def trio_sweep(runtime: NetnsRuntime, src: Sandbox, dst: Sandbox, in_flight: int,
               bound: float) -> str:
    """The engine we did not choose: trio, one task per attempt, same pair and bound."""
    assert dst.ipv4 is not None
    try:
        out = subprocess.run(runtime.command(src, [sys.executable, "-c", TRIO_SWEEP, dst.ipv4,
                                                   str(in_flight)]),
                             capture_output=True, text=True, check=True, timeout=bound)
    except subprocess.TimeoutExpired:
        return f"cut off at {bound:.0f} s"
    elapsed, counts = out.stdout.split(" ", 1)
    return f"{float(elapsed):.2f} s ({65535 / float(elapsed):,.0f}/s) {counts.strip()}"


def pair(runtime: NetnsRuntime, stack: contextlib.ExitStack, mode: str, index: int
         ) -> tuple[Sandbox, Sandbox]:
    """A lab pair (the ``open_port`` design: TCP 47123 forwarded) with a canary in b."""
    design = dataclasses.replace(lab.FLEETS[2], name=f"bench_{mode}", index=index)
    _hub, (a, b) = lab.build(design, runtime, stack, mode=mode)
    listener = subprocess.Popen(runtime.command(b, [*AGENT, "listen"]), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    stack.callback(listener.wait)
    stack.callback(listener.kill)
    assert listener.stdin is not None and listener.stdout is not None
    listener.stdin.write(json.dumps({"name": b.id, "key": "00" * 32, "tcp": [lab.OPEN_PORT],
                                     "udp": []}) + "\n")
    listener.stdin.flush()
    listener.stdout.readline()
    return a, b


def show_sweep(label: str, got: dict[str, Any]) -> None:
    if got["cut_off"]:
        print(f"  {label}: CUT OFF at {got['elapsed']:.0f} s")
    else:
        rate = 65535 / got["elapsed"]
        print(f"  {label}: {got['elapsed']:.2f} s wall, {got['loop']:.2f} s in the loop "
              f"({rate:,.0f}/s wall) open={got['open']} "
              f"counts={got['counts']}")


def sweeps(runtime: NetnsRuntime, stack: contextlib.ExitStack, args: argparse.Namespace
           ) -> None:
    tuning = [int(n) for n in args.in_flight.split(",")]
    for mode, index in (("reject", 21), ("drop", 22)):
        a, b = pair(runtime, stack, mode, index)
        print(f"## {mode}: {a.handle} -> {b.ipv4} ({load()})")
        best: tuple[float, int, int] | None = None
        for n in tuning if mode == "reject" else []:
            for workers in (1, 2):
                got = sweep(runtime, a, b, n, args.bound, workers)
                show_sweep(f"seawall sweep, in-flight {n}, {workers} worker(s)", got)
                clean = not got["cut_off"] and "timeout" not in got["counts"]
                if clean and (best is None or got["elapsed"] < best[0]):
                    best = (got["elapsed"], n, workers)
        chosen, workers = (best[1], best[2]) if best else (max(tuning), 1)
        if mode == "drop":
            chosen, workers = args.drop_in_flight, 2
        for i in range(args.repeat):
            got = sweep(runtime, a, b, chosen, args.bound, workers)
            show_sweep(f"run {i + 1}: seawall sweep, in-flight {chosen}, {workers} worker(s)",
                       got)
            ran = nmap(runtime, a, b, args.bound)
            state = (f"CUT OFF at {ran['elapsed']:.0f} s after {ran['progress']} of the scan"
                     if ran["cut_off"] else f"{ran['elapsed']:.2f} s")
            print(f"  run {i + 1}: nmap {state} open={ran['open']} not shown={ran['not_shown']}")
            if not got["cut_off"] and not ran["cut_off"]:
                print(f"  run {i + 1}: ratio nmap/seawall {ran['elapsed'] / got['elapsed']:.2f}"
                      f", same findings: {got['open'] == ran['open']}")
            print(f"  ({load()})")
        if mode == "reject" and args.trio:
            print(f"  trio one task per attempt, limiter {chosen}: "
                  f"{trio_sweep(runtime, a, b, chosen, args.bound)}")
        print(f"  nmap command (inside {a.handle}): {ran['command']}")


def fleet(args: argparse.Namespace) -> None:
    members = tuple(f"s{i}" for i in range(10))
    design = lab.FleetDesign(name="ten", index=30, members=members)
    plan = dataclasses.replace(lab.fleet_plan(design), extra={"design": design})
    cells = list(cells_for(plan))
    for protocols, label in ((("tcp",), "tcp canary ports"), (None, "every cell")):
        chosen = [c for c in cells if protocols is None or c.protocol in protocols]
        for i in range(args.repeat):
            t = time.monotonic()
            with contextlib.ExitStack() as inner:
                facts = suite.run_fleets([plan], chosen, Config(), inner)
            elapsed = time.monotonic() - t
            outcomes: dict[str, int] = {}
            for c in chosen:
                o = rules.verdict(facts[c.id], IsolationPolicy(), 0).outcome.value
                outcomes[o] = outcomes.get(o, 0) + 1
            print(f"10-sandbox fleet, {label}, run {i + 1}: {len(chosen)} cells in "
                  f"{elapsed:.2f} s (build+listen+probe+teardown) outcomes={outcomes} "
                  f"({load()})")


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStacks: namespaces are removed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--in-flight", default="1024,2048,4096,8192",
                        help="bounds tried on the rejected case; the fastest clean one is used")
    parser.add_argument("--drop-in-flight", type=int, default=16384,
                        help="dropped case: 1 s per attempt, so time ~ 65535 / in-flight")
    parser.add_argument("--bound", type=float, default=90.0, help="seconds per tool run")
    parser.add_argument("--trio", action="store_true", help="also time trio task-per-attempt")
    parser.add_argument("--only", choices=("sweep", "fleet"), default=None)
    args = parser.parse_args()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    print(f"# {' '.join(sys.argv)}  ({load()})")
    prefix = f"sw{secrets.token_hex(3)}-"
    lock = RunLock(prefix)
    sweep_stale()
    runtime = NetnsRuntime(prefix)
    try:
        with contextlib.ExitStack() as stack:
            if args.only != "fleet":
                sweeps(runtime, stack, args)
        if args.only != "sweep":
            fleet(args)
    finally:
        lock.release()
    print(f"# done ({load()})")


if __name__ == "__main__":
    main()
