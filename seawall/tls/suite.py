"""The tls suite's plug into the pytest plugin: kind ``endpoint``.

``plan`` is cheap and side-effect free: the configured ``[[tls.targets]]``, or in lab
mode the lab's static TLS catalogue (``expired.lab.seawall.test:443`` ...) with the
policy each case is judged under (:data:`LAB_POLICIES`). ``gather`` starts the lab in
lab mode (closed on the session's ExitStack), then probes every selected endpoint at
once, connecting through the lab's overrides and trusting its root.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seawall.config import Config
from seawall.lab import TLS_CASES, Lab, LabError
from seawall.reasons import Reason
from seawall.suites import Plan
from seawall.targets import Endpoint, Overrides
from seawall.tls import engine
from seawall.tls.facts import TlsFacts

#: The policy a lab case is judged under when it is not ``default`` (TLS 1.2+).
LAB_POLICIES: Mapping[str, str] = {"good13": "modern", "only12": "strict",
                                   "weak_cipher": "strict"}


def lab_targets() -> tuple[Endpoint, ...]:
    """The lab's TLS cases as endpoints: stable ids, nominal port 443, no lab ports."""
    return tuple(Endpoint(host=case.host, port=443, policy=LAB_POLICIES.get(name, "default"),
                          name=name) for name, case in TLS_CASES.items())


class EndpointSuite:
    """Suite ``tls``, kind ``endpoint``."""

    name = "tls"
    kind = "endpoint"

    def plan(self, config: Config) -> Plan:
        """Configured endpoints, or the lab catalogue in lab mode."""
        section = config.tls
        targets = lab_targets() if config.lab else section.targets
        policies = {t.id: section.policies[t.policy] for t in targets}
        return Plan(suite=self.name, targets=targets, policies=policies,
                    source="embedded lab" if config.lab else config.source)

    def gather(self, plan: Plan, targets: Sequence[Any], config: Config,
               resources: contextlib.ExitStack) -> Mapping[str, TlsFacts]:
        """Facts per selected endpoint id; starts the lab first in lab mode."""
        section = config.tls
        endpoints: list[Endpoint] = list(targets)
        overrides: Overrides = {}
        pool: Path | None = None
        if config.lab and endpoints:
            try:
                lab = Lab.start([t.name for t in endpoints])
            except (LabError, OSError, KeyError) as exc:
                return {t.id: TlsFacts(target=t.id, server_name=t.server_name, address="",
                                       observed_at=time.time(), error=Reason.UNKNOWN_ERROR,
                                       error_detail=f"the lab could not start: {exc}")
                        for t in endpoints}
            resources.callback(lab.close)
            overrides = lab.overrides
            pool = lab.pki.intermediate_file
            # Lab hosts are trusted through the lab root only: the system store would
            # only slow the offline verification down.
            endpoints = [Endpoint(host=t.host, port=t.port, policy=t.policy, sni=t.sni,
                                  ca_file=lab.ca_file, name=t.name) for t in endpoints]
        return engine.gather(endpoints, timeout=section.timeout or config.general.timeout,
                             concurrency=section.concurrency or config.general.concurrency,
                             overrides=overrides,
                             pool_file=pool, system_trust=not config.lab)


ENDPOINTS = EndpointSuite()
