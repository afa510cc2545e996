"""Sandbox runtimes: how the isolation suite launches, enters and removes sandboxes.

One small interface (:class:`SandboxRuntime`): ``create``, ``command`` (exec: the host
argv that runs an argv inside the sandbox), ``addresses`` (address-of) and ``destroy``.
``RUNTIMES`` maps the configured name to its class:

- ``netns``: Linux network namespaces, created by us or attached by name;
- ``command``: command templates, so ``docker run --runtime=runsc``, ``podman``,
  ``kubectl exec`` or a platform CLI plug in by configuration.

Imports only :mod:`seawall.targets` and :mod:`seawall.errors`.
"""

from __future__ import annotations

from seawall.runtime.base import RUNTIMES, Sandbox, SandboxRuntime

__all__ = ["RUNTIMES", "Sandbox", "SandboxRuntime"]
