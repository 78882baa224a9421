// Command ckgo-scenarios runs the weir conformance scenarios with confluent-kafka-go
// (Debian's golang-github-confluentinc-confluent-kafka-go-dev 0.11.6, cgo over the
// system librdkafka 2.0.2).
package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
	. "weirconf"
)

const client = "ckgo"
const T = 15000 // ms: timeout of a single client call

func conf(bs string, extra kafka.ConfigMap) *kafka.ConfigMap {
	c := kafka.ConfigMap{"bootstrap.servers": bs, "socket.timeout.ms": 10000}
	for k, v := range extra {
		c[k] = v
	}
	return &c
}

func producer(bs string, extra kafka.ConfigMap) *kafka.Producer {
	e := kafka.ConfigMap{"linger.ms": 20, "message.timeout.ms": 15000}
	for k, v := range extra {
		e[k] = v
	}
	p, err := kafka.NewProducer(conf(bs, e))
	NoErr(err, "new producer")
	return p
}

func consumer(bs, group string, extra kafka.ConfigMap) *kafka.Consumer {
	e := kafka.ConfigMap{"group.id": group, "enable.auto.commit": false, "auto.offset.reset": "earliest",
		"session.timeout.ms": 10000, "heartbeat.interval.ms": 500}
	for k, v := range extra {
		e[k] = v
	}
	c, err := kafka.NewConsumer(conf(bs, e))
	NoErr(err, "new consumer")
	return c
}

func admin(bs string) *kafka.AdminClient {
	a, err := kafka.NewAdminClient(conf(bs, nil))
	NoErr(err, "new admin client")
	return a
}

func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	time.AfterFunc(16*time.Second, cancel)
	return c
}

// produce sends records to one partition and returns the delivery reports in order.
func produce(p *kafka.Producer, t string, recs []Record, partition int32, ts []time.Time) []kafka.TopicPartition {
	ch := make(chan kafka.Event, len(recs))
	for i, r := range recs {
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &t, Partition: partition}, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: string(h[0]), Value: h[1]})
		}
		if ts != nil {
			m.Timestamp = ts[i]
		}
		NoErr(p.Produce(m, ch), "produce")
	}
	out := make([]kafka.TopicPartition, len(recs))
	byOffsetOrder := []kafka.TopicPartition{}
	timeout := time.After(20 * time.Second)
	for len(byOffsetOrder) < len(recs) {
		select {
		case e := <-ch:
			byOffsetOrder = append(byOffsetOrder, e.(*kafka.Message).TopicPartition)
		case <-timeout:
			Failf("%d of %d delivery reports within 20s", len(byOffsetOrder), len(recs))
		}
	}
	copy(out, byOffsetOrder)
	return out
}

func expectDelivered(reps []kafka.TopicPartition, first int64) {
	for i, r := range reps {
		NoErr(r.Error, fmt.Sprintf("delivery of record %d", i))
		Eq(int64(r.Offset), first+int64(i), fmt.Sprintf("offset of record %d", i))
	}
}

func readN(bs, t string, n int, extra kafka.ConfigMap) []*kafka.Message {
	c := consumer(bs, Group(client, "read"), extra)
	defer c.Close()
	NoErr(c.Assign([]kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: kafka.OffsetBeginning}}), "assign")
	out := []*kafka.Message{}
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		switch e := c.Poll(200).(type) {
		case *kafka.Message:
			NoErr(e.TopicPartition.Error, "consume")
			out = append(out, e)
		case kafka.Error:
			if e.Code() != kafka.ErrPartitionEOF {
				Failf("consume error: %v", e)
			}
		}
	}
	Check(len(out) == n, "consumed %d of %d records within 20s", len(out), n)
	return out
}

func code(err error) kafka.ErrorCode {
	if err == nil {
		return kafka.ErrNoError
	}
	if e, ok := err.(kafka.Error); ok {
		return e.Code()
	}
	Failf("unexpected error %T: %v", err, err)
	return 0
}

func createTopic(bs, t string, n int, cfg map[string]string) *kafka.AdminClient {
	a := admin(bs)
	res, err := a.CreateTopics(ctx(), []kafka.TopicSpecification{{Topic: t, NumPartitions: n, ReplicationFactor: 1, Config: cfg}},
		kafka.SetAdminOperationTimeout(10*time.Second))
	NoErr(err, "create topics")
	Eq(res[0].Error.Code(), kafka.ErrNoError, "create topic result")
	WaitUntil(func() bool {
		md, err := a.GetMetadata(&t, false, T)
		return err == nil && len(md.Topics[t].Partitions) == n
	}, 10*time.Second, "topic in metadata")
	return a
}

func metadataAutocreate(bs string) {
	t := Topic(client, "meta")
	p := producer(bs, nil)
	defer p.Close()
	md, err := p.GetMetadata(nil, true, T)
	NoErr(err, "metadata")
	found := false
	for _, b := range md.Brokers {
		found = found || fmt.Sprintf("%s:%d", b.Host, b.Port) == bs
	}
	Check(found, "metadata brokers %v do not include %s", md.Brokers, bs)
	_, exists := md.Topics[t]
	Check(!exists, "fresh topic already exists")
	expectDelivered(produce(p, t, Values(1, "v"), 0, nil), 0)
	md, err = p.GetMetadata(&t, false, T)
	NoErr(err, "topic metadata")
	Eq(md.Topics[t].Error.Code(), kafka.ErrNoError, "auto-created topic error")
	Check(len(md.Topics[t].Partitions) >= 1, "auto-created topic has no partitions")
}

func roundtrip(codec string) Scenario {
	return func(bs string) {
		t := Topic(client, "rt-"+codec)
		recs := SampleRecords(40)
		p := producer(bs, kafka.ConfigMap{"compression.codec": codec, "linger.ms": 50})
		defer p.Close()
		expectDelivered(produce(p, t, recs, 0, nil), 0)
		got := readN(bs, t, len(recs), nil)
		for i, m := range got {
			Eq(int64(m.TopicPartition.Offset), int64(i), fmt.Sprintf("offset of record %d", i))
			hs := [][2][]byte{}
			for _, h := range m.Headers {
				hs = append(hs, [2][]byte{[]byte(h.Key), h.Value})
			}
			CheckRecordBack(i, recs[i], m.Key, m.Value, hs, false)
			Eq(m.TimestampType, kafka.TimestampCreateTime, "timestamp type")
		}
		c := consumer(bs, Group(client, "wm"), nil)
		defer c.Close()
		lo, hi, err := c.QueryWatermarkOffsets(t, 0, T)
		NoErr(err, "watermarks")
		Eq([]int64{lo, hi}, []int64{0, 40}, "watermarks")
	}
}

func largeMessages(bs string) {
	t := Topic(client, "large")
	p := producer(bs, kafka.ConfigMap{"message.max.bytes": 10000000, "compression.codec": "none"})
	defer p.Close()
	near := make([]byte, 1000000)
	for i := range near {
		near[i] = byte(i)
	}
	expectDelivered(produce(p, t, []Record{{Value: near}}, 0, nil), 0)
	rep := produce(p, t, []Record{{Value: make([]byte, 1100000)}}, 0, nil)
	Check(rep[0].Error != nil, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
	Eq(code(rep[0].Error), kafka.ErrMsgSizeTooLarge, "error for an oversized record")
	expectDelivered(produce(p, t, Values(1, "after"), 0, nil), 1)
	got := readN(bs, t, 2, nil)
	Eq(got[0].Value, near, "near-limit value")
	Eq(string(got[1].Value), "after0", "value after the rejected record")
}

type member struct {
	c     *kafka.Consumer
	owned map[int32]bool
	got   map[int32]string
}

func newMember(bs, g, t string) *member {
	m := &member{c: consumer(bs, g, kafka.ConfigMap{"go.application.rebalance.enable": true,
		"partition.assignment.strategy": "range"}), owned: map[int32]bool{}, got: map[int32]string{}}
	NoErr(m.c.Subscribe(t, nil), "subscribe")
	return m
}

func (m *member) pump() {
	switch e := m.c.Poll(100).(type) {
	case kafka.AssignedPartitions:
		m.owned = map[int32]bool{}
		for _, p := range e.Partitions {
			m.owned[p.Partition] = true
		}
		m.c.Assign(e.Partitions)
	case kafka.RevokedPartitions:
		m.owned = map[int32]bool{}
		m.c.Unassign()
	case *kafka.Message:
		Check(m.owned[e.TopicPartition.Partition], "a member got partition %d it does not own", e.TopicPartition.Partition)
		m.got[e.TopicPartition.Partition] = string(e.Value)
	}
}

func groupRebalance(bs string) {
	t := Topic(client, "grp")
	createTopic(bs, t, 4, nil).Close()
	g := Group(client, "reb")
	a := newMember(bs, g, t)
	defer a.c.Close()
	WaitUntil(func() bool { a.pump(); return len(a.owned) == 4 }, 30*time.Second, "member a to own 4 partitions")
	b := newMember(bs, g, t)
	WaitUntil(func() bool { a.pump(); b.pump(); return len(a.owned) == 2 && len(b.owned) == 2 }, 40*time.Second, "a 2/2 split")
	all := []int{}
	for _, m := range []*member{a, b} {
		for p := range m.owned {
			all = append(all, int(p))
		}
	}
	sort.Ints(all)
	Eq(all, []int{0, 1, 2, 3}, "partitions owned by the two members")
	p := producer(bs, nil)
	defer p.Close()
	for i := int32(0); i < 4; i++ {
		expectDelivered(produce(p, t, []Record{{Value: []byte(fmt.Sprintf("p%d", i))}}, i, nil), 0)
	}
	WaitUntil(func() bool { a.pump(); b.pump(); return len(a.got)+len(b.got) >= 4 }, 20*time.Second, "4 records consumed")
	for _, m := range []*member{a, b} {
		for part, v := range m.got {
			Eq(v, fmt.Sprintf("p%d", part), "value")
		}
	}
	NoErr(b.c.Close(), "close b")
	WaitUntil(func() bool { a.pump(); return len(a.owned) == 4 }, 30*time.Second, "member a to get all 4 partitions back")
}

func commitResume(bs string) {
	t := Topic(client, "commit")
	p := producer(bs, nil)
	defer p.Close()
	expectDelivered(produce(p, t, Values(10, "v"), 0, nil), 0)
	g := Group(client, "commit")
	c := consumer(bs, g, nil)
	NoErr(c.Subscribe(t, nil), "subscribe")
	var msgs []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(msgs) < 5 && time.Now().Before(deadline) {
		if m, ok := c.Poll(200).(*kafka.Message); ok {
			msgs = append(msgs, m)
		}
	}
	Check(len(msgs) == 5, "consumed %d of 5", len(msgs))
	_, err := c.CommitMessage(msgs[4])
	NoErr(err, "commit")
	com, err := c.Committed([]kafka.TopicPartition{{Topic: &t, Partition: 0}}, T)
	NoErr(err, "committed")
	Eq(int64(com[0].Offset), int64(5), "committed offset")
	c.Close()
	c2 := consumer(bs, g, nil)
	defer c2.Close()
	NoErr(c2.Subscribe(t, nil), "subscribe")
	msgs = nil
	deadline = time.Now().Add(30 * time.Second)
	for len(msgs) < 5 && time.Now().Before(deadline) {
		if m, ok := c2.Poll(200).(*kafka.Message); ok {
			msgs = append(msgs, m)
		}
	}
	Check(len(msgs) == 5, "consumed %d of 5 after resume", len(msgs))
	for i, m := range msgs {
		Eq(int64(m.TopicPartition.Offset), int64(5+i), "offset after resume")
		Eq(string(m.Value), fmt.Sprintf("v%d", 5+i), "value after resume")
	}
}

func idempotent(bs string) {
	t := Topic(client, "idem")
	p := producer(bs, kafka.ConfigMap{"enable.idempotence": true, "acks": "all"})
	defer p.Close()
	expectDelivered(produce(p, t, Values(200, "v"), 0, nil), 0)
	for i, m := range readN(bs, t, 200, nil) {
		Eq(string(m.Value), fmt.Sprintf("v%d", i), "value in order")
	}
}

func adminTopics(bs string) {
	t := Topic(client, "adm")
	a := createTopic(bs, t, 3, map[string]string{"retention.ms": "3600000"})
	defer a.Close()
	res, err := a.CreateTopics(ctx(), []kafka.TopicSpecification{{Topic: t, NumPartitions: 3, ReplicationFactor: 1}})
	NoErr(err, "create topics")
	Eq(res[0].Error.Code(), kafka.ErrTopicAlreadyExists, "duplicate create")
	dres, err := a.DeleteTopics(ctx(), []string{t})
	NoErr(err, "delete topics")
	Eq(dres[0].Error.Code(), kafka.ErrNoError, "delete result")
	WaitUntil(func() bool {
		md, err := a.GetMetadata(nil, true, T)
		_, ok := md.Topics[t]
		return err == nil && !ok
	}, 10*time.Second, "deleted topic to disappear")
	dres, err = a.DeleteTopics(ctx(), []string{t})
	NoErr(err, "delete topics")
	Eq(dres[0].Error.Code(), kafka.ErrUnknownTopicOrPart, "deleting a missing topic")
}

func adminConfigs(bs string) {
	t := Topic(client, "cfg")
	a := createTopic(bs, t, 1, map[string]string{"retention.ms": "3600000"})
	defer a.Close()
	describe := func() map[string]kafka.ConfigEntryResult {
		r, err := a.DescribeConfigs(ctx(), []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: t}})
		NoErr(err, "describe configs")
		Eq(r[0].Error.Code(), kafka.ErrNoError, "describe configs result")
		return r[0].Config
	}
	cfg := describe()
	Eq(cfg["retention.ms"].Value, "3600000", "retention.ms at creation")
	Eq(cfg["cleanup.policy"].Value, "delete", "default cleanup.policy")
	r, err := a.AlterConfigs(ctx(), []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: t,
		Config: []kafka.ConfigEntry{{Name: "retention.ms", Value: "123456", Operation: kafka.AlterOperationSet}}}})
	NoErr(err, "alter configs")
	Eq(r[0].Error.Code(), kafka.ErrNoError, "alter result")
	Eq(describe()["retention.ms"].Value, "123456", "retention.ms after alter")
	r, err = a.AlterConfigs(ctx(), []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: t,
		Config: []kafka.ConfigEntry{{Name: "retention.ms", Value: "nope", Operation: kafka.AlterOperationSet}}}})
	NoErr(err, "alter configs")
	Eq(r[0].Error.Code(), kafka.ErrInvalidConfig, "bad config value")
}

func adminCreatePartitions(bs string) {
	t := Topic(client, "parts")
	a := createTopic(bs, t, 1, nil)
	defer a.Close()
	r, err := a.CreatePartitions(ctx(), []kafka.PartitionsSpecification{{Topic: t, IncreaseTo: 3}})
	NoErr(err, "create partitions")
	Eq(r[0].Error.Code(), kafka.ErrNoError, "create partitions result")
	WaitUntil(func() bool {
		md, err := a.GetMetadata(&t, false, T)
		return err == nil && len(md.Topics[t].Partitions) == 3
	}, 10*time.Second, "3 partitions")
	p := producer(bs, nil)
	defer p.Close()
	expectDelivered(produce(p, t, Values(1, "p2-"), 2, nil), 0)
	r, err = a.CreatePartitions(ctx(), []kafka.PartitionsSpecification{{Topic: t, IncreaseTo: 2}})
	NoErr(err, "create partitions")
	Eq(r[0].Error.Code(), kafka.ErrInvalidPartitions, "shrinking partitions")
}

func offsetsForTimes(bs string) {
	t := Topic(client, "times")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	ts := []time.Time{}
	for i := 0; i < 5; i++ {
		ts = append(ts, base.Add(time.Duration(i)*time.Second))
	}
	p := producer(bs, nil)
	defer p.Close()
	expectDelivered(produce(p, t, Values(5, "v"), 0, ts), 0)
	c := consumer(bs, Group(client, "times"), nil)
	defer c.Close()
	q := func(d time.Duration) int64 {
		r, err := c.OffsetsForTimes([]kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: kafka.Offset(base.Add(d).UnixNano() / 1e6)}}, T)
		NoErr(err, "offsets for times")
		return int64(r[0].Offset)
	}
	Eq(q(1500*time.Millisecond), int64(2), "offset for a time between records 1 and 2")
	Eq(q(0), int64(0), "offset for the first record's time")
	Eq(q(10*time.Second), int64(-1), "offset for a time after the last record")
	got := readN(bs, t, 5, nil)
	for i, m := range got {
		Eq(m.Timestamp.UnixNano()/1e6, ts[i].UnixNano()/1e6, "record timestamp")
	}
}

func main() {
	Register("metadata_autocreate", metadataAutocreate)
	for _, c := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		Register("roundtrip_"+c, roundtrip(c))
	}
	Register("large_messages", largeMessages)
	Register("group_rebalance", groupRebalance)
	Register("commit_resume", commitResume)
	Register("idempotent_producer", idempotent)
	Register("admin_topics", adminTopics)
	Register("admin_configs", adminConfigs)
	Register("admin_create_partitions", adminCreatePartitions)
	Register("offsets_for_times", offsetsForTimes)
	Unsupported("admin_groups", "confluent-kafka-go 0.11.6 has no consumer-group admin API")
	Unsupported("delete_records", "confluent-kafka-go 0.11.6 has no DeleteRecords API")
	Unsupported("transactions", "confluent-kafka-go 0.11.6 has no transactional producer API")
	Unsupported("transactions_consume_produce", "confluent-kafka-go 0.11.6 has no transactional producer API")
	Unsupported("group_consumer_protocol", "confluent-kafka-go 0.11.6 has no group.protocol setting (KIP-848)")
	registerSecured()
	Main()
}
