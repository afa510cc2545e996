#!/usr/bin/env bash
# One-step setup on Debian 12 with Python 3.11: the system tools the labs and probes use
# (.ci/packages.apt), then a virtual environment in .venv with Seawall and its test tools.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
mapfile -t packages < <(grep -v -e '^#' -e '^[[:space:]]*$' .ci/packages.apt)
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends python3-venv "${packages[@]}" >/dev/null
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "setup done: use .venv/bin/pytest probes/ (probes) and .venv/bin/pytest (tests)"
