"""ACLs through confluent-kafka-python (librdkafka): AdminClient create_acls /
describe_acls / delete_acls, and produce / consume denied with Kafka's errors.
The broker (tests/acl_clients.rs) takes the principal from the client id.
Usage: acl_confluent.py BOOTSTRAP. Prints OK on success; bounded in time."""
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation,
                                   AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType)

bootstrap = sys.argv[1]


def admin(who):
    return AdminClient({"bootstrap.servers": bootstrap, "client.id": who})


def binding(rt, name, pattern, principal, op, perm=AclPermissionType.ALLOW):
    return AclBinding(rt, name, pattern, principal, "*", op, perm)


ANY = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                       AclOperation.ANY, AclPermissionType.ANY)

root = admin("admin")
for f in root.create_topics([NewTopic("orders", 1, 1)]).values():
    f.result(timeout=20)

wanted = [
    binding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice",
            AclOperation.WRITE),
    binding(ResourceType.TOPIC, "ord", ResourcePatternType.PREFIXED, "User:alice",
            AclOperation.READ),
    binding(ResourceType.GROUP, "g", ResourcePatternType.LITERAL, "User:alice",
            AclOperation.READ),
]
for f in root.create_acls(wanted).values():
    f.result(timeout=20)
described = root.describe_acls(ANY).result(timeout=20)
assert sorted(map(str, described)) == sorted(map(str, wanted)), described

# Describing ACLs needs DESCRIBE on the cluster: bob sees none (librdkafka
# drops DescribeAcls' top-level CLUSTER_AUTHORIZATION_FAILED and returns an
# empty list, against Apache Kafka too; tests/acl_raw.rs checks the code).
bob = admin("bob")
assert bob.describe_acls(ANY).result(timeout=20) == []

# A bad binding (the cluster, code 4, librdkafka calls BROKER): Kafka's INVALID_REQUEST.
bad = binding(ResourceType.BROKER, "my-cluster", ResourcePatternType.LITERAL,
              "User:alice", AclOperation.ALTER)
try:
    for f in root.create_acls([bad]).values():
        f.result(timeout=20)
    raise AssertionError("bad binding accepted")
except KafkaException as e:
    assert e.args[0].code() == KafkaError.INVALID_REQUEST, e
    assert "kafka-cluster" in e.args[0].str(), e


def produce(who):
    results = []
    p = Producer({"bootstrap.servers": bootstrap, "client.id": who,
                  "message.timeout.ms": 10000})
    p.produce("orders", b"v", on_delivery=lambda err, msg: results.append(err))
    p.flush(15)
    assert len(results) == 1, results
    return results[0]


assert produce("alice") is None
err = produce("bob")
assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err


def consume_error(who, group):
    errors = []
    c = Consumer({"bootstrap.servers": bootstrap, "client.id": who, "group.id": group,
                  "auto.offset.reset": "earliest",
                  "error_cb": lambda e: errors.append(e)})
    c.subscribe(["orders"])
    deadline = time.time() + 20
    got = None
    while time.time() < deadline and got is None:
        m = c.poll(0.5)
        if m is not None and m.error() is not None:
            errors.append(m.error())
        elif m is not None:
            got = m
        codes = [e.code() for e in errors]
        if KafkaError.GROUP_AUTHORIZATION_FAILED in codes:
            break
    c.close()
    return got, [e.code() for e in errors]


got, codes = consume_error("alice", "g")
assert got is not None and got.value() == b"v", (got, codes)
got, codes = consume_error("alice", "other-group")
assert got is None and KafkaError.GROUP_AUTHORIZATION_FAILED in codes, codes

deleted = root.delete_acls([AclBindingFilter(
    ResourceType.TOPIC, "ord", ResourcePatternType.PREFIXED, None, None,
    AclOperation.ANY, AclPermissionType.ANY)])
for f in deleted.values():
    assert [str(b) for b in f.result(timeout=20)] == [str(wanted[1])]
assert len(root.describe_acls(ANY).result(timeout=20)) == 2
print("OK")
