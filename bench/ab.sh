#!/usr/bin/env bash
# A/B throughput of durable credits: walletd against walletd-baseline (a
# do-nothing gorilla/mux handler), same wrk client, same run, alternating
# rounds. See docs/benchmarks.md.
#
#   bench/ab.sh [walletd serve flags...]
#
# Environment: ROUNDS (3), DURATION (10s), CONNS (64), THREADS (2),
# WALLETS (1000), BIN (a directory with walletd and walletd-baseline; built
# into a temp dir when unset), OLD_BIN (a directory with another walletd,
# say of the previous commit: measured in the same rounds as "old"), PAUSE
# (seconds between runs, 2), SPLIT=1 to run the projector and the webhook
# dispatcher as processes of their own (serve --projector=false
# --webhooks=false, walletd projector and walletd dispatcher on the same
# data dir), SPLIT=both to measure one process ("walletd") and split
# ("split") in the same rounds.
set -euo pipefail
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} CONNS=${CONNS:-64} THREADS=${THREADS:-2} WALLETS=${WALLETS:-1000}
PAUSE=${PAUSE:-2}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${BIN:-}" ]; then
  BIN=$work/bin
  (cd "$here/.." && go build -o "$BIN/walletd" ./cmd/walletd && go build -o "$BIN/walletd-baseline" ./cmd/walletd-baseline)
fi

# start NAME BIN HTTP_PORT NATS_PORT SPLIT [serve flags]: a walletd with
# 1000 wallets (SPLIT=1: with the projector and the dispatcher in processes
# of their own); its URL, token and wallets file in $work/NAME.*
start() {
  local name=$1 bin=$2 port=$3 nport=$4 split=$5
  shift 5
  local data=$work/$name
  local flags=()
  if [ "$split" = 1 ]; then flags=(--projector=false --webhooks=false); fi
  "$bin/walletd" serve --data-dir "$data" --http-addr 127.0.0.1:$port --nats-addr 127.0.0.1:$nport \
    "${flags[@]}" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
  if [ "$split" = 1 ]; then
    "$bin/walletd" projector --data-dir "$data" --nats-url nats://127.0.0.1:$nport --consumer projections \
      >"$work/$name.projector.log" 2>&1 &
    pids+=($!)
    "$bin/walletd" dispatcher --data-dir "$data" --nats-url nats://127.0.0.1:$nport \
      >"$work/$name.dispatcher.log" 2>&1 &
    pids+=($!)
  fi
  local token
  token=$(cat "$data/admin.key")
  echo "$token" >"$work/$name.token"
  seq "$WALLETS" | xargs -P8 -I{} curl -sf -X POST http://127.0.0.1:$port/v1/wallets \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"user_id":"bench-{}","email":"bench-{}@example.com","currency":"USD"}' |
    grep -o '"id":"wal_[^"]*"' | cut -d'"' -f4 >"$work/$name.wallets"
  echo "$name: $(wc -l <"$work/$name.wallets") wallets on :$port"
}

case "${SPLIT:-0}" in
both)
  start walletd "$BIN" 18080 14222 0 "$@"
  start split "$BIN" 18082 14224 1 "$@"
  targets=("walletd 18080" "split 18082")
  ;;
*)
  start walletd "$BIN" 18080 14222 "${SPLIT:-0}" "$@"
  targets=("walletd 18080")
  ;;
esac
if [ -n "${OLD_BIN:-}" ]; then
  start old "$OLD_BIN" 18081 14223 "${SPLIT:-0}" "$@"
  targets+=("old 18081")
fi
"$BIN/walletd-baseline" --http-addr 127.0.0.1:18090 2>"$work/baseline.log" &
pids+=($!)
sleep 0.5

# run NAME PORT: one wrk run; prints its RESULT line.
run() {
  local name=$1 port=$2
  TOKEN=$(cat "$work/$name.token" 2>/dev/null || true) WALLETS_FILE=$work/$name.wallets \
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/credit.lua" http://127.0.0.1:$port | grep RESULT
}
rps() { sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$1"; }
for r in $(seq "$ROUNDS"); do
  b=$(run baseline 18090)
  echo "round $r baseline: $b"
  for t in "${targets[@]}"; do
    set -- $t
    sleep "$PAUSE"
    w=$(run "$1" "$2")
    echo "round $r $1: $w ratio=$(awk -v a="$(rps "$w")" -v b="$(rps "$b")" 'BEGIN{printf "%.3f", a/b}')"
  done
  sleep "$PAUSE"
done
grep -h -i -E '"level":"(ERROR|WARN)"' "$work"/*.log | grep -v '"status":503' | head -5 || true
