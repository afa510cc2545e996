"""The Seawall agent: a small program that runs *inside* a sandbox.

``python -m seawall.agent listen`` is the canary: TCP on the configured ports plus one
random high port, UDP echo, answering each nonce with a keyed signature (HMAC) so that
an answer proves it came from *that* sandbox. ``python -m seawall.agent probe`` reads an
attempt plan (JSON on stdin) and writes results (JSON on stdout).

Standard library only, so it runs in any image with a Python 3.11; scapy is imported
only for the L2/raw checks a plan asks for. The agent reports raw facts (errno names,
what answered); judging them is the engine's job (``seawall.isolation.engine``).
"""
