// Generates src/config/kafka_topic_keys.rs from Apache Kafka's LogConfig (kafka-storage jar).
// Run (the classpath of benches/peers/kafka, cached by its first start):
//   CP=$(cat ~/.cache/weir-peers/kafka-4.4.0/classpath.txt)
//   javac -d /tmp/gen -cp "$CP" scripts/kafka-keys/GenTopicKeys.java
//   java -cp "$CP:/tmp/gen" GenTopicKeys > src/config/kafka_topic_keys.rs && rustfmt --edition 2021 src/config/kafka_topic_keys.rs
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.storage.internals.log.LogConfig;
import java.util.*;

public class GenTopicKeys {
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\n') b.append("\\n");
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static int typeId(ConfigDef.Type t) {
        switch (t) {
            case BOOLEAN: return 1; case STRING: return 2; case INT: return 3; case SHORT: return 4;
            case LONG: return 5; case DOUBLE: return 6; case LIST: return 7; case CLASS: return 8;
            default: return 9;
        }
    }

    static String strings(String inner) {
        StringBuilder b = new StringBuilder("&[");
        for (String s : inner.split(", ")) b.append(q(s)).append(", ");
        return b.append("]").toString();
    }

    static String validator(ConfigDef.ConfigKey k) {
        if (k.validator == null) return "Validator::None";
        String cls = k.validator.getClass().getName();
        String s = k.validator.toString();
        if (cls.endsWith("ConfigDef$Range")) {
            String[] p = s.substring(1, s.length() - 1).split(",");
            String min = p[0];
            String max = p.length > 2 ? p[2] : null;
            return max == null ? "Validator::AtLeast(" + min + ")" : "Validator::Between(" + min + ", " + max + ")";
        }
        if (cls.endsWith("ConfigDef$ValidString")) return "Validator::OneOf(" + strings(s.substring(1, s.length() - 1)) + ")";
        if (cls.endsWith("ConfigDef$ValidList")) return "Validator::ListOf(" + strings(s.substring(1, s.length() - 1)) + ")";
        if (cls.contains("ThrottledReplicaListValidator")) return "Validator::ThrottledReplicas";
        if (s.equals("[1,...,9] or -1")) return "Validator::GzipLevel";
        throw new IllegalStateException("unknown validator " + cls + " " + s);
    }

    public static void main(String[] a) {
        LogConfig.LogConfigDef def = LogConfig.configDefCopy();
        Map<String, ConfigDef.ConfigKey> keys = LogConfig.configKeys();
        List<String> names = new ArrayList<>(LogConfig.nonInternalConfigNames());
        Collections.sort(names);
        System.out.println("//! Apache Kafka 4.x's topic configuration keys, as its DescribeConfigs");
        System.out.println("//! answers them for a topic: every non-internal key of `LogConfig` with its");
        System.out.println("//! type, default, validator, the broker key that supplies its default");
        System.out.println("//! (`ServerTopicConfigSynonyms`) and its documentation. Generated from Kafka");
        System.out.println("//! 4.4.0's `LogConfig` (kafka-storage-4.4.0.jar) by");
        System.out.println("//! `scripts/kafka-keys/GenTopicKeys.java` (how to run it is in its header);");
        System.out.println("//! sorted by name. Data only: weir's model is in [`super::topic`].");
        System.out.println();
        System.out.println("use super::kafka_value::{TopicKeyDef, Validator};");
        System.out.println();
        System.out.println("/// Every topic config key of Kafka 4.4, by name.");
        System.out.println("pub const KAFKA_TOPIC_KEYS: &[TopicKeyDef] = &[");
        for (String n : names) {
            ConfigDef.ConfigKey k = keys.get(n);
            String dflt = ConfigDef.convertToString(k.defaultValue, k.type);
            String server = def.getConfigValue(k, "Server Default Property");
            System.out.println("    TopicKeyDef {");
            System.out.println("        name: " + q(n) + ",");
            System.out.println("        broker_key: " + (server == null || server.isEmpty() ? "None" : "Some(" + q(server) + ")") + ",");
            System.out.println("        config_type: " + typeId(k.type) + ",");
            System.out.println("        default: " + q(dflt == null ? "" : dflt) + ",");
            System.out.println("        validator: " + validator(k) + ",");
            System.out.println("        documentation: " + q(k.documentation == null ? "" : k.documentation) + ",");
            System.out.println("    },");
        }
        System.out.println("];");
    }
}
