"""sslyze on the same fleet: a throwaway venv, its CLI, its JSON turned into verdicts.

sslyze is never a dependency of Seawall: the benchmark installs it into a venv under
/tmp (reused between runs when present) and runs its CLI with the checks that match
Seawall's: ``--tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --certinfo`` (the Mozilla
compliance check is disabled: it is judgement, not facts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

VENV = Path("/tmp/seawall-bench-sslyze")
_VERSION_KEYS = {"ssl_3_0_cipher_suites": "SSLv3", "tls_1_0_cipher_suites": "TLSv1.0",
                 "tls_1_1_cipher_suites": "TLSv1.1",
                 "tls_1_2_cipher_suites": "TLSv1.2", "tls_1_3_cipher_suites": "TLSv1.3"}


def ensure_venv(venv: Path = VENV) -> tuple[Path, str]:
    """The sslyze executable (installing it if needed) and its version."""
    sslyze = venv / "bin" / "sslyze"
    if not sslyze.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "sslyze"], check=True)
    version = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('sslyze'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return sslyze, version


def run(fleet: dict[str, Any], workdir: Path, venv: Path = VENV) -> dict[str, Any]:
    """Scan the fleet; returns elapsed seconds, the process's peak RSS and verdicts."""
    sslyze, version = ensure_venv(venv)
    targets = workdir / "sslyze-targets.txt"
    # host:port{ip}: connect to ip:port, send host as SNI and validate against it.
    targets.write_text("".join(f"{e['host']}:{e['address'][1]}{{{e['address'][0]}}}\n"
                               for e in fleet["endpoints"]))
    out = workdir / "sslyze.json"
    command = [str(sslyze), "--targets_in", str(targets), "--sslv3", "--tlsv1", "--tlsv1_1",
               "--tlsv1_2", "--tlsv1_3", "--certinfo", "--certinfo_ca_file",
               fleet["ca_file"], "--mozilla_config", "disable", "--quiet",
               "--json_out", str(out)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"sslyze exited with {process.returncode}: {' '.join(command)}")
    return {"tool": f"sslyze {version}", "elapsed": elapsed, "maxrss_kb": usage.ru_maxrss,
            "verdicts": verdicts(json.loads(out.read_text())), "command": " ".join(command)}


def verdicts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """host -> {versions, trusted, not_after} from sslyze's JSON output."""
    result: dict[str, dict[str, Any]] = {}
    for server in document["server_scan_results"]:
        host = server["server_location"]["hostname"]
        scan = server.get("scan_result") or {}
        versions = [name for key, name in _VERSION_KEYS.items()
                    if (scan.get(key) or {}).get("result")
                    and scan[key]["result"]["accepted_cipher_suites"]]
        trusted, not_after = None, None
        info = (scan.get("certificate_info") or {}).get("result")
        if info:
            deployment = info["certificate_deployments"][0]
            trusted = any(p["was_validation_successful"]
                          for p in deployment["path_validation_results"]
                          if p["trust_store"]["name"] == "Supplied CA file")
            not_after = deployment["received_certificate_chain"][0]["not_valid_after"]
        result[host] = {"versions": versions, "trusted": trusted,
                        "not_after": not_after.replace("Z", "+00:00") if not_after else None}
    return result
