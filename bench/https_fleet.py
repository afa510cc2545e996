"""Benchmark: the https engine against a fleet of lab services on loopback.

Starts the 8 lab HTTP cases and probes ``--per-case`` services per case (each its own
service id: distinct nominal ports mapped through connect-to overrides onto the case's
listeners; the lab's ``copies`` are not used because their redirects name the first
copy's host), gathering the plain-HTTP redirect chain and the direct HTTPS request of
each, with ``--concurrency`` services in flight. Repeat with ``--repeat``; note the
machine's load when you read the figures.

    python bench/https_fleet.py --per-case 100 --concurrency 100 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from seawall.config.https import DEFAULT_POLICY
from seawall.https import engine, rules
from seawall.lab import HTTP_CASES, Lab
from seawall.targets import WebService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-case", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    with Lab.start(list(HTTP_CASES)) as lab:
        print(f"lab: {len(lab.servers)} listeners, up in {time.perf_counter() - started:.2f} s")
        overrides = dict(lab.overrides)
        services = []
        for name, case in HTTP_CASES.items():
            for i in range(args.per_case):
                plain, tls = 10000 + i, 30000 + i
                overrides[case.host, plain] = lab.overrides[case.host, 80]
                overrides[case.host, tls] = lab.overrides[case.host, 443]
                services.append(WebService(host=case.host, http_port=plain, https_port=tls,
                                           name=f"{name}_{i}", ca_file=lab.ca_file))
        policies = {s.id: DEFAULT_POLICY for s in services}
        for run in range(1, args.repeat + 1):
            t0 = time.perf_counter()
            facts = engine.gather_sync(services, policies, overrides=overrides,
                                       only_overrides=True, timeout=args.timeout,
                                       concurrency=args.concurrency)
            elapsed = time.perf_counter() - t0
            requests = sum(len(f.chain) + 1 for f in facts.values())
            outcomes: dict[str, int] = {}
            for f in facts.values():
                for finding in (rules.redirect(f, DEFAULT_POLICY), rules.hsts(f, DEFAULT_POLICY)):
                    key = f"{finding.outcome}:{finding.reason or ''}"
                    outcomes[key] = outcomes.get(key, 0) + 1
            errors = {k: v for k, v in outcomes.items() if k.startswith("error")}
            print(f"run {run}: {len(facts)} services, {requests} requests in {elapsed:.2f} s "
                  f"= {len(facts) / elapsed:.0f} services/s, {requests / elapsed:.0f} req/s; "
                  f"errors {errors or 'none'}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
