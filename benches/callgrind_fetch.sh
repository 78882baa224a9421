#!/usr/bin/env bash
# Instructions per tail fetch in the broker, from valgrind's callgrind (counts do not drift
# with machine load, unlike timings), sessionless against incremental (KIP-227). Runs the
# broker under callgrind once per mode: `examples/fetch_driver.rs` (not under valgrind)
# creates a topic of PARTITIONS partitions and ROUNDS times produces one record of 100 bytes
# and fetches at the log end with max wait 0; `sessionless` names every partition each
# time (epoch -1), `session` names only the partition whose offset moved (epoch > 0), as
# the Java consumer does. A third run with 1 round is the fixed cost (start, create, stop);
# the difference over ROUNDS is the broker's cost of one produce + one fetch, and the
# difference of the two modes is what the session changes.
#
#   benches/callgrind_fetch.sh WEIR_BINARY FETCH_DRIVER [PARTITIONS] [ROUNDS]
#   SESSIONLESS_ONLY=1 benches/callgrind_fetch.sh ...   # a broker without sessions (a baseline)
# FETCH_DRIVER: target/debug/examples/fetch_driver (cargo build --example fetch_driver).
set -euo pipefail
WEIR="$(readlink -f "$1")"; DRIVER="$(readlink -f "$2")"; PARTS="${3:-4}"; ROUNDS="${4:-2000}"
command -v valgrind >/dev/null || { echo "callgrind_fetch: valgrind is not installed" >&2; exit 2; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT

run() {  # run NAME MODE ROUNDS -> prints the total Ir of the broker process
  local name="$1" mode="$2" n="$3" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.out" \
    "$WEIR" serve --listen "127.0.0.1:$port" --data-dir "$TMP/$name-data" 2>"$TMP/$name.err" &
  local pid=$!
  for _ in $(seq 600); do grep -q "weir listening on" "$TMP/$name.err" && break; sleep 0.1; done
  grep -q "weir listening on" "$TMP/$name.err" || { cat "$TMP/$name.err" >&2; exit 1; }
  "$DRIVER" "127.0.0.1:$port" "$mode" "$PARTS" "$n" >"$TMP/$name.driver" 2>&1 || { cat "$TMP/$name.driver" >&2; exit 1; }
  kill -TERM "$pid"; wait "$pid" || true
  grep -m1 '^summary:' "$TMP/$name.out" | awk '{print $2}'
}

idle=$(run idle sessionless 1)
sessionless=$(run sessionless sessionless "$ROUNDS")
session=$idle
[ -n "${SESSIONLESS_ONLY:-}" ] || session=$(run session session "$ROUNDS")
python3 - "$idle" "$sessionless" "$session" "$ROUNDS" "$PARTS" <<'PY'
import sys
idle, less, sess, n, parts = map(int, sys.argv[1:])
print(f"{parts} partitions, {n:,} rounds (produce 1 record + tail fetch)")
print(f"idle run: {idle:,} Ir; sessionless run: {less:,} Ir; session run: {sess:,} Ir")
print(f"per round: sessionless {(less - idle) / n:,.0f} Ir, incremental session {(sess - idle) / n:,.0f} Ir")
PY
