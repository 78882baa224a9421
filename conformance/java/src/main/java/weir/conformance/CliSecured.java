package weir.conformance;

import static weir.conformance.Cli.CONFIGS;
import static weir.conformance.Cli.CONSUMER;
import static weir.conformance.Cli.GROUPS;
import static weir.conformance.Cli.PRODUCER;
import static weir.conformance.Cli.TOPICS;
import static weir.conformance.Cli.API_VERSIONS;
import static weir.conformance.Cli.row;
import static weir.conformance.Cli.tool;
import static weir.conformance.Main.check;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.group;
import static weir.conformance.Main.topic;
import static weir.conformance.Main.waitUntil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import weir.conformance.Cli.Out;

/**
 * The sec_* scenarios of the kafka-cli column: Kafka's command-line tools over the SASL_SSL
 * listener with SCRAM-SHA-512, configured the way an operator configures them, by client
 * property files (`--command-config`, `--producer.config`, `--consumer.config`). kafka-configs
 * creates a SCRAM user over the secured listener (AlterUserScramCredentials) and the rest of the
 * subset runs as that user; kafka-acls grants it a topic and a PLAIN user is refused that topic
 * (the tools hide it from her; the Java producer with her properties file gets
 * TOPIC_AUTHORIZATION_FAILED).
 * The other mechanisms are the same kafka-clients code the java-4.4 column runs (n/s here, to
 * keep CI time down).
 */
final class CliSecured {
    private CliSecured() {}

    static final String ACLS = "org.apache.kafka.tools.AclCommand";

    static String sslSasl(String dir, String mechanism, String module, String user, String password) {
        return "security.protocol=SASL_SSL\n"
                + "sasl.mechanism=" + mechanism + "\n"
                + "sasl.jaas.config=" + module + " required username=\"" + user + "\" password=\"" + password + "\";\n"
                + "ssl.truststore.type=PEM\n"
                + "ssl.truststore.location=" + dir + "/ca.pem\n";
    }

    static String scram(String dir, String user, String password) {
        return sslSasl(dir, "SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule", user, password);
    }

    static Path props(Path work, String name, String body) throws IOException {
        Path p = work.resolve(name + ".properties");
        Files.writeString(p, body, StandardCharsets.UTF_8);
        return p;
    }

    /** [the SASL_SSL listener, the PKI dir], or a failure naming what is missing. */
    static String[] listener() {
        String dir = System.getenv("WEIR_SEC_DIR"), bs = System.getenv("WEIR_SEC_SASL_SSL");
        if (dir == null || bs == null) {
            throw new Main.Fail("WEIR_SEC_SASL_SSL/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners "
                    + "conformance/run starts weir with (not available with --bootstrap)");
        }
        return new String[] {bs, dir};
    }

    static List<String> offsets(Out o) {
        List<String> got = new ArrayList<>();
        for (String l : o.lines()) if (l.startsWith("Offset:")) got.add(l.strip());
        return got;
    }

    static void scramSubset() throws IOException {
        String[] l = listener();
        String bs = l[0], dir = l[1];
        Path work = Files.createTempDirectory("weir-cli-sec");
        try {
            Path bob = props(work, "bob", scram(dir, "bob", "bob-secret"));
            // A SCRAM user created over the secured listener by an authenticated admin (bob), then
            // used at once: AlterUserScramCredentials takes effect without a restart.
            String user = "dave-" + UUID.randomUUID().toString().substring(0, 8);
            tool(CONFIGS, null, "--bootstrap-server", bs, "--command-config", bob.toString(), "--alter",
                    "--entity-type", "users", "--entity-name", user,
                    "--add-config", "SCRAM-SHA-512=[iterations=4096,password=" + user + "-secret]")
                    .ok("kafka-configs --alter --add-config SCRAM-SHA-512=[...]")
                    .has("Completed updating config for user " + user + ".", "kafka-configs --alter");
            tool(CONFIGS, null, "--bootstrap-server", bs, "--command-config", bob.toString(), "--describe",
                    "--entity-type", "users", "--entity-name", user)
                    .ok("kafka-configs --describe --entity-type users")
                    .has("SCRAM-SHA-512=iterations=4096", "kafka-configs --describe (DescribeUserScramCredentials)");
            Path dave = props(work, "dave", scram(dir, user, user + "-secret"));
            String cc = dave.toString();

            // Metadata: the one broker, at the listener we came in on.
            Out v = tool(API_VERSIONS, null, "--bootstrap-server", bs, "--command-config", cc).ok("kafka-broker-api-versions");
            List<String> brokers = new ArrayList<>();
            for (String line : v.lines()) if (line.contains(" (id: ")) brokers.add(line.substring(0, line.indexOf(" (id: ")));
            eq(brokers, List.of(bs), "brokers listed by kafka-broker-api-versions (the listener we came in on)");

            String t = topic("sec-scram"), g = group("sec-scram");
            tool(TOPICS, null, "--bootstrap-server", bs, "--command-config", cc, "--create", "--topic", t,
                    "--partitions", "1", "--replication-factor", "1").ok("kafka-topics --create").has("Created topic " + t + ".", "create");

            // kafka-acls (as bob): the new user may do anything on the topic; nobody else may.
            tool(ACLS, null, "--bootstrap-server", bs, "--command-config", bob.toString(), "--add",
                    "--allow-principal", "User:" + user, "--operation", "All", "--topic", t).ok("kafka-acls --add");
            Out acls = tool(ACLS, null, "--bootstrap-server", bs, "--command-config", bob.toString(), "--list", "--topic", t)
                    .ok("kafka-acls --list");
            acls.has("ResourcePattern(resourceType=TOPIC, name=" + t + ", patternType=LITERAL)", "kafka-acls --list")
                    .has("(principal=User:" + user + ", host=*, operation=ALL, permissionType=ALLOW)", "kafka-acls --list");

            StringBuilder in = new StringBuilder();
            for (int i = 0; i < 10; i++) in.append("sec-").append(i).append('\n');
            tool(PRODUCER, in.toString(), "--bootstrap-server", bs, "--producer.config", cc, "--topic", t)
                    .ok("kafka-console-producer --producer.config");

            // A group member reads 0..4 (one record per poll, so its position is 5 when it stops and
            // closing commits 5), then a new member of the group resumes at 5.
            String[] consume = {"--bootstrap-server", bs, "--consumer.config", cc, "--topic", t, "--group", g,
                    "--max-messages", "5", "--timeout-ms", "20000", "--consumer-property", "max.poll.records=1",
                    "--formatter-property", "print.offset=true", "--formatter-property", "print.key=false"};
            Out c1 = tool(CONSUMER, null, Cli.cat(consume, "--from-beginning")).ok("kafka-console-consumer (first member)");
            List<String> want = new ArrayList<>();
            for (int i = 0; i < 5; i++) want.add("Offset:" + i + "\tsec-" + i);
            eq(offsets(c1), want, "records read by the first member");
            Out d = tool(GROUPS, null, "--bootstrap-server", bs, "--command-config", cc, "--describe", "--group", g)
                    .ok("kafka-consumer-groups --describe");
            eq(row(d, g, t, "0").subList(3, 6), List.of("5", "10", "5"), "CURRENT-OFFSET LOG-END-OFFSET LAG");
            Out c2 = tool(CONSUMER, null, consume).ok("kafka-console-consumer (second member)");
            want.clear();
            for (int i = 5; i < 10; i++) want.add("Offset:" + i + "\tsec-" + i);
            eq(offsets(c2), want, "records read by the second member (resumed at the committed offset)");

            // alice (PLAIN over the same listener) has no ACL on the topic: kafka-topics does not list
            // it for her (unauthorized topics are hidden) and --describe is refused with
            // TOPIC_AUTHORIZATION_FAILED. (kafka-console-consumer only logs such an error and exits 0.)
            Path alice = props(work, "alice", sslSasl(dir, "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule",
                    "alice", "alice-secret"));
            check(tool(TOPICS, null, "--bootstrap-server", bs, "--command-config", cc, "--list").ok("kafka-topics --list")
                    .lines().contains(t), "kafka-topics --list as " + user + " lacks " + t);
            Out hidden = tool(TOPICS, null, "--bootstrap-server", bs, "--command-config", alice.toString(), "--list")
                    .ok("kafka-topics --list as alice");
            check(!hidden.lines().contains(t), "kafka-topics --list as alice shows " + t + ", which she may not describe");
            Out denied = tool(TOPICS, null, "--bootstrap-server", bs, "--command-config", alice.toString(), "--describe", "--topic", t);
            check(denied.rc != 0, "kafka-topics --describe as alice exited 0: " + denied.tail());
            denied.has("Topic '" + t + "' does not exist as expected", "kafka-topics --describe as alice");
            // The tools show it as a missing topic (they list topics first); the client's answer is
            // TOPIC_AUTHORIZATION_FAILED: the Java producer, as alice, with the same properties file.
            java.util.Properties ap = new java.util.Properties();
            try (var r = Files.newBufferedReader(alice)) {
                ap.load(r);
            }
            Object[] kv = new Object[ap.size() * 2];
            int i = 0;
            for (String k : ap.stringPropertyNames()) {
                kv[i++] = k;
                kv[i++] = ap.getProperty(k);
            }
            try (KafkaProducer<byte[], byte[]> p = Main.producer(bs, kv)) {
                Throwable e = null;
                try {
                    p.send(new ProducerRecord<>(t, 0, null, Main.b("from alice"))).get(Main.T, TimeUnit.SECONDS);
                } catch (ExecutionException x) {
                    e = x.getCause();
                } catch (Exception x) {
                    e = x;
                }
                check(e instanceof TopicAuthorizationException, "alice's produce to " + t + ": expected TopicAuthorizationException, got " + e);
                eq(e.getMessage(), "Not authorized to access topics: [" + t + "]", "alice's produce error");
            }
        } finally {
            try (var files = Files.list(work)) {
                for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(work);
        }
    }

    /** A wrong SCRAM password: kafka-topics --list fails with Kafka's message. */
    static void wrongPassword() throws IOException {
        String[] l = listener();
        Path work = Files.createTempDirectory("weir-cli-sec");
        try {
            Path bad = props(work, "bad", scram(l[1], "bob", "not-bob-secret"));
            Out o = tool(TOPICS, null, "--bootstrap-server", l[0], "--command-config", bad.toString(), "--list");
            check(o.rc != 0, "kafka-topics --list with a wrong password exited 0: " + o.tail());
            o.has("Error while executing topic command : " + Secured.SCRAM_REFUSED, "kafka-topics with a wrong password");
        } finally {
            Files.deleteIfExists(work.resolve("bad.properties"));
            Files.deleteIfExists(work);
        }
    }

    static void register() {
        Cli.run("sec_sasl_ssl_scram512", bs -> scramSubset());
        Cli.run("sec_scram512_wrong_password", bs -> wrongPassword());
        String why = "the kafka-cli column runs the tools over SASL_SSL + SCRAM-SHA-512 only (CI time): "
                + "the tools are kafka-clients 4.4.0, whose PLAIN, mTLS and OAUTHBEARER the java-4.4 column runs";
        for (String s : List.of("sec_sasl_plaintext_plain", "sec_ssl_mtls", "sec_sasl_oauthbearer", "sec_plain_wrong_password")) {
            Cli.UNSUPPORTED.put(s, why);
            Cli.run(s, bs -> {
                throw new Main.NotSupported(why);
            });
        }
    }
}
