package weir.bigdata;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A Flink job against weir: a KafkaSource reads a known input (bounded at its latest offsets),
 * a map upper-cases each record and fails once mid-stream (the job restarts from its last
 * checkpoint), and an exactly-once KafkaSink writes the output in Kafka transactions committed
 * on checkpoints. A read_committed reader must then see every input record exactly once.
 * Prints PASS or FAIL: reason as its last line; exit 0 or 1.
 */
public final class FlinkExactlyOnce {
    static final int N = 5000;
    /** The injected failure fires once per JVM (the MiniCluster runs the tasks in this JVM). */
    static final AtomicBoolean FAILED_ONCE = new AtomicBoolean();

    static final class UpperOnceFailing implements MapFunction<String, String> {
        @Override
        public String map(String v) {
            if (v.endsWith("-" + (N / 2)) && FAILED_ONCE.compareAndSet(false, true)) {
                throw new RuntimeException("injected failure at " + v + " (the job restarts from its last checkpoint)");
            }
            return v.toUpperCase();
        }
    }

    public static void main(String[] args) throws Exception {
        String bs = args[0];
        try {
            run(bs);
            System.out.println("PASS");
            System.out.flush();
            Runtime.getRuntime().halt(0);
        } catch (Throwable e) {
            e.printStackTrace(System.out);
            System.out.println("FAIL: " + e);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    static void run(String bs) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        String in = "bigdata-flink-in-" + id, out = "bigdata-flink-out-" + id;
        Properties ap = new Properties();
        ap.put("bootstrap.servers", bs);
        try (Admin a = Admin.create(ap)) {
            a.createTopics(List.of(new NewTopic(in, 3, (short) 1), new NewTopic(out, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Properties pp = new Properties();
        pp.put("bootstrap.servers", bs);
        pp.put("enable.idempotence", "true");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < N; i++) p.send(new ProducerRecord<>(in, "k" + (i % 17), "rec-" + i));
            p.flush();
        }

        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(500));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
        env.setParallelism(2);
        env.enableCheckpointing(500, CheckpointingMode.EXACTLY_ONCE);

        KafkaSource<String> source = KafkaSource.<String>builder()
                .setBootstrapServers(bs)
                .setTopics(in)
                .setGroupId("bigdata-flink-" + id)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .setValueOnlyDeserializer(new SimpleStringSchema())
                .build();
        Properties sinkProps = new Properties();
        sinkProps.put("transaction.timeout.ms", "60000");
        KafkaSink<String> sink = KafkaSink.<String>builder()
                .setBootstrapServers(bs)
                .setKafkaProducerConfig(sinkProps)
                .setRecordSerializer(KafkaRecordSerializationSchema.builder()
                        .setTopic(out)
                        .setValueSerializationSchema(new SimpleStringSchema())
                        .build())
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix("bigdata-flink-" + id)
                .build();
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "weir-in")
                .map(new UpperOnceFailing())
                .sinkTo(sink);
        long t0 = System.nanoTime();
        env.execute("weir exactly-once");
        System.out.printf("job finished in %.1f s (failure injected: %s)%n", (System.nanoTime() - t0) / 1e9, FAILED_ONCE.get());
        if (!FAILED_ONCE.get()) throw new IllegalStateException("the injected failure never fired");

        Properties cp = new Properties();
        cp.put("bootstrap.servers", bs);
        cp.put("isolation.level", "read_committed");
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = List.of(new TopicPartition(out, 0), new TopicPartition(out, 1));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + 30_000_000_000L;
            long quiet = 0;
            while (System.nanoTime() < deadline && (got.size() < N || quiet < 5)) {
                int n = 0;
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(300))) {
                    got.add(r.value());
                    n++;
                }
                quiet = n == 0 ? quiet + 1 : 0;
            }
        }
        Set<String> distinct = new HashSet<>(got);
        Set<String> want = new HashSet<>();
        for (int i = 0; i < N; i++) want.add("REC-" + i);
        System.out.println("read_committed output: " + got.size() + " records, " + distinct.size() + " distinct");
        if (got.size() != N || !distinct.equals(want)) {
            throw new IllegalStateException("exactly-once output: expected the " + N + " inputs once each, got " + got.size()
                    + " records (" + distinct.size() + " distinct, " + (got.size() - distinct.size()) + " duplicates)");
        }
    }
}
