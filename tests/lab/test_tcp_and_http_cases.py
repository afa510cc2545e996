"""The non-TLS TCP cases and the HTTP cases behave as their catalogue entries say."""

from __future__ import annotations

import socket
import ssl

import pytest

from seawall.lab import DOMAIN, HTTP_CASES, TLS_CASES, Lab, LabCase

HELLO = bytes.fromhex("16030100") + b"\x00" * 60  # the start of a TLS record


def connect(lab: Lab, host: str, port: int) -> socket.socket:
    return socket.create_connection(lab.overrides[(host, port)], timeout=5)


def get(lab: Lab, case: LabCase, scheme: str) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-case names) of ``GET /`` over ``scheme``."""
    sock = connect(lab, case.host, 443 if scheme == "https" else 80)
    if scheme == "https":
        ctx = ssl.create_default_context(cafile=str(lab.ca_file))
        sock = ctx.wrap_socket(sock, server_hostname=case.host)
    with sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {case.host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


def test_no_tls_answers_a_client_hello_with_http_400(lab: Lab) -> None:
    with connect(lab, TLS_CASES["no_tls"].host, 443) as sock:
        sock.sendall(HELLO)
        assert sock.recv(100).startswith(b"HTTP/1.1 400 ")


def test_hanging_accepts_and_never_answers(lab: Lab) -> None:
    with connect(lab, TLS_CASES["hanging"].host, 443) as sock:
        sock.sendall(HELLO)
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(100)


def test_reset_resets(lab: Lab) -> None:
    # The RST may already be there when connect() returns to us: then connect raises.
    with pytest.raises(ConnectionResetError), \
            connect(lab, TLS_CASES["reset"].host, 443) as sock:
        sock.sendall(HELLO)
        sock.recv(100)


def test_closed_refuses(lab: Lab) -> None:
    with pytest.raises(ConnectionRefusedError):
        connect(lab, TLS_CASES["closed"].host, 443).close()


def test_a_stalled_handshake_does_not_block_other_ports(lab: Lab) -> None:
    # Half a ClientHello on good13 and a silent connection on hanging stay open while
    # full handshakes go through on the same and other ports.
    good13 = TLS_CASES["good13"]
    ctx = ssl.create_default_context(cafile=str(lab.ca_file))
    with connect(lab, good13.host, 443) as stalled, \
            connect(lab, TLS_CASES["hanging"].host, 443):
        stalled.sendall(HELLO[:10])
        for case in (good13, TLS_CASES["good12"]):
            with connect(lab, case.host, 443) as sock, \
                    ctx.wrap_socket(sock, server_hostname=case.host) as tls:
                assert tls.version() == "TLSv1.3"


@pytest.mark.parametrize("case", HTTP_CASES.values(), ids=lambda c: c.name)
def test_http_cases_answer_as_recorded(lab: Lab, case: LabCase) -> None:
    status, headers = get(lab, case, "https")
    assert status == case.https_status
    assert headers.get("location") == case.https_location
    assert headers.get("strict-transport-security") == case.hsts
    if case.http_port is None:
        with pytest.raises(ConnectionRefusedError):
            connect(lab, case.host, 80).close()
    else:
        status, headers = get(lab, case, "http")
        assert status == case.http_status
        assert headers.get("location") == case.http_location
        assert "strict-transport-security" not in headers


def test_redirect_facts_use_nominal_names() -> None:
    assert HTTP_CASES["redirect_ok"].http_location == f"https://redirect-ok.{DOMAIN}/"
    assert HTTP_CASES["redirect_offsite"].http_location == f"https://evil.{DOMAIN}/"
    downgrade = HTTP_CASES["redirect_downgrade"]
    assert downgrade.https_location == f"http://{downgrade.host}/"
    assert HTTP_CASES["redirect_ok"].hsts == "max-age=31536000; includeSubDomains"


def test_the_offsite_target_is_served(lab: Lab) -> None:
    offsite = LabCase(name="evil", description="", listener="https")
    assert get(lab, offsite, "https")[0] == 200


def test_stats_count_connections_and_handshakes(lab: Lab) -> None:
    lab.reset_stats()
    good13, expired = TLS_CASES["good13"], TLS_CASES["expired"]
    ctx = ssl.create_default_context(cafile=str(lab.ca_file))
    for _ in range(3):
        with connect(lab, good13.host, 443) as sock, \
                ctx.wrap_socket(sock, server_hostname=good13.host):
            pass
    with connect(lab, expired.host, 443) as sock, pytest.raises(ssl.SSLError):
        ctx.wrap_socket(sock, server_hostname=expired.host)
    stats = lab.stats()
    assert stats[f"{good13.host}:443"] == {"accepted": 3, "handshakes": 3, "failed": 0}
    assert stats[f"{expired.host}:443"] == {"accepted": 1, "handshakes": 0, "failed": 1}
    assert stats[f"{TLS_CASES['good12'].host}:443"]["accepted"] == 0


def test_catalogue_hosts_are_dns_names() -> None:
    for case in (*TLS_CASES.values(), *HTTP_CASES.values()):
        assert "_" not in case.host and case.host.endswith(f".{DOMAIN}")
        assert case.host.split(".")[0] == case.name.replace("_", "-")
        assert case.description
