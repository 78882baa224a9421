// The sec_* scenarios: the representative subset (metadata, CreateTopics, produce + consume
// back, a group commit and a resume from it) over the secured listeners conformance/run starts
// weir with (WEIR_SEC_* in the environment), and a wrong password refused with
// SASL_AUTHENTICATION_FAILED, with sarama 1.22 (Debian). sarama leaves SCRAM to the application
// (Net.SASL.SCRAMClientGeneratorFunc) and Debian's gocode tree has no SCRAM library: this
// driver plugs in weirconf's stdlib SCRAM-SHA-512 client. OAUTHBEARER takes a
// Net.SASL.TokenProvider. sarama 1.22 commits a group's marked offsets when the session ends
// (it has no session.Commit) and keeps only the error code of a failed SaslAuthenticate (its
// error_message is dropped), so the wrong-password checks assert the code.
package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	. "weirconf"
)

type jwsToken struct{}

func (jwsToken) Token() (*sarama.AccessToken, error) {
	return &sarama.AccessToken{Token: UnsecuredJWS("carol")}, nil
}

// secConfig: the bootstrap of a secured listener and a config that reaches it.
func secConfig(kind string, wrongPassword bool) (string, *sarama.Config) {
	bs, dir := SecListener(kind)
	bad := ""
	if wrongPassword {
		bad = "not-"
	}
	c := config()
	switch kind {
	case "scram":
		c.Net.TLS.Enable, c.Net.TLS.Config = true, SecTLS(dir, false)
		c.Net.SASL.Enable, c.Net.SASL.Mechanism = true, sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.User, c.Net.SASL.Password = "bob", bad+"bob-secret"
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &ScramSHA512{} }
	case "plain":
		c.Net.SASL.Enable, c.Net.SASL.Mechanism = true, sarama.SASLTypePlaintext
		c.Net.SASL.User, c.Net.SASL.Password = "alice", bad+"alice-secret"
	case "oauth":
		c.Net.SASL.Enable, c.Net.SASL.Mechanism = true, sarama.SASLTypeOAuth
		c.Net.SASL.TokenProvider = jwsToken{}
	case "mtls":
		c.Net.TLS.Enable, c.Net.TLS.Config = true, SecTLS(dir, true)
	}
	return bs, c
}

// secHandler hands the first `want` records of its claim to got, then (if commit) marks and
// commits the next offset, and stops consuming.
type secHandler struct {
	want   int
	commit bool
	got    chan *sarama.ConsumerMessage
	done   chan struct{}
	once   sync.Once
}

func (h *secHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *secHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *secHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	n := 0
	for {
		select {
		case <-h.done:
			return nil
		default:
		}
		select {
		case <-h.done:
			return nil
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			h.got <- m
			if n++; n == h.want {
				if h.commit {
					s.MarkOffset(m.Topic, m.Partition, m.Offset+1, "") // committed when the session ends
				}
				h.once.Do(func() { close(h.done) })
				return nil
			}
		}
	}
}

// secMember joins group g, reads n records of t and (if commit) commits the offset after them.
func secMember(kind, g, t string, n int, commit bool) []*sarama.ConsumerMessage {
	bs, c := secConfig(kind, false)
	cg, err := sarama.NewConsumerGroup([]string{bs}, g, c)
	NoErr(err, "new consumer group")
	h := &secHandler{want: n, commit: commit, got: make(chan *sarama.ConsumerMessage, 100), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{t}, h); err != nil {
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	go func() {
		for range cg.Errors() {
		}
	}()
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
	}
	cancel()
	NoErr(cg.Close(), "close the group member")
	<-stopped
	close(h.got)
	out := []*sarama.ConsumerMessage{}
	for m := range h.got {
		out = append(out, m)
	}
	Check(len(out) == n, "group member consumed %d of %d records", len(out), n)
	return out
}

func secSubset(kind string) Scenario {
	return func(string) {
		bs, c := secConfig(kind, false)
		t, g := Topic(client, "sec-"+kind), Group(client, "sec-"+kind)
		cl, err := sarama.NewClient([]string{bs}, c)
		NoErr(err, "client over the secured listener")
		defer cl.Close()
		_, ac := secConfig(kind, false)
		a, err := sarama.NewClusterAdmin([]string{bs}, ac)
		NoErr(err, "cluster admin over the secured listener")
		defer a.Close()
		Step("CreateTopics")
		NoErr(a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false), "create topic")
		NoErr(cl.RefreshMetadata(t), "metadata")
		addrs := []string{}
		for _, b := range cl.Brokers() {
			addrs = append(addrs, b.Addr())
		}
		Eq(addrs, []string{bs}, "Metadata's brokers (the listener we came in on)")
		Step("produce")
		p, err := sarama.NewSyncProducerFromClient(cl)
		NoErr(err, "producer")
		Eq(send(p, t, Values(10, "sec-"), 0), Seq(0, 10), "delivered offsets")
		NoErr(p.Close(), "close producer")
		Step("first group member: consume 5, commit")
		for i, m := range secMember(kind, g, t, 5, true) {
			Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record read back")
		}
		r, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0}})
		NoErr(err, "fetch offsets")
		Eq(r.GetBlock(t, 0).Offset, int64(5), "committed offset")
		Step("second group member: resume at the committed offset")
		for i, m := range secMember(kind, g, t, 5, false) {
			Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(5 + i), fmt.Sprintf("sec-%d", 5+i)}, "record after resuming")
		}
	}
}

// secWrongPassword opens one broker connection with a wrong password: the SASL error is the
// connection's error, as the first request on it reports it (sarama 1.22: the code only).
func secWrongPassword(kind string) Scenario {
	return func(string) {
		bs, c := secConfig(kind, true)
		b := sarama.NewBroker(bs)
		NoErr(b.Open(c), "open")
		defer b.Close()
		_, err := b.GetMetadata(&sarama.MetadataRequest{Version: 1})
		Check(err != nil, "Metadata with a wrong password succeeded")
		Check(err == sarama.ErrSASLAuthenticationFailed, "expected SASL_AUTHENTICATION_FAILED, got %v", err)
	}
}

func registerSecured() {
	Register("sec_sasl_ssl_scram512", secSubset("scram"))
	Register("sec_sasl_plaintext_plain", secSubset("plain"))
	Register("sec_ssl_mtls", secSubset("mtls"))
	Register("sec_sasl_oauthbearer", secSubset("oauth"))
	Register("sec_scram512_wrong_password", secWrongPassword("scram"))
	Register("sec_plain_wrong_password", secWrongPassword("plain"))
}
