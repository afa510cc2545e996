"""Isolation speed: full 65,535-port TCP sweep (dropped and rejected) vs nmap, and a
10-sandbox fleet probed pairwise. Run as root:

    python bench/isolation.py [--repeat N]

Prints figures and the exact commands; paste into bench/isolation.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import secrets
import subprocess
import sys
import time

from seawall.config import Config
from seawall.isolation import rules, suite
from seawall.isolation.plan import cells_for
from seawall.isolation.policy import IsolationPolicy
from seawall.lab import fleet as lab
from seawall.runtime.netns import NetnsRuntime, RunLock, sweep_stale


def sweep(runtime: NetnsRuntime, src, dst, in_flight: int) -> tuple[float, list[int], dict]:
    plan = {"key": "00" * 32, "max_in_flight": in_flight, "attempts": [],
            "sweep": {"host": dst.ipv4, "first": 1, "last": 65535, "timeout": 1.0}}
    t = time.monotonic()
    out = subprocess.run(runtime.command(src, [sys.executable, "-m", "seawall.agent", "probe"]),
                         input=json.dumps(plan), capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - t
    result = json.loads(out.stdout)["sweep"]
    return elapsed, result["open"], result["counts"]


def nmap(runtime: NetnsRuntime, src, dst) -> tuple[float, list[int], str]:
    argv = ["nmap", "-sT", "-T4", "-p-", "-n", "-Pn", "-oG", "-", dst.ipv4]
    t = time.monotonic()
    out = subprocess.run(runtime.command(src, argv), capture_output=True, text=True, check=True)
    elapsed = time.monotonic() - t
    ports = [int(p) for p in re.findall(r"(\d+)/open/tcp", out.stdout)]
    return elapsed, ports, " ".join(argv)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=8192)
    args = parser.parse_args()
    print(f"# load before: {os.getloadavg()}")
    prefix = f"sw{secrets.token_hex(3)}-"
    lock = RunLock(prefix)
    sweep_stale()
    runtime = NetnsRuntime(prefix)
    with contextlib.ExitStack() as stack:
        stack.callback(lock.release)
        for mode, index in (("reject", 21), ("drop", 22)):
            design = dataclasses.replace(lab.FLEETS[2], name=f"bench_{mode}", index=index)
            _hub, (a, b) = lab.build(design, runtime, stack, mode=mode)
            listener = subprocess.Popen(
                runtime.command(b, [sys.executable, "-m", "seawall.agent", "listen"]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            stack.callback(listener.kill)
            listener.stdin.write(json.dumps({"name": b.id, "key": "00" * 32,
                                             "tcp": [lab.OPEN_PORT], "udp": []}) + "\n")
            listener.stdin.flush()
            listener.stdout.readline()
            for _ in range(args.repeat):
                s_t, s_open, counts = sweep(runtime, a, b, args.in_flight)
                n_t, n_open, cmd = nmap(runtime, a, b)
                print(f"{mode}: seawall sweep {s_t:.2f}s open={s_open} counts={counts} | "
                      f"nmap {n_t:.2f}s open={n_open} | ratio nmap/seawall {n_t / s_t:.2f} "
                      f"| same findings: {s_open == n_open}")
            print(f"  nmap command (inside {a.handle}): {cmd}")
        members = tuple(f"s{i}" for i in range(10))
        design = lab.FleetDesign(name="ten", index=30, members=members)
        plan = dataclasses.replace(lab.fleet_plan(design), extra={"design": design})
        cells = list(cells_for(plan))
        for protocols, label in ((("tcp",), "tcp canary ports"), (None, "every cell")):
            chosen = [c for c in cells if protocols is None or c.protocol in protocols]
            t = time.monotonic()
            with contextlib.ExitStack() as inner:
                facts = suite.run_fleets([plan], chosen, Config(), inner)
            elapsed = time.monotonic() - t
            outcomes = {}
            for c in chosen:
                o = rules.verdict(facts[c.id], IsolationPolicy(), 0).outcome.value
                outcomes[o] = outcomes.get(o, 0) + 1
            print(f"10-sandbox fleet, {label}: {len(chosen)} cells in {elapsed:.2f}s "
                  f"(build+listen+probe+teardown) outcomes={outcomes}")
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
