"""The ``command`` runtime, driven by templates around ``ip netns`` so its path is real."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest

from seawall.runtime import RUNTIMES
from seawall.runtime.command import CommandRuntime
from seawall.runtime.netns import NetnsRuntime, list_namespaces
from seawall.targets import SandboxSpec

pytestmark = pytest.mark.privileged


def test_registry_names_both_drivers() -> None:
    assert RUNTIMES["netns"] is NetnsRuntime and RUNTIMES["command"] is CommandRuntime


def test_command_runtime_creates_execs_addresses_and_destroys() -> None:
    prefix = f"sw{secrets.token_hex(3)}-"
    runtime = CommandRuntime(
        prefix=prefix,
        create="ip netns add {name}",
        exec="ip netns exec {name} {command}",
        address="ip -n {name} -o addr show dev lo",
        destroy="ip netns delete {name}",
    )
    sandbox = runtime.create(SandboxSpec(name="a", fleet="cmd"))
    try:
        assert sandbox.handle == f"{prefix}cmd.a" and sandbox.handle in list_namespaces()
        subprocess.run(["ip", "-n", sandbox.handle, "addr", "add", "198.18.9.9/32", "dev", "lo"],
                       check=True)
        out = subprocess.run(runtime.command(sandbox, ["ip", "netns", "identify"]),
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == sandbox.handle
        assert runtime.addresses(sandbox).ipv4 == "198.18.9.9"
        probe = {"key": "00" * 32, "attempts": [{"id": "x", "kind": "tcp", "host": "198.18.9.9",
                                                  "port": 9, "timeout": 1}]}
        done = subprocess.run(runtime.command(sandbox, [sys.executable, "-m", "seawall.agent",
                                                        "probe"]),
                              input=json.dumps(probe), capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)["results"]["x"]
        assert result["status"] != "connected", result  # nothing listens in there
    finally:
        runtime.destroy(sandbox)
    assert sandbox.handle not in list_namespaces()
