"""Benchmark: the cost of reporting 1,000 results to Datadog (local HTTPS intake).

Runs the real reporter (mapping, atomic spool write, delivery through the real
``datadog`` client) against the lab intake on loopback and prints, per repetition, the
wall time of ``finish()`` (what the run pays at its end) and the HTTP requests by
endpoint. Command (from the repository root):

    python bench/report.py [--results 1000] [--failing 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from seawall.lab.intake import DatadogIntake
from seawall.model import CheckResult, Finding, Outcome, RunInfo, RunSummary
from seawall.report.datadog import DatadogReporter


def results(n: int, failing: int) -> list[CheckResult]:
    now = time.time()
    out = []
    for i in range(n):
        outcome = Outcome.FAIL if i < failing else Outcome.PASS
        f = Finding(check=f"tls.check_{i % 10}", target=f"host{i}.example.com:443",
                    outcome=outcome, reason=None if outcome is Outcome.PASS else "expired",
                    summary=f"host{i}.example.com:443 {outcome.value}", observed_at=now - 1,
                    evidence={"chain": ["leaf", "intermediate"], "days": 40},
                    metrics={"tls.cert.days_to_expiry": 40.0})
        out.append(CheckResult(finding=f, test_id=f"probes/tls/test_x.py::t[{i}]",
                               duration=0.01))
    return out


def once(directory: Path, n: int, failing: int) -> tuple[float, float, Counter[str], int]:
    key = secrets.token_hex(16)
    with DatadogIntake(directory / "intake", api_key=key) as intake:
        reporter = DatadogReporter.create(
            state_dir=directory / "state", environ={"DD_API_KEY": key, "DD_SITE": intake.url},
            ca_file=intake.ca_file)
        run = RunInfo(run_id=secrets.token_hex(6), started_at=time.time(), env="bench")
        reporter.start(run)
        batch = results(n, failing)
        t0 = time.perf_counter()
        for r in batch:
            reporter.result(r)
        t1 = time.perf_counter()
        reporter.finish(RunSummary(run=run, finished_at=time.time(),
                                   counts={"pass": n - failing, "fail": failing}))
        t2 = time.perf_counter()
        assert len(intake.checks) == n and not intake.rejected, intake.rejected[:3]
        size = sum(1 for _ in intake.series)
        return t1 - t0, t2 - t1, Counter(r.path for r in intake.requests), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1000)
    parser.add_argument("--failing", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"command: python bench/report.py --results {args.results} "
          f"--failing {args.failing} --repeat {args.repeat}")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    finish_times = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            collect, finish, paths, series = once(Path(tmp), args.results, args.failing)
        finish_times.append(finish)
        print(f"run {i + 1}: result() x{args.results} {collect * 1000:.1f} ms, "
              f"finish() {finish * 1000:.0f} ms, requests {dict(sorted(paths.items()))}, "
              f"{series} series items")
    print(f"finish(): median {statistics.median(finish_times) * 1000:.0f} ms, "
          f"max {max(finish_times) * 1000:.0f} ms over {args.repeat} runs")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
