package weir.conformance;

import static weir.conformance.Main.T;
import static weir.conformance.Main.admin;
import static weir.conformance.Main.check;
import static weir.conformance.Main.createTopic;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.producer;
import static weir.conformance.Main.sleep;
import static weir.conformance.Main.waitUntil;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.StreamsGroupDescription;
import org.apache.kafka.clients.admin.StreamsGroupMemberDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * The weir conformance driver for Kafka Streams (kafka-streams, column streams-4.4), same
 * protocol as {@link Main}. The Streams application runs in its own JVM ({@code app} mode of
 * this class, started by the scenario), so it can be SIGKILLed mid-stream like a crashed
 * process; the scenario JVM feeds the input and reads the output with the plain Java client.
 *
 * <p>The application counts input records per region: {@code stream(in).groupBy(value).count()}
 * (a repartition topic, since the key changes; a KTable store "counts" with its changelog), with
 * {@code processing.guarantee=exactly_once_v2}, the record cache off (one output update per input
 * record) and {@code group.protocol=classic} (Streams' default). It talks to the scenario over
 * stdin/stdout: it prints {@code RUNNING} when its state is RUNNING and {@code RESTORED store n}
 * after restoring, and answers {@code dump} on stdin with {@code STORE key=count} lines and
 * {@code END}.
 */
public final class StreamsScenarios {
    static final Map<String, Main.Body> SCENARIOS = new LinkedHashMap<>();
    static final String STORE = "counts";
    static final String REPARTITION = "by-region";
    static final int REGIONS = 7;
    static final int RECORDS = 3000;

    static {
        SCENARIOS.put("streams_eos", StreamsScenarios::eos);
        SCENARIOS.put("streams_group_protocol", StreamsScenarios::streamsProtocol);
        StreamsSecured.register(SCENARIOS);
    }

    // ---------------------------------------------------------------- the application (own JVM)

    static void app(String bs, String appId, String in, String out, String stateDir, String protocol) throws Exception {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        p.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, "500");
        p.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, protocol);
        if (protocol.equals("classic")) {
            // A SIGKILLed member stays in the group until its session times out: the broker's minimum.
            p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "6000");
            p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1000");
        }
        // (streams: session and heartbeat are the broker's group.streams.* settings, KIP-1071.)
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);

        StreamsBuilder b = new StreamsBuilder();
        b.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                .groupBy((user, region) -> region, Grouped.with(REPARTITION, Serdes.String(), Serdes.String()))
                .count(Materialized.as(STORE))
                .toStream()
                .to(out, Produced.with(Serdes.String(), Serdes.Long()));

        PrintStream o = System.out;
        KafkaStreams ks = new KafkaStreams(b.build(), p);
        Map<String, Long> restored = new ConcurrentHashMap<>();
        ks.setGlobalStateRestoreListener(new StateRestoreListener() {
            @Override
            public void onRestoreStart(TopicPartition tp, String store, long start, long end) {}

            @Override
            public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) {}

            @Override
            public void onRestoreEnd(TopicPartition tp, String store, long total) {
                synchronized (o) {
                    o.println("RESTORED " + store + " " + tp + " " + total);
                }
            }
        });
        ks.setStateListener((now, before) -> {
            synchronized (o) {
                o.println("STATE " + now);
                if (now == KafkaStreams.State.RUNNING) o.println("RUNNING");
            }
        });
        ks.setUncaughtExceptionHandler(e -> {
            synchronized (o) {
                o.println("UNCAUGHT " + e);
            }
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> ks.close(Duration.ofSeconds(20))));
        ks.start();
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = r.readLine()) != null; ) {
            if (line.equals("dump")) {
                StringBuilder sb = new StringBuilder();
                try {
                    ReadOnlyKeyValueStore<String, Long> st =
                            ks.store(StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.keyValueStore()));
                    try (KeyValueIterator<String, Long> it = st.all()) {
                        while (it.hasNext()) {
                            KeyValue<String, Long> kv = it.next();
                            sb.append("STORE ").append(kv.key).append('=').append(kv.value).append('\n');
                        }
                    }
                } catch (Exception e) {
                    sb.append("STOREERROR ").append(e).append('\n');
                }
                synchronized (o) {
                    o.print(sb);
                    o.println("END");
                }
            }
        }
        // stdin closed: the scenario is gone; exit (the shutdown hook closes Streams).
        System.exit(0);
    }

    // ---------------------------------------------------------------- the scenario side

    /** One run of the application in its own JVM, its stdout collected line by line. */
    static final class App {
        final Process proc;
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        final Path log;

        App(String bs, String appId, String in, String out, Path stateDir, Path log) throws IOException {
            this(bs, appId, in, out, stateDir, log, "classic");
        }

        App(String bs, String appId, String in, String out, Path stateDir, Path log, String protocol) throws IOException {
            this.log = log;
            String cp = System.getProperty("java.class.path");
            List<String> argv = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
                    "-Dorg.slf4j.simpleLogger.logFile=" + log,
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-cp", cp, StreamsScenarios.class.getName(),
                    "app", bs, appId, in, out, stateDir.toString(), protocol));
            ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
            proc = pb.start();
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) lines.add(l);
                } catch (IOException e) {
                    lines.add("READERROR " + e);
                }
            }, "app-stdout");
            t.setDaemon(true);
            t.start();
        }

        boolean saw(String prefix) {
            synchronized (lines) {
                return lines.stream().anyMatch(l -> l.startsWith(prefix));
            }
        }

        String problems() {
            synchronized (lines) {
                return lines.stream().filter(l -> l.startsWith("UNCAUGHT") || l.startsWith("STATE ERROR") || l.startsWith("Exception"))
                        .collect(Collectors.joining(" | "));
            }
        }

        void awaitRunning(double seconds, String what) {
            waitUntil(() -> {
                if (!proc.isAlive() && !saw("RUNNING")) throw new Main.Fail(what + ": the Streams app exited: " + problems() + logTail());
                if (!problems().isEmpty()) throw new Main.Fail(what + ": " + problems() + logTail());
                return saw("RUNNING");
            }, seconds, what + ": the Streams app to reach RUNNING");
        }

        Map<String, Long> dump() throws IOException {
            int from = lines.size();
            proc.getOutputStream().write("dump\n".getBytes(StandardCharsets.UTF_8));
            proc.getOutputStream().flush();
            waitUntil(() -> lines.subList(from, lines.size()).contains("END"), T, "the app's store dump");
            Map<String, Long> m = new TreeMap<>();
            synchronized (lines) {
                for (String l : lines.subList(from, lines.size())) {
                    if (l.startsWith("STOREERROR")) throw new Main.Fail("interactive query of the store: " + l);
                    if (l.startsWith("STORE ")) {
                        String[] kv = l.substring(6).split("=", 2);
                        m.put(kv[0], Long.parseLong(kv[1]));
                    }
                }
            }
            return m;
        }

        long restored(String store) {
            long n = 0;
            synchronized (lines) {
                for (String l : lines) {
                    String[] f = l.split(" ");
                    if (f.length == 4 && f[0].equals("RESTORED") && f[1].equals(store)) n += Long.parseLong(f[3]);
                }
            }
            return n;
        }

        void kill() throws InterruptedException {
            proc.destroyForcibly(); // SIGKILL on Linux
            check(proc.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "the app did not die on SIGKILL");
        }

        void stop() throws InterruptedException {
            proc.destroy(); // SIGTERM: the shutdown hook closes Streams cleanly
            if (!proc.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new Main.Fail("the Streams app did not close within 30 s of SIGTERM" + logTail());
            }
        }

        String logTail() {
            try {
                List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
                List<String> bad = all.stream().filter(l -> l.contains("ERROR") || l.contains("WARN")).collect(Collectors.toList());
                List<String> tail = bad.subList(Math.max(0, bad.size() - 4), bad.size());
                return tail.isEmpty() ? "" : " (app log " + log + ": " + String.join(" | ", tail) + ")";
            } catch (IOException e) {
                return "";
            }
        }
    }

    /** Reads the output topic read_committed from the beginning, per key the list of counts seen. */
    static final class OutputReader implements AutoCloseable {
        final KafkaConsumer<String, Long> c;
        final Map<String, List<Long>> seen = new TreeMap<>();
        long records;

        OutputReader(String bs, String out, int partitions) {
            Properties p = Main.base(bs);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            c = new KafkaConsumer<>(p, new StringDeserializer(), new LongDeserializer());
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) tps.add(new TopicPartition(out, i));
            c.assign(tps);
            c.seekToBeginning(tps);
        }

        void poll() {
            for (ConsumerRecord<String, Long> r : c.poll(Duration.ofMillis(200))) {
                seen.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r.value());
                records++;
            }
        }

        Map<String, Long> latest() {
            Map<String, Long> m = new TreeMap<>();
            seen.forEach((k, v) -> m.put(k, v.get(v.size() - 1)));
            return m;
        }

        @Override
        public void close() {
            c.close(Duration.ofSeconds(5));
        }
    }

    static String region(int i) {
        // Deterministic and uneven: a few regions get most of the records.
        int h = (int) ((i * 2654435761L) % 1000);
        return "region-" + (h < 400 ? 0 : h < 650 ? 1 : h % REGIONS);
    }

    static void eos(String bs) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String appId = "cf-streams-" + id;
        String in = appId + "-in", out = appId + "-out";
        Path work = Files.createTempDirectory("weir-streams-");
        Path stateDir = work.resolve("state");
        System.out.println("work dir " + work);
        Admin a = createTopic(bs, in, 3, null);
        createTopic(bs, out, 2, null).close();

        Map<String, Long> expected = new TreeMap<>();
        for (int i = 0; i < RECORDS; i++) expected.merge(region(i), 1L, Long::sum);

        // Input flows in the background (60 batches, ~100 ms apart), across the crash: the second
        // half waits for the kill, so the app always dies mid-stream however slow the machine.
        AtomicInteger sent = new AtomicInteger();
        java.util.concurrent.CountDownLatch killed = new java.util.concurrent.CountDownLatch(1);
        AtomicReference<Throwable> feedError = new AtomicReference<>();
        Thread feeder = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", "true", "acks", "all", "linger.ms", "5")) {
                for (int i = 0; i < RECORDS; ) {
                    for (int j = 0; j < 50 && i < RECORDS; j++, i++) {
                        p.send(new ProducerRecord<>(in, Main.b("user-" + i), Main.b(region(i))));
                    }
                    p.flush();
                    sent.set(i);
                    if (i == RECORDS / 2) killed.await(60, java.util.concurrent.TimeUnit.SECONDS);
                    Thread.sleep(100);
                }
            } catch (Throwable e) {
                feedError.set(e);
            }
        }, "feeder");
        feeder.setDaemon(true);

        try (OutputReader reader = new OutputReader(bs, out, 2)) {
            App first = new App(bs, appId, in, out, stateDir, work.resolve("app-1.log"));
            first.awaitRunning(40, "first start");
            feeder.start();
            waitUntil(() -> {
                reader.poll();
                if (!first.proc.isAlive()) throw new Main.Fail("the first app exited: " + first.problems() + first.logTail());
                return reader.records >= 300;
            }, 40, "300 committed output records from the first app");
            first.kill();
            long atKill = reader.records;
            int sentAtKill = sent.get();
            killed.countDown();
            System.out.println("SIGKILLed the app after " + atKill + " committed outputs, " + sentAtKill + " inputs sent");
            check(sentAtKill < RECORDS, "the input was fully sent before the kill (" + sentAtKill + "): not mid-stream");

            App second = new App(bs, appId, in, out, stateDir, work.resolve("app-2.log"));
            second.awaitRunning(60, "restart after SIGKILL");
            long t0 = System.nanoTime();
            waitUntil(() -> {
                reader.poll();
                check(feedError.get() == null, "feeding the input: " + feedError.get());
                if (!second.proc.isAlive()) throw new Main.Fail("the restarted app exited: " + second.problems() + second.logTail());
                return reader.records >= RECORDS;
            }, 60, "all " + RECORDS + " count updates (read_committed) after the restart");
            // Nothing more may come: a duplicate would show up as an extra update.
            long settle = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < settle) reader.poll();
            System.out.printf("restart: all outputs %.1f s after RUNNING%n", (System.nanoTime() - t0) / 1e9);

            // Exactly once: per region the committed updates are 1, 2, ..., n with no gap or repeat.
            for (Map.Entry<String, Long> e : expected.entrySet()) {
                List<Long> got = reader.seen.getOrDefault(e.getKey(), List.of());
                List<Long> want = new ArrayList<>();
                for (long n = 1; n <= e.getValue(); n++) want.add(n);
                if (!got.equals(want)) {
                    long dups = got.size() - got.stream().distinct().count();
                    throw new Main.Fail("region " + e.getKey() + ": committed count updates are not exactly 1.." + e.getValue()
                            + " (got " + got.size() + " updates, " + dups + " repeated, last " + (got.isEmpty() ? "-" : got.get(got.size() - 1)) + ")");
                }
            }
            eq(reader.latest(), expected, "final counts read_committed");
            eq(reader.records, (long) RECORDS, "committed output records (one per input record)");

            // The internal topics Streams created itself (CreateTopics with its own configs).
            String rep = appId + "-" + REPARTITION + "-repartition", chg = appId + "-" + STORE + "-changelog";
            java.util.Set<String> names = get(a.listTopics().names());
            check(names.contains(rep), "repartition topic " + rep + " missing; topics: " + names.stream().filter(n -> n.startsWith(appId)).collect(Collectors.toList()));
            check(names.contains(chg), "changelog topic " + chg + " missing");
            Map<String, TopicDescription> d = get(a.describeTopics(List.of(rep, chg)).allTopicNames());
            eq(d.get(rep).partitions().size(), 3, "repartition topic partitions (= input partitions)");
            eq(d.get(chg).partitions().size(), 3, "changelog topic partitions (= tasks)");
            ConfigResource rr = new ConfigResource(ConfigResource.Type.TOPIC, rep), cr = new ConfigResource(ConfigResource.Type.TOPIC, chg);
            Map<ConfigResource, Config> cfg = get(a.describeConfigs(List.of(rr, cr)).all());
            ConfigEntry rp = cfg.get(rr).get("cleanup.policy"), cp = cfg.get(cr).get("cleanup.policy");
            eq(cp.value(), "compact", "changelog cleanup.policy");
            eq(cp.source(), ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "changelog cleanup.policy source");
            eq(rp.value(), "delete", "repartition cleanup.policy");
            eq(rp.source(), ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "repartition cleanup.policy source");
            eq(cfg.get(rr).get("retention.ms").value(), "-1", "repartition retention.ms (Streams purges it itself)");
            // Streams purges consumed repartition records with DeleteRecords after each commit.
            waitUntil(() -> {
                Map<TopicPartition, OffsetSpec> q = new HashMap<>();
                for (int i = 0; i < 3; i++) q.put(new TopicPartition(rep, i), OffsetSpec.earliest());
                return get(a.listOffsets(q).all()).values().stream().anyMatch(r -> r.offset() > 0);
            }, 10, "Streams to purge the repartition topic (DeleteRecords: a low watermark above 0)");

            // Restore: a clean stop, the local state deleted, the store rebuilt from the changelog.
            second.stop();
            check(Files.exists(stateDir.resolve(appId)), "state dir " + stateDir.resolve(appId) + " was not created");
            deleteTree(stateDir);
            App third = new App(bs, appId, in, out, stateDir, work.resolve("app-3.log"));
            try {
                third.awaitRunning(60, "start with the local state deleted");
                Map<String, Long> store = third.dump();
                eq(store, expected, "store 'counts' restored from its changelog");
                long n = third.restored(STORE);
                check(n > 0, "the store was not restored from the changelog (the restore listener saw " + n + " records)");
                System.out.println("restored " + n + " changelog records into '" + STORE + "'");
                reader.poll();
                eq(reader.records, (long) RECORDS, "committed output records after the restore (nothing reprocessed)");
            } finally {
                third.stop();
            }
        } finally {
            a.close(Duration.ofSeconds(5));
        }
        if (System.getenv("KEEP_WORK") == null) deleteTree(work);
    }

    /** The exactly-once check of {@link #eos}: per region the committed updates are 1..n. */
    static void checkExact(OutputReader reader, Map<String, Long> expected) {
        for (Map.Entry<String, Long> e : expected.entrySet()) {
            List<Long> got = reader.seen.getOrDefault(e.getKey(), List.of());
            List<Long> want = new ArrayList<>();
            for (long n = 1; n <= e.getValue(); n++) want.add(n);
            if (!got.equals(want)) {
                long dups = got.size() - got.stream().distinct().count();
                throw new Main.Fail("region " + e.getKey() + ": committed count updates are not exactly 1.." + e.getValue()
                        + " (got " + got.size() + " updates, " + dups + " repeated, last " + (got.isEmpty() ? "-" : got.get(got.size() - 1)) + ")");
            }
        }
        eq(reader.latest(), expected, "final counts read_committed");
        eq(reader.records, (long) RECORDS, "committed output records (one per input record)");
    }

    /** Active tasks per member of a streams group, as Admin.describeStreamsGroups reports them. */
    static Map<String, Integer> activeTasks(Admin a, String appId) {
        StreamsGroupDescription g = get(a.describeStreamsGroups(List.of(appId)).all()).get(appId);
        Map<String, Integer> m = new TreeMap<>();
        for (StreamsGroupMemberDescription mem : g.members()) {
            int n = mem.assignment().activeTasks().stream().mapToInt(t -> t.partitions().size()).sum();
            m.put(mem.processId() + "/" + mem.memberId(), n);
        }
        return m;
    }

    /**
     * The KIP-1071 streams rebalance protocol ({@code group.protocol=streams}): the topology of
     * {@link #eos} in two application instances (two JVMs, one stream thread each) sharing one
     * streams group. The broker creates the internal topics the topology declares and splits the
     * 6 tasks (3 input partitions x 2 subtopologies) 3/3; one instance is SIGKILLed mid-stream,
     * the other takes all tasks once the member's session expires, and the exactly-once output
     * is still exact: per region the committed count updates are 1..n, no gap, no repeat.
     */
    static void streamsProtocol(String bs) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String appId = "cf-sgp-" + id;
        String in = appId + "-in", out = appId + "-out";
        Path work = Files.createTempDirectory("weir-streams-group-");
        System.out.println("work dir " + work);
        Admin a = createTopic(bs, in, 3, null);
        createTopic(bs, out, 2, null).close();

        Map<String, Long> expected = new TreeMap<>();
        for (int i = 0; i < RECORDS; i++) expected.merge(region(i), 1L, Long::sum);
        AtomicInteger sent = new AtomicInteger();
        java.util.concurrent.CountDownLatch killed = new java.util.concurrent.CountDownLatch(1);
        AtomicReference<Throwable> feedError = new AtomicReference<>();
        Thread feeder = new Thread(() -> {
            try (KafkaProducer<byte[], byte[]> p = producer(bs, "enable.idempotence", "true", "acks", "all", "linger.ms", "5")) {
                for (int i = 0; i < RECORDS; ) {
                    for (int j = 0; j < 50 && i < RECORDS; j++, i++) {
                        p.send(new ProducerRecord<>(in, Main.b("user-" + i), Main.b(region(i))));
                    }
                    p.flush();
                    sent.set(i);
                    if (i == RECORDS / 2) killed.await(60, java.util.concurrent.TimeUnit.SECONDS);
                    Thread.sleep(100);
                }
            } catch (Throwable e) {
                feedError.set(e);
            }
        }, "feeder");
        feeder.setDaemon(true);

        App one = null, two = null;
        try (OutputReader reader = new OutputReader(bs, out, 2)) {
            one = new App(bs, appId, in, out, work.resolve("state-1"), work.resolve("app-1.log"), "streams");
            two = new App(bs, appId, in, out, work.resolve("state-2"), work.resolve("app-2.log"), "streams");
            one.awaitRunning(60, "instance 1");
            two.awaitRunning(60, "instance 2");
            // The broker splits the tasks between the two instances.
            AtomicReference<Map<String, Integer>> split = new AtomicReference<>();
            waitUntil(() -> {
                Map<String, Integer> m = activeTasks(a, appId);
                split.set(m);
                return m.size() == 2 && m.values().stream().allMatch(n -> n == 3);
            }, 40, "two members with 3 active tasks each (describeStreamsGroups)");
            System.out.println("tasks split " + split.get());
            // kafka-streams-groups (Kafka's StreamsGroupCommand) lists and describes the group.
            String tool = "org.apache.kafka.tools.streams.StreamsGroupCommand";
            Cli.Out list = Cli.tool(tool, null, "--bootstrap-server", bs, "--list");
            eq(list.rc, 0, "kafka-streams-groups --list exit: " + list.tail());
            check(list.lines().contains(appId), "kafka-streams-groups --list does not show " + appId + ": " + list.tail());
            Cli.Out state = Cli.tool(tool, null, "--bootstrap-server", bs, "--describe", "--state", "--group", appId);
            List<String> st = Cli.row(state, appId);
            eq(st.subList(st.size() - 2, st.size()), List.of("Stable", "2"), "kafka-streams-groups --describe --state: state, #members");
            Cli.Out members = Cli.tool(tool, null, "--bootstrap-server", bs, "--describe", "--members", "--group", appId);
            long rows = members.lines().stream().filter(l -> l.startsWith(appId + " ") && l.contains("ACTIVE: ")).count();
            eq(rows, 2L, "kafka-streams-groups --describe --members: members with active tasks (" + members.tail() + ")");
            // The internal topics the broker created from the topology.
            String rep = appId + "-" + REPARTITION + "-repartition", chg = appId + "-" + STORE + "-changelog";
            Map<String, TopicDescription> d = get(a.describeTopics(List.of(rep, chg)).allTopicNames());
            eq(d.get(rep).partitions().size(), 3, "repartition topic partitions (= input partitions)");
            eq(d.get(chg).partitions().size(), 3, "changelog topic partitions (= tasks)");
            ConfigResource cr = new ConfigResource(ConfigResource.Type.TOPIC, chg);
            eq(get(a.describeConfigs(List.of(cr)).all()).get(cr).get("cleanup.policy").value(), "compact", "changelog cleanup.policy");

            feeder.start();
            final App first = one;
            waitUntil(() -> {
                reader.poll();
                if (!first.proc.isAlive()) throw new Main.Fail("instance 1 exited: " + first.problems() + first.logTail());
                return reader.records >= 300;
            }, 40, "300 committed output records from the two instances");
            one.kill();
            int sentAtKill = sent.get();
            killed.countDown();
            System.out.println("SIGKILLed instance 1 after " + reader.records + " committed outputs, " + sentAtKill + " inputs sent");
            check(sentAtKill < RECORDS, "the input was fully sent before the kill (" + sentAtKill + "): not mid-stream");

            final App second = two;
            long t0 = System.nanoTime();
            waitUntil(() -> {
                reader.poll();
                check(feedError.get() == null, "feeding the input: " + feedError.get());
                if (!second.proc.isAlive()) throw new Main.Fail("instance 2 exited: " + second.problems() + second.logTail());
                return reader.records >= RECORDS;
            }, 90, "all " + RECORDS + " count updates (read_committed) after instance 1 died");
            long settle = System.nanoTime() + 1_500_000_000L;
            while (System.nanoTime() < settle) reader.poll();
            System.out.printf("takeover: all outputs %.1f s after the kill%n", (System.nanoTime() - t0) / 1e9);
            checkExact(reader, expected);
            Map<String, Integer> after = activeTasks(a, appId);
            eq(after.size(), 1, "members after instance 1's session expired");
            eq(after.values().iterator().next(), 6, "active tasks of the surviving instance");
            two.stop();
        } finally {
            if (one != null && one.proc.isAlive()) one.proc.destroyForcibly();
            if (two != null && two.proc.isAlive()) two.proc.destroyForcibly();
            a.close(Duration.ofSeconds(5));
        }
        if (System.getenv("KEEP_WORK") == null) deleteTree(work);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) Files.deleteIfExists(q);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 7 && args[0].equals("app")) {
            app(args[1], args[2], args[3], args[4], args[5], args[6]);
            return;
        }
        Main.dispatch(args, SCENARIOS, StreamsSecured.UNSUPPORTED);
    }
}
