"""The one registry of every metric and service-check name Seawall sends to Datadog.

The reporter sends only names listed here; ``seawall monitors validate`` rejects a
monitor query naming anything else, so a renamed metric cannot leave a monitor
silently watching nothing. A suite adding a gauge (``Finding.metrics``) adds its name
(without the ``seawall.`` prefix) to :data:`FINDING_METRICS`.
"""

from __future__ import annotations

PREFIX = "seawall."

#: The service check: one status per check and target (0 ok, 1 warn, 2 crit, 3 unknown).
SERVICE_CHECK = "seawall.check"
SERVICE_CHECKS: dict[str, str] = {
    SERVICE_CHECK: "status of one check on one target: 0 pass, 1 warn, 2 fail, 3 inconclusive",
}

#: Gauges the reporter itself computes, per result or per run.
RESULT_METRICS: dict[str, str] = {
    "seawall.check.result": "severity of the result: 0 pass, 1 warn, 2 fail, 3 inconclusive",
    "seawall.check.duration": "seconds the check took",
}
RUN_METRICS: dict[str, str] = {
    "seawall.run.heartbeat": "1 when a run finished and handed its results over",
    "seawall.run.duration": "seconds from the start to the end of the run",
    "seawall.run.checks": "results of the run, tagged outcome:<pass|warn|fail|error>",
    "seawall.report.spooled": "results waiting in the spool for delivery",
    "seawall.report.dropped": "results dropped (rejected by Datadog or past its window)",
}

#: Counts the scheduler sends about itself (seawall.schedule.events names them, without
#: the prefix; seawall.report.scheduler_metrics sends them).
SCHEDULER_METRICS: dict[str, str] = {
    "seawall.schedule.tick_skipped": "ticks skipped, tagged reason:<still_running|locked>",
    "seawall.schedule.run_error": "runs that did not finish, tagged reason:<timeout|...>",
    "seawall.schedule.run_finished": "runs ended, tagged outcome:<passed|broken|error>",
    "seawall.schedule.catch_up": "due times missed while the scheduler was down",
}

#: Gauges suites attach to findings (``Finding.metrics``), without the prefix.
FINDING_METRICS: dict[str, str] = {
    "tls.cert.days_to_expiry": "days until the served leaf certificate expires",
    "tls.client.accepted_invalid": "1 when a client accepted an invalid certificate",
    "https.hsts.max_age": "HSTS max-age announced, in seconds",
    "https.redirects": "redirects followed before the final HTTPS answer",
    "isolation.attempts": "connection attempts made across a boundary",
    "isolation.leaks": "attempts that got through a boundary that must be closed",
    "at_rest.canary.found": "1 when the plaintext canary was found on the raw device",
    "at_rest.canary.bytes_read": "raw bytes scanned for the canary",
}

METRICS: dict[str, str] = {
    **RESULT_METRICS,
    **RUN_METRICS,
    **SCHEDULER_METRICS,
    **{PREFIX + name: text for name, text in FINDING_METRICS.items()},
}


def finding_metric(name: str) -> str | None:
    """The full Datadog name of a finding's gauge, or None if it is not registered."""
    return PREFIX + name if name in FINDING_METRICS else None


def is_emitted(name: str) -> bool:
    """Whether Seawall sends a metric or service check of this exact name."""
    return name in METRICS or name in SERVICE_CHECKS
