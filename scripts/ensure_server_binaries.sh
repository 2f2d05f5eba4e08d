#!/usr/bin/env bash
# The service tests use the PostgreSQL and Redis already running, or start throwaway ones, and the
# browser tests drive Debian's Chromium: install what is missing (Debian packages).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if ! command -v initdb >/dev/null && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    missing+=(postgresql)
fi
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} for the service and browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
