"""Seawall's TLS suite over the benchmark fleet, in a fresh process.

    python bench/tls/seawall_side.py FLEET_JSON [--concurrency N] [--profile OUT]

Goes through the public suite entry point (``ENDPOINTS.plan`` then ``ENDPOINTS.gather``,
as the pytest plugin does) with a config whose targets dial 127.0.0.1:<real port> and
send the lab name as SNI. Prints one JSON line: ``gather`` seconds, ru_maxrss of this
process, the engine's own handshake count, and verdicts per host ({versions, trusted,
not_after}) for comparison with sslyze.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seawall.config import Config
from seawall.config.tls import TlsConfig
from seawall.targets import Endpoint
from seawall.tls.suite import ENDPOINTS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("fleet", type=Path)
    parser.add_argument("--concurrency", type=int, default=TlsConfig().concurrency)
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    args = parser.parse_args()
    fleet = json.loads(args.fleet.read_text())
    ca_file = Path(fleet["ca_file"])
    targets = tuple(Endpoint(host=e["address"][0], port=e["address"][1], sni=e["host"],
                             ca_file=ca_file, name=e["name"]) for e in fleet["endpoints"])
    config = Config(source="bench", lab=False,
                    tls=TlsConfig(targets=targets, concurrency=args.concurrency))
    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with contextlib.ExitStack() as resources:
        plan = ENDPOINTS.plan(config)
        facts = ENDPOINTS.gather(plan, plan.targets, config, resources)
    elapsed = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    verdicts: dict[str, dict[str, Any]] = {}
    errors = 0
    for target in targets:
        seen = facts[target.id]
        errors += seen.error is not None
        chain = seen.chain
        verdicts[target.server_name] = {
            "versions": list(seen.accepted),
            "trusted": chain.status == "trusted" if chain else None,
            "not_after": datetime.fromtimestamp(chain.leaf.not_after, UTC).isoformat()
            if chain else None,
        }
    print(json.dumps({
        "tool": "Seawall", "elapsed": elapsed, "errors": errors,
        "engine_handshakes": sum(f.handshakes for f in facts.values()),
        "engine_hellos": sum(getattr(f, "hellos", 0) for f in facts.values()),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "verdicts": verdicts}))


if __name__ == "__main__":
    main()
