"""The https suite's plug into the pytest plugin: ``service`` targets and their facts.

Lab mode (no config file): the targets are the lab's static ``HTTP_CASES`` catalogue
(``redirect-ok.lab.seawall.test:443`` ...), with nominal ports 80/443; ``gather`` starts
the lab servers for the selected cases and dials them through the lab's connect-to
overrides, trusting the lab root. With a config file: ``[[https.services]]``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from seawall.config import Config
from seawall.https import engine
from seawall.https.facts import ServiceFacts
from seawall.https.policy import LAB_POLICIES, LAB_POLICY_OF, policies_for
from seawall.reasons import Reason
from seawall.suites import Plan
from seawall.targets import WebService


@dataclass(frozen=True, kw_only=True)
class HttpsContext:
    """What ``gather`` needs beyond the targets: the deadline per service in seconds,
    the bound on services in flight, and whether the targets are the embedded lab."""

    timeout: float
    concurrency: int
    lab: bool


def lab_services() -> tuple[WebService, ...]:
    """The lab's HTTP cases as services (no ``ca_file`` yet: the lab root exists only
    once the lab runs)."""
    from seawall.lab import HTTP_CASES

    return tuple(
        WebService(host=case.host, http_port=80, https_port=443, path="/",
                   policy=LAB_POLICY_OF.get(name, "default"), name=name)
        for name, case in HTTP_CASES.items()
    )


class ServicesSuite:
    """``SERVICES``: the Suite (see :mod:`seawall.suites`) of kind ``service``."""

    name = "https"
    kind = "service"

    def plan(self, config: Config) -> Plan:
        """Lab catalogue or configured services, with their policies. No I/O."""
        timeout = config.https.timeout or config.general.timeout
        concurrency = config.https.concurrency or config.general.concurrency
        if config.lab:
            services = lab_services()
            policies = policies_for(services, LAB_POLICIES)
        else:
            services = config.https.services
            policies = policies_for(services, config.https.policies)
        return Plan(suite=self.name, targets=services, policies=policies,
                    source=config.source,
                    context=HttpsContext(timeout=timeout, concurrency=concurrency,
                                         lab=config.lab))

    def gather(self, plan: Plan, targets: Sequence[Any], config: Config,
               resources: contextlib.ExitStack) -> Mapping[str, ServiceFacts]:
        """Facts per selected service id. In lab mode the lab is started here and closed
        by ``resources``; if it cannot start, every service's facts say so
        (``probe_crashed``), which the rules report as an error, never a pass."""
        context: HttpsContext = plan.context
        services: list[WebService] = list(targets)
        overrides = None
        if context.lab:
            from seawall.lab import Lab, LabError

            try:
                lab = Lab.start([s.name for s in services])
            except (LabError, OSError) as exc:
                return {s.id: _not_probed(s, f"the lab did not start: {exc}") for s in services}
            resources.callback(lab.close)
            services = [replace(s, ca_file=lab.ca_file) for s in services]
            overrides = lab.overrides
        return engine.gather_sync(
            services, {s.id: plan.policies[s.id] for s in services}, overrides=overrides,
            only_overrides=context.lab, timeout=context.timeout,
            concurrency=context.concurrency)


def _not_probed(service: WebService, detail: str) -> ServiceFacts:
    return ServiceFacts(target=service.id, host=service.host, http_port=service.http_port,
                        https_port=service.https_port, path=service.path,
                        observed_at=time.time(), reason=str(Reason.PROBE_CRASHED),
                        detail=detail)


SERVICES = ServicesSuite()
