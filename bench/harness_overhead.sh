#!/usr/bin/env bash
# Harness overhead: how fast `ipw profile` drives the fixture server compared with wrk, a
# minimal C load generator, on the same endpoint, measured in one run.
#   rate ratio  = ipw requests/s at concurrency 16 / wrk requests/s at 16 connections (target >= 0.5)
#   added time  = ipw seconds per request at concurrency 1 - wrk seconds per request at 1 connection
#                 (target < 1 ms): what scoring, energy attribution and the store add per request.
# Fixed start-up costs are removed by timing two workload sizes and taking the difference.
# Usage: bench/harness_overhead.sh [build-dir]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
IPW="$BUILD/apps/ipw/ipw"
FIXTURE="$BUILD/tests/fixture/ipw-fixture"
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/setup.sh installs it)"; exit 1; }
[ -x "$IPW" ] && [ -x "$FIXTURE" ] || { echo "build first: cmake --build --preset release"; exit 1; }

TMP=$(mktemp -d)
cleanup() { [ -n "${FPID:-}" ] && kill "$FPID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

cat > "$TMP/script.json" <<'JSON'
{"rules": [], "default": {"answer": "The answer is (B)"}}
JSON
"$FIXTURE" --port 0 --threads 1 --script "$TMP/script.json" > "$TMP/fixture.out" &
FPID=$!
for _ in $(seq 100); do grep -q "listening on" "$TMP/fixture.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/fixture.out")
URL="http://127.0.0.1:$PORT"

cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","messages":[{"role":"user","content":"question 1"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0,"seed":42,"max_tokens":512}'
LUA

wrk_rate() {  # connections duration
  wrk -t1 -c"$1" -d"$2" -s "$TMP/post.lua" "$URL/v1/chat/completions" | awk '/Requests\/sec/ {print $2}'
}

workload() {  # n file
  for i in $(seq "$1"); do
    printf '{"id": "%d", "prompt": "question %d", "choices": ["a", "b", "c", "d"], "answer": "B"}\n' "$i" "$i"
  done > "$2"
}

ipw_seconds() {  # n concurrency
  workload "$1" "$TMP/w$1.jsonl"
  rm -f "$TMP/ipw.db"*
  local t0 t1
  t0=$(date +%s.%N)
  IPW_DB="$TMP/ipw.db" "$IPW" -q profile --model vllm/bench --base-url "$URL/v1" --workload "$TMP/w$1.jsonl" \
    --concurrency "$2" --idle-seconds 0 --format csv > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

SMALL=${SMALL:-300}
LARGE=${LARGE:-3000}
echo "fixture: $URL (1 io thread); energy: $("$IPW" -q sensors --format csv --seconds 0.05 | awk -F, 'NR>1 {print $1}' | paste -sd' ')"

W16=$(wrk_rate 16 5s)
S16=$(ipw_seconds "$SMALL" 16); L16=$(ipw_seconds "$LARGE" 16)
I16=$(echo "($LARGE - $SMALL) / ($L16 - $S16)" | bc -l)
W1=$(wrk_rate 1 5s)
S1=$(ipw_seconds "$SMALL" 1); L1=$(ipw_seconds "$LARGE" 1)
I1=$(echo "($LARGE - $SMALL) / ($L1 - $S1)" | bc -l)

RATIO=$(echo "$I16 / $W16" | bc -l)
ADDED_MS=$(echo "(1 / $I1 - 1 / $W1) * 1000" | bc -l)
pass() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo PASS; else echo FAIL; fi; }
printf 'wrk c=16: %.0f req/s   ipw c=16: %.0f req/s\n' "$W16" "$I16"
printf 'rate ratio ipw/wrk at 16: %.3f (target >= 0.5, %s)\n' "$RATIO" "$(pass "$RATIO >= 0.5")"
printf 'wrk c=1: %.3f ms/req   ipw c=1: %.3f ms/req\n' "$(echo "1000 / $W1" | bc -l)" "$(echo "1000 / $I1" | bc -l)"
printf 'added per request at c=1: %.3f ms (target < 1 ms, %s)\n' "$ADDED_MS" "$(pass "$ADDED_MS < 1")"
