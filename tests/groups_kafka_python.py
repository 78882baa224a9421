"""Consumer group check with kafka-python (a non-librdkafka client).

usage: groups_kafka_python.py BOOTSTRAP TOPIC PARTITIONS RECORDS_PER_PARTITION

Three consumers in one group get disjoint assignments covering every
partition and consume every record exactly once (committing as they go);
one closes (LeaveGroup) and the two others take over all partitions; the
committed offsets are then the end of every partition. Exits 0 on success.
"""
import sys
import threading
import time

from kafka import KafkaConsumer, TopicPartition

bootstrap, topic, n, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
GROUP = "kafka-python-group"
DEADLINE = time.time() + 60


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


class Member(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
        )
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.assigned = set()
        self.seen = []

    def run(self):
        while not self.stop.is_set() and time.time() < DEADLINE:
            batch = self.consumer.poll(timeout_ms=100)
            for tp, records in batch.items():
                for r in records:
                    self.seen.append((tp.partition, r.offset))
            if batch:
                self.consumer.commit()
            with self.lock:
                self.assigned = {tp.partition for tp in self.consumer.assignment()}
        self.consumer.close()

    def partitions(self):
        with self.lock:
            return set(self.assigned)


def covers(members):
    sets = [m.partitions() for m in members]
    union = set().union(*sets)
    return sum(len(s) for s in sets) == n and union == set(range(n)) and all(sets)


def wait(what, cond):
    while time.time() < DEADLINE:
        if cond():
            return
        time.sleep(0.05)
    fail("timed out waiting for " + what)


members = [Member("m%d" % i) for i in range(3)]
for m in members:
    m.start()
wait("three disjoint assignments", lambda: covers(members))
wait("all records consumed", lambda: sum(len(m.seen) for m in members) >= n * per)
seen = [x for m in members for x in m.seen]
if sorted(seen) != sorted(set(seen)) or len(set(seen)) != n * per:
    fail("records seen %d, distinct %d, expected %d" % (len(seen), len(set(seen)), n * per))
members[2].stop.set()
members[2].join()
wait("two members cover all partitions after a leave", lambda: covers(members[:2]))
for m in members[:2]:
    m.stop.set()
    m.join()
check = KafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
committed = [check.committed(TopicPartition(topic, p)) for p in range(n)]
check.close()
if committed != [per] * n:
    fail("committed offsets %r, expected %r" % (committed, [per] * n))
print("OK", flush=True)
