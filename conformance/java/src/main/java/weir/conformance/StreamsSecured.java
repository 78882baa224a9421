package weir.conformance;

import static weir.conformance.Main.check;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.waitUntil;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

/**
 * The one secured scenario of the kafka-streams column (CI time: the other mechanisms are the
 * same kafka-clients code the java-4.4 column runs): a Streams application over SASL_SSL with
 * SCRAM-SHA-512, in this JVM. {@code stream(in).groupBy(parity).count()} with
 * {@code exactly_once_v2}: Streams creates its repartition and changelog topics, runs
 * transactions and commits its group offsets, all over the secured listener. The subset in
 * Streams' terms: the app processes records 0..4 and commits offset 5, is closed; 5 more are
 * produced and a new instance (fresh state dir: it restores the store from the changelog)
 * resumes at 5, so each key's counts are exactly 1..5 (no record counted twice).
 */
final class StreamsSecured {
    private StreamsSecured() {}

    static final Map<String, String> UNSUPPORTED = new LinkedHashMap<>();

    static void register(Map<String, Main.Body> scenarios) {
        scenarios.put("sec_sasl_ssl_scram512", StreamsSecured::scram);
        String why = "one secured scenario per Streams app (CI time): SASL_SSL + SCRAM-SHA-512; the other mechanisms are "
                + "kafka-clients 4.4.0 code, run by the java-4.4 column";
        for (String s : List.of("sec_sasl_plaintext_plain", "sec_ssl_mtls", "sec_sasl_oauthbearer",
                "sec_scram512_wrong_password", "sec_plain_wrong_password")) {
            UNSUPPORTED.put(s, why);
            scenarios.put(s, bs -> {
                throw new Main.NotSupported(why);
            });
        }
    }

    static KafkaStreams start(Object[] c, String appId, String in, String out, Path stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, c[0]);
        for (int i = 1; i < c.length; i += 2) p.put(c[i], String.valueOf(c[i + 1]));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        StreamsBuilder b = new StreamsBuilder();
        b.stream(in, Consumed.with(Serdes.String(), Serdes.String()))
                .groupBy((k, v) -> "k" + Integer.parseInt(v.substring(4)) % 2, Grouped.with("by-parity", Serdes.String(), Serdes.String()))
                .count(Materialized.as("counts"))
                .toStream()
                .to(out, Produced.with(Serdes.String(), Serdes.Long()));
        KafkaStreams ks = new KafkaStreams(b.build(), p);
        ks.start();
        return ks;
    }

    static Long committed(Admin a, String g, TopicPartition tp) {
        OffsetAndMetadata om = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata()).get(tp);
        return om == null ? null : om.offset();
    }

    /** A read_committed reader of the output over SASL_SSL: count updates per key. */
    static final class Reader implements AutoCloseable {
        final KafkaConsumer<String, Long> k;
        final Map<String, List<Long>> seen = new TreeMap<>();
        int n;

        Reader(Object[] c, String out) {
            Properties rp = Main.base((String) c[0]);
            for (int i = 1; i < c.length; i += 2) rp.put(c[i], String.valueOf(c[i + 1]));
            rp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            k = new KafkaConsumer<>(rp, new StringDeserializer(), new LongDeserializer());
            TopicPartition tp = new TopicPartition(out, 0);
            k.assign(List.of(tp));
            k.seekToBeginning(List.of(tp));
        }

        int poll() {
            for (ConsumerRecord<String, Long> r : k.poll(Duration.ofMillis(100))) {
                seen.computeIfAbsent(r.key(), x -> new ArrayList<>()).add(r.value());
                n++;
            }
            return n;
        }

        @Override
        public void close() {
            k.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Runs the app until its group has committed `upTo` on the input and `outputs` count updates
     * are committed on the output, then closes it (a clean close commits its transaction).
     */
    static void runUntil(Admin a, Reader r, Object[] c, String appId, String in, String out, long upTo, int outputs)
            throws Exception {
        Path state = Files.createTempDirectory("weir-streams-sec-");
        long t0 = System.nanoTime();
        KafkaStreams ks = start(c, appId, in, out, state);
        try {
            TopicPartition tp = new TopicPartition(in, 0);
            waitUntil(() -> {
                if (ks.state() == KafkaStreams.State.ERROR || ks.state() == KafkaStreams.State.NOT_RUNNING) {
                    throw new Main.Fail("the Streams app stopped: " + ks.state());
                }
                if (r.poll() < outputs) return false;
                Long o = committed(a, appId, tp);
                return o != null && o == upTo;
            }, 60, "the Streams app to commit offset " + upTo + " on " + in + " and " + outputs + " committed outputs");
            System.out.printf("app instance: committed %d on the input and %d outputs after %.1f s%n", upTo, outputs, (System.nanoTime() - t0) / 1e9);
        } finally {
            long t1 = System.nanoTime();
            // Leave the group on close (Streams does not by default): the next instance is assigned at
            // once instead of after this member's session timeout.
            ks.close(org.apache.kafka.streams.CloseOptions.groupMembershipOperation(
                    org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(30)));
            System.out.printf("app instance closed in %.1f s%n", (System.nanoTime() - t1) / 1e9);
            StreamsScenarios.deleteTree(state);
        }
    }

    static void scram(String plaintextBootstrap) throws Exception {
        Object[] c = Secured.conf("scram", false);
        String bs = (String) c[0];
        String id = UUID.randomUUID().toString().substring(0, 8);
        String in = "cf-streams-sec-in-" + id, out = "cf-streams-sec-out-" + id, appId = "cf-streams-sec-" + id;
        try (Admin a = Secured.admin(c); KafkaProducer<byte[], byte[]> p = Main.producer(bs, Secured.rest(c))) {
            get(a.createTopics(List.of(new NewTopic(in, 1, (short) 1), new NewTopic(out, 1, (short) 1))).all());
            List<String> addrs = new ArrayList<>();
            for (Node n : get(a.describeCluster().nodes())) addrs.add(n.host() + ":" + n.port());
            eq(addrs, List.of(bs), "DescribeCluster's brokers (the listener we came in on)");
            List<Main.Rec> recs = new ArrayList<>();
            for (int i = 0; i < 10; i++) recs.add(new Main.Rec(Main.b("u" + i), Main.b("sec-" + i), List.of()));
            try (Reader r = new Reader(c, out)) {
                Main.expectOffsets(Main.produce(p, in, 0, recs.subList(0, 5), null), 0);
                runUntil(a, r, c, appId, in, out, 5, 5);
                Main.expectOffsets(Main.produce(p, in, 0, recs.subList(5, 10), null), 5);
                runUntil(a, r, c, appId, in, out, 10, 10);
                // Nothing more comes (no record counted twice).
                long until = System.nanoTime() + 1_000_000_000L;
                while (System.nanoTime() < until) r.poll();
                eq(r.seen, new TreeMap<>(Map.of("k0", List.of(1L, 2L, 3L, 4L, 5L), "k1", List.of(1L, 2L, 3L, 4L, 5L))),
                        "count updates per key (read_committed)");
            }
            // Streams created its internal topics itself, over SASL_SSL.
            check(get(a.listTopics().names()).containsAll(List.of(appId + "-by-parity-repartition", appId + "-counts-changelog")),
                    "internal topics " + appId + "-by-parity-repartition and -counts-changelog not created");
        }
    }
}
