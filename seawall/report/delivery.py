"""Bounded delivery: a time budget per run, and one deliverer of a spool at a time.

Why a budget: Datadog (or a proxy, or a firewall) that silently drops packets makes
every request wait its whole timeout, and ``urllib3`` retries a connect that timed out
three more times: 4 x 10 s = 40 s per delivery pass, at the start and again at the end
of every run. A 5-minute schedule must not overrun because of that. So each run gets
``delivery_budget`` seconds of delivery in total (``[datadog] delivery_budget``,
default 20): every request's connect and read timeouts are cut to what is left of it
(:class:`DeadlineTimeout`, so urllib3's own retries run out with it too), and once it
is spent no request is made at all. What is not delivered stays in the spool and is
replayed by the next run, exactly as after any other transport failure.

Why a lock: several processes share one spool (the scheduler and each schedule's child
run). Two of them delivering the same spool file at once would send its service checks
and events twice, or write back a file the other had just delivered.
:func:`spool_lock` makes delivery exclusive (``flock`` on ``<spool>/state/deliver.lock``);
a process that cannot get it within its budget leaves its items spooled.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from urllib3.util.timeout import Timeout

from seawall.report.spool import Spool
from seawall.report.transport import HttpTransport, Payload, Response, Secret, Verdict

DEFAULT_BUDGET = 20.0
#: The shortest timeout handed to a socket: 0 would make it non-blocking, not "expired".
MIN_TIMEOUT = 0.001
LOCK_FILE = "deliver.lock"


class DeliveryBudget:
    """Seconds of delivery a run may spend, across all its requests."""

    def __init__(self, total: float = DEFAULT_BUDGET, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.spent = 0.0
        self.clock = clock

    def __repr__(self) -> str:
        return f"DeliveryBudget(total={self.total:g}, spent={self.spent:.3f})"

    def left(self) -> float:
        """Seconds still to spend (never negative)."""
        return max(0.0, self.total - self.spent)

    @property
    def used_up(self) -> bool:
        """Whether nothing is left."""
        return self.left() <= 0.0

    @contextlib.contextmanager
    def spending(self) -> Iterator[float]:
        """Yield the deadline (on ``clock``) of what is left; charge the time it took."""
        start = self.clock()
        try:
            yield start + self.left()
        finally:
            self.spent += max(0.0, self.clock() - start)


class DeadlineTimeout(Timeout):
    """A urllib3 timeout never longer than what is left until ``deadline``
    (``time.monotonic``). urllib3 reads the connect timeout before each connect
    attempt (the TLS handshake included) and the read timeout before each response, so
    its retries cannot outlast the deadline: past it, each attempt fails at once."""

    def __init__(self, base: float, *, deadline: float) -> None:
        super().__init__(connect=base, read=base)
        self.base = base
        self.deadline = deadline

    def _cut(self) -> float:
        return max(MIN_TIMEOUT, min(self.base, self.deadline - time.monotonic()))

    @property
    def connect_timeout(self) -> float:
        """The base timeout or what is left until the deadline, whichever is shorter."""
        return self._cut()

    @property
    def read_timeout(self) -> float:
        """The base timeout or what is left until the deadline, whichever is shorter."""
        return self._cut()

    def clone(self) -> DeadlineTimeout:
        """A copy with the same deadline (urllib3 clones per request)."""
        return DeadlineTimeout(self.base, deadline=self.deadline)

    def __repr__(self) -> str:
        return f"{self.base:g} s (cut to the run's delivery budget)"

    __str__ = __repr__


class BudgetedTransport(HttpTransport):
    """The HTTP transport, bounded by a :class:`DeliveryBudget`: each request's
    timeouts are cut to what is left, and none is made once it is spent (the answer is
    then ``retry``: the items stay spooled)."""

    def __init__(self, *, budget: DeliveryBudget, **options: Any) -> None:
        super().__init__(**options)
        self.base_timeout = float(self.timeout)
        self.budget = budget
        self.skipped = 0

    def __repr__(self) -> str:
        return f"BudgetedTransport(api_host={self.api_host!r}, budget={self.budget.total:g})"

    def used_up(self) -> Response:
        """The answer once the budget is spent: keep the items for the next run."""
        return Response(Verdict.RETRY, None,
                        f"delivery time budget of {self.budget.total:g} s for this run "
                        "used up (Datadog too slow or unreachable)")

    def send(self, kind: str, items: list[Payload]) -> Response:
        """Like :meth:`HttpTransport.send`, within the budget."""
        if self.budget.used_up:
            self.skipped += 1
            return self.used_up()
        with self.budget.spending() as deadline:
            self.timeout = DeadlineTimeout(self.base_timeout, deadline=deadline)  # type: ignore[assignment]
            try:
                return super().send(kind, items)
            finally:
                self.timeout = self.base_timeout


@contextlib.contextmanager
def spool_lock(directory: Path, *, budget: DeliveryBudget) -> Iterator[bool]:
    """Hold the spool's delivery lock; yield False if another process kept it for what
    is left of ``budget`` (the wait is charged to it) or it cannot be created."""
    path = directory / "state" / LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError:
        yield False
        return
    with handle:
        held = False
        with budget.spending() as deadline:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                    break
                except BlockingIOError:
                    if budget.clock() >= deadline:
                        break
                    time.sleep(0.02)
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def http_delivery(api_key: str, *, api_host: str, host_name: str, timeout: float,
                  ca_file: Path | None, budget: float, state_dir: Path, max_files: int,
                  max_bytes: int) -> tuple[BudgetedTransport, Spool]:
    """The budgeted HTTP sender and the shared spool (``<state_dir>/spool``) that the
    reporter and the scheduler's metrics both deliver through."""
    sender = BudgetedTransport(api_key=Secret(api_key), api_host=api_host,
                               host_name=host_name, timeout=timeout, ca_file=ca_file,
                               budget=DeliveryBudget(budget))
    return sender, Spool(state_dir / "spool", max_files=max_files, max_bytes=max_bytes)
