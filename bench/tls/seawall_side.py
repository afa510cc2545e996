"""Seawall's TLS engine over the benchmark fleet, in a fresh process.

    python bench/tls/seawall_side.py FLEET_JSON

Prints one JSON line: elapsed seconds (the gather only), ru_maxrss of this process,
and verdicts per host ({versions, trusted, not_after}) for comparison with sslyze.
"""

from __future__ import annotations

import sys

try:
    import seawall.tls.suite  # noqa: F401
except ImportError:
    sys.exit("seawall.tls.suite is not in the tree yet")
