#!/usr/bin/env bash
# The service tests use the PostgreSQL and Redis already running, or start throwaway ones,
# which needs the server binaries: install them where they are missing (Debian packages).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
if ((${#missing[@]})); then
    echo "installing ${missing[*]} for the service tests"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
