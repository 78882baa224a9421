import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Share consumption vs classic consumption of the same records (issue 18): run by
 * benches/share_throughput.py as {@code ShareBench BOOTSTRAP ROUNDS RECORDS SIZE CONSUMERS}.
 *
 * <p>Per round, on one 1-partition topic: a fresh share group joins (its share-partition starts at
 * the log end, Kafka's share.auto.offset.reset=latest) and leaves again; RECORDS records of SIZE
 * bytes are produced; then, in alternating order, CONSUMERS KafkaShareConsumers of that group
 * (implicit acknowledgement, one thread each) consume them, and one KafkaConsumer (assigned the
 * partition, seeked to the round's first offset, no group) reads the same records. Each rate is
 * RECORDS / (time of the last record - time the consumers were created): what draining the
 * records takes, joins and connection setup included (the share group's members join once per
 * run, the classic consumer has no group).
 * Prints {@code round R classic|share RATE} per run.
 */
public final class ShareBench {
    static final String TOPIC = "share-bench";

    static Properties base(String bs) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bs);
        p.put("request.timeout.ms", "30000");
        p.put("default.api.timeout.ms", "60000");
        return p;
    }

    public static void main(String[] args) throws Exception {
        String bs = args[0];
        int rounds = Integer.parseInt(args[1]);
        int records = Integer.parseInt(args[2]);
        int size = Integer.parseInt(args[3]);
        int consumers = Integer.parseInt(args[4]);
        try (Admin a = Admin.create(base(bs))) {
            try {
                a.createTopics(List.of(new NewTopic(TOPIC, 1, (short) 1))).all().get();
            } catch (java.util.concurrent.ExecutionException e) {
                // exists from an earlier run
            }
            for (int r = 0; r < rounds; r++) {
                String grp = "share-bench-" + r + "-" + System.nanoTime();
                joinAndLeave(a, bs, grp, consumers);
                long first = produce(bs, records, size);
                boolean shareFirst = r % 2 == 0;
                for (int i = 0; i < 2; i++) {
                    if ((i == 0) == shareFirst) {
                        double rate = share(bs, grp, consumers, first, records);
                        System.out.printf("round %d share %.0f%n", r, rate);
                    } else {
                        double rate = classic(bs, first, records);
                        System.out.printf("round %d classic %.0f%n", r, rate);
                    }
                    System.out.flush();
                }
            }
        }
    }

    static KafkaShareConsumer<byte[], byte[]> shareConsumer(String bs, String grp) {
        Properties p = base(bs);
        p.put("group.id", grp);
        return new KafkaShareConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** The group's share-partition is created at the log end, then the members leave. */
    static void joinAndLeave(Admin a, String bs, String grp, int n) throws Exception {
        List<KafkaShareConsumer<byte[], byte[]>> cs = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                KafkaShareConsumer<byte[], byte[]> c = shareConsumer(bs, grp);
                c.subscribe(List.of(TOPIC));
                cs.add(c);
            }
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (true) {
                for (KafkaShareConsumer<byte[], byte[]> c : cs) c.poll(Duration.ofMillis(50));
                ShareGroupDescription d = null;
                try {
                    d = a.describeShareGroups(List.of(grp)).all().get().get(grp);
                } catch (java.util.concurrent.ExecutionException e) {
                    // not there yet
                }
                if (d != null && d.members().size() == n
                        && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    break;
                }
                if (System.nanoTime() > deadline) throw new IllegalStateException("share group never assigned");
            }
        } finally {
            for (KafkaShareConsumer<byte[], byte[]> c : cs) c.close();
        }
    }

    /** Produce the round's records; returns the first one's offset. */
    static long produce(String bs, int records, int size) throws Exception {
        Properties p = base(bs);
        p.put("linger.ms", "5");
        p.put("batch.size", "65536");
        byte[] value = new byte[size];
        long first;
        try (KafkaProducer<byte[], byte[]> pr = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            first = pr.send(new ProducerRecord<>(TOPIC, 0, null, value)).get().offset();
            for (int i = 1; i < records; i++) pr.send(new ProducerRecord<>(TOPIC, 0, null, value));
            pr.flush();
        }
        return first;
    }

    static double share(String bs, String grp, int n, long first, int records) throws Exception {
        BitSet seen = new BitSet(records);
        long startAt = System.nanoTime();
        AtomicLong lastAt = new AtomicLong(0);
        AtomicBoolean done = new AtomicBoolean(false);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Thread t = new Thread(() -> {
                try (KafkaShareConsumer<byte[], byte[]> c = shareConsumer(bs, grp)) {
                    c.subscribe(List.of(TOPIC));
                    long deadline = System.nanoTime() + 600_000_000_000L;
                    while (!done.get() && System.nanoTime() < deadline) {
                        ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                        if (rs.isEmpty()) continue;
                        long now = System.nanoTime();
                        synchronized (seen) {
                            for (ConsumerRecord<byte[], byte[]> r : rs) {
                                long i2 = r.offset() - first;
                                if (i2 >= 0 && i2 < records) seen.set((int) i2);
                            }
                            if (seen.cardinality() == records && !done.get()) {
                                lastAt.set(now);
                                done.set(true);
                            }
                        }
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                    done.set(true);
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        if (!errors.isEmpty()) throw new IllegalStateException("share consumer failed", errors.get(0));
        if (lastAt.get() == 0) throw new IllegalStateException("share consumers did not get every record");
        return records / ((lastAt.get() - startAt) / 1e9);
    }

    static double classic(String bs, long first, int records) {
        Properties p = base(bs);
        p.put("enable.auto.commit", "false");
        TopicPartition tp = new TopicPartition(TOPIC, 0);
        long startAt = System.nanoTime();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(List.of(tp));
            c.seek(tp, first);
            long count = 0;
            long end = first + records;
            long deadline = System.nanoTime() + 600_000_000_000L;
            while (System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
                if (rs.isEmpty()) continue;
                long now = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> r : rs) {
                    if (r.offset() >= first && r.offset() < end) count++;
                }
                if (count >= records) return records / ((now - startAt) / 1e9);
            }
            throw new IllegalStateException("classic consumer did not get every record");
        }
    }
}
