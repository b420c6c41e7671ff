#!/usr/bin/env bash
# Measures authenticated GET /api/v1/me against a bare Fiber JSON handler (cmd/fiberbare) with
# wrk on loopback, alternating the two three times in one run, and prints the medians and their
# ratio. Target (PERFORMANCE.md): Careway at >= 50 % of the bare handler's requests/s.
# Usage: docs/bench/me.sh [seconds per run, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=go1.27.3 # the Go release go.mod names (see README)
secs=${1:-10}
conns=${2:-32}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/careway" ./cmd/careway
go build -o "$work/fiberbare" ./cmd/fiberbare
CAREWAY_ADDR=127.0.0.1:8091 CAREWAY_DATA_DIR="$work/data" CAREWAY_DEMO_PASSWORD=bench-password-1 \
  CAREWAY_ACCESS_LOG="${CAREWAY_ACCESS_LOG:-true}" "$work/careway" >"$work/careway.log" 2>&1 &
"$work/fiberbare" -addr 127.0.0.1:8090 &
for _ in $(seq 50); do curl -sf http://127.0.0.1:8091/readyz >/dev/null && break; sleep 0.2; done
token=$(curl -sf -X POST http://127.0.0.1:8091/api/v1/auth/login -H 'Content-Type: application/json' \
  -d '{"email":"gp1@demo.careway.test","password":"bench-password-1"}' | sed 's/.*"accessToken":"\([^"]*\)".*/\1/')

rate() { wrk -t1 -c"$conns" -d"${secs}s" "$@" | awk '/Requests\/sec/ {print $2}'; }
bare=() careway=()
for i in 1 2 3; do
  bare+=("$(rate http://127.0.0.1:8090/api/v1/me)")
  careway+=("$(rate -H "Authorization: Bearer $token" http://127.0.0.1:8091/api/v1/me)")
  echo "run $i: bare ${bare[-1]} req/s, careway ${careway[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
mb=$(median "${bare[@]}") mc=$(median "${careway[@]}")
echo "median: bare $mb req/s, careway /api/v1/me $mc req/s, ratio $(awk -v a="$mc" -v b="$mb" 'BEGIN{printf "%.2f", a/b}')"
