#!/usr/bin/env bash
# Instructions per produced record in the broker, from valgrind's callgrind (counts do not
# drift with machine load, unlike timings). Runs the broker under callgrind twice: once idle
# (start, create the topic, stop) and once while `weir bench produce` (not under valgrind)
# writes RECORDS records of 1 KiB with acks=1 to one partition (or PARTITIONS: the bench's
# sticky partitioner fills a batch per partition in turn). The difference of the two
# totals over RECORDS is the broker's cost per record: frame read, decode, validation,
# append, response.
#
#   benches/callgrind_produce.sh WEIR_BINARY [RECORDS] [LINGER] [PARTITIONS]
set -euo pipefail
WEIR="$(readlink -f "$1")"; RECORDS="${2:-100000}"; LINGER="${3:-5ms}"; PARTS="${4:-1}"
command -v valgrind >/dev/null || { echo "callgrind_produce: valgrind is not installed" >&2; exit 2; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT

run() {  # run NAME RECORDS -> prints the total Ir of the broker process
  local name="$1" n="$2" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.out" \
    "$WEIR" serve --listen "127.0.0.1:$port" --data-dir "$TMP/$name-data" 2>"$TMP/$name.err" &
  local pid=$!
  for _ in $(seq 600); do grep -q "weir listening on" "$TMP/$name.err" && break; sleep 0.1; done
  grep -q "weir listening on" "$TMP/$name.err" || { cat "$TMP/$name.err" >&2; exit 1; }
  if [ "$n" -gt 0 ]; then
    "$WEIR" bench produce --bootstrap "127.0.0.1:$port" --topic cg --create --records "$n" \
      --partitions "$PARTS" --acks 1 --linger "$LINGER" --quiet >"$TMP/$name.bench" 2>&1
  else
    "$WEIR" bench produce --bootstrap "127.0.0.1:$port" --topic cg --create --records 1 \
      --partitions "$PARTS" --acks 1 --quiet >"$TMP/$name.bench" 2>&1
  fi
  kill -TERM "$pid"; wait "$pid" || true
  grep -m1 '^summary:' "$TMP/$name.out" | awk '{print $2}'
}

idle=$(run idle 0)
busy=$(run busy "$RECORDS")
python3 - "$idle" "$busy" "$RECORDS" "$PARTS" <<'PY'
import sys
idle, busy, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"idle run: {idle:,} Ir; produce run: {busy:,} Ir; records: {n:,}; partitions: {sys.argv[4]}")
print(f"instructions per record: {(busy - idle) / n:,.0f}")
PY
