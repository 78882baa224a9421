"""kafka-python as a Kafka 0.10.1 client: the kafka-python scenarios with
`api_version=(0, 10, 1)`, so it never asks ApiVersions and speaks that broker's
versions (Produce v2 with magic 1 message sets, Fetch v3, ListOffsets v1,
OffsetCommit v2, CreateTopics v0/v1, ...), several of which Kafka 4.0 removed
(KIP-896).

Message format v1 has no headers (records go without them), and 0.10.1 had no
zstd, idempotent or transactional producer, DescribeConfigs, CreatePartitions or
DeleteRecords, and listing all of a group's offsets needs Kafka 0.10.2, so those
scenarios are not supported here."""
from kafka import KafkaAdminClient

import common
import kafka_python_scenarios as k

V = (0, 10, 1)
_producer, _consumer, _sample = k.producer, k.consumer, k.sample_records


def producer(bs, **kw):
    return _producer(bs, api_version=V, **kw)


def consumer(bs, grp=None, **kw):
    return _consumer(bs, grp, api_version=V, **kw)


def admin(bs):
    return KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=15000, api_version=V)


def sample_records(n):
    return [(key, value, []) for key, value, _ in _sample(n)]


k.producer, k.consumer, k.admin, k.sample_records = producer, consumer, admin, sample_records
# The sec_* scenarios as a 0.10.1 client: SaslHandshake v0 then unframed SASL tokens (no
# SaslAuthenticate, which came in Kafka 1.0).
k.SEC_EXTRA = {"api_version": V}


@common.scenario
def metadata_autocreate(bs):
    # With api_version given, kafka-python connects lazily (it sends no ApiVersions
    # probe), so bootstrap_connected() stays False until a request: not checked here.
    t = common.topic("meta")
    p = producer(bs)
    parts = p.partitions_for(t)
    common.check(parts and len(parts) >= 1, f"auto-created topic has partitions {parts}")
    k.expect_offsets(k.send_all(p, t, [(b"k", b"v", [])]))
    a = admin(bs)
    common.check(t in a.list_topics(), "auto-created topic missing from list_topics")
    host, port = bs.rsplit(":", 1)
    cl = a.describe_cluster()
    common.check(any(b["host"] == host and b["port"] == int(port) for b in cl["brokers"]),
                 f"describe_cluster brokers {cl['brokers']} lack {bs}")


for _name, _why in [
    ("roundtrip_zstd", "Kafka 0.10.1 (message format v1) has no zstd"),
    ("idempotent_producer", "Kafka 0.10.1 had no idempotent producer"),
    ("transactions", "Kafka 0.10.1 had no transactions"),
    ("admin_configs", "Kafka 0.10.1 had no DescribeConfigs/AlterConfigs"),
    ("admin_create_partitions", "Kafka 0.10.1 had no CreatePartitions"),
    ("delete_records", "Kafka 0.10.1 had no DeleteRecords"),
    ("admin_groups", "kafka-python lists a group's offsets with OffsetFetch v2 (Kafka 0.10.2, KIP-88)"),
]:
    common._SCENARIOS.pop(_name, None)
    common.unsupported(_name, _why)

if __name__ == "__main__":
    common.main()
