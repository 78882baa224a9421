package weir.conformance;

import static weir.conformance.Main.admin;
import static weir.conformance.Main.check;
import static weir.conformance.Main.createTopic;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.sleep;
import static weir.conformance.Main.waitUntil;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The weir conformance driver for Kafka Connect (connect-runtime 4.3.1 with the FileStream
 * connectors from connect-file 4.3.1, column connect-4.3: Maven Central has no connect-file 4.4.0), same protocol as {@link Main}. Each worker
 * runs in its own JVM (Kafka's own {@code ConnectStandalone} / {@code ConnectDistributed} main
 * classes, as {@code bin/connect-*.sh} start them), configured by properties files written by
 * the scenario, which checks the files the connectors write, the topics and the REST API.
 */
public final class ConnectScenarios {
    static final Map<String, Main.Body> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("connect_standalone_file", ConnectScenarios::standalone);
        SCENARIOS.put("connect_distributed_restart", ConnectScenarios::distributed);
        ConnectSecured.register(SCENARIOS);
    }

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** One Connect worker in its own JVM, its log in a file. */
    static final class Worker {
        final Process proc;
        final Path log;
        final int port;

        Worker(String mainClass, Path log, int port, Path... configs) throws IOException {
            this.log = log;
            this.port = port;
            List<String> argv = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                    "-cp", System.getProperty("java.class.path"), mainClass));
            for (Path c : configs) argv.add(c.toString());
            proc = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        }

        String url(String path) {
            return "http://127.0.0.1:" + port + path;
        }

        void awaitRest(double seconds) {
            waitUntil(() -> {
                if (!proc.isAlive()) throw new Main.Fail("the Connect worker exited (" + proc.exitValue() + ")" + logTail());
                return http("GET", url("/"), null).statusCode() == 200;
            }, seconds, "the Connect worker's REST API on port " + port + logTail());
        }

        /** SIGTERM: Connect's shutdown hook stops the connectors and commits their offsets. */
        void stop() throws InterruptedException {
            proc.destroy();
            if (!proc.waitFor(30, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
                throw new Main.Fail("the Connect worker did not stop within 30 s of SIGTERM" + logTail());
            }
        }

        String logTail() {
            try {
                List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
                List<String> bad = all.stream().filter(l -> l.contains(" ERROR ") || l.contains(" WARN ") || l.startsWith("Caused by"))
                        .collect(Collectors.toList());
                List<String> tail = bad.subList(Math.max(0, bad.size() - 4), bad.size());
                return tail.isEmpty() ? "" : " (worker log " + log + ": " + String.join(" | ", tail) + ")";
            } catch (IOException e) {
                return "";
            }
        }
    }

    static HttpResponse<String> http(String method, String url, String json) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").header("Accept", "application/json");
        b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new Main.Fail(method + " " + url + ": " + e);
        } catch (InterruptedException e) {
            throw new Main.Fail("interrupted");
        }
    }

    /** POST, retried while the worker is still joining its group (409 rebalancing, 503). */
    static HttpResponse<String> post(String url, String json) {
        HttpResponse<String>[] last = new HttpResponse[1];
        waitUntil(() -> {
            last[0] = http("POST", url, json);
            int c = last[0].statusCode();
            return !(c == 503 || (c == 409 && last[0].body().contains("rebalanc")));
        }, 30, "POST " + url + " to be accepted (last: " + (last[0] == null ? "-" : last[0].statusCode() + " " + last[0].body()) + ")");
        return last[0];
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static Path props(Path dir, String name, Map<String, String> kv) throws IOException {
        Path p = dir.resolve(name);
        StringBuilder sb = new StringBuilder();
        kv.forEach((k, v) -> sb.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        Files.writeString(p, sb.toString());
        return p;
    }

    static Map<String, String> workerBase(String bs, int port) {
        Map<String, String> w = new LinkedHashMap<>();
        w.put("bootstrap.servers", bs);
        w.put("key.converter", "org.apache.kafka.connect.storage.StringConverter");
        w.put("value.converter", "org.apache.kafka.connect.storage.StringConverter");
        w.put("offset.flush.interval.ms", "1000");
        w.put("listeners", "http://127.0.0.1:" + port);
        // The FileStream connectors are on the classpath with their ServiceLoader manifests.
        w.put("plugin.discovery", "service_load");
        return w;
    }

    /**
     * Lines of text with what a file copy can get wrong: an empty line, a long line, tabs and,
     * unless {@code ascii}, UTF-8. FileStreamSourceTask stores its position as a count of chars
     * but skips that many bytes when it resumes, so a file with multi-byte characters resumes
     * too early after a restart (Kafka's behaviour: checked against connect-file 4.3.1, not a
     * broker matter); the restart scenario therefore copies ASCII.
     */
    static List<String> lines(int from, int n, boolean ascii) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            if (i % 97 == 5) out.add("");
            else if (i % 101 == 7) out.add("long-" + i + "-" + "x".repeat(5000));
            else out.add("line " + i + (ascii ? "\tgruesse ok " : "\tgrüße ✓ ") + "v".repeat(i % 13));
        }
        return out;
    }

    static void append(Path f, List<String> ls) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : ls) sb.append(l).append('\n');
        Files.writeString(f, sb.toString(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    static List<String> read(Path f) {
        try {
            if (!Files.exists(f)) return List.of();
            String s = Files.readString(f, StandardCharsets.UTF_8);
            if (s.isEmpty()) return List.of();
            List<String> out = new ArrayList<>(List.of(s.split("\n", -1)));
            if (out.get(out.size() - 1).isEmpty()) out.remove(out.size() - 1); // after the last '\n'
            return out;
        } catch (IOException e) {
            throw new Main.Fail("reading " + f + ": " + e);
        }
    }

    /** Waits until the sink file holds exactly the expected lines, then checks nothing more comes. */
    static void awaitCopy(Path out, List<String> want, Worker w, String what) {
        waitUntil(() -> {
            if (!w.proc.isAlive()) throw new Main.Fail("the Connect worker exited" + w.logTail());
            List<String> got = read(out);
            if (got.size() > want.size()) {
                throw new IllegalStateException(what + ": the sink wrote " + got.size() + " lines, more than the " + want.size() + " in the source file");
            }
            return got.size() == want.size();
        }, 60, what + ": " + want.size() + " lines in the sink file" + w.logTail());
        sleep(1500);
        List<String> got = read(out);
        eq(got.size(), want.size(), what + ": sink file lines (nothing copied twice)");
        for (int i = 0; i < want.size(); i++) {
            if (!got.get(i).equals(want.get(i))) {
                throw new Main.Fail(what + ": sink line " + i + " differs: expected " + Main.show(want.get(i)) + ", got " + Main.show(got.get(i)));
            }
        }
    }

    static long endOffset(Admin a, String t) {
        TopicPartition tp = new TopicPartition(t, 0);
        return get(a.listOffsets(Map.of(tp, OffsetSpec.latest())).all()).get(tp).offset();
    }

    static String connectorJson(String name, Map<String, String> cfg) {
        StringBuilder sb = new StringBuilder("{\"name\":\"" + name + "\",\"config\":{");
        boolean first = true;
        for (Map.Entry<String, String> e : cfg.entrySet()) {
            if (!first) sb.append(',');
            first = false;
            sb.append('"').append(e.getKey()).append("\":\"").append(e.getValue().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return sb.append("}}").toString();
    }

    // ---------------------------------------------------------------- standalone

    static void standalone(String bs) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String topic = "cf-connect-" + id;
        Path dir = Files.createTempDirectory("weir-connect-standalone-");
        System.out.println("work dir " + dir);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.txt");
        List<String> want = lines(0, 400, false);
        append(in, want);
        Admin a = createTopic(bs, topic, 1, null);
        int port = freePort();
        Map<String, String> w = workerBase(bs, port);
        w.put("offset.storage.file.filename", dir.resolve("standalone.offsets").toString());
        Path worker = props(dir, "worker.properties", w);
        Path src = props(dir, "source.properties", Map.of("name", "file-source-" + id, "connector.class", "FileStreamSource",
                "tasks.max", "1", "file", in.toString(), "topic", topic));
        Path sink = props(dir, "sink.properties", Map.of("name", "file-sink-" + id, "connector.class", "FileStreamSink",
                "tasks.max", "1", "file", out.toString(), "topics", topic));
        Worker wk = new Worker("org.apache.kafka.connect.cli.ConnectStandalone", dir.resolve("worker.log"), port, worker, src, sink);
        try {
            wk.awaitRest(60);
            awaitCopy(out, want, wk, "standalone FileStreamSource -> topic -> FileStreamSink");
            eq(endOffset(a, topic), (long) want.size(), "records in " + topic + " (one per line)");
            String st = http("GET", wk.url("/connectors/file-source-" + id + "/status"), null).body();
            check(st.contains("\"state\":\"RUNNING\""), "source connector status: " + st);
        } finally {
            wk.stop();
            a.close(Duration.ofSeconds(5));
        }
        if (System.getenv("KEEP_WORK") == null) deleteTree(dir);
    }

    // ---------------------------------------------------------------- distributed

    static void distributed(String bs) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String cluster = "cf-connect-cluster-" + id;
        String topic = "cf-connect-" + id;
        String cfgTopic = cluster + "-configs", offTopic = cluster + "-offsets", stTopic = cluster + "-status";
        Path dir = Files.createTempDirectory("weir-connect-distributed-");
        System.out.println("work dir " + dir);
        Path in = dir.resolve("in.txt"), out = dir.resolve("out.txt");
        List<String> want = new ArrayList<>(lines(0, 300, true));
        append(in, want);
        Admin a = createTopic(bs, topic, 1, null);
        int port = freePort();
        Map<String, String> w = workerBase(bs, port);
        w.put("group.id", cluster);
        w.put("config.storage.topic", cfgTopic);
        w.put("offset.storage.topic", offTopic);
        w.put("status.storage.topic", stTopic);
        w.put("config.storage.replication.factor", "1");
        w.put("offset.storage.replication.factor", "1");
        w.put("status.storage.replication.factor", "1");
        // One worker: nothing to wait for when it comes back.
        w.put("scheduled.rebalance.max.delay.ms", "0");
        Path worker = props(dir, "worker.properties", w);
        String src = "file-source-" + id, sink = "file-sink-" + id;
        try {
            Worker w1 = new Worker("org.apache.kafka.connect.cli.ConnectDistributed", dir.resolve("worker-1.log"), port, worker);
            try {
                w1.awaitRest(60);
                // The worker created its three internal topics itself, compacted.
                waitUntil(() -> get(a.listTopics().names()).containsAll(List.of(cfgTopic, offTopic, stTopic)), 30,
                        "the worker to create " + cfgTopic + ", " + offTopic + " and " + stTopic);
                Map<String, TopicDescription> d = get(a.describeTopics(List.of(cfgTopic, offTopic, stTopic)).allTopicNames());
                eq(d.get(cfgTopic).partitions().size(), 1, "config topic partitions (Connect requires exactly 1)");
                eq(d.get(offTopic).partitions().size(), 25, "offset topic partitions (offset.storage.partitions default)");
                eq(d.get(stTopic).partitions().size(), 5, "status topic partitions (status.storage.partitions default)");
                List<ConfigResource> rs = new ArrayList<>();
                for (String t : List.of(cfgTopic, offTopic, stTopic)) rs.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
                Map<ConfigResource, Config> cfg = get(a.describeConfigs(rs).all());
                for (ConfigResource r : rs) {
                    ConfigEntry e = cfg.get(r).get("cleanup.policy");
                    eq(e.value(), "compact", r.name() + " cleanup.policy");
                    eq(e.source(), ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, r.name() + " cleanup.policy source");
                }

                // Connectors created over the REST API, stored in the config topic.
                HttpResponse<String> r1 = post(w1.url("/connectors"), connectorJson(src, Map.of(
                        "connector.class", "org.apache.kafka.connect.file.FileStreamSourceConnector",
                        "tasks.max", "1", "file", in.toString(), "topic", topic)));
                eq(r1.statusCode(), 201, "POST /connectors (source): " + r1.body());
                HttpResponse<String> r2 = post(w1.url("/connectors"), connectorJson(sink, Map.of(
                        "connector.class", "org.apache.kafka.connect.file.FileStreamSinkConnector",
                        "tasks.max", "1", "file", out.toString(), "topics", topic)));
                eq(r2.statusCode(), 201, "POST /connectors (sink): " + r2.body());
                HttpResponse<String> dup = http("POST", w1.url("/connectors"), connectorJson(sink, Map.of(
                        "connector.class", "FileStreamSink", "tasks.max", "1", "file", out.toString(), "topics", topic)));
                eq(dup.statusCode(), 409, "POST /connectors of an existing name: " + dup.body());
                awaitCopy(out, want, w1, "distributed worker, first run");
                waitUntil(() -> {
                    String st = http("GET", w1.url("/connectors/" + src + "/status"), null).body();
                    return st.contains("\"tasks\":[{\"id\":0,\"state\":\"RUNNING\"");
                }, 15, "source task RUNNING in GET /connectors/" + src + "/status");
            } finally {
                w1.stop();
            }

            // While the worker is down the file grows; the restarted worker must copy only the new lines.
            List<String> more = lines(300, 200, true);
            append(in, more);
            want.addAll(more);
            Worker w2 = new Worker("org.apache.kafka.connect.cli.ConnectDistributed", dir.resolve("worker-2.log"), port, worker);
            try {
                w2.awaitRest(60);
                String list = http("GET", w2.url("/connectors"), null).body();
                check(list.contains(src) && list.contains(sink), "connectors after the restart (from the config topic): " + list);
                awaitCopy(out, want, w2, "distributed worker after a restart (resume from stored offsets)");
                eq(endOffset(a, topic), (long) want.size(), "records in " + topic + " (the source sent nothing twice)");
                waitUntil(() -> {
                    Map<TopicPartition, OffsetAndMetadata> o = get(a.listConsumerGroupOffsets("connect-" + sink).partitionsToOffsetAndMetadata());
                    OffsetAndMetadata m = o.get(new TopicPartition(topic, 0));
                    return m != null && m.offset() == want.size();
                }, 15, "the sink's consumer group connect-" + sink + " to commit offset " + want.size());
                // The source's position is in the offset topic (a compacted, keyed record per partition).
                Map<TopicPartition, OffsetSpec> q = new HashMap<>();
                for (int i = 0; i < 25; i++) q.put(new TopicPartition(offTopic, i), OffsetSpec.latest());
                long stored = get(a.listOffsets(q).all()).values().stream().mapToLong(x -> x.offset()).sum();
                check(stored > 0, "no source offsets were written to " + offTopic);
            } finally {
                w2.stop();
            }
        } finally {
            a.close(Duration.ofSeconds(5));
        }
        if (System.getenv("KEEP_WORK") == null) deleteTree(dir);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (java.util.stream.Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).collect(Collectors.toList())) Files.deleteIfExists(q);
        }
    }

    public static void main(String[] args) {
        Main.dispatch(args, SCENARIOS, ConnectSecured.UNSUPPORTED);
    }
}
