"""The ``cell`` target kind: plan the isolation matrix, then launch, probe and tear down.

``plan`` is cheap and side-effect free: the lab's static catalogue, or the configured
fleet. ``gather`` builds the namespaces (lab) or launches sandboxes (runtime), sweeps
what killed runs left behind, probes, and removes everything again, also on failure,
Ctrl-C and SIGTERM (teardown is registered on ``resources`` as well).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import trio

from seawall.config import Config
from seawall.config.isolation import IsolationConfig
from seawall.errors import ProbeError
from seawall.isolation import engine
from seawall.isolation.facts import CellFacts
from seawall.isolation.plan import METADATA_ADDRESSES, Destination, FleetPlan, cells_for
from seawall.isolation.policy import IsolationPolicy
from seawall.runtime.base import Sandbox, SandboxRuntime
from seawall.runtime.command import CommandRuntime
from seawall.runtime.netns import NetnsRuntime, RunLock, sweep_stale
from seawall.suites import Plan
from seawall.targets import Cell, SandboxSpec

NEEDS_ROOT = "needs root to build network namespaces (run as root or configure a runtime)"


def fleets_from_config(cfg: IsolationConfig) -> tuple[FleetPlan, ...]:
    """The configured fleet as a plan (one fleet named ``fleet``)."""
    forbidden = tuple(Destination(label="metadata", host=h, port=80) for h in METADATA_ADDRESSES)
    forbidden += tuple(Destination(label=f.label, host=f.host, port=f.port) for f in cfg.forbidden)
    attach = cfg.runtime == "netns"
    return (FleetPlan(
        name="fleet", runtime=cfg.runtime,
        sandboxes=tuple(SandboxSpec(name=s, fleet="fleet", namespace=s if attach else "")
                        for s in cfg.sandboxes),
        canary_tcp=cfg.canary_tcp, canary_udp=cfg.canary_udp, ports=cfg.ports, ipv6=cfg.ipv6,
        l2=cfg.l2, forbidden=forbidden, timeout=cfg.timeout, timeout_v6=cfg.timeout_v6,
        allowed=tuple(Destination(label=a.label, host=a.host, port=a.port) for a in cfg.allowed),
        max_in_flight=cfg.max_in_flight, rate=cfg.rate, full_sweep=cfg.full_sweep,
        sweep_range=cfg.sweep_range, tunnel_hosts=cfg.tunnel_hosts,
        resolvers=tuple(Destination(label="dns", host=h, port=53) for h in cfg.resolvers),
    ),)


class CellSuite:
    """The isolation suite's ``cell`` kind (see :class:`seawall.suites.Suite`)."""

    name = "isolation"
    kind = "cell"

    def plan(self, config: Config) -> Plan:
        """Cells of the lab catalogue or of the configured fleet; unavailable without root."""
        if config.lab:
            from seawall.lab import fleet as lab

            fleets = lab.catalogue()
            source = "embedded lab (network namespaces)"
        else:
            fleets = fleets_from_config(config.isolation) if config.isolation.sandboxes else ()
            source = config.source
        if fleets and os.geteuid() != 0 and (config.lab or fleets[0].runtime == "netns"):
            return Plan(suite=self.name, unavailable=NEEDS_ROOT, privileged=True)
        policy = IsolationPolicy(allow_raw_sockets=config.isolation.allow_raw_sockets)
        cells = tuple(c for f in fleets for c in cells_for(f))
        return Plan(suite=self.name, targets=cells, policies={c.id: policy for c in cells},
                    source=source, privileged=True, context=fleets)

    def gather(self, plan: Plan, targets: Sequence[Any], config: Config,
               resources: contextlib.ExitStack) -> Mapping[str, CellFacts]:
        """Launch the fleets the selected cells need, probe them, tear them down."""
        fleets: tuple[FleetPlan, ...] = plan.context or ()
        wanted = {c.source.split(".")[0] for c in targets}
        with contextlib.ExitStack() as stack:
            resources.callback(stack.close)  # also on Ctrl-C/SIGTERM during the session
            return run_fleets([f for f in fleets if f.name in wanted], list(targets),
                              config, stack)


def run_fleets(fleets: Sequence[FleetPlan], cells: Sequence[Cell], config: Config,
               stack: contextlib.ExitStack, *, mode: str = "drop",
               lab_templates: Mapping[str, str] | None = None) -> dict[str, CellFacts]:
    """Launch ``fleets``, probe ``cells`` of them concurrently, return facts by cell id.

    A fleet that cannot be launched (a runtime command failed, a namespace to attach to
    does not exist) gives its cells the ProbeError's reason and message: inconclusive,
    never isolated. ``lab_templates`` builds the lab through the ``command`` runtime
    (create/exec/address/destroy templates) instead of the built-in ``netns`` one.
    Everything launched is removed when ``stack`` closes."""
    prefix = f"sw{secrets.token_hex(3)}-"
    lock = RunLock(prefix)
    stack.callback(lock.release)
    sweep_stale()
    run_key = engine.new_run_key()
    facts: dict[str, CellFacts] = {}
    launched = []
    for plan in fleets:
        try:
            launched.append(launch(plan, config, prefix, stack, mode=mode,
                                   lab_templates=lab_templates))
        except ProbeError as exc:
            ids = {s.id for s in plan.sandboxes}
            facts.update({c.id: CellFacts(cell=c, observed_at=time.time(), problem=exc.reason,
                                          detail=str(exc)) for c in cells if c.source in ids})
    for fleet in launched:
        engine.start_listeners(fleet, run_key, stack)

    async def main() -> None:
        async def one(fleet: engine.Launched) -> None:
            mine = [c for c in cells if c.source in fleet.members]
            facts.update(await engine.probe_fleet(fleet, mine, run_key))

        async with trio.open_nursery() as nursery:
            for fleet in launched:
                nursery.start_soon(one, fleet)

    trio.run(main)
    return facts


def launch(plan: FleetPlan, config: Config, prefix: str, stack: contextlib.ExitStack,
           *, mode: str = "drop", lab_templates: Mapping[str, str] | None = None
           ) -> engine.Launched:
    """Create (lab) or launch (runtime) the sandboxes of one fleet; ProbeError when the
    runtime cannot (what was launched so far is already on ``stack``)."""
    if config.lab:
        from seawall.lab import fleet as lab

        design = plan.extra.get("design") or next(d for d in lab.FLEETS if d.name == plan.name)
        assert isinstance(design, lab.FleetDesign)
        runtime: SandboxRuntime = (CommandRuntime(prefix=prefix, **lab_templates)
                                   if lab_templates else NetnsRuntime(prefix))
        hub, built = lab.build(design, runtime, stack, mode=mode)
        server = subprocess.Popen(lab.metadata_server(hub, runtime), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        stack.callback(_kill, server)
        return engine.Launched(plan=plan, runtime=runtime, hub=hub,
                               members={m.id: m for m in built})
    runtime_obj: SandboxRuntime
    if plan.runtime == "command":
        runtime_obj = CommandRuntime(prefix=prefix, **config.isolation.command)
    else:
        runtime_obj = NetnsRuntime(prefix)
    members: dict[str, Sandbox] = {}
    for spec in plan.sandboxes:
        sandbox = runtime_obj.create(spec)
        stack.callback(runtime_obj.destroy, sandbox)
        members[spec.id] = runtime_obj.addresses(sandbox)
    return engine.Launched(plan=plan, runtime=runtime_obj, members=members)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


CELLS = CellSuite()
