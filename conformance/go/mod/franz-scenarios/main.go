// Command franz-scenarios runs the weir conformance scenarios with twmb/franz-go
// (kgo for produce/consume/groups/transactions, kadm for admin; pure Go; versions
// pinned in ../go.mod).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	. "weirconf"
)

const client = "franz"

func opts(bs string, extra ...kgo.Opt) []kgo.Opt {
	o := []kgo.Opt{
		kgo.SeedBrokers(bs),
		kgo.ClientID("weir-conformance"),
		kgo.DialTimeout(5 * time.Second),
		kgo.RequestTimeoutOverhead(10 * time.Second),
		kgo.RetryTimeout(15 * time.Second),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProduceRequestTimeout(10 * time.Second),
		kgo.RecordDeliveryTimeout(20 * time.Second),
	}
	if os.Getenv("FRANZ_DEBUG") != "" {
		o = append(o, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	return append(o, extra...)
}

func newClient(bs string, extra ...kgo.Opt) *kgo.Client {
	c, err := kgo.NewClient(opts(bs, extra...)...)
	NoErr(err, "new client")
	return c
}

func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	time.AfterFunc(21*time.Second, cancel)
	return c
}

func admin(bs string) (*kadm.Client, func()) {
	c := newClient(bs)
	return kadm.NewClient(c), c.Close
}

func toRecs(t string, partition int32, recs []Record) []*kgo.Record {
	out := []*kgo.Record{}
	for _, r := range recs {
		kr := &kgo.Record{Topic: t, Partition: partition, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: string(h[0]), Value: h[1]})
		}
		out = append(out, kr)
	}
	return out
}

// produce sends records to one partition and returns their offsets.
func produce(c *kgo.Client, t string, partition int32, recs []Record) []int64 {
	Step("producing to " + t)
	rs := c.ProduceSync(ctx(), toRecs(t, partition, recs)...)
	NoErr(rs.FirstErr(), "produce")
	offs := []int64{}
	for _, r := range rs {
		offs = append(offs, r.Record.Offset)
	}
	return offs
}

// readN reads n records of partition 0 from the start.
func readN(bs, t string, n int, extra ...kgo.Opt) []*kgo.Record {
	c := newClient(bs, append([]kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{t: {0: kgo.NewOffset().AtStart()}})}, extra...)...)
	defer c.Close()
	out := []*kgo.Record{}
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		Step(fmt.Sprintf("reading %s (%d of %d)", t, len(out), n))
		cx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := c.PollFetches(cx)
		cancel()
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				Failf("fetch error: %v", err)
			}
		})
		out = append(out, fs.Records()...)
	}
	Check(len(out) == n, "consumed %d of %d records within 20s", len(out), n)
	return out
}

func isErr(err error, want *kerr.Error) bool { return errors.Is(err, want) }

func createTopic(a *kadm.Client, t string, parts int32, cfg map[string]*string) {
	r, err := a.CreateTopic(ctx(), parts, 1, cfg, t)
	NoErr(err, "create topic")
	NoErr(r.Err, "create topic result")
}

func metadataAutocreate(bs string) {
	t := Topic(client, "meta")
	a, done := admin(bs)
	defer done()
	md, err := a.BrokerMetadata(ctx())
	NoErr(err, "metadata")
	found := false
	for _, b := range md.Brokers {
		found = found || fmt.Sprintf("%s:%d", b.Host, b.Port) == bs
	}
	Check(found, "metadata brokers %v do not include %s", md.Brokers, bs)
	tds, err := a.ListTopics(ctx())
	NoErr(err, "list topics")
	Check(!tds.Has(t), "fresh topic already exists")
	c := newClient(bs, kgo.AllowAutoTopicCreation())
	defer c.Close()
	Eq(produce(c, t, 0, Values(1, "v")), []int64{0}, "offset of the first record")
	tds, err = a.ListTopics(ctx(), t)
	NoErr(err, "list topics")
	NoErr(tds[t].Err, "auto-created topic")
	Check(len(tds[t].Partitions) >= 1, "auto-created topic has no partitions")
	Eq(tds[t].Partitions[0].Leader, md.Brokers[0].NodeID, "leader of partition 0")
}

func roundtrip(codec kgo.CompressionCodec, name string) Scenario {
	return func(bs string) {
		t := Topic(client, "rt-"+name)
		recs := SampleRecords(40)
		c := newClient(bs, kgo.AllowAutoTopicCreation(), kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(50*time.Millisecond))
		defer c.Close()
		Eq(produce(c, t, 0, recs), Seq(0, 40), "delivered offsets")
		got := readN(bs, t, 40)
		for i, m := range got {
			Eq(m.Offset, int64(i), fmt.Sprintf("offset of record %d", i))
			hs := [][2][]byte{}
			for _, h := range m.Headers {
				hs = append(hs, [2][]byte{[]byte(h.Key), h.Value})
			}
			CheckRecordBack(i, recs[i], m.Key, m.Value, hs, false)
			Eq(m.Attrs.TimestampType(), int8(0), "timestamp type (CreateTime)")
			Check(time.Since(m.Timestamp) < 5*time.Minute && time.Until(m.Timestamp) < 5*time.Minute,
				"timestamp of record %d not near now: %v", i, m.Timestamp)
		}
		a, done := admin(bs)
		defer done()
		lo, err := a.ListStartOffsets(ctx(), t)
		NoErr(err, "start offsets")
		hi, err := a.ListEndOffsets(ctx(), t)
		NoErr(err, "end offsets")
		l, _ := lo.Lookup(t, 0)
		h, _ := hi.Lookup(t, 0)
		Eq([]int64{l.Offset, h.Offset}, []int64{0, 40}, "watermarks")
	}
}

func largeMessages(bs string) {
	t := Topic(client, "large")
	c := newClient(bs, kgo.AllowAutoTopicCreation(), kgo.ProducerBatchMaxBytes(10000000), kgo.ProducerBatchCompression(kgo.NoCompression()))
	defer c.Close()
	near := make([]byte, 1000000)
	for i := range near {
		near[i] = byte(i)
	}
	Eq(produce(c, t, 0, []Record{{Value: near}}), []int64{0}, "near-limit record offset")
	rs := c.ProduceSync(ctx(), &kgo.Record{Topic: t, Partition: 0, Value: make([]byte, 1100000)})
	err := rs.FirstErr()
	Check(err != nil, "a 1.1 MB record was accepted by a broker with message.max.bytes=1048588")
	Check(isErr(err, kerr.MessageTooLarge), "error for an oversized record: want MESSAGE_TOO_LARGE, got %v", err)
	Eq(produce(c, t, 0, Values(1, "after")), []int64{1}, "offset after the rejected record")
	got := readN(bs, t, 2)
	Eq(got[0].Value, near, "near-limit value")
	Eq(string(got[1].Value), "after0", "value after the rejected record")
}

// member is one group consumer polling in the background.
type member struct {
	c     *kgo.Client
	mu    sync.Mutex
	owned map[int32]bool
	got   map[int32]string
	first map[int32]int64
	stop  chan struct{}
	done  chan struct{}
}

func newMember(bs, g, t string, extra ...kgo.Opt) *member {
	m := &member{owned: map[int32]bool{}, got: map[int32]string{}, first: map[int32]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	o := append([]kgo.Opt{
		kgo.ConsumerGroup(g), kgo.ConsumeTopics(t),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			for _, p := range a[t] {
				m.owned[p] = true
			}
			m.mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			m.mu.Lock()
			for _, p := range r[t] {
				delete(m.owned, p)
			}
			m.mu.Unlock()
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			m.mu.Lock()
			for _, p := range r[t] {
				delete(m.owned, p)
			}
			m.mu.Unlock()
		}),
	}, extra...)
	m.c = newClient(bs, o...)
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			cx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			fs := m.c.PollFetches(cx)
			cancel()
			fs.EachRecord(func(r *kgo.Record) {
				m.mu.Lock()
				m.got[r.Partition] = string(r.Value)
				if _, ok := m.first[r.Partition]; !ok {
					m.first[r.Partition] = r.Offset
				}
				m.mu.Unlock()
			})
		}
	}()
	return m
}

func (m *member) snapshot() ([]int32, map[int32]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := []int32{}
	for p := range m.owned {
		o = append(o, p)
	}
	sort.Slice(o, func(i, j int) bool { return o[i] < o[j] })
	g := map[int32]string{}
	for k, v := range m.got {
		g[k] = v
	}
	return o, g
}

// close commits what was consumed and leaves the group.
func (m *member) close() {
	close(m.stop)
	<-m.done
	cx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	NoErr(m.c.CommitUncommittedOffsets(cx), "commit on close")
	m.c.Close()
}

func rebalance(bs, tag, groupType string, extra ...kgo.Opt) {
	t := Topic(client, tag)
	a, done := admin(bs)
	defer done()
	createTopic(a, t, 4, nil)
	g := Group(client, tag)
	ma := newMember(bs, g, t, extra...)
	defer ma.c.Close()
	WaitUntil(func() bool { o, _ := ma.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to own 4 partitions")
	mb := newMember(bs, g, t, extra...)
	WaitUntil(func() bool {
		oa, _ := ma.snapshot()
		ob, _ := mb.snapshot()
		return len(oa) == 2 && len(ob) == 2
	}, 30*time.Second, "a 2/2 split of 4 partitions")
	oa, _ := ma.snapshot()
	ob, _ := mb.snapshot()
	all := append(append([]int32{}, oa...), ob...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	Eq(all, []int32{0, 1, 2, 3}, "partitions owned by the two members")
	ls, err := a.ListGroups(ctx())
	NoErr(err, "list groups")
	Eq(ls[g].GroupType, groupType, "group type (ListGroups v5)")
	c := newClient(bs)
	defer c.Close()
	for i := int32(0); i < 4; i++ {
		produce(c, t, i, []Record{{Value: []byte(fmt.Sprintf("p%d", i))}})
	}
	WaitUntil(func() bool {
		_, ga := ma.snapshot()
		_, gb := mb.snapshot()
		return len(ga)+len(gb) >= 4
	}, 20*time.Second, "4 records consumed by the group")
	for _, x := range []struct {
		m     *member
		owned []int32
	}{{ma, oa}, {mb, ob}} {
		_, got := x.m.snapshot()
		for part, v := range got {
			Check(Contains(x.owned, part), "a member got partition %d it does not own (%v)", part, x.owned)
			Eq(v, fmt.Sprintf("p%d", part), "value")
		}
	}
	mb.close()
	WaitUntil(func() bool { o, _ := ma.snapshot(); return len(o) == 4 }, 30*time.Second, "member a to get all partitions back")
}

// groupRebalance: the classic protocol with the eager range assignor.
func groupRebalance(bs string) { rebalance(bs, "grp", "classic", kgo.Balancers(kgo.RangeBalancer())) }

// groupConsumerProtocol: KIP-848 (ConsumerGroupHeartbeat, the broker assigns).
func groupConsumerProtocol(bs string) {
	rebalance(bs, "g848", "consumer", kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer())
}

func commitResume(bs string) {
	t := Topic(client, "commit")
	c := newClient(bs, kgo.AllowAutoTopicCreation())
	defer c.Close()
	produce(c, t, 0, Values(10, "v"))
	g := Group(client, "commit")
	m := newClient(bs, kgo.ConsumerGroup(g), kgo.ConsumeTopics(t), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.RangeBalancer()))
	got := []*kgo.Record{}
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		cx, cancel := context.WithTimeout(context.Background(), time.Second)
		got = append(got, m.PollRecords(cx, 5-len(got)).Records()...)
		cancel()
	}
	Check(len(got) == 5, "consumed %d of 5", len(got))
	NoErr(m.CommitRecords(ctx(), got[4]), "commit")
	m.Close()
	a, done := admin(bs)
	defer done()
	os, err := a.FetchOffsets(ctx(), g)
	NoErr(err, "fetch offsets")
	o, ok := os.Lookup(t, 0)
	Check(ok, "no committed offset for %s/0", t)
	Eq(o.At, int64(5), "committed offset")
	mb := newMember(bs, g, t, kgo.Balancers(kgo.RangeBalancer()))
	defer mb.c.Close()
	WaitUntil(func() bool { _, got := mb.snapshot(); return got[0] == "v9" }, 30*time.Second, "the group to reach the last record")
	mb.mu.Lock()
	first := mb.first[0]
	mb.mu.Unlock()
	Eq(first, int64(5), "first offset consumed after resuming from the committed offset")
}

func idempotent(bs string) {
	// franz-go is idempotent by default (InitProducerId + sequence numbers).
	t := Topic(client, "idem")
	c := newClient(bs, kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()))
	defer c.Close()
	Eq(produce(c, t, 0, Values(200, "v")), Seq(0, 200), "offsets")
	id, epoch, err := c.ProducerID(ctx())
	NoErr(err, "producer id")
	Check(id >= 0 && epoch >= 0, "no producer id: %d/%d", id, epoch)
	for i, m := range readN(bs, t, 200) {
		Eq(string(m.Value), fmt.Sprintf("v%d", i), "value in order")
		Eq(m.ProducerID, id, "record producer id")
	}
}

func adminTopics(bs string) {
	a, done := admin(bs)
	defer done()
	t := Topic(client, "adm")
	ret := "3600000"
	createTopic(a, t, 3, map[string]*string{"retention.ms": &ret})
	rs, err := a.CreateTopics(ctx(), 3, 1, nil, t)
	NoErr(err, "create topics")
	Check(isErr(rs[t].Err, kerr.TopicAlreadyExists), "duplicate create: want TOPIC_ALREADY_EXISTS, got %v", rs[t].Err)
	tds, err := a.ListTopics(ctx(), t)
	NoErr(err, "list topics")
	NoErr(tds[t].Err, "describe topic")
	Eq(len(tds[t].Partitions), 3, "partition count")
	dr, err := a.DeleteTopics(ctx(), t)
	NoErr(err, "delete topics")
	NoErr(dr[t].Err, "delete result")
	WaitUntil(func() bool {
		tds, err := a.ListTopics(ctx())
		return err == nil && !tds.Has(t)
	}, 10*time.Second, "deleted topic to disappear")
	dr, err = a.DeleteTopics(ctx(), t)
	if err == nil {
		err = dr[t].Err
	}
	Check(isErr(err, kerr.UnknownTopicOrPartition), "deleting a missing topic: want UNKNOWN_TOPIC_OR_PARTITION, got %v", err)
}

func adminConfigs(bs string) {
	a, done := admin(bs)
	defer done()
	t := Topic(client, "cfg")
	ret := "3600000"
	createTopic(a, t, 1, map[string]*string{"retention.ms": &ret})
	describe := func() map[string]string {
		rs, err := a.DescribeTopicConfigs(ctx(), t)
		NoErr(err, "describe configs")
		NoErr(rs[0].Err, "describe configs result")
		m := map[string]string{}
		for _, c := range rs[0].Configs {
			m[c.Key] = c.MaybeValue()
		}
		return m
	}
	cfg := describe()
	Eq(cfg["retention.ms"], "3600000", "retention.ms at creation")
	Eq(cfg["cleanup.policy"], "delete", "default cleanup.policy")
	v := "123456"
	rs, err := a.AlterTopicConfigs(ctx(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v}}, t)
	NoErr(err, "incremental alter configs")
	NoErr(rs[0].Err, "alter result")
	Eq(describe()["retention.ms"], "123456", "retention.ms after alter")
	bad := "nope"
	rs, err = a.AlterTopicConfigs(ctx(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &bad}}, t)
	NoErr(err, "incremental alter configs")
	Check(isErr(rs[0].Err, kerr.InvalidConfig), "bad config value: want INVALID_CONFIG, got %v", rs[0].Err)
	Eq(describe()["retention.ms"], "123456", "retention.ms after a rejected alter")
}

func adminCreatePartitions(bs string) {
	a, done := admin(bs)
	defer done()
	t := Topic(client, "parts")
	createTopic(a, t, 1, nil)
	rs, err := a.CreatePartitions(ctx(), 2, t)
	NoErr(err, "create partitions")
	NoErr(rs[t].Err, "create partitions result")
	WaitUntil(func() bool {
		tds, err := a.ListTopics(ctx(), t)
		return err == nil && len(tds[t].Partitions) == 3
	}, 10*time.Second, "3 partitions")
	c := newClient(bs)
	defer c.Close()
	Eq(produce(c, t, 2, Values(1, "p2-")), []int64{0}, "offset on the new partition")
	rs, err = a.UpdatePartitions(ctx(), 2, t)
	NoErr(err, "create partitions")
	Check(isErr(rs[t].Err, kerr.InvalidPartitions), "shrinking partitions: want INVALID_PARTITIONS, got %v", rs[t].Err)
}

func adminGroups(bs string) {
	t := Topic(client, "admgrp")
	c := newClient(bs, kgo.AllowAutoTopicCreation())
	defer c.Close()
	produce(c, t, 0, Values(3, "x"))
	g := Group(client, "adm")
	m := newMember(bs, g, t)
	defer m.c.Close()
	WaitUntil(func() bool { _, got := m.snapshot(); return got[0] == "x2" }, 30*time.Second, "3 records consumed")
	a, done := admin(bs)
	defer done()
	WaitUntil(func() bool {
		ls, err := a.ListGroups(ctx())
		return err == nil && ls[g].ProtocolType == "consumer" && ls[g].State == "Stable"
	}, 10*time.Second, "group listed as Stable with protocol type consumer")
	ds, err := a.DescribeGroups(ctx(), g)
	NoErr(err, "describe groups")
	d := ds[g]
	NoErr(d.Err, "describe group")
	Eq([]interface{}{d.State, len(d.Members)}, []interface{}{"Stable", 1}, "describe (state, members)")
	dr, err := a.DeleteGroups(ctx(), g)
	NoErr(err, "delete groups")
	Check(isErr(dr[g].Err, kerr.NonEmptyGroup), "deleting an active group: want NON_EMPTY_GROUP, got %v", dr[g].Err)
	m.close()
	os, err := a.FetchOffsets(ctx(), g)
	NoErr(err, "fetch offsets")
	o, _ := os.Lookup(t, 0)
	Eq(o.At, int64(3), "committed offset")
	WaitUntil(func() bool {
		ds, err := a.DescribeGroups(ctx(), g)
		return err == nil && ds[g].State == "Empty"
	}, 10*time.Second, "state Empty after the member left")
	dr, err = a.DeleteGroups(ctx(), g)
	NoErr(err, "delete groups")
	NoErr(dr[g].Err, "deleting the empty group")
	dr, err = a.DeleteGroups(ctx(), g)
	if err == nil {
		err = dr[g].Err
	}
	Check(isErr(err, kerr.GroupIDNotFound), "deleting a deleted group: want GROUP_ID_NOT_FOUND, got %v", err)
}

// listOffset sends one raw ListOffsets (v7+ via the client's negotiation) for partition 0.
func listOffset(c *kgo.Client, t string, ts int64) (int64, int64) {
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = t
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = 0
	rp.Timestamp = ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx(), c)
	NoErr(err, "list offsets")
	p := resp.Topics[0].Partitions[0]
	NoErr(kerr.ErrorForCode(p.ErrorCode), "list offsets partition")
	return p.Offset, p.Timestamp
}

func offsetsForTimes(bs string) {
	t := Topic(client, "times")
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	// franz-go counts a record's delivery timeout from its timestamp: these are an hour old.
	c := newClient(bs, kgo.AllowAutoTopicCreation(), kgo.RecordDeliveryTimeout(0))
	defer c.Close()
	recs := toRecs(t, 0, Values(5, "v"))
	for i, r := range recs {
		r.Timestamp = base.Add(time.Duration(i) * time.Second)
	}
	NoErr(c.ProduceSync(ctx(), recs...).FirstErr(), "produce")
	ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
	o, ts := listOffset(c, t, ms(1500*time.Millisecond))
	Eq([]int64{o, ts}, []int64{2, ms(2 * time.Second)}, "offset and timestamp for a time between records 1 and 2")
	o, _ = listOffset(c, t, ms(0))
	Eq(o, int64(0), "offset for the first record's time")
	o, _ = listOffset(c, t, ms(10*time.Second))
	Eq(o, int64(-1), "offset for a time after the last record")
	o, _ = listOffset(c, t, -1)
	Eq(o, int64(5), "latest offset")
	o, _ = listOffset(c, t, -2)
	Eq(o, int64(0), "earliest offset")
	o, ts = listOffset(c, t, -3)
	Eq([]int64{o, ts}, []int64{4, ms(4 * time.Second)}, "max-timestamp offset and timestamp")
	a, done := admin(bs)
	defer done()
	lo, err := a.ListOffsetsAfterMilli(ctx(), ms(1500*time.Millisecond), t)
	NoErr(err, "kadm list offsets after milli")
	l, _ := lo.Lookup(t, 0)
	Eq(l.Offset, int64(2), "kadm offset after a time between records 1 and 2")
	for i, m := range readN(bs, t, 5) {
		Eq(m.Timestamp.UnixMilli(), ms(time.Duration(i)*time.Second), "record timestamp")
	}
}

func deleteRecords(bs string) {
	t := Topic(client, "delrec")
	c := newClient(bs, kgo.AllowAutoTopicCreation())
	defer c.Close()
	produce(c, t, 0, Values(10, "v"))
	a, done := admin(bs)
	defer done()
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: t, Partition: 0, At: 4, LeaderEpoch: -1})
	rs, err := a.DeleteRecords(ctx(), os)
	NoErr(err, "delete records")
	r, _ := rs.Lookup(t, 0)
	NoErr(r.Err, "delete records result")
	Eq(r.LowWatermark, int64(4), "low watermark after delete")
	lo, err := a.ListStartOffsets(ctx(), t)
	NoErr(err, "start offsets")
	l, _ := lo.Lookup(t, 0)
	Eq(l.Offset, int64(4), "earliest offset after delete")
	got := readN(bs, t, 6)
	Eq(got[0].Offset, int64(4), "first readable offset")
	os = kadm.Offsets{}
	os.Add(kadm.Offset{Topic: t, Partition: 0, At: 11, LeaderEpoch: -1})
	rs, err = a.DeleteRecords(ctx(), os)
	NoErr(err, "delete records")
	r, _ = rs.Lookup(t, 0)
	Check(isErr(r.Err, kerr.OffsetOutOfRange), "deleting beyond the high watermark: want OFFSET_OUT_OF_RANGE, got %v", r.Err)
}

func transactions(bs string) {
	t := Topic(client, "txn")
	c := newClient(bs, kgo.AllowAutoTopicCreation(), kgo.TransactionalID("tx-"+t), kgo.TransactionTimeout(30*time.Second))
	defer c.Close()
	for _, b := range []struct {
		prefix string
		n      int
		commit bool
	}{{"c", 5, true}, {"a", 5, false}, {"z", 1, true}} {
		NoErr(c.BeginTransaction(), "begin "+b.prefix)
		produce(c, t, 0, Values(b.n, b.prefix))
		NoErr(c.EndTransaction(ctx(), kgo.TransactionEndTry(b.commit)), "end "+b.prefix)
	}
	got := readN(bs, t, 6, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	vals := []string{}
	for _, m := range got {
		vals = append(vals, string(m.Value))
	}
	Eq(vals, []string{"c0", "c1", "c2", "c3", "c4", "z0"}, "read_committed values")
	a, done := admin(bs)
	defer done()
	hi, err := a.ListEndOffsets(ctx(), t)
	NoErr(err, "end offsets")
	h, _ := hi.Lookup(t, 0)
	Eq(h.Offset, int64(14), "high watermark (11 records and 3 markers)")
}

// consumeTransformProduce: a GroupTransactSession reads 10 input records and, in
// transactions, writes one output record per input record and commits the input
// offsets in the same transaction (TxnOffsetCommit). read_committed sees each output
// exactly once, in order, and the group's committed offset is 10.
func consumeTransformProduce(bs string) {
	in, out := Topic(client, "eos-in"), Topic(client, "eos-out")
	a, done := admin(bs)
	defer done()
	createTopic(a, in, 1, nil)
	createTopic(a, out, 1, nil)
	c := newClient(bs)
	produce(c, in, 0, Values(10, "i"))
	c.Close()
	g := Group(client, "eos")
	s, err := kgo.NewGroupTransactSession(opts(bs,
		kgo.TransactionalID("tx-"+out), kgo.TransactionTimeout(30*time.Second),
		kgo.ConsumerGroup(g), kgo.ConsumeTopics(in), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.Balancers(kgo.RangeBalancer()),
		kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(500*time.Millisecond))...)
	NoErr(err, "new group transact session")
	defer s.Close()
	n := 0
	deadline := time.Now().Add(30 * time.Second)
	for n < 10 && time.Now().Before(deadline) {
		Step(fmt.Sprintf("transacting (%d of 10 input records)", n))
		cx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := s.PollFetches(cx)
		cancel()
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		NoErr(s.Begin(), "begin")
		outs := []Record{}
		for _, r := range recs {
			outs = append(outs, Record{Value: []byte("o" + string(r.Value)[1:])})
		}
		rs := s.Client().ProduceSync(ctx(), toRecs(out, 0, outs)...)
		NoErr(rs.FirstErr(), "produce in transaction")
		committed, err := s.End(ctx(), kgo.TryCommit)
		NoErr(err, "end (commit) with offsets")
		Check(committed, "the transaction was aborted")
		n += len(recs)
	}
	Eq(n, 10, "input records transacted")
	os, err := a.FetchOffsets(ctx(), g)
	NoErr(err, "fetch offsets")
	o, _ := os.Lookup(in, 0)
	Eq(o.At, int64(10), "committed input offset")
	for i, m := range readN(bs, out, 10, kgo.FetchIsolationLevel(kgo.ReadCommitted())) {
		Eq(string(m.Value), fmt.Sprintf("o%d", i), "output value in order, once")
	}
}

func main() {
	Register("metadata_autocreate", metadataAutocreate)
	Register("roundtrip_none", roundtrip(kgo.NoCompression(), "none"))
	Register("roundtrip_gzip", roundtrip(kgo.GzipCompression(), "gzip"))
	Register("roundtrip_snappy", roundtrip(kgo.SnappyCompression(), "snappy"))
	Register("roundtrip_lz4", roundtrip(kgo.Lz4Compression(), "lz4"))
	Register("roundtrip_zstd", roundtrip(kgo.ZstdCompression(), "zstd"))
	Register("large_messages", largeMessages)
	Register("group_rebalance", groupRebalance)
	Register("group_consumer_protocol", groupConsumerProtocol)
	Register("commit_resume", commitResume)
	Register("idempotent_producer", idempotent)
	Register("admin_topics", adminTopics)
	Register("admin_configs", adminConfigs)
	Register("admin_create_partitions", adminCreatePartitions)
	Register("admin_groups", adminGroups)
	Register("offsets_for_times", offsetsForTimes)
	Register("delete_records", deleteRecords)
	Register("transactions", transactions)
	Register("transactions_consume_produce", consumeTransformProduce)
	registerSecured()
	Main()
}
