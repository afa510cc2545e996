"""The machine's limit: a bare loop of full TLS 1.3 handshakes against one lab server.

    python bench/tls/bare.py HOST PORT SNI CA_FILE [--seconds S] [--processes P]

Each handshake is full (no session resumption), verifies the chain and the name like
a probe would, then closes. Prints one JSON line: handshakes, seconds, per_second.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import ssl
import time


def loop(host: str, port: int, sni: str, ca_file: str, seconds: float) -> int:
    """Handshakes completed in ``seconds``."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    count = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with socket.create_connection((host, port)) as sock, \
                ctx.wrap_socket(sock, server_hostname=sni):
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("sni")
    parser.add_argument("ca_file")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    job = (args.host, args.port, args.sni, args.ca_file, args.seconds)
    start = time.perf_counter()
    if args.processes == 1:
        total = loop(*job)
    else:
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            total = sum(pool.starmap(loop, [job] * args.processes))
    elapsed = time.perf_counter() - start
    print(json.dumps({"processes": args.processes, "handshakes": total, "seconds": elapsed,
                      "per_second": total / elapsed}))


if __name__ == "__main__":
    main()
