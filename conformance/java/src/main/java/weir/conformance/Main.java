package weir.conformance;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The weir conformance driver for the Java client (kafka-clients), one scenario per process.
 *
 * <p>Protocol with conformance/run: {@code list} prints {@code name<TAB>ok} or
 * {@code name<TAB>unsupported<TAB>why}; {@code run NAME HOST:PORT} exits 0 (pass), 1 (fail; the
 * last line is the reason) or 2 (not supported). The same source compiles against every pinned
 * kafka-clients version (4.x and 3.9.x); where they differ it asks the client its version.
 * Every wait is bounded: client calls by {@link #T}, loops by explicit deadlines, and the whole
 * scenario by a watchdog that fires shortly before conformance/run's budget.
 */
public final class Main {
    /** Seconds: timeout of any single client call. */
    static final int T = 15;

    static final String CLIENT = Objects.requireNonNullElse(System.getenv("CONFORMANCE_CLIENT"), "java");
    static final String VERSION = clientVersion();

    interface Body {
        void run(String bs) throws Exception;
    }

    static final Map<String, Body> SCENARIOS = new LinkedHashMap<>();
    static final Map<String, String> UNSUPPORTED = new LinkedHashMap<>();

    static final class Fail extends RuntimeException {
        Fail(String msg) {
            super(msg);
        }
    }

    static final class NotSupported extends RuntimeException {
        NotSupported(String msg) {
            super(msg);
        }
    }

    // ---------------------------------------------------------------- plumbing

    static String clientVersion() {
        try (InputStream in = KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (Exception e) {
            return "unknown";
        }
    }

    static void check(boolean cond, String msg) {
        if (!cond) throw new Fail(msg);
    }

    static String show(Object o) {
        String s;
        if (o instanceof byte[]) {
            byte[] b = (byte[]) o;
            s = "bytes[" + b.length + "]" + new String(b, 0, Math.min(b.length, 40), StandardCharsets.UTF_8);
        } else {
            s = String.valueOf(o);
        }
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    static void eq(Object actual, Object expected, String what) {
        if (!Objects.deepEquals(actual, expected)) {
            throw new Fail(what + ": expected " + show(expected) + ", got " + show(actual));
        }
    }

    static String topic(String tag) {
        return "cf-" + CLIENT + "-" + tag + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static String group(String tag) {
        return "g-" + topic(tag);
    }

    static void waitUntil(BooleanSupplier cond, double seconds, String what) {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        Object last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (cond.getAsBoolean()) return;
            } catch (Fail e) {
                last = e.getMessage();
            }
            sleep(100);
        }
        throw new Fail("timed out after " + seconds + "s waiting for " + what + (last == null ? "" : " (last: " + last + ")"));
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Fail("interrupted");
        }
    }

    /** A future's value within T seconds; an ExecutionException is unwrapped to its cause. */
    static <V> V get(Future<V> f) {
        try {
            return f.get(T, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) throw (RuntimeException) c;
            throw new RuntimeException(c);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new Fail("client call did not complete within " + T + "s");
        } catch (InterruptedException e) {
            throw new Fail("interrupted");
        }
    }

    /** Runs body, which must fail with the Kafka error `code`. */
    static void expectError(int code, String what, Runnable body) {
        try {
            body.run();
        } catch (Fail f) {
            throw f;
        } catch (RuntimeException e) {
            Throwable c = e;
            while ((c instanceof ExecutionException || c.getClass() == RuntimeException.class || c.getClass() == org.apache.kafka.common.KafkaException.class) && c.getCause() != null) {
                c = c.getCause();
            }
            Errors err = Errors.forException(c);
            if (err.code() != code) {
                throw new Fail(what + ": expected error " + Errors.forCode((short) code) + " (" + code + "), got "
                        + err + " (" + err.code() + "): " + c);
            }
            return;
        }
        throw new Fail(what + ": succeeded, expected error " + Errors.forCode((short) code) + " (" + code + ")");
    }

    static Properties base(String bs) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bs);
        p.put("request.timeout.ms", "10000");
        p.put("default.api.timeout.ms", "15000");
        return p;
    }

    static KafkaProducer<byte[], byte[]> producer(String bs, Object... kv) {
        Properties p = base(bs);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, "1048576");
        p.remove("default.api.timeout.ms");
        for (int i = 0; i < kv.length; i += 2) p.put(kv[i], String.valueOf(kv[i + 1]));
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static KafkaConsumer<byte[], byte[]> consumer(String bs, String grp, Object... kv) {
        Properties p = base(bs);
        if (grp != null) p.put(ConsumerConfig.GROUP_ID_CONFIG, grp);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "30000");
        for (int i = 0; i < kv.length; i += 2) p.put(kv[i], String.valueOf(kv[i + 1]));
        if ("consumer".equals(p.get("group.protocol"))) {
            // KIP-848: the broker owns session timeout, heartbeat interval and assignment.
            p.remove(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG);
            p.remove(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG);
        }
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    static Admin admin(String bs) {
        Properties p = base(bs);
        p.put(AdminClientConfig.RETRIES_CONFIG, "3");
        return Admin.create(p);
    }

    static Admin createTopic(String bs, String t, int partitions, Map<String, String> config) {
        Admin a = admin(bs);
        NewTopic nt = new NewTopic(t, partitions, (short) 1);
        if (config != null) nt.configs(config);
        get(a.createTopics(List.of(nt)).all());
        waitUntil(() -> {
            TopicDescription d = get(a.describeTopics(List.of(t)).allTopicNames()).get(t);
            return d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null);
        }, 10, "topic " + t + " with " + partitions + " partitions and leaders");
        return a;
    }

    static final class Rec {
        final byte[] key, value;
        final List<Header> headers;

        Rec(byte[] key, byte[] value, List<Header> headers) {
            this.key = key;
            this.value = value;
            this.headers = headers;
        }
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String s(byte[] v) {
        return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }

    /** The same 40 records as every other driver (conformance/python/common.py sample_records). */
    static List<Rec> sampleRecords(int n) {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] key = (i % 7 == 3 && i % 9 != 4) ? null : b("key-" + (i % 5));
            byte[] value;
            if (i % 9 == 4) {
                value = null;
            } else if (i % 11 == 5) {
                value = new byte[0];
            } else if (i % 2 == 1) {
                value = new byte[100 + i];
                for (int j = 0; j < value.length; j++) value[j] = (byte) ((i * j) % 256);
            } else {
                value = b(("value-" + i + "-ünïcødé-").repeat(1 + i % 4));
            }
            List<Header> h = new ArrayList<>();
            if (i % 3 == 0) {
                h.add(new RecordHeader("h1", b("v" + i)));
                h.add(new RecordHeader("h1", b("dup")));
                h.add(new RecordHeader("empty", new byte[0]));
            } else if (i % 3 == 1) {
                h.add(new RecordHeader("only", b("" + i)));
            }
            out.add(new Rec(key, value, h));
        }
        return out;
    }

    static List<Rec> values(int n, String prefix) {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new Rec(b("k" + i), b(prefix + i), List.of()));
        return out;
    }

    /** Sends records to one partition (with an optional timestamp), flushes, returns their offsets. */
    static List<Long> produce(KafkaProducer<byte[], byte[]> p, String t, int partition, List<Rec> recs, Long ts) {
        List<Future<RecordMetadata>> fs = new ArrayList<>();
        for (Rec r : recs) fs.add(p.send(new ProducerRecord<>(t, partition, ts, r.key, r.value, r.headers)));
        p.flush();
        List<Long> offs = new ArrayList<>();
        for (Future<RecordMetadata> f : fs) offs.add(get(f).offset());
        return offs;
    }

    static void expectOffsets(List<Long> offs, long first) {
        for (int i = 0; i < offs.size(); i++) eq(offs.get(i), first + i, "offset of record " + i);
    }

    static List<ConsumerRecord<byte[], byte[]>> consumeN(KafkaConsumer<byte[], byte[]> c, int n, double seconds) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (out.size() < n && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(r);
        }
        check(out.size() == n, "consumed " + out.size() + " of " + n + " records within " + seconds + "s");
        return out;
    }

    static KafkaConsumer<byte[], byte[]> assigned(String bs, String t, int partition, Object... kv) {
        KafkaConsumer<byte[], byte[]> c = consumer(bs, null, kv);
        TopicPartition tp = new TopicPartition(t, partition);
        c.assign(List.of(tp));
        c.seekToBeginning(List.of(tp));
        return c;
    }

    static List<String> headerList(Iterable<Header> hs) {
        List<String> out = new ArrayList<>();
        for (Header h : hs) out.add(h.key() + "=" + (h.value() == null ? "null" : Arrays.toString(h.value())));
        return out;
    }

    static void run(String name, Body body) {
        SCENARIOS.put(name, body);
    }

    // ---------------------------------------------------------------- scenarios

    static {
        run("metadata_autocreate", bs -> {
            String t = topic("meta");
            Admin a = admin(bs);
            DescribeClusterResult cl = a.describeCluster();
            Collection<Node> nodes = get(cl.nodes());
            String host = bs.substring(0, bs.lastIndexOf(':'));
            int port = Integer.parseInt(bs.substring(bs.lastIndexOf(':') + 1));
            check(nodes.stream().anyMatch(n -> n.host().equals(host) && n.port() == port),
                    "advertised brokers " + nodes + " do not include " + bs);
            check(!get(a.listTopics().names()).contains(t), "fresh topic " + t + " already exists");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            // Producing to an unknown topic auto-creates it (auto.create.topics.enable=true by default).
            RecordMetadata md = get(p.send(new ProducerRecord<>(t, b("k"), b("v"))));
            eq(md.offset(), 0L, "offset of the first record of an auto-created topic");
            List<PartitionInfo> parts = p.partitionsFor(t);
            check(!parts.isEmpty(), "auto-created topic has no partitions");
            for (PartitionInfo pi : parts) {
                check(pi.leader() != null && nodes.stream().anyMatch(n -> n.id() == pi.leader().id()),
                        "partition " + pi.partition() + " leader " + pi.leader() + " is not a known broker");
            }
            check(get(a.listTopics().names()).contains(t), "auto-created topic missing from listTopics");
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            run("roundtrip_" + codec, bs -> {
                String t = topic("rt-" + codec);
                List<Rec> recs = sampleRecords(40);
                KafkaProducer<byte[], byte[]> p = producer(bs, "compression.type", codec, "linger.ms", 50);
                expectOffsets(produce(p, t, 0, recs, null), 0);
                KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0);
                List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, recs.size(), T);
                long now = System.currentTimeMillis();
                for (int i = 0; i < recs.size(); i++) {
                    ConsumerRecord<byte[], byte[]> m = got.get(i);
                    Rec r = recs.get(i);
                    eq(m.offset(), (long) i, "offset of record " + i);
                    eq(m.key(), r.key, "key of record " + i);
                    eq(m.value(), r.value, "value of record " + i);
                    eq(headerList(m.headers()), headerList(r.headers), "headers of record " + i);
                    eq(m.timestampType(), TimestampType.CREATE_TIME, "timestamp type of record " + i);
                    check(Math.abs(m.timestamp() - now) < 300_000, "record " + i + " timestamp " + m.timestamp() + " not near now");
                }
                TopicPartition tp = new TopicPartition(t, 0);
                eq(c.beginningOffsets(List.of(tp)).get(tp), 0L, "low watermark");
                eq(c.endOffsets(List.of(tp)).get(tp), 40L, "high watermark");
                c.close(Duration.ofSeconds(5));
                p.close(Duration.ofSeconds(5));
            });
        }

        run("large_messages", bs -> {
            // Broker default message.max.bytes is 1048588; lift the client's max.request.size so the
            // broker, not the client, is the one that must reject.
            String t = topic("large");
            KafkaProducer<byte[], byte[]> p = producer(bs, "max.request.size", 10_000_000, "compression.type", "none",
                    "buffer.memory", 64 << 20);
            byte[] near = new byte[1_000_000];
            for (int i = 0; i < near.length; i++) near[i] = (byte) i;
            expectOffsets(produce(p, t, 0, List.of(new Rec(b("near"), near, List.of())), null), 0);
            byte[] over = new byte[1_100_000];
            Arrays.fill(over, (byte) 'x');
            expectError(10, "a 1.1 MB record against message.max.bytes=1048588",
                    () -> produce(p, t, 0, List.of(new Rec(b("over"), over, List.of())), null));
            // The broker still serves and the rejected record took no offset.
            expectOffsets(produce(p, t, 0, List.of(new Rec(b("after"), b("small"), List.of())), null), 1);
            KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0, "max.partition.fetch.bytes", 2_000_000);
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 2, T);
            eq(got.get(0).value(), near, "value of the near-limit record");
            eq(got.get(1).value(), b("small"), "value after the rejected record");
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
        });

        run("group_rebalance", bs -> rebalance(bs, "range", "org.apache.kafka.clients.consumer.RangeAssignor", false));
        run("group_cooperative_sticky", bs -> rebalance(bs, "coop", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor", true));
        run("group_consumer_protocol", Main::groupConsumerProtocol);
        run("group_static_membership", Main::staticMembership);

        run("commit_resume", bs -> {
            String t = topic("commit");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            expectOffsets(produce(p, t, 0, values(10, "v"), null), 0);
            String g = group("commit");
            KafkaConsumer<byte[], byte[]> c = consumer(bs, g, "max.poll.records", 5);
            c.subscribe(List.of(t));
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 5, 30);
            eq(got.stream().map(ConsumerRecord::offset).toList(), List.of(0L, 1L, 2L, 3L, 4L), "first five offsets");
            TopicPartition tp = new TopicPartition(t, 0);
            c.commitSync(Map.of(tp, new OffsetAndMetadata(5, "five")), Duration.ofSeconds(T));
            OffsetAndMetadata om = c.committed(Set.of(tp), Duration.ofSeconds(T)).get(tp);
            check(om != null, "no committed offset after commitSync");
            eq(om.offset(), 5L, "committed offset");
            eq(om.metadata(), "five", "committed metadata");
            c.close(Duration.ofSeconds(10));
            KafkaConsumer<byte[], byte[]> c2 = consumer(bs, g);
            om = c2.committed(Set.of(tp), Duration.ofSeconds(T)).get(tp);
            check(om != null, "a new member sees no committed offset");
            eq(om.offset(), 5L, "committed offset seen by a new member");
            c2.subscribe(List.of(t));
            got = consumeN(c2, 5, 30);
            eq(got.stream().map(ConsumerRecord::offset).toList(), List.of(5L, 6L, 7L, 8L, 9L), "offsets after resume");
            eq(got.stream().map(r -> s(r.value())).toList(), List.of("v5", "v6", "v7", "v8", "v9"), "values after resume");
            c2.close(Duration.ofSeconds(10));
            p.close(Duration.ofSeconds(5));
        });

        run("idempotent_producer", bs -> {
            String t = topic("idem");
            KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", true, "acks", "all",
                    "max.in.flight.requests.per.connection", 5, "linger.ms", 5, "batch.size", 2048);
            List<Rec> recs = values(200, "v");
            expectOffsets(produce(p, t, 0, recs, null), 0);
            KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0);
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 200, T);
            for (int i = 0; i < 200; i++) eq(s(got.get(i).value()), "v" + i, "value " + i + " (in order, no duplicates)");
            check(c.poll(Duration.ofMillis(1000)).isEmpty(), "more records than produced (duplicates)");
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
        });

        run("transactions", bs -> {
            String t = topic("txn");
            KafkaProducer<byte[], byte[]> p = producer(bs, "transactional.id", topic("tid"), "transaction.timeout.ms", 30000);
            p.initTransactions();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, 0, null, b("commit-" + i)));
            p.commitTransaction();
            p.beginTransaction();
            for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(t, 0, null, b("abort-" + i)));
            p.flush();
            p.abortTransaction();
            p.beginTransaction();
            p.send(new ProducerRecord<>(t, 0, null, b("commit-last")));
            p.commitTransaction();
            KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0, "isolation.level", "read_committed");
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 6, T);
            eq(got.stream().map(r -> s(r.value())).toList(),
                    List.of("commit-0", "commit-1", "commit-2", "commit-3", "commit-4", "commit-last"),
                    "read_committed sees only committed records");
            check(c.poll(Duration.ofMillis(500)).isEmpty(), "read_committed sees more than the 6 committed records");
            TopicPartition tp = new TopicPartition(t, 0);
            eq(c.endOffsets(List.of(tp)).get(tp), 14L, "high watermark (11 records, 3 markers)");
            c.close(Duration.ofSeconds(5));
            c = assigned(bs, t, 0, "isolation.level", "read_uncommitted");
            got = consumeN(c, 11, T);
            eq(got.stream().filter(r -> s(r.value()).startsWith("abort")).count(), 5L, "read_uncommitted sees aborted records");
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
        });

        run("transactions_consume_produce", Main::consumeTransformProduce);

        run("admin_topics", bs -> {
            Admin a = admin(bs);
            String t = topic("adm");
            get(a.createTopics(List.of(new NewTopic(t, 3, (short) 1).configs(Map.of("retention.ms", "3600000")))).all());
            expectError(36, "creating an existing topic",
                    () -> get(a.createTopics(List.of(new NewTopic(t, 3, (short) 1))).all()));
            waitUntil(() -> get(a.listTopics().names()).contains(t), 10, "new topic in listTopics");
            TopicDescription d = get(a.describeTopics(List.of(t)).allTopicNames()).get(t);
            eq(d.partitions().size(), 3, "partition count");
            eq(d.isInternal(), false, "internal flag");
            check(d.topicId() != null && !d.topicId().equals(org.apache.kafka.common.Uuid.ZERO_UUID), "topic id " + d.topicId());
            get(a.deleteTopics(List.of(t)).all());
            waitUntil(() -> !get(a.listTopics().names()).contains(t), 10, "deleted topic to leave listTopics");
            expectError(3, "deleting a missing topic", () -> get(a.deleteTopics(List.of(t)).all()));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_describe_topics", bs -> {
            // Kafka 4.x's admin describes topics with DescribeTopicPartitions (API 75) when the broker
            // offers it, else Metadata. Either way: partitions, leaders, replicas, ISR, topic id, and
            // an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION.
            String t = topic("dtp");
            Admin a = createTopic(bs, t, 5, null);
            TopicDescription d = get(a.describeTopics(List.of(t)).allTopicNames()).get(t);
            eq(d.name(), t, "topic name");
            eq(d.partitions().size(), 5, "partitions");
            Node leader = get(a.describeCluster().nodes()).iterator().next();
            for (TopicPartitionInfo pi : d.partitions()) {
                check(pi.leader() != null && pi.leader().id() == leader.id(), "leader of partition " + pi.partition() + ": " + pi.leader());
                eq(pi.replicas().size(), 1, "replicas of partition " + pi.partition());
                eq(pi.isr().size(), 1, "ISR of partition " + pi.partition());
            }
            Map<org.apache.kafka.common.Uuid, TopicDescription> byId =
                    get(a.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(d.topicId()))).allTopicIds());
            eq(byId.get(d.topicId()).name(), t, "topic described by its id");
            expectError(3, "describing a missing topic", () -> get(a.describeTopics(List.of(t + "-missing")).allTopicNames()));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_configs", bs -> {
            String t = topic("cfg");
            Admin a = createTopic(bs, t, 1, Map.of("retention.ms", "3600000"));
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t);
            Config cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
            check(cfg.get("retention.ms") != null, "describeConfigs lacks retention.ms");
            eq(cfg.get("retention.ms").value(), "3600000", "retention.ms set at creation");
            check(cfg.get("cleanup.policy") != null, "describeConfigs lacks cleanup.policy");
            eq(cfg.get("cleanup.policy").value(), "delete", "default cleanup.policy");
            get(a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "123456"), AlterConfigOp.OpType.SET)))).all());
            cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
            eq(cfg.get("retention.ms").value(), "123456", "retention.ms after incremental alter");
            eq(cfg.get("retention.ms").source(), ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "config source");
            get(a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all());
            cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
            eq(cfg.get("retention.ms").value(), "604800000", "retention.ms back to the default after DELETE");
            expectError(40, "a non-numeric retention.ms", () -> get(a.incrementalAlterConfigs(Map.of(res,
                    List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "not-a-number"), AlterConfigOp.OpType.SET)))).all()));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_broker_configs", bs -> {
            Admin a = admin(bs);
            Node n = get(a.describeCluster().nodes()).iterator().next();
            ConfigResource res = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(n.id()));
            Config cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
            for (String[] kv : new String[][] {{"message.max.bytes", "1048588"}, {"auto.create.topics.enable", "true"},
                    {"log.retention.hours", "168"}}) {
                ConfigEntry e = cfg.get(kv[0]);
                check(e != null, "broker describeConfigs lacks " + kv[0]);
                eq(e.value(), kv[1], "broker config " + kv[0]);
            }
            // A dynamic per-broker config, as `kafka-configs --entity-type brokers --entity-name 1 --alter` sets.
            AlterConfigOp set = new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", "16000"), AlterConfigOp.OpType.SET);
            get(a.incrementalAlterConfigs(Map.of(res, List.of(set))).all());
            try {
                cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
                eq(cfg.get("log.cleaner.backoff.ms").value(), "16000", "log.cleaner.backoff.ms after incremental alter");
                eq(cfg.get("log.cleaner.backoff.ms").source(), ConfigEntry.ConfigSource.DYNAMIC_BROKER_CONFIG, "config source");
            } finally {
                get(a.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("log.cleaner.backoff.ms", ""),
                        AlterConfigOp.OpType.DELETE)))).all());
            }
            cfg = get(a.describeConfigs(List.of(res)).all()).get(res);
            eq(cfg.get("log.cleaner.backoff.ms").value(), "15000", "log.cleaner.backoff.ms back to the default after DELETE");
            a.close(Duration.ofSeconds(5));
        });

        run("admin_create_partitions", bs -> {
            String t = topic("parts");
            Admin a = createTopic(bs, t, 1, null);
            get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(3))).all());
            waitUntil(() -> get(a.describeTopics(List.of(t)).allTopicNames()).get(t).partitions().size() == 3, 10, "3 partitions");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            expectOffsets(produce(p, t, 2, List.of(new Rec(b("k"), b("on-p2"), List.of())), null), 0);
            expectError(37, "shrinking partitions 3 -> 2", () -> get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(2))).all()));
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_groups", bs -> {
            String t = topic("admgrp");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            produce(p, t, 0, values(3, "x"), null);
            String g = group("adm");
            KafkaConsumer<byte[], byte[]> c = consumer(bs, g);
            c.subscribe(List.of(t));
            consumeN(c, 3, 30);
            c.commitSync(Duration.ofSeconds(T));
            Admin a = admin(bs);
            waitUntil(() -> get(a.listConsumerGroups().all()).stream().map(ConsumerGroupListing::groupId).anyMatch(g::equals), 10, "group in listConsumerGroups");
            ConsumerGroupDescription d = get(a.describeConsumerGroups(List.of(g)).all()).get(g);
            eq(d.groupId(), g, "described group id");
            eq(d.state().toString(), "Stable", "state of a group with an active member");
            eq(d.members().size(), 1, "member count");
            eq(d.members().iterator().next().assignment().topicPartitions(), Set.of(new TopicPartition(t, 0)), "member assignment");
            Map<TopicPartition, OffsetAndMetadata> offs = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
            eq(offs.get(new TopicPartition(t, 0)) == null ? null : offs.get(new TopicPartition(t, 0)).offset(), 3L, "committed offset via admin");
            expectError(68, "deleting a group with an active member", () -> get(a.deleteConsumerGroups(List.of(g)).all()));
            c.close(Duration.ofSeconds(10));
            waitUntil(() -> get(a.describeConsumerGroups(List.of(g)).all()).get(g).state().toString().equals("Empty"), 10, "group Empty after the member left");
            get(a.deleteConsumerGroups(List.of(g)).all());
            check(get(a.listConsumerGroups().all()).stream().map(ConsumerGroupListing::groupId).noneMatch(g::equals), "deleted group still listed");
            expectError(69, "deleting a missing group", () -> get(a.deleteConsumerGroups(List.of(g)).all()));
            a.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
        });

        run("admin_group_offsets", bs -> {
            // listConsumerGroupOffsets, alterConsumerGroupOffsets (OffsetCommit from the admin),
            // deleteConsumerGroupOffsets (OffsetDelete), on an Empty group; OffsetDelete on a partition
            // the group is subscribed to -> GROUP_SUBSCRIBED_TO_TOPIC (86).
            String t = topic("grpoff");
            Admin a = createTopic(bs, t, 2, null);
            String g = group("grpoff");
            TopicPartition p0 = new TopicPartition(t, 0), p1 = new TopicPartition(t, 1);
            get(a.alterConsumerGroupOffsets(g, Map.of(p0, new OffsetAndMetadata(0), p1, new OffsetAndMetadata(0))).all());
            Map<TopicPartition, OffsetAndMetadata> offs = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
            eq(offs.keySet(), Set.of(p0, p1), "partitions with committed offsets");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            produce(p, t, 0, values(4, "a"), null);
            produce(p, t, 1, values(6, "b"), null);
            get(a.alterConsumerGroupOffsets(g, Map.of(p0, new OffsetAndMetadata(3, "m"), p1, new OffsetAndMetadata(6))).all());
            offs = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
            eq(offs.get(p0).offset(), 3L, "offset of partition 0 after alter");
            eq(offs.get(p0).metadata(), "m", "metadata of partition 0 after alter");
            eq(offs.get(p1).offset(), 6L, "offset of partition 1 after alter");
            get(a.deleteConsumerGroupOffsets(g, Set.of(p1)).all());
            offs = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
            check(offs.get(p1) == null, "partition 1 still has an offset after deleteConsumerGroupOffsets: " + offs);
            eq(offs.get(p0).offset(), 3L, "offset of partition 0 after deleting partition 1's");
            // A member of the group resumes at the altered offset.
            KafkaConsumer<byte[], byte[]> c = consumer(bs, g);
            c.subscribe(List.of(t));
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 7, 30);
            eq(got.stream().filter(r -> r.partition() == 0).map(ConsumerRecord::offset).toList(), List.of(3L), "partition 0 resumes at 3");
            eq(got.stream().filter(r -> r.partition() == 1).count(), 6L, "partition 1 (offset deleted) restarts at earliest");
            expectError(86, "deleting the offset of a topic the group is subscribed to",
                    () -> get(a.deleteConsumerGroupOffsets(g, Set.of(p0)).all()));
            c.close(Duration.ofSeconds(10));
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("offsets_for_times", bs -> {
            String t = topic("times");
            long base = (System.currentTimeMillis() / 1000 - 3600) * 1000;
            KafkaProducer<byte[], byte[]> p = producer(bs);
            for (int i = 0; i < 5; i++) produce(p, t, 0, List.of(new Rec(null, b("v" + i), List.of())), base + i * 1000L);
            KafkaConsumer<byte[], byte[]> c = consumer(bs, null);
            TopicPartition tp = new TopicPartition(t, 0);
            Map<TopicPartition, OffsetAndTimestamp> r = c.offsetsForTimes(Map.of(tp, base + 1500));
            eq(r.get(tp) == null ? null : r.get(tp).offset(), 2L, "offset for a time between records 1 and 2");
            eq(r.get(tp).timestamp(), base + 2000, "timestamp of the record found");
            r = c.offsetsForTimes(Map.of(tp, base));
            eq(r.get(tp) == null ? null : r.get(tp).offset(), 0L, "offset for the first record's time");
            r = c.offsetsForTimes(Map.of(tp, base + 10_000));
            eq(r.get(tp), null, "offset for a time after the last record (none)");
            eq(c.beginningOffsets(List.of(tp)).get(tp), 0L, "earliest offset");
            eq(c.endOffsets(List.of(tp)).get(tp), 5L, "latest offset");
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 5, T);
            for (int i = 0; i < 5; i++) eq(got.get(i).timestamp(), base + i * 1000L, "timestamp of record " + i);
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
        });

        run("admin_list_offsets", bs -> {
            // Admin.listOffsets: earliest, latest, by timestamp and max-timestamp (ListOffsets v7+,
            // timestamp -3: the offset of the record with the largest timestamp).
            String t = topic("lo");
            long base = (System.currentTimeMillis() / 1000 - 3600) * 1000;
            KafkaProducer<byte[], byte[]> p = producer(bs);
            long[] ts = {base, base + 5000, base + 2000, base + 3000};
            for (int i = 0; i < ts.length; i++) produce(p, t, 0, List.of(new Rec(null, b("v" + i), List.of())), ts[i]);
            Admin a = admin(bs);
            TopicPartition tp = new TopicPartition(t, 0);
            ListOffsetsResult.ListOffsetsResultInfo e = get(a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all()).get(tp);
            eq(e.offset(), 0L, "earliest");
            ListOffsetsResult.ListOffsetsResultInfo l = get(a.listOffsets(Map.of(tp, OffsetSpec.latest())).all()).get(tp);
            eq(l.offset(), 4L, "latest");
            ListOffsetsResult.ListOffsetsResultInfo f = get(a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 1000))).all()).get(tp);
            eq(f.offset(), 1L, "offset for a timestamp (first record at or after it)");
            eq(f.timestamp(), base + 5000, "timestamp of that record");
            ListOffsetsResult.ListOffsetsResultInfo m = get(a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all()).get(tp);
            eq(m.offset(), 1L, "offset of the max timestamp");
            eq(m.timestamp(), base + 5000, "max timestamp");
            ListOffsetsResult.ListOffsetsResultInfo none = get(a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 60_000))).all()).get(tp);
            eq(none.offset(), -1L, "offset for a timestamp after every record");
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("delete_records", bs -> {
            String t = topic("delrec");
            KafkaProducer<byte[], byte[]> p = producer(bs);
            expectOffsets(produce(p, t, 0, values(10, "v"), null), 0);
            Admin a = admin(bs);
            TopicPartition tp = new TopicPartition(t, 0);
            eq(get(a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp)).lowWatermark(), 4L, "low watermark after deleteRecords");
            KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0);
            eq(c.beginningOffsets(List.of(tp)).get(tp), 4L, "earliest after delete");
            eq(c.endOffsets(List.of(tp)).get(tp), 10L, "latest after delete");
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(c, 6, T);
            eq(got.stream().map(ConsumerRecord::offset).toList(), List.of(4L, 5L, 6L, 7L, 8L, 9L), "offsets readable after delete");
            expectError(1, "deleting records beyond the high watermark",
                    () -> get(a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(50))).lowWatermarks().get(tp)));
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_cluster", bs -> {
            Admin a = admin(bs);
            DescribeClusterResult r = a.describeCluster();
            String id = get(r.clusterId());
            check(id != null && !id.isEmpty(), "cluster id " + id);
            Collection<Node> nodes = get(r.nodes());
            eq(nodes.size(), 1, "nodes of a single-node cluster");
            Node ctl = get(r.controller());
            check(ctl != null && ctl.id() >= 0, "controller " + ctl);
            a.close(Duration.ofSeconds(5));
        });

        run("admin_features", bs -> {
            // describeFeatures reads ApiVersions' supported and finalized features. A Kafka 4.x
            // broker always has metadata.version (and group.version / transaction.version, which
            // 4.x clients read to pick KIP-848 and KIP-890 paths).
            Admin a = admin(bs);
            FeatureMetadata fm = get(a.describeFeatures().featureMetadata());
            check(fm.supportedFeatures().containsKey("metadata.version"),
                    "supported features lack metadata.version: " + fm.supportedFeatures());
            check(fm.finalizedFeatures().containsKey("metadata.version"),
                    "finalized features lack metadata.version: " + fm.finalizedFeatures());
            a.close(Duration.ofSeconds(5));
        });

        run("admin_log_dirs", bs -> {
            String t = topic("logdirs");
            Admin a = createTopic(bs, t, 2, null);
            KafkaProducer<byte[], byte[]> p = producer(bs);
            produce(p, t, 0, values(5, "v"), null);
            Node n = get(a.describeCluster().nodes()).iterator().next();
            Map<String, LogDirDescription> dirs = get(a.describeLogDirs(List.of(n.id())).allDescriptions()).get(n.id());
            check(dirs != null && !dirs.isEmpty(), "no log dirs described: " + dirs);
            Map<TopicPartition, ReplicaInfo> reps = new HashMap<>();
            for (LogDirDescription d : dirs.values()) {
                check(d.error() == null, "log dir error " + d.error());
                reps.putAll(d.replicaInfos());
            }
            check(reps.containsKey(new TopicPartition(t, 0)) && reps.containsKey(new TopicPartition(t, 1)), "replicas of " + t + " missing: " + reps.keySet());
            check(reps.get(new TopicPartition(t, 0)).size() > 0, "partition 0 with 5 records has size 0");
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_producers", bs -> {
            String t = topic("prods");
            KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", true, "acks", "all");
            produce(p, t, 0, values(3, "v"), null);
            Admin a = admin(bs);
            TopicPartition tp = new TopicPartition(t, 0);
            List<ProducerState> ps = get(a.describeProducers(List.of(tp)).partitionResult(tp)).activeProducers();
            eq(ps.size(), 1, "active producers of the partition");
            eq(ps.get(0).lastSequence(), 2, "last sequence");
            check(ps.get(0).producerId() >= 0, "producer id " + ps.get(0).producerId());
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_transactions", bs -> {
            // listTransactions / describeTransactions of an ongoing transaction and after its commit.
            String t = topic("admtxn");
            String tid = topic("tid");
            KafkaProducer<byte[], byte[]> p = producer(bs, "transactional.id", tid, "transaction.timeout.ms", 30000);
            p.initTransactions();
            p.beginTransaction();
            get(p.send(new ProducerRecord<>(t, 0, null, b("x"))));
            Admin a = admin(bs);
            Collection<TransactionListing> ls = get(a.listTransactions().all());
            TransactionListing l = ls.stream().filter(x -> x.transactionalId().equals(tid)).findFirst().orElse(null);
            check(l != null, "ongoing transaction " + tid + " not in listTransactions");
            eq(l.state().toString(), "Ongoing", "listed state");
            TransactionDescription d = get(a.describeTransactions(List.of(tid)).all()).get(tid);
            eq(d.state().toString(), "Ongoing", "described state");
            eq(d.topicPartitions(), Set.of(new TopicPartition(t, 0)), "partitions in the transaction");
            eq(d.transactionTimeoutMs(), 30000L, "transaction timeout");
            p.commitTransaction();
            waitUntil(() -> get(a.describeTransactions(List.of(tid)).all()).get(tid).state().toString().equals("CompleteCommit"), 10, "state CompleteCommit");
            p.close(Duration.ofSeconds(5));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_fence_producers", bs -> {
            // Admin.fenceProducers bumps the epoch of a transactional id (InitProducerId); the old
            // producer's commit then fails with ProducerFencedException.
            String t = topic("fence");
            String tid = topic("tid");
            KafkaProducer<byte[], byte[]> p = producer(bs, "transactional.id", tid, "transaction.timeout.ms", 30000);
            p.initTransactions();
            p.beginTransaction();
            get(p.send(new ProducerRecord<>(t, 0, null, b("x"))));
            Admin a = admin(bs);
            get(a.fenceProducers(List.of(tid)).all());
            try {
                p.commitTransaction();
                throw new Fail("a fenced producer committed its transaction");
            } catch (ProducerFencedException | org.apache.kafka.common.errors.InvalidProducerEpochException e) {
                // expected
            }
            KafkaConsumer<byte[], byte[]> c = assigned(bs, t, 0, "isolation.level", "read_committed");
            check(c.poll(Duration.ofMillis(1500)).isEmpty(), "read_committed sees the fenced producer's record");
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(1));
            a.close(Duration.ofSeconds(5));
        });

        run("admin_abort_transaction", bs -> {
            // A hanging transaction aborted by the admin (what kafka-transactions abort does):
            // describeProducers finds its producer id/epoch, abortTransaction writes the marker
            // (WriteTxnMarkers to the partition leader); the last stable offset then moves on.
            String t = topic("hang");
            String tid = topic("tid");
            KafkaProducer<byte[], byte[]> p = producer(bs, "transactional.id", tid, "transaction.timeout.ms", 60000);
            p.initTransactions();
            p.beginTransaction();
            get(p.send(new ProducerRecord<>(t, 0, null, b("hanging"))));
            Admin a = admin(bs);
            TopicPartition tp = new TopicPartition(t, 0);
            List<ProducerState> ps = get(a.describeProducers(List.of(tp)).partitionResult(tp)).activeProducers();
            eq(ps.size(), 1, "active producers");
            ProducerState st = ps.get(0);
            check(st.currentTransactionStartOffset().isPresent(), "producer has no open transaction: " + st);
            get(a.abortTransaction(new AbortTransactionSpec(tp, st.producerId(), (short) st.producerEpoch(),
                    st.coordinatorEpoch().orElse(0))).all());
            KafkaConsumer<byte[], byte[]> c = consumer(bs, null, "isolation.level", "read_committed");
            waitUntil(() -> c.endOffsets(List.of(tp)).get(tp) == 2L, 10, "read_committed end offset 2 (record + abort marker)");
            c.close(Duration.ofSeconds(5));
            p.close(Duration.ofSeconds(1));
            a.close(Duration.ofSeconds(5));
        });
    }

    // ------------------------------------------------------------- group scenarios

    /** A group member whose owned partitions follow its rebalance callbacks. */
    static final class Member implements ConsumerRebalanceListener {
        final String name;
        final KafkaConsumer<byte[], byte[]> c;
        final Set<Integer> owned = new TreeSet<>();
        final List<Set<Integer>> revocations = new ArrayList<>();
        final Map<Integer, List<String>> got = new HashMap<>();

        Member(String name, KafkaConsumer<byte[], byte[]> c, String t) {
            this.name = name;
            this.c = c;
            c.subscribe(List.of(t), this);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> parts) {
            Set<Integer> r = new TreeSet<>();
            for (TopicPartition tp : parts) r.add(tp.partition());
            if (!r.isEmpty()) revocations.add(r);
            owned.removeAll(r);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> parts) {
            for (TopicPartition tp : parts) owned.add(tp.partition());
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> parts) {
            for (TopicPartition tp : parts) owned.remove(tp.partition());
        }

        void pump() {
            ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(100));
            for (ConsumerRecord<byte[], byte[]> r : rs) {
                check(owned.contains(r.partition()), "member " + name + " got a record of partition " + r.partition() + " it does not own " + owned);
                got.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(s(r.value()));
            }
        }

        int count() {
            return got.values().stream().mapToInt(List::size).sum();
        }
    }

    static void pumpAll(Member... ms) {
        for (Member m : ms) m.pump();
    }

    static void produceOnePerPartition(String bs, String t, int n) {
        KafkaProducer<byte[], byte[]> p = producer(bs);
        for (int i = 0; i < n; i++) produce(p, t, i, List.of(new Rec(null, b("p" + i), List.of())), null);
        p.close(Duration.ofSeconds(5));
    }

    static void checkSplit(Member a, Member b) {
        for (Member m : List.of(a, b)) {
            for (Map.Entry<Integer, List<String>> e : m.got.entrySet()) {
                eq(e.getValue(), List.of("p" + e.getKey()), "records member " + m.name + " consumed from partition " + e.getKey());
            }
        }
        Set<Integer> all = new TreeSet<>(a.got.keySet());
        all.addAll(b.got.keySet());
        eq(all, Set.of(0, 1, 2, 3), "partitions consumed by the group");
    }

    static void rebalance(String bs, String tag, String assignor, boolean cooperative) {
        String t = topic(tag);
        createTopic(bs, t, 4, null).close(Duration.ofSeconds(5));
        String g = group(tag);
        Object[] conf = {"partition.assignment.strategy", assignor, "group.protocol", "classic"};
        Member a = new Member("a", consumer(bs, g, conf), t);
        waitUntil(() -> {
            a.pump();
            return a.owned.equals(Set.of(0, 1, 2, 3));
        }, 30, "member a to own all 4 partitions");
        a.revocations.clear();
        Member b = new Member("b", consumer(bs, g, conf), t);
        waitUntil(() -> {
            pumpAll(a, b);
            Set<Integer> u = new TreeSet<>(a.owned);
            u.addAll(b.owned);
            return a.owned.size() == 2 && b.owned.size() == 2 && u.equals(Set.of(0, 1, 2, 3));
        }, 40, "a rebalance splitting 4 partitions 2/2 (a=" + a.owned + " b=" + b.owned + ")");
        if (cooperative) {
            // Incremental: a gives up only the two partitions that move, never all four.
            Set<Integer> revoked = new TreeSet<>();
            for (Set<Integer> r : a.revocations) revoked.addAll(r);
            eq(revoked.size(), 2, "partitions a revoked in the cooperative rebalance (revocations " + a.revocations + ")");
            Set<Integer> moved = new TreeSet<>(b.owned);
            eq(revoked, moved, "a revoked exactly what b got");
        } else {
            check(!a.revocations.isEmpty() && a.revocations.get(0).size() == 4,
                    "eager rebalance: a should revoke all 4 partitions first, revocations " + a.revocations);
        }
        produceOnePerPartition(bs, t, 4);
        waitUntil(() -> {
            pumpAll(a, b);
            return a.count() + b.count() >= 4;
        }, 20, "4 records consumed by the two members");
        checkSplit(a, b);
        b.c.close(Duration.ofSeconds(10)); // LeaveGroup -> a gets everything back
        waitUntil(() -> {
            a.pump();
            return a.owned.equals(Set.of(0, 1, 2, 3));
        }, 30, "member a to get all 4 partitions back after b left");
        a.c.close(Duration.ofSeconds(10));
    }

    static void groupConsumerProtocol(String bs) {
        String t = topic("g848");
        Admin adm = createTopic(bs, t, 4, null);
        String g = group("g848");
        Object[] conf = {"group.protocol", "consumer"};
        Member a = new Member("a", consumer(bs, g, conf), t);
        waitUntil(() -> {
            a.pump();
            return a.owned.equals(Set.of(0, 1, 2, 3));
        }, 30, "member a to own all 4 partitions");
        Member b = new Member("b", consumer(bs, g, conf), t);
        waitUntil(() -> {
            pumpAll(a, b);
            return a.owned.size() == 2 && b.owned.size() == 2;
        }, 30, "a 2/2 split (a=" + a.owned + " b=" + b.owned + ")");
        ConsumerGroupDescription d = get(adm.describeConsumerGroups(List.of(g)).all()).get(g);
        eq(String.valueOf(d.type()), "Consumer", "group type");
        eq(d.members().size(), 2, "members");
        produceOnePerPartition(bs, t, 4);
        waitUntil(() -> {
            pumpAll(a, b);
            return a.count() + b.count() >= 4;
        }, 20, "4 records consumed by the two members");
        checkSplit(a, b);
        b.c.close(Duration.ofSeconds(10));
        waitUntil(() -> {
            a.pump();
            return a.owned.equals(Set.of(0, 1, 2, 3));
        }, 30, "member a to get all 4 partitions back after b left");
        a.c.close(Duration.ofSeconds(10));
        adm.close(Duration.ofSeconds(5));
    }

    /**
     * Static membership (KIP-345): two members with group.instance.id split 4 partitions; b closes
     * (a static member sends no LeaveGroup) and a new consumer with b's instance id rejoins within
     * the session timeout: it gets b's partitions back with no rebalance (a revokes nothing).
     */
    static void staticMembership(String bs) {
        String t = topic("static");
        Admin adm = createTopic(bs, t, 4, null);
        String g = group("static");
        Object[] ca = {"group.instance.id", "inst-a", "partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor"};
        Object[] cb = {"group.instance.id", "inst-b", "partition.assignment.strategy", "org.apache.kafka.clients.consumer.RangeAssignor"};
        Member a = new Member("a", consumer(bs, g, ca), t);
        Member b = new Member("b", consumer(bs, g, cb), t);
        waitUntil(() -> {
            pumpAll(a, b);
            return a.owned.size() == 2 && b.owned.size() == 2;
        }, 40, "a 2/2 split (a=" + a.owned + " b=" + b.owned + ")");
        Set<Integer> bOwned = new TreeSet<>(b.owned);
        ConsumerGroupDescription d = get(adm.describeConsumerGroups(List.of(g)).all()).get(g);
        Set<String> inst = new TreeSet<>();
        for (MemberDescription m : d.members()) inst.add(m.groupInstanceId().orElse("-"));
        eq(inst, Set.of("inst-a", "inst-b"), "group.instance.id of the described members");
        a.revocations.clear();
        b.c.close(Duration.ofSeconds(10));
        // Still two members: the static member stays until its session times out.
        d = get(adm.describeConsumerGroups(List.of(g)).all()).get(g);
        eq(d.members().size(), 2, "members after a static member closed (no LeaveGroup)");
        Member b2 = new Member("b2", consumer(bs, g, cb), t);
        waitUntil(() -> {
            pumpAll(a, b2);
            return b2.owned.size() == 2;
        }, 20, "the returning static member to get its partitions (b2=" + b2.owned + ")");
        eq(b2.owned, bOwned, "partitions of the returning static member");
        for (int i = 0; i < 10; i++) pumpAll(a, b2);
        eq(a.revocations, List.of(), "revocations of a while b's instance came back (none: no rebalance)");
        eq(a.owned.size(), 2, "a's partitions");
        a.c.close(Duration.ofSeconds(10));
        b2.c.close(Duration.ofSeconds(10));
        adm.close(Duration.ofSeconds(5));
    }

    /**
     * Exactly-once consume-transform-produce: a group member reads 10 input records; a
     * transaction produces the transformed first half and sendOffsetsToTransaction commits the
     * input offset, then is aborted (no offset, no output); redone and committed, then the second
     * half. read_committed sees each output once and the group's offset is 10.
     */
    static void consumeTransformProduce(String bs) {
        String in = topic("eos-in"), out = topic("eos-out");
        KafkaProducer<byte[], byte[]> p = producer(bs);
        expectOffsets(produce(p, in, 0, values(10, "i"), null), 0);
        p.close(Duration.ofSeconds(5));
        String g = group("eos");
        KafkaConsumer<byte[], byte[]> c = consumer(bs, g, "isolation.level", "read_committed");
        c.subscribe(List.of(in));
        List<ConsumerRecord<byte[], byte[]>> msgs = consumeN(c, 10, 30);
        KafkaProducer<byte[], byte[]> tp = producer(bs, "transactional.id", "tx-" + out, "transaction.timeout.ms", 30000);
        tp.initTransactions();
        TopicPartition inTp = new TopicPartition(in, 0);
        Admin a = admin(bs);
        for (int[] step : new int[][] {{0, 5, 0}, {0, 5, 1}, {5, 10, 1}}) {
            tp.beginTransaction();
            for (ConsumerRecord<byte[], byte[]> m : msgs.subList(step[0], step[1])) {
                tp.send(new ProducerRecord<>(out, 0, null, b("o" + s(m.value()).substring(1))));
            }
            tp.sendOffsetsToTransaction(Map.of(inTp, new OffsetAndMetadata(step[1])), c.groupMetadata());
            if (step[2] == 1) {
                tp.commitTransaction();
            } else {
                tp.abortTransaction();
                Map<TopicPartition, OffsetAndMetadata> offs = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
                check(offs.get(inTp) == null, "an aborted transaction committed the input offset: " + offs);
            }
        }
        OffsetAndMetadata om = c.committed(Set.of(inTp), Duration.ofSeconds(T)).get(inTp);
        check(om != null, "no committed input offset after the transactions");
        eq(om.offset(), 10L, "committed input offset");
        c.close(Duration.ofSeconds(10));
        KafkaConsumer<byte[], byte[]> r = assigned(bs, out, 0, "isolation.level", "read_committed");
        List<ConsumerRecord<byte[], byte[]>> got = consumeN(r, 10, T);
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 10; i++) want.add("o" + i);
        eq(got.stream().map(x -> s(x.value())).toList(), want, "read_committed output");
        check(r.poll(Duration.ofMillis(500)).isEmpty(), "read_committed sees more than 10 output records");
        r.close(Duration.ofSeconds(5));
        tp.close(Duration.ofSeconds(5));
        a.close(Duration.ofSeconds(5));
    }

    // ---------------------------------------------------------------- main

    // The sec_* scenarios (secured listeners), in their own file.
    static {
        Secured.register();
    }

    // The share_* scenarios (KIP-932 share groups), in their own file, which compiles only
    // against kafka-clients 4.x (conformance/java/build leaves it out of the 3.9 column).
    static {
        try {
            Class.forName("weir.conformance.ShareScenarios").getDeclaredMethod("register", Map.class)
                    .invoke(null, SCENARIOS);
        } catch (ReflectiveOperationException e) {
            // kafka-clients 3.9: no share scenarios.
        }
    }

    static void watchdog(String name) {
        String b = System.getenv("CONFORMANCE_BUDGET");
        double budget = 0;
        try {
            budget = b == null ? 0 : Double.parseDouble(b);
        } catch (NumberFormatException e) {
            budget = 0;
        }
        if (budget <= 3) return;
        Thread main = Thread.currentThread();
        long ms = (long) ((budget - 2) * 1000);
        Thread w = new Thread(() -> {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                return;
            }
            String where = "unknown";
            for (StackTraceElement e : main.getStackTrace()) {
                if (e.getClassName().startsWith("weir.conformance")) {
                    where = e.getFileName() + ":" + e.getLineNumber() + " " + e.getMethodName();
                    break;
                }
            }
            System.out.println("FAIL: " + name + " did not finish within " + (ms / 1000) + "s; stuck at " + where);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }, "watchdog");
        w.setDaemon(true);
        w.start();
    }

    public static void main(String[] args) {
        // group_consumer_protocol runs on 3.9 too: its KIP-848 consumer is early access there
        // (GA in 4.0) but speaks ConsumerGroupHeartbeat v0, which weir serves.
        dispatch(args, SCENARIOS, UNSUPPORTED);
    }

    /** The driver protocol over a scenario table (shared with {@link Cli}). */
    static void dispatch(String[] args, Map<String, Body> scenarios, Map<String, String> unsupported) {
        if (args.length >= 1 && args[0].equals("list")) {
            for (String n : scenarios.keySet()) {
                if (unsupported.containsKey(n)) {
                    System.out.println(n + "\tunsupported\t" + unsupported.get(n));
                } else {
                    System.out.println(n + "\tok");
                }
            }
            return;
        }
        if (args.length >= 1 && args[0].equals("version")) {
            System.out.println(VERSION);
            return;
        }
        if (args.length != 3 || !args[0].equals("run")) {
            System.err.println("usage: list | version | run SCENARIO HOST:PORT");
            System.exit(64);
        }
        String name = args[1];
        if (unsupported.containsKey(name) || !scenarios.containsKey(name)) {
            System.out.println("not supported: " + unsupported.getOrDefault(name, "no scenario " + name));
            System.exit(2);
        }
        watchdog(name);
        int rc;
        try {
            scenarios.get(name).run(args[2]);
            System.out.println("PASS");
            rc = 0;
        } catch (NotSupported e) {
            System.out.println("not supported: " + e.getMessage());
            rc = 2;
        } catch (Fail e) {
            System.out.println("FAIL: " + e.getMessage().replace("\n", " | "));
            rc = 1;
        } catch (Throwable e) {
            Throwable c = e;
            while (c.getCause() != null && (c instanceof ExecutionException || c.getClass() == RuntimeException.class)) c = c.getCause();
            e.printStackTrace(System.out);
            String extra = "";
            if (c instanceof UnsupportedVersionException) extra = " (the broker does not offer the API/version this call needs)";
            System.out.println("FAIL: " + c.getClass().getSimpleName() + ": " + String.valueOf(c.getMessage()).replace("\n", " | ") + extra);
            rc = 1;
        }
        System.out.flush();
        // Client threads may still be closing; the verdict is in.
        Runtime.getRuntime().halt(rc);
    }
}
