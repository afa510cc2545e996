"""The pytest plugin (entry point ``pytest11: seawall``).

- options ``--seawall-config``, ``--seawall-schedule``, ``--seawall-state-dir``;
- config loaded in ``pytest_configure``: a bad file is a usage error (exit 4), one line;
- parametrization: a test naming a target-kind fixture (``endpoint``, ``service``,
  ``cell``, ...; see :mod:`seawall.suites`) runs once per target, with the target id as
  pytest id; ``facts`` and ``policy`` give that target's gathered facts and policy;
- facts are gathered lazily, once per suite, for the selected targets only;
- ``privileged`` tests and suites that cannot run here skip with one line of reason,
  and fail instead when ``SEAWALL_REQUIRE_PRIVILEGED=1`` (CI);
- the reporter bridge (:mod:`seawall.bridge`) turns reports into CheckResults for the
  reporters, on the xdist controller only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Generator, Mapping
from typing import Any

import pytest

from seawall import config as config_module
from seawall.bridge import BRIDGE_KEY, SUITE_MARKERS, ReporterBridge
from seawall.config import Config
from seawall.errors import ConfigError
from seawall.expect import _current
from seawall.model import Finding
from seawall.suites import KINDS, Plan, Suite, load_kind

STATE_KEY = pytest.StashKey["SessionState"]()
REQUIRE_PRIVILEGED = "SEAWALL_REQUIRE_PRIVILEGED"


class SessionState:
    """Per-session plans, selected targets, gathered facts and lab resources."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.plans: dict[str, Plan] = {}
        self.suites: dict[str, Suite] = {}
        self.selected: dict[str, list[Any]] = {}
        self.facts: dict[str, Mapping[str, Any]] = {}
        self.resources = contextlib.ExitStack()

    def plan(self, kind: str) -> Plan:
        """The plan for a target kind, made once (cheap, no side effects)."""
        if kind not in self.plans:
            suite = load_kind(kind)
            self.suites[kind] = suite
            self.plans[kind] = suite.plan(self.config)
        return self.plans[kind]

    def facts_for(self, kind: str, target_id: str) -> Any:
        """Facts of one target; the first call gathers all selected targets of the kind."""
        if kind not in self.facts:
            plan = self.plan(kind)
            targets = self.selected.get(kind) or list(plan.targets)
            self.facts[kind] = self.suites[kind].gather(
                plan, targets, self.config, self.resources
            )
        return self.facts[kind][target_id]


def privileged_skip(reason: str) -> None:
    """Skip for a missing privilege; in CI (SEAWALL_REQUIRE_PRIVILEGED=1) fail instead."""
    if os.environ.get(REQUIRE_PRIVILEGED) == "1":
        pytest.fail(f"{REQUIRE_PRIVILEGED}=1 but this would skip: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("seawall", "Seawall security-claims probes")
    group.addoption(
        "--seawall-config", metavar="PATH", default=None,
        help="config file (default: $SEAWALL_CONFIG, ./seawall.toml, else the embedded lab)",
    )
    group.addoption(
        "--seawall-schedule", metavar="NAME", default=os.environ.get("SEAWALL_SCHEDULE", "adhoc"),
        help="schedule name for tags and the heartbeat (default: $SEAWALL_SCHEDULE or adhoc)",
    )
    group.addoption(
        "--seawall-state-dir", metavar="DIR", default=os.environ.get("SEAWALL_STATE_DIR"),
        help="where evidence files, the spool and state live "
        "(default: $SEAWALL_STATE_DIR, else [seawall] state_dir)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        path = config_module.locate(config.getoption("seawall_config"))
        loaded = config_module.load(path)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers", "seawall_unavailable(reason): the suite cannot run here (set by Seawall)"
    )
    for marker in ("tls", "https", "isolation", "at_rest", "privileged"):
        config.addinivalue_line("markers", f"{marker}: Seawall {marker} probes")
    state = SessionState(loaded)
    config.stash[STATE_KEY] = state
    if not hasattr(config, "workerinput"):  # the xdist controller, or no xdist
        bridge = ReporterBridge.from_pytest(config, loaded)
        config.stash[BRIDGE_KEY] = bridge
        config.pluginmanager.register(bridge, "seawall-bridge")


def _stop_on_sigterm(resources: contextlib.ExitStack) -> None:
    """SIGTERM (docker stop, the scheduler's deadline) ends the run like Ctrl-C does, so
    labs, namespaces and mounts are torn down and results are flushed. Installed only
    when probes (suite-marked tests or target kinds) were selected, and restored at the
    end: other pytest runs in the same environment keep pytest's own signal handling."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError, OSError):
        previous = signal.signal(signal.SIGTERM, interrupt)
        # restored at session end, after the labs are torn down (callbacks run LIFO)
        resources.callback(signal.signal, signal.SIGTERM, previous)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None:
        state.resources.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE_KEY]
    source = state.config.source
    if state.config.lab:
        source += " (no seawall.toml, --seawall-config or SEAWALL_CONFIG: probing local lab)"
    lines = [f"seawall: config {source}"]
    bridge = config.stash.get(BRIDGE_KEY, None)
    if bridge is not None:
        lines.extend(bridge.header())
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[STATE_KEY]
    for kind in KINDS:
        if kind not in metafunc.fixturenames:
            continue
        try:
            plan = state.plan(kind)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        if plan.unavailable:
            mark = pytest.mark.seawall_unavailable(plan.unavailable)
            metafunc.parametrize(kind, [pytest.param(None, marks=mark, id="unavailable")])
        else:
            metafunc.parametrize(kind, list(plan.targets), ids=[t.id for t in plan.targets])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember which targets survived selection, so gathering skips the rest."""
    state = config.stash[STATE_KEY]
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        for kind in KINDS:
            target = callspec.params.get(kind)
            if target is not None and target not in state.selected.setdefault(kind, []):
                state.selected[kind].append(target)
    probes = any(item.get_closest_marker(m) for item in items for m in SUITE_MARKERS)
    if probes or any(state.selected.values()):
        _stop_on_sigterm(state.resources)


def pytest_runtest_setup(item: pytest.Item) -> None:
    unavailable = item.get_closest_marker("seawall_unavailable")
    if unavailable is not None:
        privileged_skip(unavailable.args[0])
    if item.get_closest_marker("privileged") is not None and os.geteuid() != 0:
        privileged_skip("needs root (network namespaces, loop devices or raw sockets)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Collect the findings ``expect()`` sees during the test onto its report."""
    findings: list[Finding] = []
    token = _current.set(findings)
    try:
        return (yield)
    finally:
        _current.reset(token)
        for finding in findings:
            item.user_properties.append(("seawall.finding", finding.to_json()))
        doc = getattr(getattr(item, "function", None), "__doc__", None)
        if doc:
            item.user_properties.append(("seawall.claim", doc.strip().splitlines()[0]))


def _kind_of(request: pytest.FixtureRequest) -> str:
    for kind in KINDS:
        if kind in request.fixturenames:
            return kind
    raise pytest.UsageError(
        f"{request.node.nodeid}: 'facts' and 'policy' need a target fixture "
        f"({', '.join(KINDS)}) in the same test"
    )


@pytest.fixture
def facts(request: pytest.FixtureRequest) -> Any:
    """The gathered facts for this test's target."""
    kind = _kind_of(request)
    target = request.getfixturevalue(kind)
    state = request.config.stash[STATE_KEY]
    return state.facts_for(kind, target.id)


@pytest.fixture
def policy(request: pytest.FixtureRequest) -> Any:
    """The policy that applies to this test's target."""
    kind = _kind_of(request)
    target = request.getfixturevalue(kind)
    return request.config.stash[STATE_KEY].plan(kind).policies[target.id]


@pytest.fixture(scope="session")
def seawall_config(request: pytest.FixtureRequest) -> Config:
    """The loaded configuration."""
    return request.config.stash[STATE_KEY].config


@pytest.fixture(scope="session")
def clock() -> Any:
    """The time source rules judge against (``time.time``); tests may inject their own."""
    import time

    return time.time
