"""``command``: sandboxes launched by command templates from the configuration.

Templates are shell-like strings with placeholders ``{name}`` (the sandbox handle:
``<prefix><fleet>.<name>``) and, for ``exec``, ``{command}`` (the argv to run, quoted)::

    create  = "docker run -d --name {name} --runtime=runsc seawall-agent sleep infinity"
    exec    = "docker exec -i {name} {command}"
    address = "docker inspect -f '{{{{.NetworkSettings.IPAddress}}}}' {name}"
    destroy = "docker rm -f {name}"

``address`` prints the sandbox's addresses (IPv4 and/or IPv6, whitespace separated).
Templates are split with shlex (no shell), so values cannot inject commands.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence
from dataclasses import replace

from seawall.runtime.base import Sandbox, run
from seawall.targets import SandboxSpec


class CommandRuntime:
    """Sandboxes driven by ``create``/``exec``/``address``/``destroy`` templates."""

    name = "command"

    def __init__(self, *, create: str, exec: str, address: str, destroy: str,
                 prefix: str = "") -> None:
        self.templates = {"create": create, "exec": exec, "address": address,
                          "destroy": destroy}
        self.prefix = prefix

    def _argv(self, which: str, **values: str) -> list[str]:
        return [part.format(**values) for part in shlex.split(self.templates[which])]

    def create(self, spec: SandboxSpec) -> Sandbox:
        """Run the ``create`` template for ``spec``."""
        handle = f"{self.prefix}{spec.id}"
        run(self._argv("create", name=handle), target=handle)
        return Sandbox(spec=spec, handle=handle)

    def command(self, sandbox: Sandbox, argv: Sequence[str]) -> list[str]:
        """The ``exec`` template with ``{command}`` expanded to ``argv``."""
        out: list[str] = []
        for part in shlex.split(self.templates["exec"]):
            if part == "{command}":
                out.extend(argv)
            else:
                out.append(part.format(name=sandbox.handle, command=shlex.join(argv)))
        return out

    def addresses(self, sandbox: Sandbox) -> Sandbox:
        """Parse the ``address`` template's output: the first IPv4 and the first IPv6
        address that is neither loopback nor link-local (a sandbox's own loopback is not
        an address others can try)."""
        out = run(self._argv("address", name=sandbox.handle), target=sandbox.handle)
        v4 = v6 = None
        for word in out.split():
            try:
                address = ipaddress.ip_address(word.split("/")[0])
            except ValueError:
                continue
            if address.is_loopback:
                continue
            if address.version == 4 and v4 is None:
                v4 = str(address)
            elif address.version == 6 and v6 is None and not address.is_link_local:
                v6 = str(address)
        return replace(sandbox, ipv4=v4, ipv6=v6)

    def destroy(self, sandbox: Sandbox) -> None:
        """Run the ``destroy`` template (failures are ignored: best effort cleanup)."""
        run(self._argv("destroy", name=sandbox.handle), target=sandbox.handle, check=False)
