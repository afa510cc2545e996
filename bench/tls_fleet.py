"""TLS fleet benchmark: Seawall vs sslyze vs the bare-handshake limit, same lab servers.

    python bench/tls_fleet.py [--endpoints 500] [--write FILE]

1. Start N lab TLS servers (copies of good13/good12/only12/alpn) in the lab's child
   process (one core for the servers, like a fleet elsewhere).
2. Bare limit: a loop of full TLS 1.3 handshakes (stdlib ssl, verifying) against one of
   them, 1 process then 2 processes (bench/tls/bare.py).
3. Seawall: its TLS engine over the fleet, in a fresh process (bench/tls/seawall_side.py).
4. sslyze: its CLI (``--sslv3 --tlsv1 ... --tlsv1_3 --certinfo``) from a
   throwaway venv over the same fleet (bench/tls/sslyze_side.py).

Handshakes per endpoint are counted by the servers (TCP connections accepted, and
handshakes completed), not assumed. Peak memory is ru_maxrss of the probing process.
Verdicts (versions accepted, chain trusted by the lab root, notAfter) are compared per
endpoint between Seawall and sslyze.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tls"))

import sslyze_side  # noqa: E402

from seawall.lab import Lab  # noqa: E402

CASES = ("good13", "good12", "only12", "alpn")


def load() -> str:
    """The load averages, to note what else ran on the machine."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def counted(lab: Lab) -> dict[str, int]:
    """Totals of the servers' counters since the last reset."""
    totals = {"accepted": 0, "handshakes": 0, "failed": 0}
    for counters in lab.stats().values():
        for key in totals:
            totals[key] += counters[key]
    return totals


def bare(lab: Lab, fleet: dict[str, Any], processes: int, seconds: float) -> dict[str, Any]:
    """The bare-handshake loop against the first endpoint."""
    first = fleet["endpoints"][0]
    command = [sys.executable, str(HERE / "tls" / "bare.py"), first["address"][0],
               str(first["address"][1]), first["host"], fleet["ca_file"],
               "--seconds", str(seconds), "--processes", str(processes)]
    lab.reset_stats()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out)
    result["server"] = counted(lab)
    return result


def seawall(lab: Lab, fleet_file: Path) -> dict[str, Any]:
    """Seawall's engine over the fleet, in its own process."""
    command = [sys.executable, str(HERE / "tls" / "seawall_side.py"), str(fleet_file)]
    lab.reset_stats()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    process_elapsed = time.perf_counter() - start
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout)
    result["server"] = counted(lab)
    result["process_elapsed"] = process_elapsed
    return result


def sslyze(lab: Lab, fleet: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """sslyze's CLI over the fleet."""
    sslyze_side.ensure_venv()  # install outside the measurement
    lab.reset_stats()
    result = sslyze_side.run(fleet, workdir)
    result["server"] = counted(lab)
    return result


def agreement(a: dict[str, Any], b: dict[str, Any]) -> tuple[int, list[str]]:
    """Endpoints whose verdicts agree, and a few that do not."""
    same, differ = 0, []
    for host, verdict in a.items():
        other = b.get(host)
        if other is not None and all(verdict[k] == other[k]
                                     for k in ("versions", "trusted", "not_after")):
            same += 1
        else:
            differ.append(f"{host}: {verdict} vs {other}")
    return same, differ[:3]


def row(name: str, r: dict[str, Any], n: int) -> str:
    if "error" in r:
        return f"| {name} | n/a ({r['error']}) | | | | |"
    per_endpoint = r["server"]["accepted"] / n
    completed = r["server"]["handshakes"] / n
    seconds = f"{r['elapsed']:.2f}"
    if "process_elapsed" in r:
        seconds += f" (process {r['process_elapsed']:.2f})"
    return (f"| {name} | {seconds} | {n / r['elapsed']:.1f} | {per_endpoint:.1f} "
            f"({completed:.1f} completed) | {r['server']['accepted'] / r['elapsed']:.0f} "
            f"| {r['maxrss_kb'] / 1024:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=500)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--bare-seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3, help="Seawall runs (median shown)")
    parser.add_argument("--skip-sslyze", action="store_true")
    parser.add_argument("--write", type=Path, help="write the Markdown section here")
    args = parser.parse_args()
    cases = args.cases.split(",")
    n = args.endpoints
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as tmp, \
            Lab.start(cases, copies=math.ceil(n / len(cases))) as lab:
        workdir = Path(tmp)
        servers = [s for s in lab.servers if s.scheme == "https"][:n]
        fleet = {"ca_file": str(lab.ca_file), "endpoints": [
            {"name": s.name, "host": s.host, "port": s.port, "address": list(s.address)}
            for s in servers]}
        fleet_file = workdir / "fleet.json"
        fleet_file.write_text(json.dumps(fleet))
        loads = {"start": load()}
        # Others share the 2 cores: interleave the limit and Seawall runs, pair them,
        # and report the median run (by Seawall's gather time).
        runs: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for _ in range(args.repeat):
            b1 = bare(lab, fleet, 1, args.bare_seconds)
            b2 = bare(lab, fleet, 2, args.bare_seconds)
            runs.append((b1, b2, seawall(lab, fleet_file)))
        loads["seawall"] = load()
        runs.sort(key=lambda r: r[2].get("elapsed", math.inf))
        bare1, bare2, ours = runs[len(runs) // 2]
        spread = ", ".join(f"{r[2]['elapsed']:.2f}" if "elapsed" in r[2]
                           else f"FAILED ({r[2].get('error', '?')})" for r in runs)
        theirs = {"error": "skipped"} if args.skip_sslyze else sslyze(lab, fleet, workdir)
        loads["sslyze"] = load()
    limit = max(bare1["per_second"], bare2["per_second"])
    lines = [
        f"## TLS fleet: {n} endpoints on loopback ({os.cpu_count()} cores)",
        "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"load averages 1/5/15 min at start {loads['start']}, after sslyze {loads['sslyze']})",
        "",
        "| prober | seconds | endpoints/s | handshakes per endpoint (server-counted) "
        "| handshakes/s | peak RSS MiB |",
        "|---|---|---|---|---|---|",
        row("Seawall", ours, n),
        row(theirs.get("tool", "sslyze"), theirs, n),
        "",
        f"Bare full TLS 1.3 handshakes against one lab server (stdlib ssl, verifying): "
        f"{bare1['per_second']:.0f}/s with 1 process, {bare2['per_second']:.0f}/s with 2 "
        f"processes; the machine's limit is taken as {limit:.0f}/s (measured just "
        f"before the Seawall run shown).",
        f"Seawall runs: {args.repeat}, median shown; gather seconds of each: {spread}.",
    ]
    if "error" not in ours:
        attempted = ours["server"]["accepted"] / ours["elapsed"]
        completed = ours["server"]["handshakes"] / ours["elapsed"]
        lines.append(
            f"Seawall's handshakes per second: {attempted:.0f} attempted (server-accepted "
            f"connections, each a ClientHello) = {attempted / limit:.0%} of that limit; "
            f"{completed:.0f} completed = {completed / limit:.0%}. Engine-counted: "
            f"{ours['engine_handshakes']} stdlib handshakes + {ours.get('engine_hellos', 0)} "
            f"hand-built ClientHellos; endpoints in error: {ours['errors']}.")
    if "error" not in ours and "error" not in theirs:
        same, differ = agreement(ours["verdicts"], theirs["verdicts"])
        speedup = theirs["elapsed"] / ours["elapsed"]
        whole = theirs["elapsed"] / ours["process_elapsed"]
        lines.append(f"Throughput ratio Seawall/sslyze: {speedup:.1f}x on the gather "
                     f"({whole:.1f}x counting Seawall's whole process: interpreter start, "
                     f"imports, as sslyze's CLI is timed); verdicts (versions, "
                     f"trusted chain, notAfter) agree on {same}/{n} endpoints.")
        lines += [f"- differs: {d}" for d in differ]
    if "error" not in theirs:
        lines.append(f"sslyze command: `{theirs['command']}` (paths are temporary)")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        args.write.write_text(text)


if __name__ == "__main__":
    main()
