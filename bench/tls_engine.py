"""TLS engine micro-benchmarks: is a hand-built ClientHello cheaper than a stdlib
handshake for "is TLS 1.0 accepted?", and what do raw hellos add to a gather.

    python bench/tls_engine.py [--attempts 600] [--copies 50]

1. ``--attempts`` pinned TLS 1.0 questions (50 in flight) against a lab server that
   refuses 1.0 (good12) and one that accepts it (legacy): stdlib handshake vs raw hello;
   rate and this process's CPU per attempt.
2. The engine's gather over ``--copies`` x (good13, good12, only12, alpn) lab endpoints,
   with and without the raw hellos (SSLv3, legacy suites, OCSP).
Others may share the machine: the load averages are printed; repeat and compare.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import trio

from seawall.lab import Lab
from seawall.targets import Endpoint
from seawall.tls import engine, transport
from seawall.tls import hello as raw


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def questions(address: tuple[str, int], attempts: int, use_hello: bool) -> None:
    ctx = transport.client_context("TLSv1.0", floor="TLSv1.0")

    async def one(limiter: trio.CapacityLimiter) -> None:
        async with limiter:
            try:
                if use_hello:
                    await raw.ask(address, raw.client_hello(0x0301, raw.GOOD_SUITES,
                                                            "bench.lab.seawall.test"))
                else:
                    await transport._handshake(address, ctx, "bench.lab.seawall.test", False)
            except (OSError, trio.BrokenResourceError):
                pass

    async def run() -> None:
        limiter = trio.CapacityLimiter(50)
        async with trio.open_nursery() as nursery:
            for _ in range(attempts):
                nursery.start_soon(one, limiter)

    trio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--copies", type=int, default=50)
    args = parser.parse_args()
    raw.prepare()
    print(f"load averages at start: {os.getloadavg()}")
    with Lab.start(["good12", "legacy"]) as lab:
        for case in ("good12", "legacy"):
            address = lab.overrides[(f"{case}.lab.seawall.test", 443)]
            for use_hello in (False, True, False, True):
                start, used = time.perf_counter(), cpu()
                questions(address, args.attempts, use_hello)
                rate = args.attempts / (time.perf_counter() - start)
                each = 1000 * (cpu() - used) / args.attempts
                print(f"| {case} | {'raw hello' if use_hello else 'stdlib handshake'} "
                      f"| {rate:.0f}/s | {each:.2f} ms |")
    cases = ["good13", "good12", "only12", "alpn"]
    with Lab.start(cases, copies=args.copies) as fleet:
        targets = [Endpoint(host=s.address[0], port=s.address[1], sni=s.host,
                            ca_file=fleet.ca_file)
                   for s in fleet.servers if s.scheme == "https"]
        for hellos in (False, True, False, True):
            stats = engine.EngineStats()
            start = time.perf_counter()
            engine.gather(targets, timeout=10, concurrency=100, raw_hellos=hellos,
                          stats=stats)
            print(f"| gather {len(targets)} endpoints | raw hellos {hellos} "
                  f"| {time.perf_counter() - start:.2f} s | {stats.handshakes} handshakes "
                  f"+ {stats.hellos} hellos |")
    print(f"load averages at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
