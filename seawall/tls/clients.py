"""``tls.client_verifies``: our HTTPS clients refuse invalid certificates.

Each configured client command (``[[clients.commands]]``; in the embedded lab: curl,
Python's urllib and a deliberately broken ``curl -k``) is run against local lab
endpoints: one good (``good13``, the positive control) and four presenting bad
certificates (self-signed, wrong host, expired, untrusted root). The client passes only
if it refuses every bad one and fetches the good one. A client that cannot fetch the
good endpoint proves nothing: that is an error (``control_failed``), never a pass.

One module holds the whole check (facts, engine, the rule, the suite), since it is
small: the rule :func:`client_verifies` is still a pure function of the facts.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from seawall.config import Config
from seawall.config.clients import ClientCommand
from seawall.model import JSON, Finding, Outcome
from seawall.reasons import Reason
from seawall.suites import Plan

CHECK = "tls.client_verifies"
GOOD_CASE = "good13"
BAD_CASES = ("self_signed", "wrong_host", "expired", "untrusted_root")
_TAIL = 400


class ClientReason(enum.StrEnum):
    """Reasons of the client-verification check (unique across suites)."""

    ACCEPTS_INVALID_CERT = "accepts_invalid_cert"  # the client fetched a bad endpoint
    CLIENT_MISSING = "client_missing"  # the command could not be started at all


# --- facts -----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ClientRun:
    """One run of a client against one lab case. ``exit_code`` None: no exit status
    (see ``reason``: ``timeout`` or ``client_missing``). ``stdout``/``stderr`` are tails."""

    case: str
    url: str
    argv: tuple[str, ...]
    exit_code: int | None = None
    reason: str | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    @property
    def accepted(self) -> bool:
        """The client exited 0: it fetched the URL, so it accepted the certificate."""
        return self.exit_code == 0

    def to_json(self) -> dict[str, JSON]:
        """Plain JSON for evidence (credentials in the argv redacted: see :func:`redact`)."""
        return {"case": self.case, "url": self.url, "argv": redact(self.argv),
                "exit_code": self.exit_code, "error": self.reason, "stdout": self.stdout,
                "stderr": self.stderr, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, kw_only=True)
class ClientFacts:
    """What one client did: ``good`` (the control run) and ``bad`` runs. ``reason`` and
    ``detail`` are set when nothing could be run (the lab did not start)."""

    client: str
    command: str
    observed_at: float
    good: ClientRun | None = None
    bad: tuple[ClientRun, ...] = ()
    reason: str | None = None
    detail: str = ""


# --- keeping credentials out of evidence ------------------------------------------------

#: Options whose value is a credential (curl, wget, httpie spellings).
_SECRET_OPTIONS = frozenset({"-u", "--user", "--proxy-user", "--oauth2-bearer", "--pass",
                             "--password", "--http-password", "--token", "--auth", "-a"})
_HEADER_OPTIONS = frozenset({"-H", "--header", "--proxy-header"})
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key",
                   "x-auth-token", "dd-api-key")
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
REDACTED = "<redacted>"


def _redact_value(option: str, value: str) -> str:
    if option in _SECRET_OPTIONS:
        return REDACTED
    if option in _HEADER_OPTIONS:
        name, colon, _ = value.partition(":")
        if colon and name.strip().lower() in _SECRET_HEADERS:
            return f"{name}: {REDACTED}"
    return _USERINFO.sub(rf"\g<scheme>{REDACTED}@", value)


def redact(argv: Sequence[str]) -> list[str]:
    """``argv`` with credentials replaced by ``<redacted>``: values of user/password/token
    options, Authorization/Cookie/API-key headers and ``user:pass@`` in URLs. Evidence
    and reports are read widely; the commands run are not changed."""
    out: list[str] = []
    previous = ""
    for word in argv:
        option, eq, value = word.partition("=")
        if previous:
            out.append(_redact_value(previous, word))
        elif eq and option.startswith("--"):
            out.append(f"{option}={_redact_value(option, value)}")
        else:
            out.append(_USERINFO.sub(rf"\g<scheme>{REDACTED}@", word))
        previous = word if word in _SECRET_OPTIONS | _HEADER_OPTIONS and not previous else ""
    return out


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return ["<unparsable command>"]


# --- the rule --------------------------------------------------------------------------

def client_verifies(facts: ClientFacts) -> Finding:
    """pass: the good endpoint was fetched and every bad one refused. fail: a bad one was
    fetched (listed in the evidence). error: the control failed, the client is missing,
    a bad run timed out (a hang is not a refusal) or the lab did not start."""
    evidence: dict[str, JSON] = {"command": shlex.join(redact(_words(facts.command))),
                                 "good": facts.good.to_json() if facts.good else None,
                                 "bad": [r.to_json() for r in facts.bad]}

    def judge(outcome: Outcome, reason: str | None, summary: str) -> Finding:
        return Finding(check=CHECK, target=facts.client, outcome=outcome, reason=reason,
                       summary=summary, observed_at=facts.observed_at, evidence=evidence,
                       metrics={"tls.client.accepted_invalid": float(
                           sum(r.accepted for r in facts.bad))})

    good = facts.good
    if facts.reason or good is None:
        return judge(Outcome.ERROR, facts.reason or Reason.PROBE_CRASHED,
                     f"client {facts.client} was not run: {facts.detail or 'no control run'}")
    if good.reason == ClientReason.CLIENT_MISSING:
        return judge(Outcome.ERROR, ClientReason.CLIENT_MISSING,
                     f"client {facts.client} could not be started: {good.stderr}")
    if not good.accepted:
        what = "timed out" if good.reason else f"exited {good.exit_code}"
        return judge(Outcome.ERROR, Reason.CONTROL_FAILED,
                     f"client {facts.client} {what} against the good endpoint {good.url} "
                     f"({_last_line(good.stderr)}): it proves nothing about bad certificates")
    accepted = [r.case for r in facts.bad if r.accepted]
    evidence["accepted_invalid"] = list(accepted)
    if accepted:
        return judge(Outcome.FAIL, ClientReason.ACCEPTS_INVALID_CERT,
                     f"client {facts.client} accepts invalid certificates: "
                     f"{', '.join(accepted)}")
    unsure = [r for r in facts.bad if r.exit_code is None]
    if unsure:
        return judge(Outcome.ERROR, unsure[0].reason or Reason.UNKNOWN_ERROR,
                     f"client {facts.client} gave no answer for "
                     f"{', '.join(f'{r.case} ({r.reason})' for r in unsure)}")
    return judge(Outcome.PASS, None,
                 f"client {facts.client} refuses {len(facts.bad)} invalid certificates "
                 f"({', '.join(r.case for r in facts.bad)}) and accepts the good one")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# --- the engine ------------------------------------------------------------------------

def render(client: ClientCommand, values: Mapping[str, str]) -> list[str]:
    """The argv to run: without a shell, the template is split with ``shlex`` and the
    placeholders filled in each word; with ``shell``, values are shell-quoted and the
    line handed to ``/bin/sh -c``."""
    if client.shell:
        quoted = {k: shlex.quote(v) for k, v in values.items()}
        return ["/bin/sh", "-c", client.command.format(**quoted)]
    return [word.format(**values) for word in shlex.split(client.command)]


def _tail(data: bytes) -> str:
    return data.decode("utf-8", "replace")[-_TAIL:]


async def run_client(client: ClientCommand, case: str, values: Mapping[str, str]) -> ClientRun:
    """Run ``client`` once against one endpoint, within ``client.timeout`` seconds.
    Never raises for the client's behaviour: the run records it."""
    argv = tuple(render(client, values))
    started = trio.current_time()
    run = ClientRun(case=case, url=values["url"], argv=argv, reason=str(Reason.TIMEOUT),
                    stderr=f"no exit within {client.timeout} s")
    with trio.move_on_after(client.timeout):
        try:
            done = await trio.run_process(list(argv), capture_stdout=True,
                                          capture_stderr=True, check=False, stdin=b"",
                                          start_new_session=True,
                                          deliver_cancel=_kill_group)
            run = ClientRun(case=case, url=values["url"], argv=argv, exit_code=done.returncode,
                            stdout=_tail(done.stdout), stderr=_tail(done.stderr))
        except OSError as exc:  # not found, not executable: nothing ran
            run = ClientRun(case=case, url=values["url"], argv=argv,
                            reason=str(ClientReason.CLIENT_MISSING),
                            stderr=f"{argv[0]}: {exc.strerror or exc}")
    return ClientRun(**{**vars(run), "seconds": trio.current_time() - started})


async def _kill_group(process: Any) -> None:
    """On timeout, SIGKILL the client's whole session (a shell's children too)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def endpoint_values(host: str, address: tuple[str, int], ca_file: Path) -> dict[str, str]:
    """Placeholder values for one lab endpoint."""
    ip, port = address
    return {"host": host, "port": str(port), "ip": ip, "url": f"https://{host}:{port}/",
            "ca_file": str(ca_file)}


async def gather(clients: Sequence[ClientCommand], endpoints: Mapping[str, dict[str, str]],
                 *, concurrency: int = 8) -> dict[str, ClientFacts]:
    """Run every client against every endpoint (case name -> placeholder values), at
    most ``concurrency`` processes at once; facts keyed by client id."""
    limiter = trio.CapacityLimiter(concurrency)
    runs: dict[tuple[str, str], ClientRun] = {}
    observed = time.time()

    async def one(client: ClientCommand, case: str) -> None:
        async with limiter:
            runs[client.id, case] = await run_client(client, case, endpoints[case])

    async with trio.open_nursery() as nursery:
        for client in clients:
            for case in endpoints:
                nursery.start_soon(one, client, case)
    return {
        c.id: ClientFacts(client=c.id, command=c.command, observed_at=observed,
                          good=runs[c.id, GOOD_CASE],
                          bad=tuple(runs[c.id, case] for case in endpoints if case != GOOD_CASE))
        for c in clients
    }


# --- the suite -------------------------------------------------------------------------

_PY_URLLIB = """\
import http.client, socket, ssl, sys, urllib.request
url, ip, port, ca_file = sys.argv[1:5]
class Connection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # connect-to: dial the lab address; name, SNI and verification stay on the URL host
        self._create_connection = lambda _addr, *a, **k: socket.create_connection(
            (ip, int(port)), *a, **k)
class Handler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(Connection, req, context=self._context)
context = ssl.create_default_context(cafile=ca_file)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), Handler(context=context))
with opener.open(url, timeout=10) as response:
    sys.stdout.write(f"{response.status}\\n")
"""

#: ``--resolve`` pins the name to the lab address, so the URL, SNI and the name checked
#: stay the lab host; ``--noproxy '*'`` keeps an inherited https_proxy out of it.
_CURL = ("curl -sS -o /dev/null --noproxy '*' --max-time 10 {insecure}--cacert {{ca_file}} "
         "--resolve {{host}}:{{port}}:{{ip}} {{url}}")


def lab_clients() -> tuple[ClientCommand, ...]:
    """The lab's default clients: curl and Python's urllib (both must pass), and
    ``curl-insecure`` (``curl -k``), deliberately broken: the check must catch it."""
    python = shlex.join([sys.executable, "-c", _PY_URLLIB.replace("{", "{{").replace(
        "}", "}}"), "{url}", "{ip}", "{port}", "{ca_file}"])
    return (
        ClientCommand(name="curl", command=_CURL.format(insecure="")),
        ClientCommand(name="python-urllib", command=python),
        ClientCommand(name="curl-insecure", command=_CURL.format(insecure="-k ")),
    )


class ClientsSuite:
    """``CLIENTS``: the Suite (see :mod:`seawall.suites`) of kind ``client``."""

    name = "tls"
    kind = "client"

    def plan(self, config: Config) -> Plan:
        """The configured clients, or the lab's defaults when there is no config file."""
        clients = config.clients.commands or (lab_clients() if config.lab else ())
        return Plan(suite=self.name, targets=clients, policies={c.id: None for c in clients},
                    source=config.source, context=config.general.concurrency)

    def gather(self, plan: Plan, targets: Sequence[Any], config: Config,
               resources: contextlib.ExitStack) -> Mapping[str, ClientFacts]:
        """Start the lab's good and bad TLS endpoints (in every mode: they are the test
        fixtures of the clients), run each selected client against each."""
        from seawall.lab import TLS_CASES, Lab, LabError

        clients: list[ClientCommand] = list(targets)
        try:
            lab = Lab.start([GOOD_CASE, *BAD_CASES])
        except (LabError, OSError) as exc:
            return {c.id: ClientFacts(client=c.id, command=c.command, observed_at=time.time(),
                                      reason=str(Reason.PROBE_CRASHED),
                                      detail=f"the lab did not start: {exc}") for c in clients}
        resources.callback(lab.close)
        endpoints = {}
        for case in (GOOD_CASE, *BAD_CASES):
            host = TLS_CASES[case].host
            endpoints[case] = endpoint_values(host, lab.overrides[host, 443], lab.ca_file)
        concurrency = max(1, min(int(plan.context or 8), 2 * (os.cpu_count() or 1) + 2))
        run = functools.partial(gather, clients, endpoints, concurrency=concurrency)
        results: dict[str, ClientFacts] = trio.run(run)
        return results


CLIENTS = ClientsSuite()
