package weir.conformance;

import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.waitUntil;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;

/**
 * The one secured scenario of the kafka-connect column (CI time: the other mechanisms are the
 * same kafka-clients code the java-4.4 column runs): a {@code ConnectStandalone} worker whose
 * own clients and whose connectors' producer and consumer ({@code producer.} / {@code consumer.}
 * prefixed settings, as Kafka's docs configure a secured worker) reach weir over SASL_SSL with
 * SCRAM-SHA-512. FileStreamSource copies 10 lines into a topic, FileStreamSink copies them out;
 * the topic holds exactly 10 records and the sink's group {@code connect-NAME} has committed
 * offset 10 (read back over SASL_SSL).
 */
final class ConnectSecured {
    private ConnectSecured() {}

    static final Map<String, String> UNSUPPORTED = new LinkedHashMap<>();

    static void register(Map<String, Main.Body> scenarios) {
        scenarios.put("sec_sasl_ssl_scram512", ConnectSecured::scram);
        String why = "one secured scenario per Connect worker (CI time): SASL_SSL + SCRAM-SHA-512; the other mechanisms are "
                + "kafka-clients code, run by the java-4.4 column";
        for (String s : List.of("sec_sasl_plaintext_plain", "sec_ssl_mtls", "sec_sasl_oauthbearer",
                "sec_scram512_wrong_password", "sec_plain_wrong_password")) {
            UNSUPPORTED.put(s, why);
            scenarios.put(s, bs -> {
                throw new Main.NotSupported(why);
            });
        }
    }

    static void scram(String plaintextBootstrap) throws Exception {
        Object[] c = Secured.conf("scram", false);
        String bs = (String) c[0];
        String id = UUID.randomUUID().toString().substring(0, 8);
        String topic = "cf-connect-sec-" + id, sink = "file-sink-sec-" + id;
        Path dir = Files.createTempDirectory("weir-connect-sec-");
        System.out.println("work dir " + dir);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.txt");
        List<String> want = new ArrayList<>();
        for (int i = 0; i < 10; i++) want.add("sec-" + i + "\tline ✓");
        ConnectScenarios.append(in, want);
        try (Admin a = Secured.admin(c)) {
            get(a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all());
            List<String> addrs = new ArrayList<>();
            for (Node n : get(a.describeCluster().nodes())) addrs.add(n.host() + ":" + n.port());
            eq(addrs, List.of(bs), "DescribeCluster's brokers (the listener we came in on)");
            int port = ConnectScenarios.freePort();
            Map<String, String> w = ConnectScenarios.workerBase(bs, port);
            // The worker's own clients, then its connectors' producers and consumers.
            for (String prefix : List.of("", "producer.", "consumer.", "admin.")) {
                for (int i = 1; i < c.length; i += 2) w.put(prefix + c[i], String.valueOf(c[i + 1]));
            }
            w.put("offset.storage.file.filename", dir.resolve("standalone.offsets").toString());
            Path worker = ConnectScenarios.props(dir, "worker.properties", w);
            Path src = ConnectScenarios.props(dir, "source.properties", Map.of("name", "file-source-sec-" + id,
                    "connector.class", "FileStreamSource", "tasks.max", "1", "file", in.toString(), "topic", topic));
            Path snk = ConnectScenarios.props(dir, "sink.properties", Map.of("name", sink,
                    "connector.class", "FileStreamSink", "tasks.max", "1", "file", out.toString(), "topics", topic));
            ConnectScenarios.Worker wk = new ConnectScenarios.Worker("org.apache.kafka.connect.cli.ConnectStandalone",
                    dir.resolve("worker.log"), port, worker, src, snk);
            try {
                wk.awaitRest(60);
                ConnectScenarios.awaitCopy(out, want, wk, "FileStreamSource -> topic over SASL_SSL -> FileStreamSink");
                eq(ConnectScenarios.endOffset(a, topic), 10L, "records in " + topic + " (one per line)");
                TopicPartition tp = new TopicPartition(topic, 0);
                waitUntil(() -> Long.valueOf(10).equals(committed(a, "connect-" + sink, tp)), 30,
                        "the sink's group connect-" + sink + " to commit offset 10" + wk.logTail());
            } finally {
                wk.stop();
            }
        }
        if (System.getenv("KEEP_WORK") == null) {
            for (String f : List.of("in.txt", "out.txt", "worker.log", "worker.properties", "source.properties",
                    "sink.properties", "standalone.offsets")) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.deleteIfExists(dir);
        }
    }

    static Long committed(Admin a, String g, TopicPartition tp) {
        OffsetAndMetadata om = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata()).get(tp);
        return om == null ? null : om.offset();
    }
}
