#!/usr/bin/env bash
# tcmalloc makes a CPU supernet step about 15% faster than glibc's malloc (jobs/allocator.py).
# Optional: install Debian's package where we may, otherwise say how; never fail the install.
set -uo pipefail
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
if "$ldconfig" -p 2>/dev/null | grep -q libtcmalloc_minimal.so.4; then
    exit 0
fi
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing libtcmalloc-minimal4: a faster malloc for CPU searches"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq libtcmalloc-minimal4 >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get install -y -qq libtcmalloc-minimal4; } \
        || echo "could not install libtcmalloc-minimal4: searches use jemalloc or glibc's malloc"
else
    echo "optional: install tcmalloc (Debian: libtcmalloc-minimal4) for faster CPU searches"
fi
exit 0
