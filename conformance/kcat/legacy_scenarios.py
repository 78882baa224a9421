#!/usr/bin/env python3
"""kcat as a Kafka 0.10.0 client: the kcat scenarios with `api.version.request=false`
and `broker.version.fallback=0.10.0`, so librdkafka never asks ApiVersions and speaks
the versions a 0.10.0 broker had (Produce v2 with magic 1 message sets, Fetch v2,
ListOffsets v0, Metadata v0/v1, OffsetCommit v2, JoinGroup v0): the request versions
Kafka 4.0 removed (KIP-896) and message format v1 (KIP-724).

Message format v1 has no headers, and 0.10.0 had no zstd, no idempotent producer and
no ListOffsets by timestamp, so those are not supported here. System python3 only."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios as s  # noqa: E402  (registers the kcat scenarios)
from common import _SCENARIOS, eq, main, scenario, topic, unsupported  # noqa: E402

s.BASE += ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.10.0"]


def roundtrip(bs, codec):
    t = topic("rt10-" + codec)
    data = "".join(f"{k}:{v}\n" for k, v in s.RECORDS).encode()
    s.kcat(bs, "-P", "-t", t, "-p", "0", "-K:", "-Z",
           "-X", f"compression.codec={codec}", "-X", "linger.ms=100", stdin=data)
    msgs = s.consume_json(bs, t)
    eq(len(msgs), len(s.RECORDS), "record count")
    for i, (m, (k, v)) in enumerate(zip(msgs, s.RECORDS)):
        eq(m["offset"], i, f"offset of record {i}")
        eq(m["key"], k or None, f"key of record {i}")
        eq(m["payload"], v or None, f"value of record {i}")
        eq(m["tstype"], "create", f"timestamp type of record {i}")
        s.check(abs(m["ts"] / 1000 - time.time()) < 300, f"timestamp of record {i} not near now")


for _codec in ["none", "gzip", "snappy", "lz4"]:
    def _mk(codec):
        def f(bs):
            roundtrip(bs, codec)
        f.__name__ = "roundtrip_" + codec
        return f
    scenario(_mk(_codec))

for _name, _why in [
    ("roundtrip_zstd", "message format v1 (Kafka 0.10.0) has no zstd"),
    ("idempotent_producer", "Kafka 0.10.0 had no idempotent producer"),
    ("offsets_for_times", "Kafka 0.10.0 had no ListOffsets by timestamp (v1 came in 0.10.1)"),
]:
    _SCENARIOS.pop(_name, None)
    unsupported(_name, _why)

if __name__ == "__main__":
    main()
