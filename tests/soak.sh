#!/usr/bin/env bash
# The soak as CI runs it: `slmd soak` for N minutes (default 2) with the
# test build of the binary, after `cargo test` built it. Exits non-zero when
# a check fails: memory growth after warm-up, an escalation never answered,
# a stuck or leftover connection, a configuration not applied.
#
#   tests/soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-2}
target=${CARGO_TARGET_DIR:-target}
cargo build -q --bin slmd
exec "$target/debug/slmd" soak --minutes "$minutes"
