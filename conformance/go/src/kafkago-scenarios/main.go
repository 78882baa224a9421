// Command kafkago-scenarios runs the weir conformance scenarios with Debian's
// segmentio/kafka-go 0.2.1 (golang-github-segmentio-kafka-go-dev, 2018, pure Go).
// This kafka-go speaks fixed old request versions (Produce v2 with v1 message sets,
// Fetch v2, Metadata v1, CreateTopics v0, JoinGroup v1, ...), several of which Kafka
// 4.0 removed (KIP-896) and weir still serves; it is a legacy column, like sarama 1.22. Message format v1
// has no headers and 0.2.1 has no zstd, so its round trip checks keys, null keys,
// values and timestamps.
package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
	. "weirconf"
)

const client = "kafkago02"

func leader(bs, t string, partition int) *kafka.Conn {
	c, err := kafka.DialLeader(context.Background(), "tcp", bs, t, partition)
	NoErr(err, "dial leader")
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func values(n int, prefix string) []kafka.Message {
	out := []kafka.Message{}
	for i := 0; i < n; i++ {
		out = append(out, kafka.Message{Value: []byte(fmt.Sprintf("%s%d", prefix, i))})
	}
	return out
}

func write(bs, t string, codec kafka.CompressionCodec, msgs []kafka.Message) {
	c := leader(bs, t, 0)
	defer c.Close()
	Step("writing to " + t)
	var err error
	if codec == nil {
		_, err = c.WriteMessages(msgs...)
	} else {
		_, err = c.WriteCompressedMessages(codec, msgs...)
	}
	NoErr(err, "write messages")
}

func readN(bs, t string, n int) []kafka.Message {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, Topic: t, Partition: 0, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := []kafka.Message{}
	for len(out) < n {
		Step(fmt.Sprintf("reading %s (%d of %d)", t, len(out), n))
		m, err := r.ReadMessage(cx)
		if err != nil {
			Failf("consumed %d of %d records: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func metadataAutocreate(bs string) {
	t := Topic(client, "meta")
	c, err := kafka.Dial("tcp", bs)
	NoErr(err, "dial")
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	ps, err := c.ReadPartitions(t) // Metadata v1 auto-creates
	NoErr(err, "read partitions of a fresh topic")
	Check(len(ps) >= 1, "auto-created topic has no partitions")
	Eq(net.JoinHostPort(ps[0].Leader.Host, strconv.Itoa(ps[0].Leader.Port)), bs, "leader address")
	write(bs, t, nil, values(1, "v"))
	l := leader(bs, t, 0)
	defer l.Close()
	lo, hi, err := l.ReadOffsets()
	NoErr(err, "read offsets")
	Eq([]int64{lo, hi}, []int64{0, 1}, "watermarks")
}

func roundtrip(codec kafka.CompressionCodec, name string) Scenario {
	return func(bs string) {
		t := Topic(client, "rt-"+name)
		recs := SampleRecords(40)
		msgs := []kafka.Message{}
		for _, r := range recs {
			msgs = append(msgs, kafka.Message{Key: r.Key, Value: r.Value})
		}
		write(bs, t, codec, msgs)
		got := readN(bs, t, 40)
		for i, m := range got {
			Eq(m.Offset, int64(i), fmt.Sprintf("offset of record %d", i))
			Eq(len(m.Key) == 0, len(recs[i].Key) == 0, fmt.Sprintf("key presence of record %d", i))
			Eq(string(m.Key), string(recs[i].Key), fmt.Sprintf("key of record %d", i))
			Eq(string(m.Value), string(recs[i].Value), fmt.Sprintf("value of record %d", i))
			Check(time.Since(m.Time) < 5*time.Minute && time.Until(m.Time) < 5*time.Minute,
				"timestamp of record %d not near now: %v", i, m.Time)
		}
		l := leader(bs, t, 0)
		defer l.Close()
		lo, hi, err := l.ReadOffsets()
		NoErr(err, "read offsets")
		Eq([]int64{lo, hi}, []int64{0, 40}, "watermarks")
	}
}

func largeMessages(bs string) {
	t := Topic(client, "large")
	near := make([]byte, 1000000)
	for i := range near {
		near[i] = byte(i)
	}
	write(bs, t, nil, []kafka.Message{{Value: near}})
	c := leader(bs, t, 0)
	_, err := c.WriteMessages(kafka.Message{Value: make([]byte, 1100000)})
	c.Close()
	Check(err != nil, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
	Check(err == kafka.MessageSizeTooLarge, "error for an oversized record: want MESSAGE_TOO_LARGE, got %v", err)
	write(bs, t, nil, values(1, "after"))
	got := readN(bs, t, 2)
	Eq(got[0].Value, near, "near-limit value")
	Eq([]interface{}{got[1].Offset, string(got[1].Value)}, []interface{}{int64(1), "after0"}, "record after the rejected one")
}

func commitResume(bs string) {
	t := Topic(client, "commit")
	write(bs, t, nil, values(10, "v"))
	g := Group(client, "commit")
	mk := func() *kafka.Reader {
		return kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, GroupID: g, Topic: t, MinBytes: 1, MaxBytes: 10 << 20,
			MaxWait: 200 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 10 * time.Second})
	}
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := mk()
	var last kafka.Message
	for i := 0; i < 5; i++ {
		Step(fmt.Sprintf("fetching record %d", i))
		m, err := r.FetchMessage(cx)
		NoErr(err, "fetch message")
		last = m
	}
	NoErr(r.CommitMessages(cx, last), "commit")
	NoErr(r.Close(), "close")
	r = mk()
	defer r.Close()
	m, err := r.ReadMessage(cx)
	NoErr(err, "read after resume")
	Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(5), "v5"}, "first record after resume")
}

func adminTopics(bs string) {
	t := Topic(client, "adm")
	c, err := kafka.Dial("tcp", bs)
	NoErr(err, "dial")
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	NoErr(c.CreateTopics(kafka.TopicConfig{Topic: t, NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "3600000"}}}), "create topics")
	// kafka-go 0.2.1's Conn.CreateTopics is idempotent by design: it reads the broker's
	// TOPIC_ALREADY_EXISTS (CreateTopics v0) and returns nil for it.
	NoErr(c.CreateTopics(kafka.TopicConfig{Topic: t, NumPartitions: 3, ReplicationFactor: 1}), "duplicate create")
	ps, err := c.ReadPartitions(t)
	NoErr(err, "read partitions")
	Eq(len(ps), 3, "partition count")
	NoErr(c.DeleteTopics(t), "delete topics")
	Eq(c.DeleteTopics(t), error(kafka.UnknownTopicOrPartition), "deleting a missing topic")
}

func offsetsForTimes(bs string) {
	t := Topic(client, "times")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	msgs := values(5, "v")
	for i := range msgs {
		msgs[i].Time = base.Add(time.Duration(i) * time.Second)
	}
	write(bs, t, nil, msgs)
	c := leader(bs, t, 0)
	defer c.Close()
	o, err := c.ReadOffset(base.Add(1500 * time.Millisecond))
	NoErr(err, "offset for time")
	Eq(o, int64(2), "offset for a time between records 1 and 2")
	o, err = c.ReadOffset(base)
	NoErr(err, "offset for time")
	Eq(o, int64(0), "offset for the first record's time")
	lo, hi, err := c.ReadOffsets()
	NoErr(err, "read offsets")
	Eq([]int64{lo, hi}, []int64{0, 5}, "earliest and latest")
	for i, m := range readN(bs, t, 5) {
		Eq(m.Time.UnixNano()/1e6, base.Add(time.Duration(i)*time.Second).UnixNano()/1e6, "record timestamp")
	}
}

func main() {
	Register("metadata_autocreate", metadataAutocreate)
	Register("roundtrip_none", roundtrip(nil, "none"))
	Register("roundtrip_gzip", roundtrip(gzip.NewCompressionCodec(), "gzip"))
	Register("roundtrip_snappy", roundtrip(snappy.NewCompressionCodec(), "snappy"))
	Register("roundtrip_lz4", roundtrip(lz4.NewCompressionCodec(), "lz4"))
	Register("large_messages", largeMessages)
	Register("commit_resume", commitResume)
	Register("admin_topics", adminTopics)
	Register("offsets_for_times", offsetsForTimes)
	Unsupported("roundtrip_zstd", "kafka-go 0.2.1 has no zstd codec")
	Unsupported("group_rebalance", "kafka-go 0.2.1's group Reader does not expose its assignment")
	Unsupported("group_consumer_protocol", "kafka-go 0.2.1 has no KIP-848 consumer")
	Unsupported("idempotent_producer", "kafka-go 0.2.1 has no idempotent producer")
	Unsupported("admin_configs", "kafka-go 0.2.1 has no config admin API")
	Unsupported("admin_create_partitions", "kafka-go 0.2.1 has no CreatePartitions API")
	Unsupported("admin_groups", "kafka-go 0.2.1 has no group admin API")
	Unsupported("delete_records", "kafka-go 0.2.1 has no DeleteRecords API")
	Unsupported("transactions", "kafka-go 0.2.1 has no transactional producer")
	Unsupported("transactions_consume_produce", "kafka-go 0.2.1 has no transactional producer")
	registerSecured()
	Main()
}
