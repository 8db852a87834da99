#!/usr/bin/env bash
# Idempotent: make sure a PostgreSQL cluster answers on 127.0.0.1:5432 for the scale-out tests.
# Installs and starts the distribution's cluster as root when it is missing or stopped.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ready; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "postgres: installing postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  else
    echo "postgres: please install and start PostgreSQL on 127.0.0.1:5432 (trust auth for user postgres)" >&2
    exit 1
  fi
fi
version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do
  ready && exit 0
  sleep 1
done
echo "postgres: the cluster did not start (see /var/log/postgresql/)" >&2
exit 1
