"""Python clients over SASL/TLS against weir (run by tests/security_clients.rs).

usage: security_clients.py MODE BOOTSTRAP TOPIC [CA_PEM]
  scram512-ssl   confluent-kafka (librdkafka >= 2.6.1), SASL_SSL + SCRAM-SHA-512 as bob/bob-secret
  scram256-ssl   confluent-kafka, SASL_SSL + SCRAM-SHA-256 as bob/bob-secret
  kafka-python-plain  kafka-python, SASL_PLAINTEXT + PLAIN as alice/alice-secret
  kafka-python-scram  kafka-python, SASL_SSL + SCRAM-SHA-512 as bob/bob-secret
  oauth-signed   confluent-kafka, SASL_PLAINTEXT + OAUTHBEARER with the signed JWT in
                 $WEIR_TEST_TOKEN (oauth_cb)
Produces 5 records, consumes them back, prints OK. Bounded at 60 s.
"""
import sys
import time

mode, bootstrap, topic = sys.argv[1:4]
ca = sys.argv[4] if len(sys.argv) > 4 else None
want = [f"v{i}".encode() for i in range(5)]
deadline = time.time() + 60


def confluent(mechanism):
    from confluent_kafka import Consumer, Producer

    conf = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": mechanism,
        "sasl.username": "bob",
        "sasl.password": "bob-secret",
        "ssl.ca.location": ca,
    }
    p = Producer(conf)
    for v in want:
        p.produce(topic, v)
    assert p.flush(30) == 0, "produce did not complete"
    c = Consumer({**conf, "group.id": "g-" + mode, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    while len(got) < len(want) and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m.value())
    c.close()
    assert got == want, got


def confluent_oauth():
    import os

    from confluent_kafka import Consumer, Producer

    token = os.environ["WEIR_TEST_TOKEN"]
    conf = {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "OAUTHBEARER",
        "oauth_cb": lambda _cfg: (token, time.time() + 300, "svc-orders", {}),
    }
    p = Producer(conf)
    for v in want:
        p.produce(topic, v)
    assert p.flush(30) == 0, "produce did not complete"
    c = Consumer({**conf, "group.id": "g-" + mode, "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    while len(got) < len(want) and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m.value())
    c.close()
    assert got == want, got


def kafka_python(protocol, mechanism, user, password):
    from kafka import KafkaConsumer, KafkaProducer

    conf = dict(
        bootstrap_servers=bootstrap,
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_plain_username=user,
        sasl_plain_password=password,
    )
    if ca:
        conf["ssl_cafile"] = ca
    p = KafkaProducer(**conf)
    for v in want:
        p.send(topic, v)
    p.flush(30)
    p.close()
    c = KafkaConsumer(topic, auto_offset_reset="earliest", consumer_timeout_ms=20000, **conf)
    got = [m.value for m in c][: len(want)]
    c.close()
    assert got == want, got


if mode == "scram512-ssl":
    confluent("SCRAM-SHA-512")
elif mode == "scram256-ssl":
    confluent("SCRAM-SHA-256")
elif mode == "kafka-python-plain":
    kafka_python("SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret")
elif mode == "kafka-python-scram":
    kafka_python("SASL_SSL", "SCRAM-SHA-512", "bob", "bob-secret")
elif mode == "oauth-signed":
    confluent_oauth()
else:
    sys.exit(f"unknown mode {mode}")
print("OK")
