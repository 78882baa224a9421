"""Client quotas seen by confluent-kafka-python (librdkafka): a producer with
client.id quota-p and a consumer with client.id quota-c run flat out for a few
seconds against producer_byte_rate / consumer_byte_rate quotas the broker has
(tests/quotas_clients.rs sets them). Checks that librdkafka sees the throttling
(throttle_cb and the stats' broker throttle figures) and prints the measured
throughput over the steady part of the run as
`RATE produce <bytes/s>` and `RATE consume <bytes/s>`, then OK.
Usage: quotas_confluent.py BOOTSTRAP TOPIC SECONDS. Bounded in time."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

bootstrap, topic, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
SIZE = 1000
WARMUP = 2.0  # seconds left out of the measurement (the first window's burst)

throttles = []
stats_throttle = []


def on_throttle(event):
    throttles.append(event.throttle_time)


def on_stats(text):
    for b in json.loads(text).get("brokers", {}).values():
        t = b.get("throttle", {})
        if t.get("max", 0) > 0:
            stats_throttle.append(t["max"])


# --- produce -----------------------------------------------------------------
acked = []  # (time, bytes)


def on_delivery(err, msg):
    if err is None:
        acked.append((time.monotonic(), len(msg.value())))


p = Producer({
    "bootstrap.servers": bootstrap,
    "client.id": "quota-p",
    "linger.ms": 5,
    "batch.size": 16384,
    "acks": "all",
    "throttle_cb": on_throttle,
    "stats_cb": on_stats,
    "statistics.interval.ms": 500,
})
payload = b"x" * SIZE
start = time.monotonic()
while time.monotonic() - start < seconds:
    try:
        p.produce(topic, payload, on_delivery=on_delivery)
    except BufferError:
        p.poll(0.01)
    p.poll(0)
p.flush(30)
end = start + seconds
steady = [n for t, n in acked if start + WARMUP <= t <= end]
produce_rate = sum(steady) / (seconds - WARMUP)
print(f"RATE produce {produce_rate:.0f}")
print(f"produce throttle_cb events {len(throttles)}, max {max(throttles, default=0)} s; "
      f"stats throttle max {max(stats_throttle, default=0)} ms")
assert throttles, "librdkafka saw no throttle_time_ms"
assert stats_throttle, "librdkafka stats show no throttling"

# --- consume -----------------------------------------------------------------
throttles.clear()
stats_throttle.clear()
c = Consumer({
    "bootstrap.servers": bootstrap,
    "client.id": "quota-c",
    "group.id": sys.argv[4] if len(sys.argv) > 4 else "quota-g",
    # fetches well below the quota window (one 1 MB fetch against 1 MB/s is
    # all or nothing)
    "max.partition.fetch.bytes": 131072,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "throttle_cb": on_throttle,
    "stats_cb": on_stats,
    "statistics.interval.ms": 500,
})
c.subscribe([topic])
got = []  # (time, bytes)
start = time.monotonic()
first = None
while time.monotonic() - start < seconds + 20:
    m = c.poll(0.2)
    if m is None or m.error():
        if first is not None and time.monotonic() - first > seconds:
            break
        continue
    now = time.monotonic()
    if first is None:
        first = now
    got.append((now, len(m.value())))
    if now - first > seconds:
        break
c.close()
assert first is not None, "consumed nothing"
steady = [n for t, n in got if first + WARMUP <= t <= first + seconds]
consume_rate = sum(steady) / (seconds - WARMUP)
print(f"RATE consume {consume_rate:.0f}")
print(f"consume throttle_cb events {len(throttles)}, max {max(throttles, default=0)} s; "
      f"stats throttle max {max(stats_throttle, default=0)} ms")
assert throttles, "librdkafka consumer saw no throttle_time_ms"
print("OK")
