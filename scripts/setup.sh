#!/usr/bin/env bash
# Installs everything perf and its tests need on a fresh Debian machine:
# Debian packages, the local services, npm dependencies (which builds dist/), and k6.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (the service clients that scripts/services.sh calls, and the
# Chromium the front-end phases drive: perf never downloads a browser; InfluxDB 1.x, which the
# InfluxDB tests start on their own, and docker-compose, which validates docker-compose.perf.yml; wrk, which bench/sample-app.ts drives).
APT_PACKAGES=(postgresql-client redis-tools chromium influxdb influxdb-client docker-compose wrk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bash scripts/services.sh
npm ci --no-audit --no-fund
# k6: found via K6_BIN, .tools/bin or PATH; otherwise built from its Go module (minutes).
node bin/perf.js k6 install
