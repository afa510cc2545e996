"""A black-holed or stalling intake cannot hold a run past its delivery budget; what
was not delivered stays spooled and arrives with the next run."""

from __future__ import annotations

import contextlib
import fcntl
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seawall.lab.intake import DatadogIntake
from seawall.model import Outcome
from seawall.report.delivery import LOCK_FILE, BudgetedTransport, DeliveryBudget
from seawall.report.transport import Secret, Verdict


def spooled(state_dir: Path) -> list[Path]:
    return sorted((state_dir / "spool").glob("*.json"))


def findings(kit: Any, tag: str) -> list[Any]:
    return [kit.finding(target=f"a{tag}.example.com:443"),
            kit.finding(target=f"b{tag}.example.com:443", outcome=Outcome.FAIL)]


def test_a_stalling_intake_costs_one_budget_per_run_then_nothing(
        kit: Any, intake: DatadogIntake) -> None:
    intake.fault("delay", times=100, delay=2.0)  # reads the request, never answers
    kit.run(kit.reporter(timeout=0.4, delivery_budget=0.4), findings(kit, "1"))
    assert len(intake.requests) == 1 and len(spooled(kit.state_dir)) == 1
    before = len(intake.requests)
    second = kit.reporter(timeout=0.4, delivery_budget=0.4)
    kit.run(second, findings(kit, "2"))
    # the start's replay used the whole budget; the finish sent nothing at all
    assert len(intake.requests) == before + 1
    assert "delivery time budget of 0.4 s for this run used up" in second.status()
    assert second.sender.skipped >= 1
    assert len(spooled(kit.state_dir)) == 2
    intake.clear_faults()
    kit.run(kit.reporter(), [])
    assert spooled(kit.state_dir) == []
    checks = sorted(c["tags"][-1] for c in intake.checks)
    assert checks == sorted(f"target:{x}{n}.example.com:443" for x in "ab" for n in "12")
    assert len(intake.events) == 2 and intake.rejected == []


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A loopback port that never completes a connect: a listener whose accept queue is
    full drops every new SYN, as a firewall that silently drops packets does."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # pending: never accepted
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.05)
    yield f"https://127.0.0.1:{port}"
    for c in [*fillers, server]:
        c.close()


def test_connect_retries_to_a_black_hole_end_with_the_budget(black_hole: str,
                                                             api_key: str) -> None:
    """urllib3 retries a connect timeout 3 times (4 x timeout per request unbounded):
    under a budget, the attempts after the deadline get no time at all."""
    budget = DeliveryBudget(0.8)
    sender = BudgetedTransport(api_key=Secret(api_key), api_host=black_hole, host_name="h",
                               timeout=0.5, budget=budget)
    item = {"metric": "seawall.run.heartbeat", "type": "gauge", "host": "h",
            "points": [[int(time.time()), 1.0]], "tags": ["env:x"]}
    first = sender.send("series", [item])
    assert first.verdict is Verdict.RETRY and "ConnectTimeoutError" in first.detail
    assert "connect timeout=0.001" in first.detail  # the last retry was cut to nothing
    assert budget.used_up
    second = sender.send("series", [item])
    assert second.verdict is Verdict.RETRY and "budget" in second.detail
    assert sender.skipped == 1 and sender.requests == 1


def test_a_spool_busy_with_another_process_is_left_to_it(kit: Any,
                                                         intake: DatadogIntake) -> None:
    lock = kit.state_dir / "spool" / "state" / LOCK_FILE
    lock.parent.mkdir(parents=True)
    with lock.open("a") as other:  # another open file description: another deliverer
        fcntl.flock(other, fcntl.LOCK_EX)
        reporter = kit.reporter(delivery_budget=0.2)
        kit.run(reporter, findings(kit, "1"))
        assert intake.requests == [] and len(spooled(kit.state_dir)) == 1
        assert "another Seawall process kept the spool busy" in reporter.status()
    kit.run(kit.reporter(), [])
    assert spooled(kit.state_dir) == [] and len(intake.checks) == 2
