#!/usr/bin/env bash
# Per-stage CPU cost of a durable credit (docs/benchmarks.md): runs one
# walletd serve with --pprof-addr, drives it with the wrk script of ab.sh,
# takes a CPU profile of the middle of the run and prints µs of CPU per
# credit for each stage.
#
#   bench/stages.sh [walletd serve flags...]
#
# Environment: DURATION (20s; the profile covers the middle 10s), CONNS
# (64), THREADS (2), WALLETS (1000), BIN (a directory with walletd; built
# into a temp dir when unset).
set -euo pipefail
DURATION=${DURATION:-20s} CONNS=${CONNS:-64} THREADS=${THREADS:-2} WALLETS=${WALLETS:-1000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP_PROFILE:-}" ] && cp "$work/cpu.prof" "$KEEP_PROFILE"; rm -rf "$work"; }
trap cleanup EXIT
if [ -z "${BIN:-}" ]; then
  BIN=$work/bin
  (cd "$here/.." && go build -o "$BIN/walletd" ./cmd/walletd)
fi
data=$work/data
"$BIN/walletd" serve --data-dir "$data" --http-addr 127.0.0.1:18080 --nats-addr 127.0.0.1:14222 \
  --pprof-addr 127.0.0.1:16060 "$@" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done
export TOKEN=$(cat "$data/admin.key") WALLETS_FILE=$work/wallets
seq "$WALLETS" | xargs -P8 -I{} curl -sf -X POST http://127.0.0.1:18080/v1/wallets \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"user_id":"bench-{}","email":"bench-{}@example.com","currency":"USD"}' |
  grep -o '"id":"wal_[^"]*"' | cut -d'"' -f4 >"$WALLETS_FILE"
metric() { curl -s http://127.0.0.1:18080/metrics -H "Authorization: Bearer $TOKEN" | awk -v m="$1" '$1==m{print $2}'; }
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$here/credit.lua" http://127.0.0.1:18080 >"$work/wrk.out" &
wrkpid=$!
secs=${DURATION%s}
sleep $(((secs - 10) / 2))
e0=$(metric walletd_ledger_entries_appended_total || echo 0)
curl -s "http://127.0.0.1:16060/debug/pprof/profile?seconds=10" >"$work/cpu.prof"
e1=$(metric walletd_ledger_entries_appended_total || echo 0)
wait $wrkpid
grep RESULT "$work/wrk.out"
credits=$(awk -v a="$e0" -v b="$e1" 'BEGIN{print b-a}')
echo "credits during the profile: $credits"
us() { # us REGEX: µs of CPU per credit in samples whose stack matches REGEX
  local s
  s=$(go tool pprof -top -nodecount=100000 -nodefraction=0 -edgefraction=0 -focus="$1" "$BIN/walletd" "$work/cpu.prof" 2>/dev/null |
    sed -n 's/^Showing nodes accounting for \([0-9.]*\)\(m\?s\),.*/\1 \2/p')
  awk -v s="$s" -v n="$credits" 'BEGIN{split(s,a," "); v=a[1]; if(a[2]=="ms")v/=1000; printf "%.1f", v*1e6/n}'
}
printf '| stage | µs/credit |\n| --- | --- |\n'
printf '| all of walletd serve | %s |\n' "$(us '.')"
printf '| HTTP: net/http, routing, middleware, JSON, waiting on the writer | %s |\n' "$(us 'net/http\.\(\*conn\)\.serve')"
printf '| writer: apply, HMAC, INSERT/UPSERT, COMMIT (no fsync) | %s |\n' "$(us 'ledger\.\(\*Writer\)\.run')"
printf '| syncer: WAL fsync, answers, hand-off | %s |\n' "$(us 'ledger\.\(\*Writer\)\.syncLoop')"
printf '| relay: records from memory, publish, acks | %s |\n' "$(us 'bus\.\(\*Relay\)\.run')"
printf '| nats.go client in walletd (read loop, flusher) | %s |\n' "$(us 'nats%2ego\.\(\*Conn\)\.(readLoop|flusher)')"
printf '| embedded NATS server and JetStream | %s |\n' "$(us 'nats-server/v2')"
printf '| projector: apply to projections.db | %s |\n' "$(us 'projections\.\(\*applier\)\.Apply')"
printf '| webhook dispatcher (no endpoints) | %s |\n' "$(us 'webhooks\.\(\*dispatch\)\.Apply')"
printf '| consumers: fetch, metadata, MAC checks (both) | %s |\n' "$(us 'bus\.\(\*Consumer\)\.session')"
printf '| GC (background mark and sweep) | %s |\n' "$(us 'runtime\.(gcBgMarkWorker|bgsweep|bgscavenge)')"
