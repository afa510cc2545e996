"""How a suite plugs into the pytest plugin: a plan of targets, then one concurrent gather.

A probe test names the fixture of the target kind it checks (``endpoint``, ``client``,
``service``, ``cell``, ``data_path``); the plugin parametrizes it with the plan's targets
(their ``id`` is the pytest id) and offers ``facts`` and ``policy`` for that target::

    @pytest.mark.tls
    def test_min_version(endpoint, facts, policy):
        '''Every endpoint accepts only the TLS versions its policy allows.'''
        expect(rules.versions(facts, policy))

Facts are gathered lazily, once per suite and session, for all *selected* targets at
once (``-k`` and ``-m`` deselection is honoured), with trio inside ``gather``.

Each kind is registered here by dotted path, so that importing the plugin does not
import every suite (scapy, httpx) and a new suite adds one line.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seawall.config import Config

#: fixture name -> "module:attribute" of the Suite object that provides it.
KINDS: dict[str, str] = {
    "endpoint": "seawall.tls.suite:ENDPOINTS",
    "client": "seawall.tls.clients:CLIENTS",
    "service": "seawall.https.suite:SERVICES",
    "cell": "seawall.isolation.suite:CELLS",
    "data_path": "seawall.at_rest.suite:DATA_PATHS",
}


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What a suite will probe in this session.

    ``targets`` each have a stable ``id``; ``policies`` maps a target id to the policy
    object the rules take; ``source`` says where the targets came from (a config file,
    or ``embedded lab``) for the run header. ``unavailable`` is a one-line reason when
    the suite cannot run here at all (``needs root to build network namespaces``):
    its tests are skipped with that reason, and fail when SEAWALL_REQUIRE_PRIVILEGED=1.
    """

    suite: str
    targets: tuple[Any, ...] = ()
    policies: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    unavailable: str = ""
    privileged: bool = False
    context: Any = None


class Suite(Protocol):
    """One target kind of one suite. Implementations live in ``seawall/<suite>/suite.py``."""

    name: str  # the suite (and marker) name: "tls"
    kind: str  # the fixture name: "endpoint"

    def plan(self, config: Config) -> Plan:
        """Targets and policies from ``config``: cheap and without side effects, since it
        runs at collection even for tests that ``-m``/``-k`` will deselect. In lab mode
        (``config.lab``) the targets are the lab's static catalogue (stable ids such as
        ``expired.lab.seawall.test:443``); nothing is started yet. Raise ConfigError for
        bad input."""
        ...

    def gather(
        self, plan: Plan, targets: Sequence[Any], config: Config,
        resources: contextlib.ExitStack,
    ) -> Mapping[str, Any]:
        """Facts for each of ``targets`` (the selected subset of the plan), keyed by
        target id, gathered concurrently. In lab mode, start the lab first and register
        its teardown on ``resources`` (closed at session end, also on failure, Ctrl-C or
        SIGTERM). Never raises for a target that could not be probed: its facts say why."""
        ...


def load_kind(kind: str) -> Suite:
    """The Suite object registered for fixture ``kind``."""
    module_name, _, attribute = KINDS[kind].partition(":")
    suite: Suite = getattr(importlib.import_module(module_name), attribute)
    return suite
