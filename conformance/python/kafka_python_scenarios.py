"""Scenarios for kafka-python (pure-Python client, its own protocol code)."""
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import KafkaError as KErr
from kafka.structs import OffsetAndMetadata

from common import (SEC_RECORDS, Fail, check, eq, group, main, sample_records, scenario, sec, topic,
                    unsecured_jws, wait_until)

T = 15


def producer(bs, **kw):
    conf = dict(bootstrap_servers=bs, request_timeout_ms=15000, max_block_ms=15000, linger_ms=20,
                retries=3)
    conf.update(kw)
    return KafkaProducer(**conf)


def consumer(bs, grp=None, **kw):
    conf = dict(bootstrap_servers=bs, group_id=grp, auto_offset_reset="earliest",
                enable_auto_commit=False, request_timeout_ms=30000, session_timeout_ms=10000,
                heartbeat_interval_ms=500)
    conf.update(kw)
    return KafkaConsumer(**conf)


def admin(bs):
    return KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=15000)


def errno_of(fn):
    """Run fn; return the Kafka error code it raised, or 0."""
    try:
        fn()
        return 0
    except KErr as e:
        return getattr(e, "errno", None) or -1


def send_all(p, t, records, partition=0, **kw):
    futs = [p.send(t, key=k, value=v, headers=h, partition=partition, **kw) for k, v, h in records]
    p.flush(T)
    return [f.get(T) for f in futs]


def expect_offsets(metas, first=0):
    eq([m.offset for m in metas], list(range(first, first + len(metas))), "delivered offsets")


def read_n(c, n, timeout=T):
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        for recs in c.poll(timeout_ms=300).values():
            out.extend(recs)
    check(len(out) == n, f"consumed {len(out)} of {n} records within {timeout}s")
    return out


def create_topic(bs, t, n=1, configs=None):
    a = admin(bs)
    a.create_topics([NewTopic(t, n, 1, topic_configs=configs or {})], timeout_ms=10000)
    wait_until(lambda: len(a.describe_topics([t])[0]["partitions"]) == n, 10,
               f"{t} with {n} partitions in metadata")
    return a


@scenario
def metadata_autocreate(bs):
    t = topic("meta")
    p = producer(bs)
    check(p.bootstrap_connected(), "producer did not connect to bootstrap")
    # partitions_for on an unknown topic auto-creates it (Metadata allow_auto_topic_creation).
    parts = p.partitions_for(t)
    check(parts and len(parts) >= 1, f"auto-created topic has partitions {parts}")
    expect_offsets(send_all(p, t, [(b"k", b"v", [])]))
    a = admin(bs)
    check(t in a.list_topics(), "auto-created topic missing from list_topics")
    cl = a.describe_cluster()
    host, port = bs.rsplit(":", 1)
    check(any(b["host"] == host and b["port"] == int(port) for b in cl["brokers"]),
          f"describe_cluster brokers {cl['brokers']} lack {bs}")


def roundtrip(bs, codec):
    t = topic("rt-" + codec)
    records = sample_records(40)
    p = producer(bs, compression_type=None if codec == "none" else codec, linger_ms=50)
    expect_offsets(send_all(p, t, records))
    c = consumer(bs)
    tp = TopicPartition(t, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    msgs = read_n(c, len(records))
    for i, (m, (k, v, h)) in enumerate(zip(msgs, records)):
        eq(m.offset, i, f"offset of record {i}")
        eq(m.key, k, f"key of record {i}")
        eq(m.value, v, f"value of record {i}")
        eq(list(m.headers), h, f"headers of record {i}")
        check(abs(m.timestamp / 1000 - time.time()) < 300, f"record {i} timestamp {m.timestamp} not near now")
    eq(c.beginning_offsets([tp])[tp], 0, "earliest offset")
    eq(c.end_offsets([tp])[tp], len(records), "latest offset")
    c.close()


for _codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    def _mk(codec):
        def f(bs):
            roundtrip(bs, codec)
        f.__name__ = "roundtrip_" + codec
        return f
    scenario(_mk(_codec))


@scenario
def large_messages(bs):
    t = topic("large")
    p = producer(bs, max_request_size=10_000_000, retries=0)
    near = bytes(range(256)) * (1_000_000 // 256)
    expect_offsets(send_all(p, t, [(b"near", near, [])]))
    fut = p.send(t, key=b"over", value=b"x" * 1_100_000, partition=0)
    p.flush(T)
    try:
        fut.get(T)
        raise Fail("a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
    except KErr as e:
        eq(getattr(e, "errno", None), 10, f"error code for an oversized record ({e!r})")
    expect_offsets(send_all(p, t, [(b"after", b"small", [])]), first=1)
    c = consumer(bs, max_partition_fetch_bytes=2_000_000)
    tp = TopicPartition(t, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    msgs = read_n(c, 2)
    eq(msgs[0].value, near, "near-limit record")
    eq(msgs[1].value, b"small", "record after the rejected one")
    c.close()


@scenario
def group_rebalance(bs):
    t = topic("grp")
    create_topic(bs, t, 4)
    g = group("reb")
    a = consumer(bs, g)
    a.subscribe([t])

    def owned(c):
        return {tp.partition for tp in c.assignment()}

    wait_until(lambda: (a.poll(timeout_ms=200), owned(a) == {0, 1, 2, 3})[1], 30, "a to own all 4 partitions")
    b = consumer(bs, g)
    b.subscribe([t])
    wait_until(lambda: (a.poll(timeout_ms=200), b.poll(timeout_ms=200),
                        len(owned(a)) == 2 and len(owned(b)) == 2 and owned(a) | owned(b) == {0, 1, 2, 3})[2],
               40, "a rebalance splitting 4 partitions 2/2")
    p = producer(bs)
    for part in range(4):
        send_all(p, t, [(None, f"p{part}".encode(), [])], partition=part)
    got = []
    deadline = time.time() + 20
    while len(got) < 4 and time.time() < deadline:
        for name, c in (("a", a), ("b", b)):
            for tp, recs in c.poll(timeout_ms=200).items():
                check(tp.partition in owned(c), f"{name} got records of partition {tp.partition} it does not own")
                got.extend((tp.partition, r.value) for r in recs)
    eq(sorted(got), [(i, f"p{i}".encode()) for i in range(4)], "records consumed by the group")
    b.close()
    wait_until(lambda: (a.poll(timeout_ms=200), owned(a) == {0, 1, 2, 3})[1], 30,
               "a to get all 4 partitions back after b left")
    a.close()


@scenario
def commit_resume(bs):
    t = topic("commit")
    p = producer(bs)
    expect_offsets(send_all(p, t, [(None, f"v{i}".encode(), []) for i in range(10)]))
    g = group("commit")
    tp = TopicPartition(t, 0)
    c = consumer(bs, g)
    c.subscribe([t])
    msgs = []
    deadline = time.time() + 30
    while len(msgs) < 5 and time.time() < deadline:
        for recs in c.poll(timeout_ms=300, max_records=5 - len(msgs)).values():
            msgs.extend(recs)
    eq([m.offset for m in msgs], list(range(5)), "first five offsets")
    c.commit({tp: OffsetAndMetadata(5, "", -1)})
    eq(c.committed(tp), 5, "committed offset")
    c.close()
    c2 = consumer(bs, g)
    eq(c2.committed(tp), 5, "committed offset seen by a new member")
    c2.subscribe([t])
    msgs = read_n(c2, 5, 30)
    eq([m.offset for m in msgs], list(range(5, 10)), "offsets after resume")
    eq([m.value for m in msgs], [f"v{i}".encode() for i in range(5, 10)], "values after resume")
    c2.close()


@scenario
def idempotent_producer(bs):
    t = topic("idem")
    p = producer(bs, enable_idempotence=True, acks="all")
    vals = [f"v{i}".encode() for i in range(200)]
    expect_offsets(send_all(p, t, [(None, v, []) for v in vals]))
    c = consumer(bs)
    tp = TopicPartition(t, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    msgs = read_n(c, 200)
    eq([m.value for m in msgs], vals, "values in order, no duplicates")
    eq(c.end_offsets([tp])[tp], 200, "end offset (no duplicates appended)")
    c.close()


@scenario
def admin_topics(bs):
    a = admin(bs)
    t = topic("adm")
    a.create_topics([NewTopic(t, 3, 1, topic_configs={"retention.ms": "3600000"})], timeout_ms=10000)
    eq(errno_of(lambda: a.create_topics([NewTopic(t, 3, 1)], timeout_ms=10000)), 36,
       "error code for a duplicate create (TOPIC_ALREADY_EXISTS)")
    wait_until(lambda: t in a.list_topics(), 10, "new topic listed")
    d = a.describe_topics([t])[0]
    eq(d["error_code"], 0, "describe_topics error")
    eq(len(d["partitions"]), 3, "partition count")
    a.delete_topics([t], timeout_ms=10000)
    wait_until(lambda: t not in a.list_topics(), 10, "deleted topic to disappear")
    eq(errno_of(lambda: a.delete_topics([t], timeout_ms=10000)), 3,
       "error code for deleting a missing topic (UNKNOWN_TOPIC_OR_PARTITION)")


@scenario
def admin_configs(bs):
    t = topic("cfg")
    a = create_topic(bs, t, 1, {"retention.ms": "3600000"})

    def describe():
        r = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)])[0]
        res = r.resources[0]
        eq(res[0], 0, f"describe_configs error ({res[1]})")
        return {e[0]: e[1] for e in res[4]}

    cfg = describe()
    eq(cfg.get("retention.ms"), "3600000", "retention.ms set at creation")
    eq(cfg.get("cleanup.policy"), "delete", "default cleanup.policy")
    r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": "123456"})])
    eq(r.resources[0][0], 0, f"alter_configs error ({r.resources[0][1]})")
    eq(describe().get("retention.ms"), "123456", "retention.ms after alter_configs")
    r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": "nope"})])
    eq(r.resources[0][0], 40, "error code for a bad config value (INVALID_CONFIG)")


@scenario
def admin_create_partitions(bs):
    t = topic("parts")
    a = create_topic(bs, t, 1)
    a.create_partitions({t: NewPartitions(3)}, timeout_ms=10000)
    wait_until(lambda: len(a.describe_topics([t])[0]["partitions"]) == 3, 10, "3 partitions")
    p = producer(bs)
    m = send_all(p, t, [(None, b"on-p2", [])], partition=2)[0]
    eq((m.partition, m.offset), (2, 0), "record produced to the new partition")
    eq(errno_of(lambda: a.create_partitions({t: NewPartitions(2)}, timeout_ms=10000)), 37,
       "error code for shrinking partitions (INVALID_PARTITIONS)")


@scenario
def admin_groups(bs):
    t = topic("admgrp")
    p = producer(bs)
    send_all(p, t, [(None, b"x", [])] * 3)
    g = group("adm")
    c = consumer(bs, g)
    c.subscribe([t])
    read_n(c, 3, 30)
    tp = TopicPartition(t, 0)
    c.commit({tp: OffsetAndMetadata(3, "", -1)})
    a = admin(bs)
    wait_until(lambda: g in [x[0] for x in a.list_consumer_groups()], 10, "group listed")
    d = a.describe_consumer_groups([g])[0]
    eq(d.error_code, 0, "describe error")
    eq(d.state, "Stable", "state with an active member")
    eq(len(d.members), 1, "member count")
    offs = a.list_consumer_group_offsets(g)
    eq({k: v.offset for k, v in offs.items()}, {tp: 3}, "committed offsets via admin")
    c.close()
    wait_until(lambda: a.describe_consumer_groups([g])[0].state == "Empty", 10, "state Empty")
    res = dict(a.delete_consumer_groups([g]))
    eq(res[g].errno, 0, "delete group error code")
    check(g not in [x[0] for x in a.list_consumer_groups()], "deleted group still listed")
    res = dict(a.delete_consumer_groups([g]))
    eq(res[g].errno, 69, "error code deleting a missing group (GROUP_ID_NOT_FOUND)")


@scenario
def offsets_for_times(bs):
    t = topic("times")
    base = (int(time.time()) - 3600) * 1000
    p = producer(bs)
    for i in range(5):
        send_all(p, t, [(None, f"v{i}".encode(), [])], timestamp_ms=base + i * 1000)
    c = consumer(bs)
    tp = TopicPartition(t, 0)
    r = c.offsets_for_times({tp: base + 1500})[tp]
    check(r is not None, "no offset for a time between records")
    eq((r.offset, r.timestamp), (2, base + 2000), "offset/timestamp for a time between records 1 and 2")
    eq(c.offsets_for_times({tp: base})[tp].offset, 0, "offset for the first record's time")
    eq(c.offsets_for_times({tp: base + 10_000})[tp], None, "offset for a time after the last record")
    c.assign([tp])
    c.seek_to_beginning(tp)
    eq([m.timestamp for m in read_n(c, 5)], [base + i * 1000 for i in range(5)], "record timestamps")
    c.close()


@scenario
def delete_records(bs):
    t = topic("delrec")
    p = producer(bs)
    send_all(p, t, [(None, f"v{i}".encode(), []) for i in range(10)])
    a = admin(bs)
    tp = TopicPartition(t, 0)
    r = a.delete_records({tp: 4}, timeout_ms=10000)
    eq(r[tp]["low_watermark"], 4, "low watermark after DeleteRecords")
    c = consumer(bs)
    eq(c.beginning_offsets([tp])[tp], 4, "earliest offset after delete")
    c.assign([tp])
    c.seek_to_beginning(tp)
    eq([m.offset for m in read_n(c, 6)], list(range(4, 10)), "offsets readable after delete")
    c.close()
    eq(errno_of(lambda: a.delete_records({tp: 50}, timeout_ms=10000)), 1,
       "error code deleting beyond the end (OFFSET_OUT_OF_RANGE)")


@scenario
def transactions(bs):
    t = topic("txn")
    p = producer(bs, transactional_id=topic("tid"), enable_idempotence=True, acks="all")
    p.init_transactions()
    p.begin_transaction()
    for i in range(5):
        p.send(t, value=f"commit-{i}".encode(), partition=0)
    p.commit_transaction()
    p.begin_transaction()
    for i in range(5):
        p.send(t, value=f"abort-{i}".encode(), partition=0)
    p.flush(T)
    p.abort_transaction()
    p.begin_transaction()
    p.send(t, value=b"commit-last", partition=0)
    p.commit_transaction()
    tp = TopicPartition(t, 0)
    c = consumer(bs, isolation_level="read_committed")
    c.assign([tp])
    c.seek_to_beginning(tp)
    eq([m.value for m in read_n(c, 6)], [f"commit-{i}".encode() for i in range(5)] + [b"commit-last"],
       "read_committed sees only committed records")
    c.close()


from kafka.sasl.oauth import AbstractTokenProvider  # noqa: E402


class _Token(AbstractTokenProvider):
    """kafka-python's sasl_oauth_token_provider: an unsecured JWS."""

    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def token(self):
        return unsecured_jws(self.sub)

    def extensions(self):
        return {}


SEC_EXTRA = {}  # more client settings (kafka_python_legacy_scenarios pins api_version)


def sec_conf(kind, wrong_password=False):
    bs, s = sec(kind, wrong_password)
    conf = dict(bootstrap_servers=bs, security_protocol=s["protocol"], **SEC_EXTRA)
    if s["protocol"].endswith("SSL"):
        conf["ssl_cafile"] = s["ca"]
    if kind == "mtls":
        # kafka-python 2.2.15 closes an idle TLS 1.3 connection when the broker's post-handshake
        # NewSessionTicket arrives before its first request ("Socket EVENT_READ without
        # in-flight-requests", dpkp/kafka-python#2369, as with Kafka's JSSE); a SASL handshake
        # hides it. Workaround its users apply: a TLS 1.2 context (also covers weir's TLS 1.2).
        import ssl

        ctx = ssl.create_default_context(cafile=s["ca"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(s["cert"], s["key"])
        conf.update(ssl_context=ctx)
    elif kind == "oauth":
        conf.update(sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=_Token(s["user"]))
    else:
        conf.update(sasl_mechanism=s["mechanism"], sasl_plain_username=s["user"],
                    sasl_plain_password=s["password"])
    return bs, conf


def secured_subset(kind):
    """Metadata, CreateTopics, produce + consume back, commit in a group and resume from it."""
    bs, conf = sec_conf(kind)
    t, g = topic("sec-" + kind), group("sec-" + kind)
    a = KafkaAdminClient(request_timeout_ms=15000, **conf)
    a.create_topics([NewTopic(t, 1, 1)], timeout_ms=15000)
    md = a.describe_cluster()
    eq([f"{b['host']}:{b['port']}" for b in md["brokers"]], [bs], "DescribeCluster's brokers (the listener we came in on)")
    eq([len(d["partitions"]) for d in a.describe_topics([t])], [1], "partitions of the created topic")
    a.close()
    p = KafkaProducer(request_timeout_ms=15000, max_block_ms=15000, **conf)
    futs = [p.send(t, value=v, partition=0) for v in SEC_RECORDS]
    p.flush(T)
    eq([f.get(T).offset for f in futs], list(range(10)), "delivered offsets")
    p.close()
    c = KafkaConsumer(group_id=g, enable_auto_commit=False, auto_offset_reset="earliest",
                      max_poll_records=5, **conf)
    tp = TopicPartition(t, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    eq([r.value for r in read_n(c, 5)], SEC_RECORDS[:5], "first five records")
    c.commit({tp: OffsetAndMetadata(5, "", -1)})
    c.close()
    c = KafkaConsumer(group_id=g, enable_auto_commit=False, auto_offset_reset="earliest", **conf)
    eq(c.committed(tp), 5, "committed offset")
    c.assign([tp])
    eq([r.value for r in read_n(c, 5)], SEC_RECORDS[5:], "records after resuming at the committed offset")
    c.close()


def wrong_password(kind):
    """kafka-python raises SaslAuthenticationFailedError (58) with the broker's message."""
    from kafka.client_async import KafkaClient
    from kafka import errors as Errors
    from kafka.errors import SaslAuthenticationFailedError

    bs, conf = sec_conf(kind, wrong_password=True)
    conf.pop("bootstrap_servers")
    host, port = bs.rsplit(":", 1)
    from kafka.conn import BrokerConnection
    import socket

    conn = BrokerConnection(host, int(port), socket.AF_INET, **conf)
    errors = []
    conn.config["state_change_callback"] = lambda node_id, sock, c: None
    orig_close = conn.close

    def close(error=None):
        if error is not None:
            errors.append(error)
        return orig_close(error)

    conn.close = close
    deadline = time.time() + T
    while not errors and time.time() < deadline and not conn.connected():
        conn.connect()
        time.sleep(0.05)
    check(errors, "the connection was not refused")
    e = errors[0]
    if SEC_EXTRA.get("api_version", (9,)) < (1, 0):
        # SaslHandshake v0, unframed tokens: there is no response to carry an error, Kafka
        # closes the connection (SaslServerAuthenticator), as weir does.
        check(isinstance(e, Errors.KafkaConnectionError) and "<authenticating>" in str(e),
              f"expected the connection closed while authenticating, got {type(e).__name__}: {e}")
        return
    check(isinstance(e, SaslAuthenticationFailedError),
          f"expected SaslAuthenticationFailedError, got {type(e).__name__}: {e}")
    eq(e.errno, 58, "error code")
    want = {"scram": "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            "plain": "Authentication failed: Invalid username or password"}[kind]
    check(want in str(e), f"error message {str(e)!r} lacks Kafka's {want!r}")


@scenario
def sec_sasl_ssl_scram512(bs):
    secured_subset("scram")


@scenario
def sec_sasl_plaintext_plain(bs):
    secured_subset("plain")


@scenario
def sec_ssl_mtls(bs):
    secured_subset("mtls")


@scenario
def sec_sasl_oauthbearer(bs):
    secured_subset("oauth")


@scenario
def sec_scram512_wrong_password(bs):
    wrong_password("scram")


@scenario
def sec_plain_wrong_password(bs):
    wrong_password("plain")


if __name__ == "__main__":
    main()
