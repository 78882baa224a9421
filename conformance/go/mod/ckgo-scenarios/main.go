// Command ckgo-scenarios runs the weir conformance scenarios with today's
// confluent-kafka-go v2 (cgo over the librdkafka it bundles as a static library;
// version pinned in ../go.mod).
package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	. "weirconf"
)

const client = "ckgo2"
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
	return subscribe(consumer(bs, g, kafka.ConfigMap{"partition.assignment.strategy": "range"}), t)
}

// subscribe joins the group; a rebalance callback tracks the assignment (in v2,
// Poll returns no rebalance events; the library assigns after the callback).
func subscribe(c *kafka.Consumer, t string) *member {
	m := &member{c: c, owned: map[int32]bool{}, got: map[int32]string{}}
	NoErr(m.c.Subscribe(t, func(c *kafka.Consumer, ev kafka.Event) error {
		incremental := c.GetRebalanceProtocol() == "COOPERATIVE"
		switch e := ev.(type) {
		case kafka.AssignedPartitions:
			if !incremental {
				m.owned = map[int32]bool{}
			}
			for _, p := range e.Partitions {
				m.owned[p.Partition] = true
			}
		case kafka.RevokedPartitions:
			if !incremental {
				m.owned = map[int32]bool{}
			}
			for _, p := range e.Partitions {
				delete(m.owned, p.Partition)
			}
		}
		return nil
	}), "subscribe")
	return m
}

func (m *member) pump() {
	switch e := m.c.Poll(100).(type) {
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

func adminGroups(bs string) {
	t := Topic(client, "admgrp")
	p := producer(bs, nil)
	defer p.Close()
	expectDelivered(produce(p, t, Values(3, "x"), 0, nil), 0)
	g := Group(client, "adm")
	c := consumer(bs, g, nil)
	NoErr(c.Subscribe(t, nil), "subscribe")
	n := 0
	WaitUntil(func() bool {
		if m, ok := c.Poll(100).(*kafka.Message); ok {
			n++
			if n == 3 {
				_, err := c.CommitMessage(m)
				NoErr(err, "commit")
			}
		}
		return n == 3
	}, 30*time.Second, "3 records consumed")
	a := admin(bs)
	defer a.Close()
	WaitUntil(func() bool {
		c.Poll(50)
		l, err := a.ListConsumerGroups(ctx())
		if err != nil {
			return false
		}
		for _, x := range l.Valid {
			if x.GroupID == g {
				return x.State == kafka.ConsumerGroupStateStable && !x.IsSimpleConsumerGroup
			}
		}
		return false
	}, 10*time.Second, "group listed as Stable")
	d, err := a.DescribeConsumerGroups(ctx(), []string{g})
	NoErr(err, "describe groups")
	gd := d.ConsumerGroupDescriptions[0]
	Eq([]interface{}{gd.Error.Code(), gd.State, len(gd.Members)}, []interface{}{kafka.ErrNoError, kafka.ConsumerGroupStateStable, 1}, "describe (error, state, members)")
	Eq(len(gd.Members[0].Assignment.TopicPartitions), 1, "member's assigned partitions")
	o, err := a.ListConsumerGroupOffsets(ctx(), []kafka.ConsumerGroupTopicPartitions{{Group: g, Partitions: []kafka.TopicPartition{{Topic: &t, Partition: 0}}}})
	NoErr(err, "list group offsets")
	Eq(int64(o.ConsumerGroupsTopicPartitions[0].Partitions[0].Offset), int64(3), "committed offset via admin")
	del, err := a.DeleteConsumerGroups(ctx(), []string{g})
	NoErr(err, "delete groups")
	Eq(del.ConsumerGroupResults[0].Error.Code(), kafka.ErrNonEmptyGroup, "deleting an active group")
	NoErr(c.Close(), "close consumer")
	WaitUntil(func() bool {
		d, err := a.DescribeConsumerGroups(ctx(), []string{g})
		return err == nil && d.ConsumerGroupDescriptions[0].State == kafka.ConsumerGroupStateEmpty
	}, 10*time.Second, "state Empty after the member left")
	del, err = a.DeleteConsumerGroups(ctx(), []string{g})
	NoErr(err, "delete groups")
	Eq(del.ConsumerGroupResults[0].Error.Code(), kafka.ErrNoError, "deleting the empty group")
	del, err = a.DeleteConsumerGroups(ctx(), []string{g})
	NoErr(err, "delete groups")
	Eq(del.ConsumerGroupResults[0].Error.Code(), kafka.ErrGroupIDNotFound, "deleting a deleted group")
}

func deleteRecords(bs string) {
	t := Topic(client, "delrec")
	p := producer(bs, nil)
	defer p.Close()
	expectDelivered(produce(p, t, Values(10, "v"), 0, nil), 0)
	a := admin(bs)
	defer a.Close()
	r, err := a.DeleteRecords(ctx(), []kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: 4}})
	NoErr(err, "delete records")
	NoErr(r.DeleteRecordsResults[0].TopicPartition.Error, "delete records result")
	Eq(int64(r.DeleteRecordsResults[0].DeletedRecords.LowWatermark), int64(4), "low watermark after delete")
	c := consumer(bs, Group(client, "wm"), nil)
	defer c.Close()
	lo, hi, err := c.QueryWatermarkOffsets(t, 0, T)
	NoErr(err, "watermarks")
	Eq([]int64{lo, hi}, []int64{4, 10}, "watermarks after delete")
	got := readN(bs, t, 6, nil)
	Eq(int64(got[0].TopicPartition.Offset), int64(4), "first readable offset")
	r, err = a.DeleteRecords(ctx(), []kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: 11}})
	NoErr(err, "delete records")
	Eq(code(r.DeleteRecordsResults[0].TopicPartition.Error), kafka.ErrOffsetOutOfRange, "deleting beyond the high watermark")
}

func txProducer(bs, id string) *kafka.Producer {
	p := producer(bs, kafka.ConfigMap{"transactional.id": id, "transaction.timeout.ms": 30000})
	NoErr(p.InitTransactions(ctx()), "init transactions")
	return p
}

func transactions(bs string) {
	t := Topic(client, "txn")
	p := txProducer(bs, "tx-"+t)
	defer p.Close()
	for _, b := range []struct {
		prefix string
		n      int
		commit bool
	}{{"c", 5, true}, {"a", 5, false}, {"z", 1, true}} {
		NoErr(p.BeginTransaction(), "begin "+b.prefix)
		for i, r := range produce(p, t, Values(b.n, b.prefix), 0, nil) {
			NoErr(r.Error, fmt.Sprintf("delivery of %s%d", b.prefix, i))
		}
		if b.commit {
			NoErr(p.CommitTransaction(ctx()), "commit "+b.prefix)
		} else {
			NoErr(p.AbortTransaction(ctx()), "abort "+b.prefix)
		}
	}
	got := readN(bs, t, 6, kafka.ConfigMap{"isolation.level": "read_committed"})
	vals := []string{}
	for _, m := range got {
		vals = append(vals, string(m.Value))
	}
	Eq(vals, []string{"c0", "c1", "c2", "c3", "c4", "z0"}, "read_committed values")
	c := consumer(bs, Group(client, "wm"), nil)
	defer c.Close()
	_, hi, err := c.QueryWatermarkOffsets(t, 0, T)
	NoErr(err, "watermarks")
	Eq(hi, int64(14), "high watermark (11 records and 3 markers)")
}

// groupConsumerProtocol: KIP-848 (group.protocol=consumer, ConsumerGroupHeartbeat):
// the broker assigns; one member gets all 4 partitions, a second joins and they
// split 2/2, the second leaves and the first gets all 4 back.
func groupConsumerProtocol(bs string) {
	t := Topic(client, "g848")
	createTopic(bs, t, 4, nil).Close()
	g := Group(client, "g848")
	mk := func() *member {
		c, err := kafka.NewConsumer(conf(bs, kafka.ConfigMap{"group.id": g, "group.protocol": "consumer",
			"enable.auto.commit": false, "auto.offset.reset": "earliest"}))
		NoErr(err, "new consumer")
		return subscribe(c, t)
	}
	a := mk()
	defer a.c.Close()
	WaitUntil(func() bool { a.pump(); return len(a.owned) == 4 }, 30*time.Second, "member a to own 4 partitions")
	b := mk()
	WaitUntil(func() bool { a.pump(); b.pump(); return len(a.owned) == 2 && len(b.owned) == 2 }, 30*time.Second, "a 2/2 split")
	ad := admin(bs)
	d, err := ad.DescribeConsumerGroups(ctx(), []string{g})
	ad.Close()
	NoErr(err, "describe groups")
	Eq(d.ConsumerGroupDescriptions[0].Type, kafka.ConsumerGroupTypeConsumer, "group type")
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

// consumeTransformProduce: exactly-once consume-transform-produce. A group member
// reads 10 input records; for each half a transaction produces the transformed
// records and SendOffsetsToTransaction commits the input offsets in it; the first
// half is aborted and redone, the second committed. read_committed sees each
// output once and the group's committed offset is 10.
func consumeTransformProduce(bs string) {
	in, out := Topic(client, "eos-in"), Topic(client, "eos-out")
	p := producer(bs, nil)
	expectDelivered(produce(p, in, Values(10, "i"), 0, nil), 0)
	p.Close()
	g := Group(client, "eos")
	c := consumer(bs, g, kafka.ConfigMap{"isolation.level": "read_committed"})
	defer c.Close()
	NoErr(c.Subscribe(in, nil), "subscribe")
	var msgs []*kafka.Message
	WaitUntil(func() bool {
		if m, ok := c.Poll(100).(*kafka.Message); ok {
			msgs = append(msgs, m)
		}
		return len(msgs) == 10
	}, 30*time.Second, "10 input records")
	tp := txProducer(bs, "tx-"+out)
	defer tp.Close()
	step := func(from, to int, commit bool) {
		NoErr(tp.BeginTransaction(), "begin")
		recs := []Record{}
		for _, m := range msgs[from:to] {
			recs = append(recs, Record{Value: []byte("o" + string(m.Value)[1:])})
		}
		for _, r := range produce(tp, out, recs, 0, nil) {
			NoErr(r.Error, "delivery")
		}
		meta, err := c.GetConsumerGroupMetadata()
		NoErr(err, "group metadata")
		NoErr(tp.SendOffsetsToTransaction(ctx(), []kafka.TopicPartition{{Topic: &in, Partition: 0, Offset: kafka.Offset(to)}}, meta), "send offsets to transaction")
		if commit {
			NoErr(tp.CommitTransaction(ctx()), "commit")
		} else {
			NoErr(tp.AbortTransaction(ctx()), "abort")
		}
	}
	step(0, 5, false)
	com, err := c.Committed([]kafka.TopicPartition{{Topic: &in, Partition: 0}}, T)
	NoErr(err, "committed")
	Check(int64(com[0].Offset) < 0, "an aborted transaction's offsets were committed: %v", com[0].Offset)
	step(0, 5, true)
	step(5, 10, true)
	com, err = c.Committed([]kafka.TopicPartition{{Topic: &in, Partition: 0}}, T)
	NoErr(err, "committed")
	Eq(int64(com[0].Offset), int64(10), "committed input offset")
	got := readN(bs, out, 10, kafka.ConfigMap{"isolation.level": "read_committed"})
	for i, m := range got {
		Eq(string(m.Value), fmt.Sprintf("o%d", i), "output value in order, once")
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
	Register("admin_groups", adminGroups)
	Register("delete_records", deleteRecords)
	Register("transactions", transactions)
	Register("group_consumer_protocol", groupConsumerProtocol)
	Register("transactions_consume_produce", consumeTransformProduce)
	registerSecured()
	Main()
}
