// Command kafkago-scenarios runs the weir conformance scenarios with today's
// segmentio/kafka-go (pure Go; Writer/Reader/ConsumerGroup for data, Client for
// admin; version pinned in ../go.mod).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	. "weirconf"
)

const client = "kafkago"

func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	time.AfterFunc(21*time.Second, cancel)
	return c
}

func cl(bs string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(bs), Timeout: 15 * time.Second}
}

// fixed sends every message to one partition.
type fixed int

func (f fixed) Balance(_ kafka.Message, _ ...int) int { return int(f) }

func writer(bs string, partition int, mod func(*kafka.Writer)) *kafka.Writer {
	w := &kafka.Writer{Addr: kafka.TCP(bs), Balancer: fixed(partition), RequiredAcks: kafka.RequireAll,
		AllowAutoTopicCreation: true, BatchSize: 1000, BatchTimeout: 20 * time.Millisecond,
		WriteTimeout: 15 * time.Second, ReadTimeout: 15 * time.Second, MaxAttempts: 3}
	if mod != nil {
		mod(w)
	}
	return w
}

func toMsgs(t string, recs []Record) []kafka.Message {
	out := []kafka.Message{}
	for _, r := range recs {
		m := kafka.Message{Topic: t, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			m.Headers = append(m.Headers, kafka.Header{Key: string(h[0]), Value: h[1]})
		}
		out = append(out, m)
	}
	return out
}

func write(bs, t string, partition int, recs []Record, mod func(*kafka.Writer)) {
	w := writer(bs, partition, mod)
	defer w.Close()
	Step("writing to " + t)
	NoErr(w.WriteMessages(ctx(), toMsgs(t, recs)...), "write messages")
}

func readN(bs, t string, partition, n int) []kafka.Message {
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, Topic: t, Partition: partition,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	out := []kafka.Message{}
	cx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
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

// offsets returns (first, last) of partition 0 of t.
func watermarks(bs, t string) (int64, int64) {
	r, err := cl(bs).ListOffsets(ctx(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		t: {kafka.FirstOffsetOf(0), kafka.LastOffsetOf(0)}}})
	NoErr(err, "list offsets")
	p := r.Topics[t][0]
	NoErr(p.Error, "list offsets partition")
	return p.FirstOffset, p.LastOffset
}

func isErr(err error, want kafka.Error) bool {
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil {
				return errors.Is(e, want)
			}
		}
	}
	return errors.Is(err, want)
}

func createTopic(bs, t string, n int, cfg map[string]string) {
	tc := kafka.TopicConfig{Topic: t, NumPartitions: n, ReplicationFactor: 1}
	for k, v := range cfg {
		tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
	}
	r, err := cl(bs).CreateTopics(ctx(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	NoErr(err, "create topics")
	NoErr(r.Errors[t], "create topic result")
}

func topicMeta(bs, t string) kafka.Topic {
	r, err := cl(bs).Metadata(ctx(), &kafka.MetadataRequest{Topics: []string{t}})
	NoErr(err, "metadata")
	Eq(len(r.Topics), 1, "topics in metadata")
	return r.Topics[0]
}

func metadataAutocreate(bs string) {
	t := Topic(client, "meta")
	r, err := cl(bs).Metadata(ctx(), &kafka.MetadataRequest{})
	NoErr(err, "metadata")
	found := false
	for _, b := range r.Brokers {
		found = found || net.JoinHostPort(b.Host, fmt.Sprint(b.Port)) == bs
	}
	Check(found, "metadata brokers %v do not include %s", r.Brokers, bs)
	for _, x := range r.Topics {
		Check(x.Name != t, "fresh topic already exists")
	}
	write(bs, t, 0, Values(1, "v"), nil)
	md := topicMeta(bs, t)
	NoErr(md.Error, "auto-created topic")
	Check(len(md.Partitions) >= 1, "auto-created topic has no partitions")
	Eq(net.JoinHostPort(md.Partitions[0].Leader.Host, fmt.Sprint(md.Partitions[0].Leader.Port)), bs, "leader of partition 0")
	lo, hi := watermarks(bs, t)
	Eq([]int64{lo, hi}, []int64{0, 1}, "watermarks")
}

func roundtrip(codec compress.Compression, name string) Scenario {
	return func(bs string) {
		t := Topic(client, "rt-"+name)
		recs := SampleRecords(40)
		write(bs, t, 0, recs, func(w *kafka.Writer) { w.Compression = codec })
		got := readN(bs, t, 0, 40)
		for i, m := range got {
			Eq(m.Offset, int64(i), fmt.Sprintf("offset of record %d", i))
			hs := [][2][]byte{}
			for _, h := range m.Headers {
				hs = append(hs, [2][]byte{[]byte(h.Key), h.Value})
			}
			// Client limitation: kafka-go's reader returns nil for a zero-length value
			// (readNewBytes allocates nothing for 0 bytes), so empty and null look alike.
			CheckRecordBack(i, recs[i], m.Key, m.Value, hs, true)
			Check(time.Since(m.Time) < 5*time.Minute && time.Until(m.Time) < 5*time.Minute,
				"timestamp of record %d not near now: %v", i, m.Time)
		}
		lo, hi := watermarks(bs, t)
		Eq([]int64{lo, hi}, []int64{0, 40}, "watermarks")
	}
}

func largeMessages(bs string) {
	t := Topic(client, "large")
	near := make([]byte, 1000000)
	for i := range near {
		near[i] = byte(i)
	}
	big := func(w *kafka.Writer) { w.BatchBytes = 10000000; w.MaxAttempts = 1 }
	write(bs, t, 0, []Record{{Value: near}}, big)
	w := writer(bs, 0, big)
	err := w.WriteMessages(ctx(), kafka.Message{Topic: t, Value: make([]byte, 1100000)})
	w.Close()
	Check(err != nil, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
	Check(isErr(err, kafka.MessageSizeTooLarge), "error for an oversized record: want MESSAGE_TOO_LARGE, got %v", err)
	write(bs, t, 0, Values(1, "after"), nil)
	got := readN(bs, t, 0, 2)
	Eq(got[0].Value, near, "near-limit value")
	Eq([]interface{}{got[1].Offset, string(got[1].Value)}, []interface{}{int64(1), "after0"}, "record after the rejected one")
}

// member is a kafka-go ConsumerGroup whose generations read their assigned
// partitions with partition readers.
type member struct {
	cg    *kafka.ConsumerGroup
	mu    sync.Mutex
	owned []int
	got   map[int]string
	first map[int]int64
	done  chan struct{}
}

func newMember(bs, g, t string) *member {
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{ID: g, Brokers: []string{bs}, Topics: []string{t},
		GroupBalancers: []kafka.GroupBalancer{kafka.RangeGroupBalancer{}}, HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second, JoinGroupBackoff: 200 * time.Millisecond,
		StartOffset: kafka.FirstOffset, Timeout: 10 * time.Second})
	NoErr(err, "new consumer group")
	m := &member{cg: cg, got: map[int]string{}, first: map[int]int64{}, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			gen, err := cg.Next(context.Background())
			if err != nil {
				if errors.Is(err, kafka.ErrGroupClosed) {
					return
				}
				continue
			}
			owned := []int{}
			for _, pa := range gen.Assignments[t] {
				owned = append(owned, pa.ID)
				pa := pa
				gen.Start(func(cx context.Context) {
					r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, Topic: t, Partition: pa.ID, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond})
					defer r.Close()
					if pa.Offset >= 0 {
						r.SetOffset(pa.Offset)
					}
					for {
						msg, err := r.ReadMessage(cx)
						if err != nil {
							return
						}
						m.mu.Lock()
						m.got[msg.Partition] = string(msg.Value)
						if _, ok := m.first[msg.Partition]; !ok {
							m.first[msg.Partition] = msg.Offset
						}
						m.mu.Unlock()
						gen.CommitOffsets(map[string]map[int]int64{t: {msg.Partition: msg.Offset + 1}})
					}
				})
			}
			sort.Ints(owned)
			m.mu.Lock()
			m.owned = owned
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *member) snapshot() ([]int, map[int]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := map[int]string{}
	for k, v := range m.got {
		g[k] = v
	}
	return append([]int{}, m.owned...), g
}

func (m *member) close() {
	m.cg.Close()
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
	}
}

func groupRebalance(bs string) {
	t := Topic(client, "grp")
	createTopic(bs, t, 4, nil)
	g := Group(client, "reb")
	a := newMember(bs, g, t)
	defer a.close()
	WaitUntil(func() bool { o, _ := a.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to own 4 partitions")
	b := newMember(bs, g, t)
	WaitUntil(func() bool {
		oa, _ := a.snapshot()
		ob, _ := b.snapshot()
		return len(oa) == 2 && len(ob) == 2
	}, 30*time.Second, "a 2/2 split of 4 partitions")
	oa, _ := a.snapshot()
	ob, _ := b.snapshot()
	all := append(append([]int{}, oa...), ob...)
	sort.Ints(all)
	Eq(all, []int{0, 1, 2, 3}, "partitions owned by the two members")
	for i := 0; i < 4; i++ {
		write(bs, t, i, []Record{{Value: []byte(fmt.Sprintf("p%d", i))}}, nil)
	}
	WaitUntil(func() bool {
		_, ga := a.snapshot()
		_, gb := b.snapshot()
		return len(ga)+len(gb) >= 4
	}, 20*time.Second, "4 records consumed by the group")
	for _, x := range []struct {
		m     *member
		owned []int
	}{{a, oa}, {b, ob}} {
		_, got := x.m.snapshot()
		for part, v := range got {
			Check(sort.SearchInts(x.owned, part) < len(x.owned) && x.owned[sort.SearchInts(x.owned, part)] == part,
				"a member got partition %d it does not own (%v)", part, x.owned)
			Eq(v, fmt.Sprintf("p%d", part), "value")
		}
	}
	b.close()
	WaitUntil(func() bool { o, _ := a.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to get all partitions back")
}

func groupReader(bs, g, t string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, GroupID: g, Topic: t, MinBytes: 1, MaxBytes: 10 << 20,
		MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset, HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second, JoinGroupBackoff: 200 * time.Millisecond})
}

func committed(bs, g, t string) int64 {
	r, err := cl(bs).OffsetFetch(ctx(), &kafka.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{t: {0}}})
	NoErr(err, "offset fetch")
	NoErr(r.Error, "offset fetch result")
	return r.Topics[t][0].CommittedOffset
}

func commitResume(bs string) {
	t := Topic(client, "commit")
	write(bs, t, 0, Values(10, "v"), nil)
	g := Group(client, "commit")
	r := groupReader(bs, g, t)
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last kafka.Message
	for i := 0; i < 5; i++ {
		Step(fmt.Sprintf("fetching record %d", i))
		m, err := r.FetchMessage(cx)
		NoErr(err, "fetch message")
		Eq(m.Offset, int64(i), "offset")
		last = m
	}
	NoErr(r.CommitMessages(cx, last), "commit")
	NoErr(r.Close(), "close reader")
	Eq(committed(bs, g, t), int64(5), "committed offset")
	r2 := groupReader(bs, g, t)
	defer r2.Close()
	for i := 5; i < 10; i++ {
		Step(fmt.Sprintf("reading record %d after resume", i))
		m, err := r2.ReadMessage(cx)
		NoErr(err, "read message after resume")
		Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("v%d", i)}, "record after resume")
	}
}

func adminTopics(bs string) {
	t := Topic(client, "adm")
	createTopic(bs, t, 3, map[string]string{"retention.ms": "3600000"})
	r, err := cl(bs).CreateTopics(ctx(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: t, NumPartitions: 3, ReplicationFactor: 1}}})
	NoErr(err, "create topics")
	Check(isErr(r.Errors[t], kafka.TopicAlreadyExists), "duplicate create: want TOPIC_ALREADY_EXISTS, got %v", r.Errors[t])
	md := topicMeta(bs, t)
	NoErr(md.Error, "describe topic")
	Eq(len(md.Partitions), 3, "partition count")
	d, err := cl(bs).DeleteTopics(ctx(), &kafka.DeleteTopicsRequest{Topics: []string{t}})
	NoErr(err, "delete topics")
	NoErr(d.Errors[t], "delete result")
	WaitUntil(func() bool {
		r, err := cl(bs).Metadata(ctx(), &kafka.MetadataRequest{})
		if err != nil {
			return false
		}
		for _, x := range r.Topics {
			if x.Name == t {
				return false
			}
		}
		return true
	}, 10*time.Second, "deleted topic to disappear")
	d, err = cl(bs).DeleteTopics(ctx(), &kafka.DeleteTopicsRequest{Topics: []string{t}})
	NoErr(err, "delete topics")
	Check(isErr(d.Errors[t], kafka.UnknownTopicOrPartition), "deleting a missing topic: want UNKNOWN_TOPIC_OR_PARTITION, got %v", d.Errors[t])
}

func adminConfigs(bs string) {
	t := Topic(client, "cfg")
	createTopic(bs, t, 1, map[string]string{"retention.ms": "3600000"})
	describe := func() map[string]string {
		r, err := cl(bs).DescribeConfigs(ctx(), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
			{ResourceType: kafka.ResourceTypeTopic, ResourceName: t}}})
		NoErr(err, "describe configs")
		NoErr(r.Resources[0].Error, "describe configs result")
		m := map[string]string{}
		for _, e := range r.Resources[0].ConfigEntries {
			m[e.ConfigName] = e.ConfigValue
		}
		return m
	}
	cfg := describe()
	Eq(cfg["retention.ms"], "3600000", "retention.ms at creation")
	Eq(cfg["cleanup.policy"], "delete", "default cleanup.policy")
	alter := func(v string) error {
		r, err := cl(bs).IncrementalAlterConfigs(ctx(), &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{
			{ResourceType: kafka.ResourceTypeTopic, ResourceName: t, Configs: []kafka.IncrementalAlterConfigsRequestConfig{
				{Name: "retention.ms", Value: v, ConfigOperation: kafka.ConfigOperationSet}}}}})
		NoErr(err, "incremental alter configs")
		return r.Resources[0].Error
	}
	NoErr(alter("123456"), "alter result")
	Eq(describe()["retention.ms"], "123456", "retention.ms after alter")
	err := alter("nope")
	Check(isErr(err, kafka.InvalidConfiguration), "bad config value: want INVALID_CONFIG, got %v", err)
}

func adminCreatePartitions(bs string) {
	t := Topic(client, "parts")
	createTopic(bs, t, 1, nil)
	grow := func(n int32) error {
		r, err := cl(bs).CreatePartitions(ctx(), &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: t, Count: n}}})
		NoErr(err, "create partitions")
		return r.Errors[t]
	}
	NoErr(grow(3), "create partitions result")
	WaitUntil(func() bool { return len(topicMeta(bs, t).Partitions) == 3 }, 10*time.Second, "3 partitions")
	write(bs, t, 2, Values(1, "p2-"), nil)
	got := readN(bs, t, 2, 1)
	Eq([]interface{}{got[0].Offset, string(got[0].Value)}, []interface{}{int64(0), "p2-0"}, "record on the new partition")
	err := grow(2)
	Check(isErr(err, kafka.InvalidPartitionNumber), "shrinking partitions: want INVALID_PARTITIONS, got %v", err)
}

func adminGroups(bs string) {
	t := Topic(client, "admgrp")
	write(bs, t, 0, Values(3, "x"), nil)
	g := Group(client, "adm")
	r := groupReader(bs, g, t)
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last kafka.Message
	for i := 0; i < 3; i++ {
		m, err := r.FetchMessage(cx)
		NoErr(err, "fetch message")
		last = m
	}
	NoErr(r.CommitMessages(cx, last), "commit")
	c := cl(bs)
	WaitUntil(func() bool {
		l, err := c.ListGroups(ctx(), &kafka.ListGroupsRequest{})
		if err != nil || l.Error != nil {
			return false
		}
		for _, x := range l.Groups {
			if x.GroupID == g {
				return x.ProtocolType == "consumer"
			}
		}
		return false
	}, 10*time.Second, "group listed with protocol type consumer")
	d, err := c.DescribeGroups(ctx(), &kafka.DescribeGroupsRequest{GroupIDs: []string{g}})
	NoErr(err, "describe groups")
	NoErr(d.Groups[0].Error, "describe group")
	Eq([]interface{}{d.Groups[0].GroupState, len(d.Groups[0].Members)}, []interface{}{"Stable", 1}, "describe (state, members)")
	Eq(d.Groups[0].Members[0].MemberAssignments.Topics, []kafka.GroupMemberTopic{{Topic: t, Partitions: []int{0}}}, "member assignment")
	Eq(committed(bs, g, t), int64(3), "committed offset")
	del, err := c.DeleteGroups(ctx(), &kafka.DeleteGroupsRequest{GroupIDs: []string{g}})
	NoErr(err, "delete groups")
	Check(isErr(del.Errors[g], kafka.NonEmptyGroup), "deleting an active group: want NON_EMPTY_GROUP, got %v", del.Errors[g])
	NoErr(r.Close(), "close reader")
	WaitUntil(func() bool {
		d, err := c.DescribeGroups(ctx(), &kafka.DescribeGroupsRequest{GroupIDs: []string{g}})
		return err == nil && d.Groups[0].GroupState == "Empty"
	}, 10*time.Second, "state Empty after the member left")
	del, err = c.DeleteGroups(ctx(), &kafka.DeleteGroupsRequest{GroupIDs: []string{g}})
	NoErr(err, "delete groups")
	NoErr(del.Errors[g], "deleting the empty group")
	del, err = c.DeleteGroups(ctx(), &kafka.DeleteGroupsRequest{GroupIDs: []string{g}})
	NoErr(err, "delete groups")
	Check(isErr(del.Errors[g], kafka.GroupIdNotFound), "deleting a deleted group: want GROUP_ID_NOT_FOUND, got %v", del.Errors[g])
}

func offsetsForTimes(bs string) {
	t := Topic(client, "times")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	msgs := toMsgs(t, Values(5, "v"))
	for i := range msgs {
		msgs[i].Time = base.Add(time.Duration(i) * time.Second)
	}
	w := writer(bs, 0, nil)
	NoErr(w.WriteMessages(ctx(), msgs...), "write messages")
	w.Close()
	ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
	at := func(ts int64) int64 {
		r, err := cl(bs).ListOffsets(ctx(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{t: {{Partition: 0, Timestamp: ts}}}})
		NoErr(err, "list offsets")
		p := r.Topics[t][0]
		NoErr(p.Error, "list offsets partition")
		for o := range p.Offsets {
			return o
		}
		Failf("no offset in the ListOffsets answer for timestamp %d: %+v", ts, p)
		return 0
	}
	Eq(at(ms(1500*time.Millisecond)), int64(2), "offset for a time between records 1 and 2")
	Eq(at(ms(0)), int64(0), "offset for the first record's time")
	Eq(at(ms(10*time.Second)), int64(-1), "offset for a time after the last record")
	lo, hi := watermarks(bs, t)
	Eq([]int64{lo, hi}, []int64{0, 5}, "earliest and latest")
	for i, m := range readN(bs, t, 0, 5) {
		Eq(m.Time.UnixMilli(), ms(time.Duration(i)*time.Second), "record timestamp")
	}
}

func main() {
	Register("metadata_autocreate", metadataAutocreate)
	Register("roundtrip_none", roundtrip(0, "none"))
	Register("roundtrip_gzip", roundtrip(kafka.Gzip, "gzip"))
	Register("roundtrip_snappy", roundtrip(kafka.Snappy, "snappy"))
	Register("roundtrip_lz4", roundtrip(kafka.Lz4, "lz4"))
	Register("roundtrip_zstd", roundtrip(kafka.Zstd, "zstd"))
	Register("large_messages", largeMessages)
	Register("group_rebalance", groupRebalance)
	Register("commit_resume", commitResume)
	Register("admin_topics", adminTopics)
	Register("admin_configs", adminConfigs)
	Register("admin_create_partitions", adminCreatePartitions)
	Register("admin_groups", adminGroups)
	Register("offsets_for_times", offsetsForTimes)
	Unsupported("idempotent_producer", "kafka-go has no idempotent producer (no InitProducerId/sequence numbers in its Writer)")
	Unsupported("delete_records", "kafka-go has no DeleteRecords API")
	Unsupported("transactions", "kafka-go has no transactional producer")
	Unsupported("group_consumer_protocol", "kafka-go has no KIP-848 consumer (classic JoinGroup/SyncGroup only)")
	Unsupported("transactions_consume_produce", "kafka-go has no transactional producer")
	registerSecured()
	Main()
}
