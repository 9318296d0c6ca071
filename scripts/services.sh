#!/usr/bin/env bash
# Makes sure the local services the tests use are up: PostgreSQL (127.0.0.1:5432) and
# Redis (127.0.0.1:6379). Machines of this kind start them before a session; this starts
# them again if they stopped, with the same commands.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for i in $(seq 1 30); do
  if pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "services: PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 1
done
echo "services: PostgreSQL or Redis did not come up" >&2
exit 1
