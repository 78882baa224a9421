package weir.conformance;

import static weir.conformance.Main.*;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * The sec_* scenarios: the representative subset (metadata, CreateTopics, produce + consume
 * back, a group commit and a resume from it) over the secured listeners conformance/run starts
 * weir with (WEIR_SEC_* in the environment), with Kafka's own client property names; and a
 * wrong password refused with SASL_AUTHENTICATION_FAILED.
 */
final class Secured {
    private Secured() {}

    /** Kafka's message for a refused SCRAM-SHA-512 authentication. */
    static final String SCRAM_REFUSED =
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512";

    /** [bootstrap, then property key/value pairs] for a secured listener. */
    static Object[] conf(String kind, boolean wrongPassword) {
        String dir = System.getenv("WEIR_SEC_DIR");
        String listener = switch (kind) {
            case "scram" -> "WEIR_SEC_SASL_SSL";
            case "mtls" -> "WEIR_SEC_SSL";
            default -> "WEIR_SEC_SASL_PLAINTEXT";
        };
        String bs = System.getenv(listener);
        if (dir == null || bs == null) {
            throw new Fail(listener + "/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners "
                    + "conformance/run starts weir with (not available with --bootstrap)");
        }
        String bad = wrongPassword ? "not-" : "";
        List<Object> kv = new ArrayList<>(List.of(bs));
        switch (kind) {
            case "scram" -> kv.addAll(List.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
                    "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                            + "username=\"bob\" password=\"" + bad + "bob-secret\";"));
            case "plain" -> kv.addAll(List.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "PLAIN",
                    "sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required "
                            + "username=\"alice\" password=\"" + bad + "alice-secret\";"));
            case "oauth" -> kv.addAll(List.of("security.protocol", "SASL_PLAINTEXT", "sasl.mechanism", "OAUTHBEARER",
                    // Kafka's default (unsecured) login callback handler makes the unsecured JWS.
                    "sasl.jaas.config", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule "
                            + "required unsecuredLoginStringClaim_sub=\"carol\";"));
            case "mtls" -> kv.addAll(List.of("security.protocol", "SSL",
                    "ssl.keystore.type", "PEM", "ssl.keystore.location", dir + "/client.pem"));
            default -> throw new IllegalArgumentException(kind);
        }
        if (kind.equals("scram") || kind.equals("mtls")) {
            kv.addAll(List.of("ssl.truststore.type", "PEM", "ssl.truststore.location", dir + "/ca.pem"));
        }
        return kv.toArray();
    }

    static Object[] rest(Object[] c, Object... more) {
        Object[] out = new Object[c.length - 1 + more.length];
        System.arraycopy(c, 1, out, 0, c.length - 1);
        System.arraycopy(more, 0, out, c.length - 1, more.length);
        return out;
    }

    static Admin admin(Object[] c) {
        Properties p = base((String) c[0]);
        for (int i = 1; i < c.length; i += 2) p.put(c[i], String.valueOf(c[i + 1]));
        return Admin.create(p);
    }

    static void subset(String kind) {
        Object[] c = conf(kind, false);
        String bs = (String) c[0];
        String t = topic("sec-" + kind), g = group("sec-" + kind);
        try (Admin a = admin(c)) {
            get(a.createTopics(List.of(new NewTopic(t, 1, (short) 1))).all());
            Collection<Node> nodes = get(a.describeCluster().nodes());
            List<String> addrs = new ArrayList<>();
            for (Node n : nodes) addrs.add(n.host() + ":" + n.port());
            eq(addrs, List.of(bs), "DescribeCluster's brokers (the listener we came in on)");
            waitUntil(() -> {
                TopicDescription d = get(a.describeTopics(List.of(t)).allTopicNames()).get(t);
                return d.partitions().size() == 1 && d.partitions().get(0).leader() != null;
            }, 10, "topic " + t + " with a leader");
        }
        List<Rec> recs = values(10, "sec-");
        try (KafkaProducer<byte[], byte[]> p = producer(bs, rest(c))) {
            expectOffsets(produce(p, t, 0, recs, null), 0);
        }
        TopicPartition tp = new TopicPartition(t, 0);
        try (KafkaConsumer<byte[], byte[]> k = consumer(bs, g, rest(c, "max.poll.records", "5"))) {
            k.assign(List.of(tp));
            k.seekToBeginning(List.of(tp));
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(k, 5, T);
            for (int i = 0; i < 5; i++) eq(s(got.get(i).value()), s(recs.get(i).value), "record " + i);
            k.commitSync(Map.of(tp, new OffsetAndMetadata(5)));
        }
        try (KafkaConsumer<byte[], byte[]> k = consumer(bs, g, rest(c))) {
            OffsetAndMetadata om = k.committed(java.util.Set.of(tp)).get(tp);
            eq(om == null ? null : om.offset(), 5L, "committed offset");
            k.assign(List.of(tp));
            List<ConsumerRecord<byte[], byte[]>> got = consumeN(k, 5, T);
            for (int i = 0; i < 5; i++) {
                eq(got.get(i).offset(), 5L + i, "offset after resuming");
                eq(s(got.get(i).value()), s(recs.get(5 + i).value), "record " + (5 + i));
            }
        }
    }

    static void wrongPassword(String kind, String want) {
        Object[] c = conf(kind, true);
        try (Admin a = admin(c)) {
            Throwable e = null;
            try {
                get(a.describeCluster().nodes());
            } catch (RuntimeException x) {
                e = x;
                while (!(e instanceof SaslAuthenticationException) && e.getCause() != null) e = e.getCause();
            }
            check(e != null, "DescribeCluster with a wrong password succeeded");
            check(e instanceof SaslAuthenticationException, "expected SaslAuthenticationException, got " + e);
            eq((int) org.apache.kafka.common.protocol.Errors.forException(e).code(), 58, "error code");
            check(String.valueOf(e.getMessage()).contains(want),
                    "error message '" + e.getMessage() + "' lacks Kafka's '" + want + "'");
        }
    }

    static void register() {
        run("sec_sasl_ssl_scram512", bs -> subset("scram"));
        run("sec_sasl_plaintext_plain", bs -> subset("plain"));
        run("sec_ssl_mtls", bs -> subset("mtls"));
        run("sec_sasl_oauthbearer", bs -> subset("oauth"));
        run("sec_scram512_wrong_password", bs -> wrongPassword("scram",
                "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"));
        run("sec_plain_wrong_password", bs -> wrongPassword("plain", "Authentication failed: Invalid username or password"));
    }
}
