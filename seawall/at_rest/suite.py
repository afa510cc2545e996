"""The at_rest suite's plug into the pytest plugin: kind ``data_path``.

``plan`` is cheap and side-effect free: configured paths, or in lab mode the lab's
static catalogue (nothing is built). ``gather`` builds the lab (as root) with every
undo on the session's ExitStack, then looks at the selected paths concurrently.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from seawall.at_rest import engine
from seawall.at_rest.facts import DataPathFacts
from seawall.at_rest.policy import DataPathPolicy, from_config
from seawall.config import Config
from seawall.config.at_rest import AtRestConfig, AtRestPathConfig
from seawall.lab import storage
from seawall.reasons import Reason
from seawall.suites import Plan
from seawall.targets import DataPath

UNAVAILABLE = "needs root to build loop images (run as root or configure paths)"


class DataPathSuite:
    """Suite ``at_rest``, kind ``data_path``. ``root`` is where the lab is built."""

    name = "at_rest"
    kind = "data_path"

    def __init__(self, root: str = storage.ROOT) -> None:
        self.root = root

    def plan(self, config: Config) -> Plan:
        """Configured paths, or the lab catalogue (root only) in lab mode."""
        section = config.at_rest
        if not config.lab:
            targets = tuple(DataPath(path=p.path, name=p.name) for p in section.paths)
            policies = {p.path: from_config(p, section) for p in section.paths}
            return Plan(suite=self.name, targets=targets, policies=policies,
                        source=config.source)
        if os.geteuid() != 0:
            return Plan(suite=self.name, source="embedded lab", unavailable=UNAVAILABLE,
                        privileged=True)
        cases = storage.catalogue(self.root)
        policies = {c.target.id: lab_policy(c, section) for c in cases}
        return Plan(suite=self.name, targets=tuple(c.target for c in cases),
                    policies=policies, source="embedded lab", privileged=True)

    def gather(self, plan: Plan, targets: Sequence[Any], config: Config,
               resources: contextlib.ExitStack) -> Mapping[str, DataPathFacts]:
        """Facts per selected target; the lab is built first in lab mode."""
        if config.lab and targets:
            try:
                storage.start(resources, self.root)
            except (storage.LabError, OSError) as exc:
                reason = engine.classify(exc) if isinstance(exc, OSError) else (
                    Reason.UNKNOWN_ERROR)
                return {t.id: DataPathFacts(path=t.path, observed_at=time.time(),
                                            reason=str(reason),
                                            detail=f"lab could not start: {exc}")
                        for t in targets}
        policies: Mapping[str, DataPathPolicy] = plan.policies
        return engine.gather(list(targets), policies, concurrency=2)


def lab_policy(case: storage.LabCase, section: AtRestConfig) -> DataPathPolicy:
    """The policy a lab case is probed against."""
    entry = AtRestPathConfig(path=case.target.path, expect=case.expect,
                             mechanism=case.mechanism)
    return from_config(entry, section)


DATA_PATHS = DataPathSuite()
