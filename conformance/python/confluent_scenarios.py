"""Scenarios for confluent-kafka-python (librdkafka bundled in the wheel)."""
import time

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer, TopicPartition,
                             OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewPartitions, NewTopic)

from common import (SEC_RECORDS, Fail, check, eq, group, main, sample_records, scenario, sec, topic,
                    wait_until)

T = 15  # seconds: timeout of any single client call


def producer(bs, **extra):
    conf = {"bootstrap.servers": bs, "message.timeout.ms": 15000, "socket.timeout.ms": 10000,
            "linger.ms": 20}
    conf.update(extra)
    return Producer(conf)


def consumer(bs, grp=None, **extra):
    conf = {"bootstrap.servers": bs, "group.id": grp or group("c"), "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "session.timeout.ms": 10000,
            "socket.timeout.ms": 10000}
    conf.update(extra)
    return Consumer(conf)


def admin(bs):
    return AdminClient({"bootstrap.servers": bs, "socket.timeout.ms": 10000})


def produce_all(p, t, records, partition=0, **kw):
    """Produce records, flush, return delivery reports [(err, offset)] in order."""
    reports = [None] * len(records)

    def cb(i):
        def done(err, msg):
            reports[i] = (err, msg.offset() if err is None else None)
        return done

    for i, (k, v, h) in enumerate(records):
        p.produce(t, value=v, key=k, headers=h or None, partition=partition, on_delivery=cb(i), **kw)
        p.poll(0)
    left = p.flush(T)
    check(left == 0, f"{left} messages still undelivered after {T}s flush")
    return reports


def expect_delivered(reports, first=0):
    for i, (err, off) in enumerate(reports):
        check(err is None, f"record {i} not delivered: {err}")
        eq(off, first + i, f"offset of record {i}")


def consume_n(c, n, timeout=T):
    out = []
    deadline = time.time() + timeout
    while len(out) < n and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                continue
            raise Fail(f"consume error: {m.error()}")
        out.append(m)
    check(len(out) == n, f"consumed {len(out)} of {n} records within {timeout}s")
    return out


def norm_headers(h):
    return [(k, v) for k, v in (h or [])]


def create_topic(bs, t, partitions=1, config=None):
    a = admin(bs)
    fs = a.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1,
                                   config=config or {})], operation_timeout=10, request_timeout=T)
    fs[t].result(T)
    # Metadata can lag topic creation; wait until the partitions are visible with leaders.
    wait_until(lambda: len(a.list_topics(t, timeout=T).topics[t].partitions) == partitions
               and a.list_topics(t, timeout=T).topics[t].error is None, 10,
               f"topic {t} with {partitions} partitions in metadata")
    return a


def kafka_error_code(exc):
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].code()
    return None


@scenario
def metadata_autocreate(bs):
    t = topic("meta")
    p = producer(bs)
    md = p.list_topics(timeout=T)
    check(len(md.brokers) >= 1, "metadata lists no broker")
    host, port = bs.rsplit(":", 1)
    check(any(b.host == host and b.port == int(port) for b in md.brokers.values()),
          f"advertised brokers {[(b.host, b.port) for b in md.brokers.values()]} do not include {bs}")
    check(t not in md.topics, f"fresh topic {t} already exists")
    # Producing to an unknown topic auto-creates it (auto.create.topics.enable=true by default).
    reports = produce_all(p, t, [(b"k", b"v", [])])
    expect_delivered(reports)
    md = p.list_topics(t, timeout=T)
    tm = md.topics.get(t)
    check(tm is not None and tm.error is None, f"auto-created topic missing from metadata: {tm and tm.error}")
    check(len(tm.partitions) >= 1, "auto-created topic has no partitions")
    for pm in tm.partitions.values():
        check(pm.leader in md.brokers, f"partition {pm.id} leader {pm.leader} is not a known broker")
        check(pm.error is None, f"partition {pm.id} error {pm.error}")
    md_all = p.list_topics(timeout=T)
    check(t in md_all.topics, "auto-created topic missing from all-topics metadata")


def roundtrip(bs, codec):
    t = topic("rt-" + codec)
    records = sample_records(40)
    p = producer(bs, **{"compression.type": codec, "linger.ms": 50})
    expect_delivered(produce_all(p, t, records))
    c = consumer(bs)
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, len(records))
    for i, (m, (k, v, h)) in enumerate(zip(msgs, records)):
        eq(m.offset(), i, f"offset of record {i}")
        eq(m.key(), k, f"key of record {i}")
        eq(m.value(), v, f"value of record {i}")
        eq(norm_headers(m.headers()), h, f"headers of record {i}")
        ts_type, ts = m.timestamp()
        eq(ts_type, TIMESTAMP_CREATE_TIME, f"timestamp type of record {i}")
        check(abs(ts / 1000 - time.time()) < 300, f"record {i} timestamp {ts} not near now")
    lo, hi = c.get_watermark_offsets(TopicPartition(t, 0), timeout=T)
    eq((lo, hi), (0, len(records)), "watermarks")
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
    # Broker default message.max.bytes is 1048588; lift the client-side limit so
    # that the broker, not librdkafka, is the one that must reject.
    t = topic("large")
    p = producer(bs, **{"message.max.bytes": 10_000_000, "compression.type": "none"})
    near = bytes(range(256)) * (1_000_000 // 256)
    expect_delivered(produce_all(p, t, [(b"near", near, [])]))
    over = b"x" * 1_100_000
    reports = produce_all(p, t, [(b"over", over, [])])
    err = reports[0][0]
    check(err is not None, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
    eq(err.code(), KafkaError.MSG_SIZE_TOO_LARGE, f"error for an oversized record ({err})")
    # The broker is still fine and the rejected record took no offset.
    expect_delivered(produce_all(p, t, [(b"after", b"small", [])]), first=1)
    c = consumer(bs)
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 2)
    eq(msgs[0].value(), near, "value of the near-limit record")
    eq(msgs[1].value(), b"small", "value after the rejected record")
    c.close()


@scenario
def group_rebalance(bs):
    t = topic("grp")
    create_topic(bs, t, 4)
    g = group("reb")
    assigned = {"a": set(), "b": set()}

    def cbs(name):
        def on_assign(c, parts):
            assigned[name] = {p.partition for p in parts}

        def on_revoke(c, parts):
            assigned[name] = set()
        return {"on_assign": on_assign, "on_revoke": on_revoke}

    conf = {"heartbeat.interval.ms": 500, "session.timeout.ms": 10000,
            "partition.assignment.strategy": "range"}
    a = consumer(bs, g, **conf)
    a.subscribe([t], **cbs("a"))
    got = {"a": [], "b": []}

    def pump(*names):
        for n, c in names:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got[n].append((m.partition(), m.value()))

    wait_until(lambda: (pump(("a", a)), assigned["a"] == {0, 1, 2, 3})[1], 30,
               "member a to own all 4 partitions")
    b = consumer(bs, g, **conf)
    b.subscribe([t], **cbs("b"))
    wait_until(lambda: (pump(("a", a), ("b", b)),
                        len(assigned["a"]) == 2 and len(assigned["b"]) == 2
                        and assigned["a"] | assigned["b"] == {0, 1, 2, 3})[1], 40,
               f"a rebalance splitting 4 partitions 2/2 (now a={assigned['a']} b={assigned['b']})")
    # Each member consumes exactly the records of the partitions it owns.
    p = producer(bs)
    for part in range(4):
        expect_delivered(produce_all(p, t, [(None, f"p{part}".encode(), [])], partition=part))
    wait_until(lambda: (pump(("a", a), ("b", b)), len(got["a"]) + len(got["b"]) >= 4)[1], 20,
               "4 records to be consumed by the two members")
    for n in ("a", "b"):
        for part, v in got[n]:
            check(part in assigned[n], f"member {n} got a record of partition {part} it does not own")
            eq(v, f"p{part}".encode(), "record value")
    eq(sorted(pv for n in got for pv in got[n]), [(i, f"p{i}".encode()) for i in range(4)],
       "records consumed by the group")
    b.close()  # LeaveGroup -> a gets everything back
    wait_until(lambda: (pump(("a", a)), assigned["a"] == {0, 1, 2, 3})[1], 30,
               "member a to get all 4 partitions back after b left")
    a.close()


@scenario
def commit_resume(bs):
    t = topic("commit")
    p = producer(bs)
    records = [(f"k{i}".encode(), f"v{i}".encode(), []) for i in range(10)]
    expect_delivered(produce_all(p, t, records))
    g = group("commit")
    c = consumer(bs, g)
    c.subscribe([t])
    msgs = consume_n(c, 5, 30)
    eq([m.offset() for m in msgs], list(range(5)), "first five offsets")
    c.commit(message=msgs[-1], asynchronous=False)
    committed = c.committed([TopicPartition(t, 0)], timeout=T)
    eq(committed[0].offset, 5, "committed offset")
    c.close()
    c2 = consumer(bs, g)
    committed = c2.committed([TopicPartition(t, 0)], timeout=T)
    eq(committed[0].offset, 5, "committed offset seen by a new member")
    c2.subscribe([t])
    msgs = consume_n(c2, 5, 30)
    eq([m.offset() for m in msgs], list(range(5, 10)), "offsets after resume")
    eq([m.value() for m in msgs], [f"v{i}".encode() for i in range(5, 10)], "values after resume")
    c2.close()


@scenario
def idempotent_producer(bs):
    t = topic("idem")
    p = producer(bs, **{"enable.idempotence": True, "acks": "all",
                        "max.in.flight.requests.per.connection": 5, "linger.ms": 5})
    records = [(f"k{i}".encode(), f"v{i}".encode(), []) for i in range(200)]
    expect_delivered(produce_all(p, t, records))
    c = consumer(bs)
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 200)
    eq([m.value() for m in msgs], [r[1] for r in records], "values in order, no duplicates")
    time.sleep(0.5)
    extra = c.poll(1.0)
    check(extra is None or extra.error() is not None, "more records than produced (duplicates)")
    c.close()


@scenario
def admin_topics(bs):
    a = admin(bs)
    t = topic("adm")
    fs = a.create_topics([NewTopic(t, 3, 1, config={"retention.ms": "3600000"})], request_timeout=T)
    fs[t].result(T)
    fs = a.create_topics([NewTopic(t, 3, 1)], request_timeout=T)
    try:
        fs[t].result(T)
        raise Fail("creating an existing topic succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.TOPIC_ALREADY_EXISTS, "error for a duplicate create")
    wait_until(lambda: t in a.list_topics(timeout=T).topics, 10, "new topic in metadata")
    eq(len(a.list_topics(t, timeout=T).topics[t].partitions), 3, "partition count")
    d = a.delete_topics([t], request_timeout=T)
    d[t].result(T)
    wait_until(lambda: t not in a.list_topics(timeout=T).topics, 10, "deleted topic to leave metadata")
    d = a.delete_topics([t], request_timeout=T)
    try:
        d[t].result(T)
        raise Fail("deleting a missing topic succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.UNKNOWN_TOPIC_OR_PART, "error for deleting a missing topic")


@scenario
def admin_configs(bs):
    t = topic("cfg")
    a = create_topic(bs, t, 1, {"retention.ms": "3600000"})
    res = ConfigResource(ConfigResource.Type.TOPIC, t)
    cfg = a.describe_configs([res], request_timeout=T)[res].result(T)
    check("retention.ms" in cfg, "describe_configs lacks retention.ms")
    eq(cfg["retention.ms"].value, "3600000", "retention.ms set at creation")
    check("cleanup.policy" in cfg, "describe_configs lacks cleanup.policy")
    eq(cfg["cleanup.policy"].value, "delete", "default cleanup.policy")
    r2 = ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "123456", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([r2], request_timeout=T)[r2].result(T)
    cfg = a.describe_configs([res], request_timeout=T)[res].result(T)
    eq(cfg["retention.ms"].value, "123456", "retention.ms after incremental alter")
    eq(cfg["retention.ms"].source, 1, "config source (DYNAMIC_TOPIC_CONFIG=1)")
    bad = ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[
        ConfigEntry("retention.ms", "not-a-number", incremental_operation=AlterConfigOpType.SET)])
    try:
        a.incremental_alter_configs([bad], request_timeout=T)[bad].result(T)
        raise Fail("a non-numeric retention.ms was accepted")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.INVALID_CONFIG, "error for a bad config value")


@scenario
def admin_create_partitions(bs):
    t = topic("parts")
    a = create_topic(bs, t, 1)
    a.create_partitions([NewPartitions(t, 3)], request_timeout=T)[t].result(T)
    wait_until(lambda: len(a.list_topics(t, timeout=T).topics[t].partitions) == 3, 10,
               "3 partitions in metadata")
    p = producer(bs)
    expect_delivered(produce_all(p, t, [(b"k", b"on-p2", [])], partition=2))
    try:
        a.create_partitions([NewPartitions(t, 2)], request_timeout=T)[t].result(T)
        raise Fail("shrinking partitions 3 -> 2 succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.INVALID_PARTITIONS, "error for shrinking partitions")


@scenario
def admin_groups(bs):
    t = topic("admgrp")
    p = producer(bs)
    expect_delivered(produce_all(p, t, [(None, b"x", [])] * 3))
    g = group("adm")
    c = consumer(bs, g)
    c.subscribe([t])
    msgs = consume_n(c, 3, 30)
    c.commit(message=msgs[-1], asynchronous=False)
    a = admin(bs)
    listed = wait_until(lambda: [x for x in a.list_consumer_groups(request_timeout=T).result(T).valid
                                 if x.group_id == g], 10, "group in ListGroups")
    desc = a.describe_consumer_groups([g], request_timeout=T)[g].result(T)
    eq(desc.group_id, g, "described group id")
    eq(str(desc.state).split(".")[-1], "STABLE", "state of a group with an active member")
    eq(len(desc.members), 1, "member count")
    eq({tp.partition for tp in desc.members[0].assignment.topic_partitions}, {0}, "member assignment")
    from confluent_kafka import ConsumerGroupTopicPartitions
    offs = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=T)[g].result(T)
    eq([(tp.topic, tp.partition, tp.offset) for tp in offs.topic_partitions], [(t, 0, 3)],
       "committed offsets via admin")
    try:
        a.delete_consumer_groups([g], request_timeout=T)[g].result(T)
        raise Fail("deleting a group with an active member succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.NON_EMPTY_GROUP, "error for deleting a non-empty group")
    c.close()
    wait_until(lambda: str(a.describe_consumer_groups([g], request_timeout=T)[g].result(T).state)
               .endswith("EMPTY"), 10, "group state EMPTY after the member left")
    a.delete_consumer_groups([g], request_timeout=T)[g].result(T)
    groups = [x.group_id for x in a.list_consumer_groups(request_timeout=T).result(T).valid]
    check(g not in groups, "deleted group still listed")
    try:
        a.delete_consumer_groups([g], request_timeout=T)[g].result(T)
        raise Fail("deleting a missing group succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.GROUP_ID_NOT_FOUND, "error for deleting a missing group")


@scenario
def offsets_for_times(bs):
    t = topic("times")
    base = (int(time.time()) - 3600) * 1000
    p = producer(bs)
    for i in range(5):
        produce_all(p, t, [(None, f"v{i}".encode(), [])], timestamp=base + i * 1000)
    c = consumer(bs)
    res = c.offsets_for_times([TopicPartition(t, 0, base + 1500)], timeout=T)
    eq(res[0].offset, 2, "offset for a time between records 1 and 2")
    res = c.offsets_for_times([TopicPartition(t, 0, base)], timeout=T)
    eq(res[0].offset, 0, "offset for the first record's time")
    res = c.offsets_for_times([TopicPartition(t, 0, base + 10_000)], timeout=T)
    eq(res[0].offset, -1, "offset for a time after the last record (none)")
    eq(c.get_watermark_offsets(TopicPartition(t, 0), timeout=T), (0, 5), "earliest/latest offsets")
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 5)
    eq([m.timestamp()[1] for m in msgs], [base + i * 1000 for i in range(5)], "record timestamps")
    c.close()


@scenario
def delete_records(bs):
    t = topic("delrec")
    p = producer(bs)
    expect_delivered(produce_all(p, t, [(None, f"v{i}".encode(), []) for i in range(10)]))
    a = admin(bs)
    fs = a.delete_records([TopicPartition(t, 0, 4)], request_timeout=T)
    r = list(fs.values())[0].result(T)
    eq(r.low_watermark, 4, "low watermark after DeleteRecords")
    c = consumer(bs)
    eq(c.get_watermark_offsets(TopicPartition(t, 0), timeout=T), (4, 10), "watermarks after delete")
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 6)
    eq([m.offset() for m in msgs], list(range(4, 10)), "offsets readable after delete")
    c.close()
    fs = a.delete_records([TopicPartition(t, 0, 50)], request_timeout=T)
    try:
        list(fs.values())[0].result(T)
        raise Fail("deleting records beyond the high watermark succeeded")
    except KafkaException as e:
        eq(kafka_error_code(e), KafkaError.OFFSET_OUT_OF_RANGE, "error for deleting beyond the end")


@scenario
def transactions(bs):
    t = topic("txn")
    p = producer(bs, **{"transactional.id": topic("tid"), "transaction.timeout.ms": 30000})
    p.init_transactions(T)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, value=f"commit-{i}".encode(), partition=0)
    p.commit_transaction(T)
    p.begin_transaction()
    for i in range(5):
        p.produce(t, value=f"abort-{i}".encode(), partition=0)
    p.flush(T)
    p.abort_transaction(T)
    p.begin_transaction()
    p.produce(t, value=b"commit-last", partition=0)
    p.commit_transaction(T)
    c = consumer(bs, **{"isolation.level": "read_committed"})
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 6)
    eq([m.value() for m in msgs], [f"commit-{i}".encode() for i in range(5)] + [b"commit-last"],
       "read_committed sees only committed records")
    c.close()
    c = consumer(bs, **{"isolation.level": "read_uncommitted"})
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    msgs = consume_n(c, 11)
    eq(sum(1 for m in msgs if m.value().startswith(b"abort")), 5, "read_uncommitted sees aborted records")
    c.close()


def sec_conf(kind, wrong_password=False):
    bs, s = sec(kind, wrong_password)
    conf = {"bootstrap.servers": bs, "security.protocol": s["protocol"]}
    if s["protocol"].endswith("SSL"):
        conf["ssl.ca.location"] = s["ca"]
    if kind == "mtls":
        conf.update({"ssl.certificate.location": s["cert"], "ssl.key.location": s["key"]})
    elif kind == "oauth":
        # librdkafka's built-in unsecured JWT (what Kafka's unsecured login module sends).
        conf.update({"sasl.mechanisms": "OAUTHBEARER", "enable.sasl.oauthbearer.unsecure.jwt": True,
                     "sasl.oauthbearer.config": f"principal={s['user']}"})
    else:
        conf.update({"sasl.mechanisms": s["mechanism"], "sasl.username": s["user"],
                     "sasl.password": s["password"]})
    return bs, conf


def secured_subset(kind):
    """Metadata, CreateTopics, produce + consume back, commit in a group and resume from it."""
    bs, conf = sec_conf(kind)
    t, g = topic("sec-" + kind), group("sec-" + kind)
    a = AdminClient(dict(conf, **{"socket.timeout.ms": 10000}))
    for f in a.create_topics([NewTopic(t, 1, 1)], operation_timeout=T).values():
        f.result(T)
    md = a.list_topics(t, timeout=T)
    eq([f"{b.host}:{b.port}" for b in md.brokers.values()], [bs], "metadata's brokers (the listener we came in on)")
    eq(len(md.topics[t].partitions), 1, "partitions of the created topic")
    p = Producer(dict(conf, **{"message.timeout.ms": 15000, "linger.ms": 5}))
    reports = []
    for v in SEC_RECORDS:
        p.produce(t, value=v, partition=0, on_delivery=lambda err, m: reports.append((err, m.offset())))
    eq(p.flush(T), 0, "records still in the producer's queue")
    eq(sorted(reports, key=lambda r: r[1]), [(None, i) for i in range(10)], "delivery reports")
    c = Consumer(dict(conf, **{"group.id": g, "enable.auto.commit": False}))
    c.assign([TopicPartition(t, 0, OFFSET_BEGINNING)])
    got = [m.value() for m in consume_n(c, 5)]
    eq(got, SEC_RECORDS[:5], "first five records")
    c.commit(offsets=[TopicPartition(t, 0, 5)], asynchronous=False)
    c.close()
    c = Consumer(dict(conf, **{"group.id": g, "enable.auto.commit": False, "auto.offset.reset": "earliest"}))
    eq([tp.offset for tp in c.committed([TopicPartition(t, 0)], timeout=T)], [5], "committed offset")
    c.assign([TopicPartition(t, 0)])
    got = [m.value() for m in consume_n(c, 5)]
    eq(got, SEC_RECORDS[5:], "records after resuming at the committed offset")
    c.close()


def wrong_password(kind):
    """A wrong password: librdkafka reports _AUTHENTICATION with the broker's message."""
    bs, conf = sec_conf(kind, wrong_password=True)
    errors = []
    p = Producer(dict(conf, error_cb=errors.append))
    wait_until(lambda: (p.poll(0.2), errors)[1], T, "an error callback")
    e = errors[0]
    eq(e.code(), KafkaError._AUTHENTICATION, f"error code (message: {e.str()})")
    want = {"scram": "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            "plain": "Authentication failed: Invalid username or password"}[kind]
    check(want in e.str(), f"error message {e.str()!r} lacks Kafka's {want!r}")


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
