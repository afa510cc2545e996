# Seawall: the scheduler container. Build and run: see deploy/README.md.
FROM python:3.11-slim-bookworm

# Runtime tools: tini as PID 1 (Python as PID 1 ignores SIGTERM: docker stop would hang
# and SIGKILL the runs), iproute2 + nftables for the isolation lab, cryptsetup-bin and
# e2fsprogs for the at-rest checks.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tini iproute2 nftables cryptsetup-bin e2fsprogs ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md /src/
COPY seawall /src/seawall
RUN pip install --no-cache-dir /src && rm -rf /src

# The probes and schedules; runs start here (schedule paths are relative to it).
WORKDIR /opt/seawall
COPY probes ./probes
COPY schedules ./schedules

RUN useradd --system --uid 10001 --home-dir /var/lib/seawall seawall \
 && mkdir -p /var/lib/seawall && chown seawall:seawall /var/lib/seawall

# Evidence files, the Datadog spool and the scheduler's state (heartbeat, due times).
ENV SEAWALL_STATE_DIR=/var/lib/seawall \
    SEAWALL_SCHEDULES=/opt/seawall/schedules \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/seawall"]

# Non-root by default: enough for tls and https. isolation and at_rest need
# capabilities that Docker only gives to root: see deploy/README.md.
USER seawall

HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
  CMD ["seawall", "schedule", "health"]

ENTRYPOINT ["tini", "--"]
CMD ["seawall", "schedule", "run"]
