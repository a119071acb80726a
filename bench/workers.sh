#!/usr/bin/env bash
# bench/workers.sh [WORKERS...]: scenarios a (small_get) and e (small_put) of ../shared/bench/run.sh
# against a fresh Wharf (SQLite + files in a temp folder) with WHARF_WORKERS=1 and 2 (or the counts
# given). Each run starts `npm start` on a free loopback port, reads the ready line, runs the
# benchmark, stops the server with SIGTERM. The load generator shares the machine's cores: say so
# beside the figures. Extra run.sh knobs pass through the environment (ROUNDS, BENCH_OUT, …).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${BENCH_RUN:-$(cd .. && pwd)/shared/bench/run.sh}"
[ -f "$RUN" ] || RUN=/work/shared/bench/run.sh
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 2)
for w in "${counts[@]}"; do
  data="$(mktemp -d)"
  log="$data/server.log"
  WHARF_WORKERS="$w" WHARF_DATA="$data" WHARF_PORT=0 WHARF_LOG_LEVEL=warn \
    WHARF_ADMIN_USERNAME=bench WHARF_ADMIN_PASSWORD=bench-pass-123 node scripts/start.mjs web >"$log" 2>&1 &
  pid=$!
  url=""
  for _ in $(seq 1 120); do
    url="$(grep -o 'wharf listening on http://[^ ]*' "$log" | awk '{print $4}' || true)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 1
  done
  [ -n "$url" ] || { echo "no ready line" >&2; kill "$pid"; exit 1; }
  echo "== WHARF_WORKERS=$w at $url (load generator on the same cores)"
  SCENARIOS="small_get small_put" SERVER_PID="$pid" bash "$RUN" "$url" bench bench-pass-123 || true
  kill -TERM "$pid"
  wait "$pid" || true
  rm -rf "$data"
done
