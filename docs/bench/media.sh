#!/usr/bin/env bash
# Measures Careway's media server (issue 4) against PERFORMANCE.md with cmd/mediabench:
#   capacity  two-party calls (1.2 Mbit/s VP8-like video + Opus-rate audio each way) through the SFU,
#             a bare Go UDP relay and the relay with SRTP, in the same run: server CPU per forwarded
#             packet (from /proc/PID/stat of the server process only), loss, delay p50/p99; then
#             the SFU beside pion clients connected directly (no server) at 100 calls, for the
#             delay the server adds;
#   setup     socket open -> first remote video packet, p50 and p95 over 50 calls;
#   idle      10,000 idle waiting-room sockets: the server's resident memory.
# Every part repeats 3 times and prints medians. Each part is bounded in time (timeout below).
# Usage: docs/bench/media.sh [capacity|setup|idle|all]   (CALLS=25,50,100 overrides the ramp)
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=go1.27.3 # the Go release go.mod names (see README)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/mediabench" ./cmd/mediabench
what=${1:-all}
echo "# $(date -u +%FT%TZ) $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
if [[ $what == capacity || $what == all ]]; then
  timeout 900 "$work/mediabench" capacity -targets relay,srtp-relay,sfu -calls "${CALLS:-25,50,100,150}" -runs 3 -measure 6s
  echo "# load: $(uptime | sed 's/.*load average: //')"
  timeout 600 "$work/mediabench" capacity -targets direct,sfu -calls 100 -runs 3 -measure 6s
  echo "# load after capacity: $(uptime | sed 's/.*load average: //')"
fi
if [[ $what == setup || $what == all ]]; then
  timeout 300 "$work/mediabench" setup -calls 50 -runs 3
  echo "# load after setup: $(uptime | sed 's/.*load average: //')"
fi
if [[ $what == idle || $what == all ]]; then
  timeout 600 "$work/mediabench" idle -sockets 10000 -runs 3
  echo "# load after idle: $(uptime | sed 's/.*load average: //')"
fi
