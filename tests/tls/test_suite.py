"""The suite as the plugin drives it: plan, then gather for the selected targets only,
starting the lab in lab mode and closing it with the session's resources."""

from __future__ import annotations

import contextlib

from seawall.config import Config
from seawall.tls.suite import ENDPOINTS


def test_lab_mode_gathers_only_the_selected_cases() -> None:
    config = Config()
    plan = ENDPOINTS.plan(config)
    chosen = [t for t in plan.targets if t.name in ("good13", "expired")]
    with contextlib.ExitStack() as resources:
        facts = ENDPOINTS.gather(plan, chosen, config, resources)
        assert set(facts) == {"good13.lab.seawall.test:443", "expired.lab.seawall.test:443"}
        assert facts["good13.lab.seawall.test:443"].version == "TLSv1.3"
        expired = facts["expired.lab.seawall.test:443"]
        assert expired.error is None and expired.chain is not None
        assert expired.chain.status == "trusted"  # expired, but trusted: judged by a rule
        assert expired.address.startswith("127.0.0.1:")
