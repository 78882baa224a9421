package weir.conformance;

import static weir.conformance.Main.b;
import static weir.conformance.Main.check;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.group;
import static weir.conformance.Main.produce;
import static weir.conformance.Main.topic;
import static weir.conformance.Main.waitUntil;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * The weir conformance driver for Kafka's command-line tools (the code behind bin/kafka-*.sh,
 * from the kafka-tools jar), same protocol as {@link Main}. Each tool runs in this JVM through
 * its main class, with stdin/stdout/stderr redirected and Kafka's Exit procedure turned into an
 * exception, so a scenario costs one JVM however many tool invocations it makes. Scenarios
 * assert on the tools' printed output (tables, messages), not only on their exit codes; setup
 * and cross-checks use the Java client.
 */
public final class Cli {
    static final Map<String, Main.Body> SCENARIOS = new LinkedHashMap<>();
    static final Map<String, String> UNSUPPORTED = new LinkedHashMap<>();

    /** What one tool invocation printed and how it ended. */
    static final class Out {
        final int rc;
        final String out;

        Out(int rc, String out) {
            this.rc = rc;
            this.out = out;
        }

        Out ok(String what) {
            check(rc == 0, what + ": exit " + rc + ": " + tail());
            return this;
        }

        Out has(String needle, String what) {
            check(out.contains(needle), what + ": output lacks `" + needle + "`: " + tail());
            return this;
        }

        String tail() {
            String s = out.strip();
            int cause = s.lastIndexOf("Caused by:");
            if (cause >= 0) s = s.substring(cause, s.indexOf('\n', cause) < 0 ? s.length() : s.indexOf('\n', cause));
            s = s.replace("\n", " | ");
            return s.length() > 600 ? "..." + s.substring(s.length() - 600) : s;
        }

        List<String> lines() {
            return Arrays.asList(out.split("\n"));
        }
    }

    static final class ExitCalled extends RuntimeException {
        final int code;

        ExitCalled(int code) {
            super("exit " + code);
            this.code = code;
        }
    }

    static boolean exitHooked;
    static Integer firstExit;
    static int outAtExit;
    static ByteArrayOutputStream current;

    /** Route Kafka's Exit.exit/halt into an exception and drop the tools' shutdown hooks. */
    static void hookExit() throws Exception {
        if (exitHooked) return;
        Class<?> exit = Class.forName("org.apache.kafka.common.utils.internals.Exit");
        Class<?> proc = Class.forName("org.apache.kafka.common.utils.internals.Exit$Procedure");
        Class<?> hook = Class.forName("org.apache.kafka.common.utils.internals.Exit$ShutdownHookAdder");
        Object thrower = Proxy.newProxyInstance(Cli.class.getClassLoader(), new Class<?>[] {proc}, (p, m, a) -> {
            if (m.getName().equals("execute")) {
                // Tools call Exit.exit inside try/finally blocks that catch Throwable and then exit
                // again: the first call is the verdict, and the output up to it is the tool's.
                if (firstExit == null) {
                    firstExit = (Integer) a[0];
                    System.out.flush();
                    outAtExit = current == null ? 0 : current.size();
                }
                throw new ExitCalled((Integer) a[0]);
            }
            return null;
        });
        Object noHook = Proxy.newProxyInstance(Cli.class.getClassLoader(), new Class<?>[] {hook}, (p, m, a) -> null);
        exit.getMethod("setExitProcedure", proc).invoke(null, thrower);
        exit.getMethod("setHaltProcedure", proc).invoke(null, thrower);
        exit.getMethod("setShutdownHookAdder", hook).invoke(null, noHook);
        exitHooked = true;
    }

    /** Runs a tool's main class in this JVM with the given stdin; returns its exit and output. */
    static synchronized Out tool(String mainClass, String stdin, String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = 0;
        firstExit = null;
        current = buf;
        try {
            hookExit();
            Method main = Class.forName(mainClass).getMethod("main", String[].class);
            System.setOut(ps);
            System.setErr(ps);
            System.setIn(new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof ExitCalled) {
                rc = ((ExitCalled) c).code;
            } else {
                c.printStackTrace(ps);
                rc = 99;
            }
        } catch (ExitCalled e) {
            rc = e.code;
        } catch (Exception e) {
            throw new Main.Fail("cannot run " + mainClass + ": " + e);
        } finally {
            ps.flush();
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        if (firstExit != null) {
            rc = firstExit;
            out = new String(buf.toByteArray(), 0, outAtExit, StandardCharsets.UTF_8);
        }
        current = null;
        if (System.getenv("CLI_DEBUG") != null) {
            System.out.println("$ " + mainClass + " " + String.join(" ", args) + "\n" + out + "[exit " + rc + "]");
        }
        return new Out(rc, out);
    }

    static final String TOPICS = "org.apache.kafka.tools.TopicCommand";
    static final String CONFIGS = "org.apache.kafka.tools.ConfigCommand";
    static final String GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand";
    static final String PRODUCER = "org.apache.kafka.tools.ConsoleProducer";
    static final String CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer";
    static final String GET_OFFSETS = "org.apache.kafka.tools.GetOffsetShell";
    static final String API_VERSIONS = "org.apache.kafka.tools.BrokerApiVersionsCommand";
    static final String DELETE_RECORDS = "org.apache.kafka.tools.DeleteRecordsCommand";
    static final String TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand";
    static final String LOG_DIRS = "org.apache.kafka.tools.LogDirsCommand";
    static final String LEADER_ELECTION = "org.apache.kafka.tools.LeaderElectionCommand";
    static final String PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance";
    static final String CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance";
    static final String SHARE_GROUPS = "org.apache.kafka.tools.consumer.group.ShareGroupCommand";
    static final String SHARE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleShareConsumer";

    static org.apache.kafka.clients.consumer.KafkaShareConsumer<byte[], byte[]> shareConsumer(String bs, String g) {
        java.util.Properties p = Main.base(bs);
        p.put("group.id", g);
        p.put("fetch.max.wait.ms", "200");
        return new org.apache.kafka.clients.consumer.KafkaShareConsumer<>(p,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer());
    }

    static String[] a(String... xs) {
        return xs;
    }

    /** The row of a whitespace-separated table whose first columns are `prefix`. */
    static List<String> row(Out o, String... prefix) {
        for (String line : o.lines()) {
            List<String> cols = Arrays.asList(line.trim().split("\\s+"));
            if (cols.size() >= prefix.length && cols.subList(0, prefix.length).equals(Arrays.asList(prefix))) return cols;
        }
        throw new Main.Fail("no row starting " + Arrays.toString(prefix) + " in: " + o.tail());
    }

    static void run(String name, Main.Body body) {
        SCENARIOS.put(name, body);
    }

    static {
        run("admin_topics", bs -> {
            String t = topic("topics");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "3",
                    "--replication-factor", "1", "--config", "retention.ms=3600000").ok("kafka-topics --create").has("Created topic " + t + ".", "create");
            Out dup = tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "3");
            check(dup.rc != 0, "creating an existing topic exited 0: " + dup.tail());
            // Kafka 4.x's message is "Topic 'NAME' already exists."
            dup.has("already exists", "duplicate create");
            waitUntil(() -> tool(TOPICS, null, "--bootstrap-server", bs, "--list").ok("--list").lines().contains(t), 10, "topic in --list");
            Out d = tool(TOPICS, null, "--bootstrap-server", bs, "--describe", "--topic", t).ok("kafka-topics --describe");
            d.has("Topic: " + t, "describe").has("PartitionCount: 3", "describe").has("ReplicationFactor: 1", "describe")
                    .has("retention.ms=3600000", "describe (Configs)");
            String leader = String.valueOf(get(Main.admin(bs).describeCluster().nodes()).iterator().next().id());
            for (int p = 0; p < 3; p++) {
                List<String> r = row(d, "Topic:", t, "Partition:", String.valueOf(p));
                eq(r.subList(4, 10), List.of("Leader:", leader, "Replicas:", leader, "Isr:", leader), "describe line of partition " + p);
            }
            tool(TOPICS, null, "--bootstrap-server", bs, "--delete", "--topic", t).ok("kafka-topics --delete");
            waitUntil(() -> !tool(TOPICS, null, "--bootstrap-server", bs, "--list").lines().contains(t), 10, "topic gone from --list");
            Out again = tool(TOPICS, null, "--bootstrap-server", bs, "--delete", "--topic", t);
            check(again.rc != 0, "deleting a missing topic exited 0: " + again.tail());
            again.has("does not exist", "deleting a missing topic");
        });

        run("admin_create_partitions", bs -> {
            String t = topic("alter");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "1").ok("create");
            tool(TOPICS, null, "--bootstrap-server", bs, "--alter", "--topic", t, "--partitions", "3").ok("kafka-topics --alter --partitions 3");
            waitUntil(() -> tool(TOPICS, null, "--bootstrap-server", bs, "--describe", "--topic", t).out.contains("PartitionCount: 3"), 10, "PartitionCount: 3");
            Out shrink = tool(TOPICS, null, "--bootstrap-server", bs, "--alter", "--topic", t, "--partitions", "2");
            check(shrink.rc != 0, "shrinking 3 -> 2 partitions exited 0: " + shrink.tail());
            // Kafka 4.x (ReplicationControlManager): "The topic T currently has 3 partition(s); 2 would not be an increase."
            shrink.has("The topic " + t + " currently has 3 partition(s); 2 would not be an increase.", "shrinking partitions");
        });

        run("admin_configs", bs -> {
            String t = topic("cfg");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "1").ok("create");
            String[] ent = {"--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", t};
            tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "retention.ms=123456,max.message.bytes=2000000"))
                    .ok("kafka-configs --alter --add-config").has("Completed updating config for topic " + t + ".", "alter");
            Out d = tool(CONFIGS, null, cat(ent, "--describe")).ok("kafka-configs --describe");
            d.has("Dynamic configs for topic " + t + " are:", "describe")
                    .has("retention.ms=123456 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=123456", "describe")
                    .has("max.message.bytes=2000000", "describe");
            tool(CONFIGS, null, cat(ent, "--describe", "--all")).ok("kafka-configs --describe --all")
                    .has("cleanup.policy=delete", "--all (defaults)").has("retention.ms=123456", "--all");
            tool(CONFIGS, null, cat(ent, "--alter", "--delete-config", "retention.ms")).ok("kafka-configs --delete-config");
            d = tool(CONFIGS, null, cat(ent, "--describe")).ok("describe after delete");
            check(!d.out.contains("retention.ms="), "retention.ms still a dynamic config after --delete-config: " + d.tail());
            Out bad = tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "retention.ms=not-a-number"));
            check(bad.rc != 0, "a non-numeric retention.ms exited 0: " + bad.tail());
            bad.has("InvalidConfigurationException", "a bad config value");
        });

        run("admin_broker_configs", bs -> {
            String id = String.valueOf(get(Main.admin(bs).describeCluster().nodes()).iterator().next().id());
            String[] ent = {"--bootstrap-server", bs, "--entity-type", "brokers", "--entity-name", id};
            tool(CONFIGS, null, cat(ent, "--describe", "--all")).ok("kafka-configs brokers --describe --all")
                    .has("All configs for broker " + id + " are:", "broker describe").has("message.max.bytes=1048588", "broker describe")
                    .has("auto.create.topics.enable=true", "broker describe");
            tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "log.cleaner.backoff.ms=16000")).ok("kafka-configs brokers --alter");
            try {
                tool(CONFIGS, null, cat(ent, "--describe")).ok("broker describe").has("log.cleaner.backoff.ms=16000", "dynamic broker config");
            } finally {
                tool(CONFIGS, null, cat(ent, "--alter", "--delete-config", "log.cleaner.backoff.ms"));
            }
        });

        run("admin_groups", bs -> {
            String t = topic("grp");
            String g = group("grp");
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            produce(p, t, 0, Main.values(5, "v"), null);
            KafkaConsumer<byte[], byte[]> c = Main.consumer(bs, g);
            c.subscribe(List.of(t));
            Main.consumeN(c, 5, 30);
            c.commitSync(Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(2)), Duration.ofSeconds(Main.T));
            Out d = tool(GROUPS, null, "--bootstrap-server", bs, "--describe", "--group", g).ok("--describe (active member)");
            List<String> r = row(d, g, t, "0");
            eq(r.subList(3, 6), List.of("2", "5", "3"), "CURRENT-OFFSET LOG-END-OFFSET LAG of an active member");
            check(!r.get(6).equals("-"), "CONSUMER-ID of an active member is '-': " + r);
            Out del = tool(GROUPS, null, "--bootstrap-server", bs, "--delete", "--group", g);
            del.has("GroupNotEmptyException", "deleting a group with an active member");
            c.close(Duration.ofSeconds(10));
            waitUntil(() -> tool(GROUPS, null, "--bootstrap-server", bs, "--list").ok("--list").lines().contains(g), 10, "group in --list");
            tool(GROUPS, null, "--bootstrap-server", bs, "--list", "--state").ok("--list --state").has("Empty", "--list --state");
            d = tool(GROUPS, null, "--bootstrap-server", bs, "--describe", "--group", g).ok("--describe");
            d.has("has no active members", "describe of an Empty group");
            r = row(d, g, t, "0");
            eq(r.subList(3, 7), List.of("2", "5", "3", "-"), "CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID");
            tool(GROUPS, null, "--bootstrap-server", bs, "--delete", "--group", g).ok("--delete")
                    .has("Deletion of requested consumer groups ('" + g + "') was successful.", "delete");
            check(!tool(GROUPS, null, "--bootstrap-server", bs, "--list").ok("--list").lines().contains(g), "deleted group still listed");
            Out again = tool(GROUPS, null, "--bootstrap-server", bs, "--delete", "--group", g);
            again.has("GroupIdNotFoundException", "deleting a missing group");
            p.close(Duration.ofSeconds(5));
        });

        run("admin_group_offsets", bs -> {
            // kafka-consumer-groups --reset-offsets: --dry-run changes nothing; --to-earliest,
            // --to-datetime, --shift-by, --to-offset with --execute; checked in the printed table
            // and against the group's committed offset.
            String t = topic("reset");
            String g = group("reset");
            long base = (System.currentTimeMillis() / 1000 - 3600) * 1000;
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            for (int i = 0; i < 10; i++) produce(p, t, 0, List.of(new Main.Rec(null, b("v" + i), List.of())), base + i * 60_000L);
            Admin adm = Main.admin(bs);
            TopicPartition tp = new TopicPartition(t, 0);
            get(adm.alterConsumerGroupOffsets(g, Map.of(tp, new OffsetAndMetadata(7))).all());
            String[] common = {"--bootstrap-server", bs, "--group", g, "--topic", t, "--reset-offsets"};
            Out dry = tool(GROUPS, null, cat(common, "--to-earliest", "--dry-run")).ok("--reset-offsets --dry-run");
            eq(row(dry, g, t, "0").get(3), "0", "NEW-OFFSET of --to-earliest --dry-run");
            eq(committed(adm, g, tp), 7L, "offset after a dry run");
            Out e = tool(GROUPS, null, cat(common, "--to-earliest", "--execute")).ok("--to-earliest --execute");
            eq(row(e, g, t, "0").get(3), "0", "NEW-OFFSET of --to-earliest");
            eq(committed(adm, g, tp), 0L, "offset after --to-earliest");
            String dt = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS").withZone(ZoneOffset.UTC)
                    .format(Instant.ofEpochMilli(base + 4 * 60_000L + 1));
            Out d = tool(GROUPS, null, cat(common, "--to-datetime", dt + "Z", "--execute")).ok("--to-datetime --execute");
            eq(row(d, g, t, "0").get(3), "5", "NEW-OFFSET of --to-datetime (first record after " + dt + ")");
            eq(committed(adm, g, tp), 5L, "offset after --to-datetime");
            tool(GROUPS, null, cat(common, "--shift-by", "2", "--execute")).ok("--shift-by 2");
            eq(committed(adm, g, tp), 7L, "offset after --shift-by 2");
            tool(GROUPS, null, cat(common, "--shift-by", "-100", "--execute")).ok("--shift-by -100");
            eq(committed(adm, g, tp), 0L, "offset after --shift-by -100 (clamped to the log start)");
            tool(GROUPS, null, cat(common, "--to-latest", "--execute")).ok("--to-latest");
            eq(committed(adm, g, tp), 10L, "offset after --to-latest");
            Out desc = tool(GROUPS, null, "--bootstrap-server", bs, "--describe", "--group", g).ok("--describe");
            eq(row(desc, g, t, "0").subList(3, 6), List.of("10", "10", "0"), "CURRENT-OFFSET LOG-END-OFFSET LAG after --to-latest");
            tool(GROUPS, null, "--bootstrap-server", bs, "--delete-offsets", "--group", g, "--topic", t).ok("--delete-offsets");
            eq(committed(adm, g, tp), null, "offset after --delete-offsets");
            p.close(Duration.ofSeconds(5));
            adm.close(Duration.ofSeconds(5));
        });

        run("cli_console", bs -> {
            // kafka-console-producer with keys and headers from stdin, kafka-console-consumer
            // printing them back; the Java client reads the same bytes.
            String t = topic("console");
            String in = "h1:v1,h2:v2\tk1=hello\n" + "h1:x\tk2=wörld\n" + "h3:\tk3=\n";
            tool(PRODUCER, in, "--bootstrap-server", bs, "--topic", t, "--reader-property", "parse.key=true",
                    "--reader-property", "key.separator==", "--reader-property", "parse.headers=true").ok("kafka-console-producer");
            Out c = tool(CONSUMER, null, "--bootstrap-server", bs, "--topic", t, "--from-beginning", "--max-messages", "3",
                    "--timeout-ms", "15000", "--formatter-property", "print.key=true", "--formatter-property", "print.headers=true",
                    "--formatter-property", "print.offset=true", "--formatter-property", "key.separator=|").ok("kafka-console-consumer");
            List<String> got = new ArrayList<>();
            for (String l : c.lines()) if (l.startsWith("Offset:")) got.add(l);
            eq(got, List.of("Offset:0|h1:v1,h2:v2|k1|hello", "Offset:1|h1:x|k2|wörld", "Offset:2|h3:|k3|"),
                    "console consumer output");
            c.has("Processed a total of 3 messages", "console consumer summary");
            KafkaConsumer<byte[], byte[]> k = Main.assigned(bs, t, 0);
            List<ConsumerRecord<byte[], byte[]>> rs = Main.consumeN(k, 3, Main.T);
            eq(Main.s(rs.get(1).value()), "wörld", "UTF-8 value written by the console producer");
            eq(Main.headerList(rs.get(0).headers()), List.of("h1=" + Arrays.toString(b("v1")), "h2=" + Arrays.toString(b("v2"))), "headers");
            k.close(Duration.ofSeconds(5));
        });

        run("cli_share_groups", bs -> {
            // kafka-configs --entity-type groups (group configs) and kafka-share-groups (KIP-932):
            // list, describe (offsets, members, state), reset-offsets, delete-offsets, delete.
            String t = topic("sharecli");
            String g = group("sharecli");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "1").ok("create");
            long base = (System.currentTimeMillis() / 1000 - 3600) * 1000;
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            for (int i = 0; i < 6; i++) produce(p, t, 0, List.of(new Main.Rec(null, b("v" + i), List.of())), base + i * 1000L);
            p.close(Duration.ofSeconds(5));
            String[] ent = {"--bootstrap-server", bs, "--entity-type", "groups", "--entity-name", g};
            tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "share.auto.offset.reset=earliest,share.record.lock.duration.ms=20000"))
                    .ok("kafka-configs groups --alter").has("Completed updating config for group " + g + ".", "group config alter");
            tool(CONFIGS, null, cat(ent, "--describe")).ok("kafka-configs groups --describe")
                    .has("Dynamic configs for group " + g + " are:", "group describe")
                    .has("share.auto.offset.reset=earliest sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:share.auto.offset.reset=earliest, "
                            + "DEFAULT_CONFIG:share.auto.offset.reset=latest}", "group describe")
                    .has("share.record.lock.duration.ms=20000 sensitive=false synonyms={DYNAMIC_GROUP_CONFIG:share.record.lock.duration.ms=20000, "
                            + "DEFAULT_CONFIG:group.share.record.lock.duration.ms=30000}", "group describe");
            Out bad = tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "share.bogus=1"));
            check(bad.rc != 0, "an unknown group config exited 0: " + bad.tail());
            bad.has("InvalidConfigurationException: Unknown group config name: share.bogus", "unknown group config");
            bad = tool(CONFIGS, null, cat(ent, "--alter", "--add-config", "share.record.lock.duration.ms=100000"));
            bad.has("share.record.lock.duration.ms must be in the range 15000 to 60000 inclusive.", "group config out of the broker's range");

            String[] sg = {"--bootstrap-server", bs, "--group", g};
            org.apache.kafka.clients.consumer.KafkaShareConsumer<byte[], byte[]> c = shareConsumer(bs, g);
            try {
                c.subscribe(List.of(t));
                int n = 0;
                long until = System.nanoTime() + Duration.ofSeconds(Main.T).toNanos();
                while (n < 6 && System.nanoTime() < until) n += c.poll(Duration.ofMillis(300)).count();
                eq(n, 6, "records the share consumer got (share.auto.offset.reset=earliest)");
                c.commitSync(Duration.ofSeconds(Main.T));
                waitUntil(() -> tool(SHARE_GROUPS, null, "--bootstrap-server", bs, "--list").ok("--list").lines().contains(g), 10, "group in --list");
                Out st = tool(SHARE_GROUPS, null, cat(sg, "--describe", "--state")).ok("--describe --state");
                List<String> r = row(st, g);
                eq(r.subList(r.size() - 2, r.size()), List.of("Stable", "1"), "STATE #MEMBERS");
                Out m = tool(SHARE_GROUPS, null, cat(sg, "--describe", "--members")).ok("--describe --members");
                r = row(m, g);
                check(r.contains(t + ":0"), "ASSIGNMENT of the member lacks " + t + ":0: " + r);
                Out busy = tool(SHARE_GROUPS, null, cat(sg, "--reset-offsets", "--topic", t, "--to-earliest", "--execute"));
                check(busy.rc != 0, "resetting offsets of a group with a member exited 0: " + busy.tail());
                busy.has("Share group '" + g + "' is not empty.", "resetting offsets of a group with a member");
            } finally {
                c.close(Duration.ofSeconds(10));
            }
            waitUntil(() -> tool(SHARE_GROUPS, null, cat(sg, "--describe", "--state")).out.contains("Empty"), 15, "group Empty");
            List<String> r = row(tool(SHARE_GROUPS, null, cat(sg, "--describe", "--offsets")).ok("--describe --offsets"), g, t, "0");
            // Kafka moves the start offset past acknowledged records lazily (START-OFFSET 0 until the next
            // acquisition); weir at once (6). LAG is 0 either way (DescribeShareGroupOffsets v1, KIP-1226).
            check(r.subList(3, 5).equals(List.of("6", "0")) || r.subList(3, 5).equals(List.of("0", "0")), "START-OFFSET LAG after all 6 were accepted: " + r);
            String before = r.get(3);
            r = row(tool(SHARE_GROUPS, null, cat(sg, "--reset-offsets", "--topic", t, "--to-earliest", "--dry-run")).ok("--to-earliest --dry-run"), g, t, "0");
            eq(r.get(3), "0", "NEW-OFFSET of --to-earliest");
            eq(row(tool(SHARE_GROUPS, null, cat(sg, "--describe")).ok("--describe"), g, t, "0").get(3), before, "a dry run changed nothing");
            String when = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS").format(Instant.ofEpochMilli(base + 3000).atOffset(ZoneOffset.UTC)) + "Z";
            r = row(tool(SHARE_GROUPS, null, cat(sg, "--reset-offsets", "--topic", t, "--to-datetime", when, "--execute")).ok("--to-datetime --execute"), g, t, "0");
            eq(r.get(3), "3", "NEW-OFFSET of --to-datetime (the 4th record's timestamp)");
            eq(row(tool(SHARE_GROUPS, null, cat(sg, "--describe", "--offsets")).ok("--describe"), g, t, "0").subList(3, 5), List.of("3", "3"),
                    "START-OFFSET LAG after --to-datetime");
            tool(SHARE_GROUPS, null, cat(sg, "--reset-offsets", "--topic", t, "--to-latest", "--execute")).ok("--to-latest --execute");
            eq(row(tool(SHARE_GROUPS, null, cat(sg, "--describe", "--offsets")).ok("--describe"), g, t, "0").subList(3, 5), List.of("6", "0"),
                    "START-OFFSET LAG after --to-latest");
            row(tool(SHARE_GROUPS, null, cat(sg, "--delete-offsets", "--topic", t)).ok("--delete-offsets"), t, "Successful");
            check(!tool(SHARE_GROUPS, null, cat(sg, "--describe", "--offsets")).out.contains(t + " "), "offsets of " + t + " still described after --delete-offsets");
            tool(SHARE_GROUPS, null, cat(sg, "--delete")).ok("--delete")
                    .has("Deletion of requested share groups ('" + g + "') was successful.", "delete");
            check(!tool(SHARE_GROUPS, null, "--bootstrap-server", bs, "--list").ok("--list").lines().contains(g), "deleted share group still listed");
        });

        run("cli_console_share_consumer", bs -> {
            // kafka-console-share-consumer: a share group reading from the start (group config
            // share.auto.offset.reset=earliest), printing keys and offsets, acknowledging all.
            String t = topic("sharecons");
            String g = group("sharecons");
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            produce(p, t, 0, Main.values(5, "v"), null);
            p.close(Duration.ofSeconds(5));
            tool(CONFIGS, null, "--bootstrap-server", bs, "--entity-type", "groups", "--entity-name", g, "--alter", "--add-config",
                    "share.auto.offset.reset=earliest").ok("kafka-configs groups --alter");
            Out c = tool(SHARE_CONSUMER, null, "--bootstrap-server", bs, "--topic", t, "--group", g, "--max-messages", "5",
                    "--timeout-ms", "20000", "--formatter-property", "print.key=true", "--formatter-property", "print.offset=true",
                    "--formatter-property", "key.separator=|").ok("kafka-console-share-consumer");
            List<String> got = new ArrayList<>();
            for (String l : c.lines()) if (l.startsWith("Offset:")) got.add(l);
            eq(got, List.of("Offset:0|k0|v0", "Offset:1|k1|v1", "Offset:2|k2|v2", "Offset:3|k3|v3", "Offset:4|k4|v4"), "console share consumer output");
            c.has("Processed a total of 5 messages", "console share consumer summary");
            waitUntil(() -> tool(SHARE_GROUPS, null, "--bootstrap-server", bs, "--group", g, "--describe", "--state").out.contains("Empty"), 15, "group Empty");
            // All 5 were accepted: a second run gets nothing.
            tool(SHARE_CONSUMER, null, "--bootstrap-server", bs, "--topic", t, "--group", g, "--max-messages", "1",
                    "--timeout-ms", "4000").has("Processed a total of 0 messages", "a second console share consumer");
        });

        run("admin_list_offsets", bs -> {
            // kafka-get-offsets: latest (-1), earliest (-2), max-timestamp (-3), by timestamp.
            String t = topic("getoff");
            long base = (System.currentTimeMillis() / 1000 - 3600) * 1000;
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            long[] ts = {base, base + 5000, base + 2000, base + 3000};
            for (int i = 0; i < ts.length; i++) produce(p, t, 0, List.of(new Main.Rec(null, b("v" + i), List.of())), ts[i]);
            String[] c = {"--bootstrap-server", bs, "--topic", t, "--time"};
            eq(tool(GET_OFFSETS, null, cat(c, "-1")).ok("--time -1").out.strip(), t + ":0:4", "latest");
            eq(tool(GET_OFFSETS, null, cat(c, "-2")).ok("--time -2").out.strip(), t + ":0:0", "earliest");
            eq(tool(GET_OFFSETS, null, cat(c, "-3")).ok("--time -3").out.strip(), t + ":0:1", "max-timestamp");
            eq(tool(GET_OFFSETS, null, cat(c, String.valueOf(base + 1000))).ok("--time TS").out.strip(), t + ":0:1", "by timestamp");
            p.close(Duration.ofSeconds(5));
        });

        run("delete_records", bs -> {
            String t = topic("delrec");
            KafkaProducer<byte[], byte[]> p = Main.producer(bs);
            produce(p, t, 0, Main.values(10, "v"), null);
            Path json = Files.createTempFile("weir-delete-records", ".json");
            Files.writeString(json, "{\"partitions\":[{\"topic\":\"" + t + "\",\"partition\":0,\"offset\":4}],\"version\":1}");
            Out o = tool(DELETE_RECORDS, null, "--bootstrap-server", bs, "--offset-json-file", json.toString()).ok("kafka-delete-records");
            o.has("partition: " + t + "-0\tlow_watermark: 4", "kafka-delete-records output");
            eq(tool(GET_OFFSETS, null, "--bootstrap-server", bs, "--topic", t, "--time", "-2").ok("earliest").out.strip(), t + ":0:4", "earliest after delete");
            Files.writeString(json, "{\"partitions\":[{\"topic\":\"" + t + "\",\"partition\":0,\"offset\":50}],\"version\":1}");
            tool(DELETE_RECORDS, null, "--bootstrap-server", bs, "--offset-json-file", json.toString())
                    .has("OffsetOutOfRangeException", "deleting beyond the high watermark");
            Files.deleteIfExists(json);
            p.close(Duration.ofSeconds(5));
        });

        run("admin_transactions", bs -> {
            String t = topic("txn");
            String tid = topic("tid");
            KafkaProducer<byte[], byte[]> p = Main.producer(bs, "transactional.id", tid, "transaction.timeout.ms", 30000);
            p.initTransactions();
            p.beginTransaction();
            get(p.send(new ProducerRecord<>(t, 0, null, b("x"))));
            Out l = tool(TRANSACTIONS, null, "--bootstrap-server", bs, "list").ok("kafka-transactions list");
            List<String> r = row(l, tid);
            eq(r.get(3), "Ongoing", "TransactionState column of list: " + r);
            Out d = tool(TRANSACTIONS, null, "--bootstrap-server", bs, "describe", "--transactional-id", tid).ok("kafka-transactions describe");
            d.has("Ongoing", "describe state").has(t + "-0", "describe partitions").has("30000", "describe timeout");
            p.commitTransaction();
            p.close(Duration.ofSeconds(5));
        });

        run("admin_producers", bs -> {
            String t = topic("prods");
            KafkaProducer<byte[], byte[]> p = Main.producer(bs, "enable.idempotence", true, "acks", "all");
            produce(p, t, 0, Main.values(3, "v"), null);
            Out d = tool(TRANSACTIONS, null, "--bootstrap-server", bs, "describe-producers", "--topic", t, "--partition", "0")
                    .ok("kafka-transactions describe-producers");
            d.has("ProducerId", "header").has("LastSequence", "header");
            p.close(Duration.ofSeconds(5));
        });

        run("admin_log_dirs", bs -> {
            String t = topic("logdirs");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "1").ok("create");
            Out o = tool(LOG_DIRS, null, "--bootstrap-server", bs, "--describe", "--topic-list", t).ok("kafka-log-dirs --describe");
            o.has("\"partition\":\"" + t + "-0\"", "kafka-log-dirs JSON");
        });

        run("cli_error_messages", bs -> {
            // The broker's error messages as the tools print them, word for word as Kafka 4.x
            // (KRaft) words them: users grep for these. (The other scenarios only check the error.)
            String t = topic("msgs");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "3").ok("create");
            List<String> problems = new ArrayList<>();
            Out dup = tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "3");
            String want = "Error while executing topic command : Topic '" + t + "' already exists.";
            if (!dup.out.contains(want)) problems.add("TOPIC_ALREADY_EXISTS: want `" + want + "`, got `" + firstError(dup) + "`");
            Out shrink = tool(TOPICS, null, "--bootstrap-server", bs, "--alter", "--topic", t, "--partitions", "2");
            want = "Error while executing topic command : The topic " + t + " currently has 3 partition(s); 2 would not be an increase.";
            if (!shrink.out.contains(want)) problems.add("INVALID_PARTITIONS: want `" + want + "`, got `" + firstError(shrink) + "`");
            Out bad = tool(CONFIGS, null, "--bootstrap-server", bs, "--entity-type", "topics", "--entity-name", t, "--alter",
                    "--add-config", "retention.ms=not-a-number");
            want = "Invalid value not-a-number for configuration retention.ms: Not a number of type LONG";
            if (!bad.out.contains(want)) problems.add("INVALID_CONFIG: want `" + want + "`, got `" + firstError(bad) + "`");
            check(problems.isEmpty(), String.join("; ", problems));
        });

        run("cli_broker_api_versions", bs -> {
            Out o = tool(API_VERSIONS, null, "--bootstrap-server", bs).ok("kafka-broker-api-versions");
            o.has(bs, "broker line");
            for (String api : List.of("Produce(0):", "Fetch(1):", "ListOffsets(2):", "Metadata(3):", "ApiVersions(18):",
                    "CreateTopics(19):", "InitProducerId(22):", "DescribeConfigs(32):", "ConsumerGroupHeartbeat(68):")) {
                Matcher m = Pattern.compile(Pattern.quote(api) + " (\\d+) to (\\d+) \\[usable: (\\d+)\\]").matcher(o.out);
                check(m.find(), "kafka-broker-api-versions lacks a usable " + api + " line: " + o.tail());
            }
        });

        run("cli_leader_election", bs -> {
            // A single node answers ElectLeaders trivially: the preferred leader already leads.
            String t = topic("elect");
            tool(TOPICS, null, "--bootstrap-server", bs, "--create", "--topic", t, "--partitions", "1").ok("create");
            Out o = tool(LEADER_ELECTION, null, "--bootstrap-server", bs, "--election-type", "preferred", "--topic", t, "--partition", "0");
            o.ok("kafka-leader-election").has("Valid replica already elected for partitions " + t + "-0", "kafka-leader-election output");
        });

        run("cli_perf_test", bs -> {
            String t = topic("perf");
            Out p = tool(PRODUCER_PERF, null, "--topic", t, "--num-records", "20000", "--record-size", "100", "--throughput", "-1",
                    "--producer-props", "bootstrap.servers=" + bs, "acks=all").ok("kafka-producer-perf-test");
            p.has("20000 records sent", "producer perf summary");
            Out c = tool(CONSUMER_PERF, null, "--bootstrap-server", bs, "--topic", t, "--messages", "20000", "--timeout", "15000")
                    .ok("kafka-consumer-perf-test");
            // The CSV row: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, ...
            String last = c.lines().get(c.lines().size() - 1);
            String[] cols = last.split(",\\s*");
            check(cols.length > 4, "consumer perf output: " + c.tail());
            eq(cols[4].trim(), "20000", "messages consumed by kafka-consumer-perf-test (" + last + ")");
        });
    }

    /** The first line of a tool's output that reports an error. */
    static String firstError(Out o) {
        for (String l : o.lines()) {
            if (l.contains("Error") || l.contains("Exception")) return l.strip();
        }
        return o.tail();
    }

    static Long committed(Admin adm, String g, TopicPartition tp) {
        OffsetAndMetadata om = get(adm.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata()).get(tp);
        return om == null ? null : om.offset();
    }

    static String[] cat(String[] head, String... tail) {
        String[] out = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    public static void main(String[] args) {
        CliSecured.register();
        Main.dispatch(args, SCENARIOS, UNSUPPORTED);
    }
}
