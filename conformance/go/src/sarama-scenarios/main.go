// Command sarama-scenarios runs the weir conformance scenarios with Shopify/sarama
// (Debian's golang-github-shopify-sarama-dev 1.22.1, pure Go protocol code).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	. "weirconf"
)

const client = "sarama"

func config() *sarama.Config {
	if os.Getenv("SARAMA_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags)
	}
	c := sarama.NewConfig()
	c.ClientID = "weir-conformance"
	c.Version = sarama.V2_1_0_0 // record batches (v2), zstd, Produce v7 / Fetch v10
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 15 * time.Second
	c.Net.WriteTimeout = 15 * time.Second
	c.Metadata.Retry.Max = 5
	c.Metadata.Retry.Backoff = 200 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Timeout = 10 * time.Second
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	// With Retention 0 sarama 1.22 commits with OffsetCommit v1, which Kafka 4.0
	// removed (KIP-896; weir still serves it). A retention makes it use v2.
	c.Consumer.Offsets.Retention = 24 * time.Hour
	c.Consumer.Group.Session.Timeout = 10 * time.Second
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	c.Admin.Timeout = 10 * time.Second
	return c
}

func kerr(err error) sarama.KError {
	switch e := err.(type) {
	case nil:
		return sarama.ErrNoError
	case sarama.KError:
		return e
	case *sarama.TopicError:
		return e.Err
	case *sarama.TopicPartitionError:
		return e.Err
	case sarama.ProducerErrors:
		if len(e) > 0 {
			return kerr(e[0].Err)
		}
	case *sarama.ProducerError:
		return kerr(e.Err)
	}
	Failf("unexpected error type %T: %v", err, err)
	return 0
}

func syncProducer(bs string, mod func(*sarama.Config)) sarama.SyncProducer {
	c := config()
	if mod != nil {
		mod(c)
	}
	p, err := sarama.NewSyncProducer([]string{bs}, c)
	NoErr(err, "new producer")
	return p
}

func admin(bs string) sarama.ClusterAdmin {
	a, err := sarama.NewClusterAdmin([]string{bs}, config())
	NoErr(err, "new cluster admin")
	return a
}

func toMsgs(t string, recs []Record) []*sarama.ProducerMessage {
	out := []*sarama.ProducerMessage{}
	for _, r := range recs {
		m := &sarama.ProducerMessage{Topic: t, Partition: 0}
		if r.Key != nil {
			m.Key = sarama.ByteEncoder(r.Key)
		}
		if r.Value != nil {
			m.Value = sarama.ByteEncoder(r.Value)
		}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: h[0], Value: h[1]})
		}
		out = append(out, m)
	}
	return out
}

func send(p sarama.SyncProducer, t string, recs []Record, partition int32) []int64 {
	msgs := toMsgs(t, recs)
	for _, m := range msgs {
		m.Partition = partition
	}
	NoErr(p.SendMessages(msgs), "produce")
	offs := []int64{}
	for _, m := range msgs {
		offs = append(offs, m.Offset)
	}
	return offs
}

func readN(bs, t string, partition int32, n int, mod func(*sarama.Config)) []*sarama.ConsumerMessage {
	c := config()
	if mod != nil {
		mod(c)
	}
	cons, err := sarama.NewConsumer([]string{bs}, c)
	NoErr(err, "new consumer")
	defer cons.Close()
	pc, err := cons.ConsumePartition(t, partition, sarama.OffsetOldest)
	NoErr(err, "consume partition")
	defer pc.Close()
	out := []*sarama.ConsumerMessage{}
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case e := <-pc.Errors():
			Failf("consume error: %v", e)
		case <-timeout:
			Failf("consumed %d of %d records within 20s", len(out), n)
		}
	}
	return out
}

func metadataAutocreate(bs string) {
	t := Topic(client, "meta")
	c, err := sarama.NewClient([]string{bs}, config())
	NoErr(err, "new client")
	defer c.Close()
	found := false
	for _, b := range c.Brokers() {
		found = found || b.Addr() == bs
	}
	Check(found, "metadata brokers do not include %s", bs)
	topics, err := c.Topics()
	NoErr(err, "topics")
	for _, x := range topics {
		Check(x != t, "fresh topic already exists")
	}
	parts, err := c.Partitions(t) // Metadata with auto-creation
	NoErr(err, "partitions of an auto-created topic")
	Check(len(parts) >= 1, "auto-created topic has no partitions")
	leader, err := c.Leader(t, 0)
	NoErr(err, "leader of partition 0")
	Eq(leader.Addr(), bs, "leader address")
	p := syncProducer(bs, nil)
	defer p.Close()
	Eq(send(p, t, Values(1, "v"), 0), []int64{0}, "offset of the first record")
}

func roundtrip(codec sarama.CompressionCodec, name string) Scenario {
	return func(bs string) {
		t := Topic(client, "rt-"+name)
		recs := SampleRecords(40)
		p := syncProducer(bs, func(c *sarama.Config) { c.Producer.Compression = codec })
		defer p.Close()
		Eq(send(p, t, recs, 0), Seq(0, 40), "delivered offsets")
		got := readN(bs, t, 0, 40, nil)
		for i, m := range got {
			Eq(m.Offset, int64(i), fmt.Sprintf("offset of record %d", i))
			hs := [][2][]byte{}
			for _, h := range m.Headers {
				hs = append(hs, [2][]byte{[]byte(h.Key), h.Value})
			}
			CheckRecordBack(i, recs[i], m.Key, m.Value, hs, false)
			Check(time.Since(m.Timestamp) < 5*time.Minute && time.Until(m.Timestamp) < 5*time.Minute,
				"timestamp of record %d not near now: %v", i, m.Timestamp)
		}
	}
}

func largeMessages(bs string) {
	t := Topic(client, "large")
	p := syncProducer(bs, func(c *sarama.Config) {
		c.Producer.MaxMessageBytes = 10000000
		c.Producer.Retry.Max = 0
	})
	defer p.Close()
	near := make([]byte, 1000000)
	for i := range near {
		near[i] = byte(i)
	}
	Eq(send(p, t, []Record{{Value: near}}, 0), []int64{0}, "near-limit record offset")
	_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: t, Partition: 0, Value: sarama.ByteEncoder(make([]byte, 1100000))})
	Check(err != nil, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
	Eq(kerr(err), sarama.ErrMessageSizeTooLarge, "error for an oversized record")
	Eq(send(p, t, Values(1, "after"), 0), []int64{1}, "offset after the rejected record")
	got := readN(bs, t, 0, 2, nil)
	Eq(got[0].Value, near, "near-limit value")
	Eq(string(got[1].Value), "after0", "value after the rejected record")
}

type handler struct {
	mu    sync.Mutex
	owned []int32
	got   map[int32]string
	first map[int32]int64
}

func (h *handler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.owned = nil
	for _, ps := range s.Claims() {
		h.owned = append(h.owned, ps...)
	}
	sort.Slice(h.owned, func(i, j int) bool { return h.owned[i] < h.owned[j] })
	return nil
}
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.owned = nil
	h.mu.Unlock()
	return nil
}
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.got[m.Partition] = string(m.Value)
		if _, ok := h.first[m.Partition]; !ok {
			h.first[m.Partition] = m.Offset
		}
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}
func (h *handler) snapshot() ([]int32, map[int32]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := append([]int32{}, h.owned...)
	g := map[int32]string{}
	for k, v := range h.got {
		g[k] = v
	}
	return o, g
}

func startMember(bs, g, t string) (*handler, func()) {
	c := config()
	c.Consumer.Group.Rebalance.Strategy = sarama.BalanceStrategyRange
	cg, err := sarama.NewConsumerGroup([]string{bs}, g, c)
	NoErr(err, "new consumer group")
	h := &handler{got: map[int32]string{}, first: map[int32]int64{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{t}, h); err != nil {
				if sarama.Logger != nil {
					sarama.Logger.Printf("consume: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	go func() {
		for range cg.Errors() {
		}
	}()
	return h, func() {
		cancel()
		cg.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
}

func groupRebalance(bs string) {
	t := Topic(client, "grp")
	a := admin(bs)
	defer a.Close()
	NoErr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 4, ReplicationFactor: 1}, false), "create topic")
	g := Group(client, "reb")
	ha, stopA := startMember(bs, g, t)
	defer stopA()
	WaitUntil(func() bool { o, _ := ha.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to own 4 partitions")
	hb, stopB := startMember(bs, g, t)
	WaitUntil(func() bool {
		oa, _ := ha.snapshot()
		ob, _ := hb.snapshot()
		return len(oa) == 2 && len(ob) == 2
	}, 40*time.Second, "a 2/2 split of 4 partitions")
	oa, _ := ha.snapshot()
	ob, _ := hb.snapshot()
	all := append(append([]int32{}, oa...), ob...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	Eq(all, []int32{0, 1, 2, 3}, "partitions owned by the two members")
	p := syncProducer(bs, nil)
	defer p.Close()
	for i := int32(0); i < 4; i++ {
		send(p, t, []Record{{Value: []byte(fmt.Sprintf("p%d", i))}}, i)
	}
	WaitUntil(func() bool {
		_, ga := ha.snapshot()
		_, gb := hb.snapshot()
		return len(ga)+len(gb) >= 4
	}, 20*time.Second, "4 records consumed by the group")
	for _, x := range []struct {
		h     *handler
		owned []int32
	}{{ha, oa}, {hb, ob}} {
		_, got := x.h.snapshot()
		for part, v := range got {
			Check(Contains(x.owned, part), "a member got partition %d it does not own (%v)", part, x.owned)
			Eq(v, fmt.Sprintf("p%d", part), "value")
		}
	}
	stopB()
	WaitUntil(func() bool { o, _ := ha.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to get all partitions back")
}

func commitResume(bs string) {
	t := Topic(client, "commit")
	p := syncProducer(bs, nil)
	defer p.Close()
	send(p, t, Values(10, "v"), 0)
	g := Group(client, "commit")
	c, err := sarama.NewClient([]string{bs}, config())
	NoErr(err, "client")
	om, err := sarama.NewOffsetManagerFromClient(g, c)
	NoErr(err, "offset manager")
	pom, err := om.ManagePartition(t, 0)
	NoErr(err, "manage partition")
	pom.MarkOffset(5, "")
	pom.Close()
	NoErr(om.Close(), "offset manager close (commit)")
	c.Close()
	a := admin(bs)
	defer a.Close()
	r, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0}})
	NoErr(err, "list group offsets")
	Eq(r.GetBlock(t, 0).Offset, int64(5), "committed offset")
	h, stop := startMember(bs, g, t)
	defer stop()
	WaitUntil(func() bool { _, got := h.snapshot(); return got[0] == "v9" }, 30*time.Second, "the group to reach the last record")
	h.mu.Lock()
	first := h.first[0]
	h.mu.Unlock()
	Eq(first, int64(5), "first offset consumed after resuming from the committed offset")
}

func idempotent(bs string) {
	t := Topic(client, "idem")
	p := syncProducer(bs, func(c *sarama.Config) {
		c.Producer.Idempotent = true
		c.Producer.Retry.Max = 3
		c.Net.MaxOpenRequests = 1
	})
	defer p.Close()
	Eq(send(p, t, Values(200, "v"), 0), Seq(0, 200), "offsets")
	got := readN(bs, t, 0, 200, nil)
	for i, m := range got {
		Eq(string(m.Value), fmt.Sprintf("v%d", i), "value in order")
	}
}

func adminTopics(bs string) {
	a := admin(bs)
	defer a.Close()
	t := Topic(client, "adm")
	ret := "3600000"
	NoErr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &ret}}, false), "create")
	Eq(kerr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false)), sarama.ErrTopicAlreadyExists, "duplicate create")
	md, err := a.DescribeTopics([]string{t})
	NoErr(err, "describe topics")
	Eq(md[0].Err, sarama.ErrNoError, "describe error")
	Eq(len(md[0].Partitions), 3, "partition count")
	NoErr(a.DeleteTopic(t), "delete")
	// (sarama 1.22's ListTopics also sends DescribeConfigs v0, removed in Kafka 4.0, so
	// the deletion is checked through metadata.)
	WaitUntil(func() bool {
		md, err := a.DescribeTopics([]string{t})
		return err == nil && len(md) == 1 && md[0].Err == sarama.ErrUnknownTopicOrPartition
	}, 10*time.Second, "deleted topic to disappear from metadata")
	Eq(kerr(a.DeleteTopic(t)), sarama.ErrUnknownTopicOrPartition, "deleting a missing topic")
}

func adminConfigs(bs string) {
	a := admin(bs)
	defer a.Close()
	t := Topic(client, "cfg")
	ret := "3600000"
	NoErr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &ret}}, false), "create")
	describe := func() map[string]string {
		es, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t})
		NoErr(err, "describe configs")
		m := map[string]string{}
		for _, e := range es {
			m[e.Name] = e.Value
		}
		return m
	}
	cfg := describe()
	Eq(cfg["retention.ms"], "3600000", "retention.ms at creation")
	Eq(cfg["cleanup.policy"], "delete", "default cleanup.policy")
	v := "123456"
	NoErr(a.AlterConfig(sarama.TopicResource, t, map[string]*string{"retention.ms": &v}, false), "alter configs")
	Eq(describe()["retention.ms"], "123456", "retention.ms after alter")
	bad := "nope"
	err := a.AlterConfig(sarama.TopicResource, t, map[string]*string{"retention.ms": &bad}, false)
	Check(err != nil, "a non-numeric retention.ms was accepted")
	Check(strings.Contains(err.Error(), "nvalid") || strings.Contains(err.Error(), "40"), "bad config value error: %v", err)
}

func adminCreatePartitions(bs string) {
	a := admin(bs)
	defer a.Close()
	t := Topic(client, "parts")
	NoErr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false), "create")
	NoErr(a.CreatePartitions(t, 3, nil, false), "create partitions")
	WaitUntil(func() bool {
		md, err := a.DescribeTopics([]string{t})
		return err == nil && len(md) == 1 && len(md[0].Partitions) == 3
	}, 10*time.Second, "3 partitions")
	p := syncProducer(bs, nil)
	defer p.Close()
	Eq(send(p, t, Values(1, "p2-"), 2), []int64{0}, "offset on the new partition")
	Eq(kerr(a.CreatePartitions(t, 2, nil, false)), sarama.ErrInvalidPartitions, "shrinking partitions")
}

func adminGroups(bs string) {
	// sarama 1.22 has list/describe groups and group offsets, but no DeleteGroups.
	t := Topic(client, "admgrp")
	p := syncProducer(bs, nil)
	defer p.Close()
	send(p, t, Values(3, "x"), 0)
	g := Group(client, "adm")
	h, stop := startMember(bs, g, t)
	WaitUntil(func() bool { _, got := h.snapshot(); return got[0] == "x2" }, 30*time.Second, "3 records consumed")
	a := admin(bs)
	defer a.Close()
	WaitUntil(func() bool { gs, err := a.ListConsumerGroups(); return err == nil && gs[g] == "consumer" }, 10*time.Second, "group listed with protocol type consumer")
	ds, err := a.DescribeConsumerGroups([]string{g})
	NoErr(err, "describe groups")
	Eq([]interface{}{ds[0].Err, ds[0].State, len(ds[0].Members)}, []interface{}{sarama.ErrNoError, "Stable", 1}, "describe (error, state, members)")
	stop() // closing commits the marked offset
	r, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0}})
	NoErr(err, "group offsets")
	Eq(r.GetBlock(t, 0).Offset, int64(3), "committed offset")
	WaitUntil(func() bool {
		ds, err := a.DescribeConsumerGroups([]string{g})
		return err == nil && ds[0].State == "Empty"
	}, 10*time.Second, "state Empty after the member left")
}

func offsetsForTimes(bs string) {
	t := Topic(client, "times")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	p := syncProducer(bs, nil)
	defer p.Close()
	for i := 0; i < 5; i++ {
		_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: t, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)), Timestamp: base.Add(time.Duration(i) * time.Second)})
		NoErr(err, "produce")
	}
	c, err := sarama.NewClient([]string{bs}, config())
	NoErr(err, "client")
	defer c.Close()
	ms := func(d time.Duration) int64 { return base.Add(d).UnixNano() / 1e6 }
	o, err := c.GetOffset(t, 0, ms(1500*time.Millisecond))
	NoErr(err, "offset for time")
	Eq(o, int64(2), "offset for a time between records 1 and 2")
	o, err = c.GetOffset(t, 0, ms(0))
	NoErr(err, "offset for time")
	Eq(o, int64(0), "offset for the first record's time")
	o, err = c.GetOffset(t, 0, ms(10*time.Second))
	NoErr(err, "offset for time")
	Eq(o, int64(-1), "offset for a time after the last record")
	o, err = c.GetOffset(t, 0, sarama.OffsetNewest)
	NoErr(err, "latest")
	Eq(o, int64(5), "latest offset")
	got := readN(bs, t, 0, 5, nil)
	for i, m := range got {
		Eq(m.Timestamp.UnixNano()/1e6, ms(time.Duration(i)*time.Second), "record timestamp")
	}
}

func deleteRecords(bs string) {
	t := Topic(client, "delrec")
	p := syncProducer(bs, nil)
	defer p.Close()
	send(p, t, Values(10, "v"), 0)
	a := admin(bs)
	defer a.Close()
	NoErr(a.DeleteRecords(t, map[int32]int64{0: 4}), "delete records")
	c, err := sarama.NewClient([]string{bs}, config())
	NoErr(err, "client")
	defer c.Close()
	o, err := c.GetOffset(t, 0, sarama.OffsetOldest)
	NoErr(err, "earliest")
	Eq(o, int64(4), "earliest offset after delete")
	got := readN(bs, t, 0, 6, nil)
	Eq(got[0].Offset, int64(4), "first readable offset")
}

func main() {
	Register("metadata_autocreate", metadataAutocreate)
	Register("roundtrip_none", roundtrip(sarama.CompressionNone, "none"))
	Register("roundtrip_gzip", roundtrip(sarama.CompressionGZIP, "gzip"))
	Register("roundtrip_snappy", roundtrip(sarama.CompressionSnappy, "snappy"))
	Register("roundtrip_lz4", roundtrip(sarama.CompressionLZ4, "lz4"))
	Register("roundtrip_zstd", roundtrip(sarama.CompressionZSTD, "zstd"))
	Register("large_messages", largeMessages)
	Register("group_rebalance", groupRebalance)
	Register("commit_resume", commitResume)
	Register("idempotent_producer", idempotent)
	Register("admin_topics", adminTopics)
	Register("admin_configs", adminConfigs)
	Register("admin_create_partitions", adminCreatePartitions)
	Register("admin_groups", adminGroups)
	Register("offsets_for_times", offsetsForTimes)
	Register("delete_records", deleteRecords)
	Unsupported("transactions", "sarama 1.22 has no transactional producer")
	Unsupported("transactions_consume_produce", "sarama 1.22 has no transactional producer")
	Unsupported("group_consumer_protocol", "sarama 1.22 has no KIP-848 consumer")
	registerSecured()
	Main()
}
