#!/usr/bin/env bash
# Installs everything perf and its tests need on a fresh Debian machine:
# Debian packages, the local services, npm dependencies (which builds dist/), and k6.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use (the service clients that scripts/services.sh calls, and the
# Chromium the front-end phases drive: perf never downloads a browser; InfluxDB 1.x, which the
# InfluxDB tests start on their own, and docker-compose, which validates docker-compose.perf.yml; wrk, which bench/sample-app.ts drives;
# unzip, the independent reader the trace-redaction tests check perf's rewritten zips with;
# and ShellCheck, which actionlint runs on the workflows' `run:` scripts).
APT_PACKAGES=(postgresql-client redis-tools chromium influxdb influxdb-client docker-compose wrk unzip shellcheck)
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
# k6, a stock k6 v2 perf runs as a separate program: found via K6_BIN, then PATH, then
# .tools/bin; otherwise, the last resort, `go install go.k6.io/k6/v2@<pinned>` into .tools/bin
# (minutes; the message names the other ways: package manager, release binaries, grafana/k6).
# A .tools/bin/k6 built by an older perf with its own output compiled in is replaced.
node bin/perf.js k6 install

# actionlint, the GitHub workflow linter test/workflows.test.ts runs on .github/workflows/
# (a Go tool, built by `go install` into .tools/bin like k6's last resort).
if [ ! -x .tools/bin/actionlint ]; then
  echo "setup: go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 into .tools/bin"
  GOBIN="$PWD/.tools/bin" go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi
