package weir.conformance;

import static weir.conformance.Main.admin;
import static weir.conformance.Main.b;
import static weir.conformance.Main.createTopic;
import static weir.conformance.Main.eq;
import static weir.conformance.Main.get;
import static weir.conformance.Main.group;
import static weir.conformance.Main.producer;
import static weir.conformance.Main.s;
import static weir.conformance.Main.topic;
import static weir.conformance.Main.waitUntil;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Share-group (KIP-932) scenarios for the Java client's {@link KafkaShareConsumer} (kafka-clients
 * 4.x only: the 3.9 column does not compile this file, see conformance/java/build). {@link Main}
 * registers them; {@code worker} is the consumer process of tests/share_groups.rs's queue test.
 */
final class ShareScenarios {
    private ShareScenarios() {}

    static void register(Map<String, Main.Body> scenarios) {
        scenarios.put("share_implicit_ack", ShareScenarios::implicitAck);
        scenarios.put("share_explicit_ack", ShareScenarios::explicitAck);
    }

    static KafkaShareConsumer<byte[], byte[]> shareConsumer(String bs, String grp, String mode) {
        Properties p = Main.base(bs);
        p.put("group.id", grp);
        p.put("share.acknowledgement.mode", mode);
        p.put("fetch.max.wait.ms", "200");
        return new KafkaShareConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Polls until the group's members all hold an assignment (a new share-partition starts at the
     * log end, Kafka's share.auto.offset.reset=latest: records produced after this are consumed).
     */
    static void joined(Admin a, String grp, List<KafkaShareConsumer<byte[], byte[]>> consumers) {
        waitUntil(() -> {
            for (KafkaShareConsumer<byte[], byte[]> c : consumers) c.poll(Duration.ofMillis(100));
            ShareGroupDescription d;
            try {
                d = get(a.describeShareGroups(List.of(grp)).all()).get(grp);
            } catch (org.apache.kafka.common.errors.GroupIdNotFoundException e) {
                return false;
            }
            return d.members().size() == consumers.size()
                    && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty());
        }, 20, "every member of share group " + grp + " assigned");
    }

    static void produce(String bs, String t, int from, int n) {
        try (KafkaProducer<byte[], byte[]> p = producer(bs)) {
            for (int i = from; i < from + n; i++) p.send(new ProducerRecord<>(t, b("k" + i), b("v" + i)));
            p.flush();
        }
    }

    /** Implicit acknowledgement: everything polled is accepted by the next poll; never redelivered. */
    static void implicitAck(String bs) throws Exception {
        String t = topic("share-implicit");
        String grp = group("share-implicit");
        try (Admin a = createTopic(bs, t, 1, null);
             KafkaShareConsumer<byte[], byte[]> c = shareConsumer(bs, grp, "implicit")) {
            c.subscribe(List.of(t));
            joined(a, grp, List.of(c));
            produce(bs, t, 0, 30);
            Map<String, Integer> seen = new TreeMap<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (seen.size() < 30 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    seen.merge(s(r.value()), 1, Integer::sum);
                    eq(r.deliveryCount(), Optional.of((short) 1), "delivery count of " + s(r.value()));
                }
            }
            eq(seen.size(), 30, "distinct records consumed");
            eq(seen.values().stream().allMatch(n -> n == 1), true, "each record once: " + seen);
            Map<TopicIdPartition, Optional<KafkaException>> done = c.commitSync();
            for (Optional<KafkaException> e : done.values()) eq(e, Optional.empty(), "commitSync result");
            // ListGroups with the share type filter, ShareGroupDescribe.
            List<String> share = get(a.listGroups(ListGroupsOptions.forShareGroups()).all()).stream()
                    .map(GroupListing::groupId).collect(Collectors.toList());
            eq(share.contains(grp), true, "share group listed by type: " + share);
            List<String> consumerGroups = get(a.listGroups(ListGroupsOptions.forConsumerGroups()).all()).stream()
                    .map(GroupListing::groupId).collect(Collectors.toList());
            eq(consumerGroups.contains(grp), false, "share group not listed as a consumer group");
            ShareGroupDescription d = get(a.describeShareGroups(List.of(grp)).all()).get(grp);
            eq(d.groupState(), GroupState.STABLE, "share group state");
            // DescribeShareGroupOffsets: the share-partition starts past the 30 accepted records.
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.SharePartitionOffsetInfo> offs =
                    get(a.listShareGroupOffsets(Map.of(grp, new org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec()))
                            .partitionsToOffsetInfo(grp));
            eq(offs.keySet(), Set.of(new org.apache.kafka.common.TopicPartition(t, 0)), "share-partitions listed");
            eq(offs.values().iterator().next().startOffset(), 30L, "share-partition start offset");
        }
        // A second member of the group gets nothing: all 30 were accepted.
        try (KafkaShareConsumer<byte[], byte[]> c2 = shareConsumer(bs, grp, "implicit")) {
            c2.subscribe(List.of(t));
            int n = 0;
            long until = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < until) n += c2.poll(Duration.ofMillis(300)).count();
            eq(n, 0, "records redelivered after implicit acknowledgement");
        }
    }

    /** Explicit acknowledgement: REJECT archives, RELEASE redelivers (delivery count 2), ACCEPT is final. */
    static void explicitAck(String bs) throws Exception {
        String t = topic("share-explicit");
        String grp = group("share-explicit");
        try (Admin a = createTopic(bs, t, 1, null);
             KafkaShareConsumer<byte[], byte[]> c = shareConsumer(bs, grp, "explicit")) {
            c.subscribe(List.of(t));
            joined(a, grp, List.of(c));
            produce(bs, t, 0, 12);
            Map<Long, AcknowledgeType> first = new TreeMap<>();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (first.size() < 12 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    AcknowledgeType ty = r.offset() % 3 == 0 ? AcknowledgeType.REJECT
                            : r.offset() % 3 == 1 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
                    c.acknowledge(r, ty);
                    first.put(r.offset(), ty);
                }
                for (Optional<KafkaException> e : c.commitSync().values()) eq(e, Optional.empty(), "commitSync result");
            }
            eq(first.size(), 12, "records delivered the first time");
            Map<Long, Short> again = new TreeMap<>();
            deadline = System.nanoTime() + 20_000_000_000L;
            while (again.size() < 4 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    again.put(r.offset(), r.deliveryCount().orElse((short) -1));
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                c.commitSync();
            }
            Map<Long, Short> want = new TreeMap<>();
            for (long o = 1; o < 12; o += 3) want.put(o, (short) 2);
            eq(again, want, "released records redelivered with delivery count 2");
            int more = 0;
            long until = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < until) more += c.poll(Duration.ofMillis(300)).count();
            eq(more, 0, "records delivered after every one was accepted or rejected");
        }
    }

    /**
     * The queue test's consumer process: {@code worker HOST:PORT GROUP TOPIC}. Prints {@code got V}
     * for each record delivered and {@code acked V} once its ACCEPT was committed, until killed.
     */
    static void worker(String bs, String grp, String t) {
        PrintStream out = System.out;
        Properties p = Main.base(bs);
        p.put("group.id", grp);
        p.put("share.acknowledgement.mode", "explicit");
        p.put("fetch.max.wait.ms", "200");
        p.put("max.poll.records", "20");
        // KIP-1206: at most max.poll.records acquired per fetch (the default, batch_optimized,
        // acquires whole batches, hundreds of records here), so what a killed worker holds was
        // acquired at most a poll before the kill and its locks run out LOCK_MS after it.
        p.put("share.acquire.mode", "record_limit");
        long workMs = Long.parseLong(System.getProperty("work.ms", "5"));
        try (KafkaShareConsumer<byte[], byte[]> c =
                     new KafkaShareConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.subscribe(List.of(t));
            out.println("started");
            out.flush();
            while (true) {
                ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(500));
                List<String> batch = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : rs) {
                    out.println("got " + s(r.value()) + " " + r.deliveryCount().orElse((short) -1));
                    Main.sleep(workMs);
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                    batch.add(s(r.value()));
                }
                out.flush();
                if (batch.isEmpty()) continue;
                Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync();
                boolean ok = res.values().stream().allMatch(Optional::isEmpty);
                for (String v : batch) out.println((ok ? "acked " : "ackfail ") + v);
                out.flush();
            }
        }
    }

    /**
     * The queue test's producer: {@code produce HOST:PORT GROUP TOPIC MEMBERS COUNT} creates TOPIC
     * (one partition) unless it exists, waits until share group GROUP has MEMBERS members that all
     * hold an assignment, then produces values {@code v0 .. v(COUNT-1)}.
     */
    static void produceFor(String bs, String grp, String t, int members, int count) {
        try (Admin a = admin(bs)) {
            try {
                get(a.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(t, 1, (short) 1))).all());
            } catch (org.apache.kafka.common.errors.TopicExistsException e) {
                // created by an earlier run
            }
            waitUntil(() -> {
                ShareGroupDescription d;
                try {
                    d = get(a.describeShareGroups(List.of(grp)).all()).get(grp);
                } catch (org.apache.kafka.common.errors.GroupIdNotFoundException e) {
                    return false;
                }
                return d.members().size() == members
                        && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty());
            }, 60, members + " assigned members of share group " + grp);
        }
        produce(bs, t, 0, count);
        System.out.println("produced " + count);
    }

    public static void main(String[] args) {
        if (args.length == 4 && args[0].equals("worker")) {
            worker(args[1], args[2], args[3]);
            return;
        }
        if (args.length == 6 && args[0].equals("produce")) {
            produceFor(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]));
            return;
        }
        Map<String, Main.Body> s = new java.util.LinkedHashMap<>();
        register(s);
        Main.dispatch(args, s, new java.util.LinkedHashMap<>());
    }

    static Set<String> names() {
        Map<String, Main.Body> s = new java.util.LinkedHashMap<>();
        register(s);
        return s.keySet();
    }
}
