#!/usr/bin/env bash
# A/B throughput of durable credits: walletd against walletd-baseline (a
# do-nothing gorilla/mux handler), same wrk client, same run, alternating
# rounds. See docs/benchmarks.md.
#
#   bench/ab.sh [walletd serve flags...]
#
# Environment: ROUNDS (3), DURATION (10s), CONNS (64), THREADS (2),
# WALLETS (1000), BIN (a directory with walletd and walletd-baseline; built
# into a temp dir when unset), SPLIT=1 to run the projector and the webhook
# dispatcher as their own processes (serve --projector=false --webhooks=false).
set -euo pipefail
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} CONNS=${CONNS:-64} THREADS=${THREADS:-2} WALLETS=${WALLETS:-1000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "${BIN:-}" ]; then
  BIN=$work/bin
  (cd "$here/.." && go build -o "$BIN/walletd" ./cmd/walletd && go build -o "$BIN/walletd-baseline" ./cmd/walletd-baseline)
fi
WPORT=${WPORT:-18080} BPORT=${BPORT:-18090} NPORT=${NPORT:-14222}
data=$work/data
"$BIN/walletd" serve --data-dir "$data" --http-addr 127.0.0.1:$WPORT --nats-addr 127.0.0.1:$NPORT \
  "$@" >"$work/serve.log" 2>&1 &
pids+=($!)
"$BIN/walletd-baseline" --http-addr 127.0.0.1:$BPORT 2>"$work/baseline.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:$WPORT/healthz >/dev/null && break; sleep 0.1; done
if [ "${SPLIT:-0}" = 1 ]; then
  "$BIN/walletd" projector --data-dir "$data" --nats-url nats://127.0.0.1:$NPORT --log-level warn >"$work/projector.log" 2>&1 &
  pids+=($!)
  "$BIN/walletd" dispatcher --data-dir "$data" --nats-url nats://127.0.0.1:$NPORT --log-level warn >"$work/dispatcher.log" 2>&1 &
  pids+=($!)
fi
export TOKEN=$(cat "$data/admin.key")
export WALLETS_FILE=$work/wallets.txt
seq "$WALLETS" | xargs -P8 -I{} curl -sf -X POST http://127.0.0.1:$WPORT/v1/wallets \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"user_id":"bench-{}","email":"bench-{}@example.com","currency":"USD"}' | grep -o '"id":"wal_[^"]*"' | cut -d'"' -f4 >"$WALLETS_FILE"
echo "wallets: $(wc -l <"$WALLETS_FILE")"
run() { wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/credit.lua" "$1" | grep RESULT; }
for r in $(seq "$ROUNDS"); do
  b=$(run http://127.0.0.1:$BPORT); w=$(run http://127.0.0.1:$WPORT)
  brps=$(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$b"); wrps=$(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$w")
  echo "round $r baseline: $b"
  echo "round $r walletd:  $w"
  echo "round $r ratio=$(awk -v a="$wrps" -v b="$brps" 'BEGIN{printf "%.3f", a/b}')"
done
grep -i -E 'error|panic' "$work/serve.log" | head -5 || true
