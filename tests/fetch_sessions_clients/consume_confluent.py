"""confluent-kafka (librdkafka) reading every partition of a topic from the
beginning: run by tests/fetch_sessions.rs as
    python consume_confluent.py BOOTSTRAP TOPIC PARTITIONS EXPECTED
Prints "read N" and exits 0 once it has EXPECTED records, 1 after 60 s without."""
import sys
import time

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, partitions, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "fetch-sessions-confluent",
    "enable.auto.commit": False,
    "fetch.wait.max.ms": 100,
    # Small fetches: many fetch rounds.
    "max.partition.fetch.bytes": 1024,
})
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
read = 0
deadline = time.time() + 60
while read < expected and time.time() < deadline:
    m = c.poll(0.2)
    if m is not None and m.error() is None:
        read += 1
c.close()
print("read", read)
sys.exit(0 if read == expected else 1)
