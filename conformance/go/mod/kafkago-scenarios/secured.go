// The sec_* scenarios: the representative subset (metadata, CreateTopics, produce + consume
// back, a group commit and a resume from it) over the secured listeners conformance/run starts
// weir with (WEIR_SEC_* in the environment), and a wrong password refused with
// SASL_AUTHENTICATION_FAILED. kafka-go takes TLS and a sasl.Mechanism on its Transport (Client,
// Writer) and on its Dialer (Reader); it ships PLAIN and SCRAM (sasl/plain, sasl/scram) and no
// OAUTHBEARER mechanism.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
	. "weirconf"
)

// secAuth: the bootstrap of a secured listener, its TLS settings and SASL mechanism.
func secAuth(kind string, wrongPassword bool) (string, *tls.Config, sasl.Mechanism) {
	bs, dir := SecListener(kind)
	bad := ""
	if wrongPassword {
		bad = "not-"
	}
	switch kind {
	case "scram":
		m, err := scram.Mechanism(scram.SHA512, "bob", bad+"bob-secret")
		NoErr(err, "SCRAM-SHA-512 mechanism")
		return bs, SecTLS(dir, false), m
	case "plain":
		return bs, nil, plain.Mechanism{Username: "alice", Password: bad + "alice-secret"}
	case "mtls":
		return bs, SecTLS(dir, true), nil
	}
	Failf("unknown kind %s", kind)
	return "", nil, nil
}

func secClient(kind string, wrong bool) (string, *kafka.Client, *kafka.Transport) {
	bs, tlsCfg, mech := secAuth(kind, wrong)
	tr := &kafka.Transport{TLS: tlsCfg, SASL: mech, DialTimeout: 5 * time.Second}
	return bs, &kafka.Client{Addr: kafka.TCP(bs), Timeout: 15 * time.Second, Transport: tr}, tr
}

func secReader(kind, g, t string) *kafka.Reader {
	bs, tlsCfg, mech := secAuth(kind, false)
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}
	return kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, GroupID: g, Topic: t, Dialer: d, MinBytes: 1,
		MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset,
		HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond})
}

func secSubset(kind string) Scenario {
	return func(string) {
		bs, cl, tr := secClient(kind, false)
		t, g := Topic(client, "sec-"+kind), Group(client, "sec-"+kind)
		Step("CreateTopics")
		cr, err := cl.CreateTopics(ctx(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: t, NumPartitions: 1, ReplicationFactor: 1}}})
		NoErr(err, "create topics")
		NoErr(cr.Errors[t], "create topic "+t)
		md, err := cl.Metadata(ctx(), &kafka.MetadataRequest{Topics: []string{t}})
		NoErr(err, "metadata")
		addrs := []string{}
		for _, b := range md.Brokers {
			addrs = append(addrs, net.JoinHostPort(b.Host, fmt.Sprint(b.Port)))
		}
		Eq(addrs, []string{bs}, "Metadata's brokers (the listener we came in on)")
		Step("produce")
		w := &kafka.Writer{Addr: kafka.TCP(bs), Transport: tr, Balancer: fixed(0), RequiredAcks: kafka.RequireAll,
			BatchSize: 1000, BatchTimeout: 20 * time.Millisecond, WriteTimeout: 15 * time.Second, ReadTimeout: 15 * time.Second, MaxAttempts: 3}
		NoErr(w.WriteMessages(ctx(), toMsgs(t, Values(10, "sec-"))...), "write messages")
		NoErr(w.Close(), "close writer")
		Step("first group member: consume 5, commit")
		cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r := secReader(kind, g, t)
		var last kafka.Message
		for i := 0; i < 5; i++ {
			m, err := r.FetchMessage(cx)
			NoErr(err, "fetch message")
			Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record read back")
			last = m
		}
		NoErr(r.CommitMessages(cx, last), "commit")
		NoErr(r.Close(), "close reader")
		of, err := cl.OffsetFetch(ctx(), &kafka.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{t: {0}}})
		NoErr(err, "offset fetch")
		NoErr(of.Error, "offset fetch result")
		Eq(of.Topics[t][0].CommittedOffset, int64(5), "committed offset")
		Step("second group member: resume at the committed offset")
		r2 := secReader(kind, g, t)
		defer r2.Close()
		for i := 5; i < 10; i++ {
			m, err := r2.FetchMessage(cx)
			NoErr(err, "fetch message after resuming")
			Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record after resuming")
		}
	}
}

func secWrongPassword(kind, want string) Scenario {
	return func(string) {
		_, cl, _ := secClient(kind, true)
		_, err := cl.Metadata(ctx(), &kafka.MetadataRequest{})
		Check(err != nil, "Metadata with a wrong password succeeded")
		Check(errors.Is(err, kafka.SASLAuthenticationFailed), "expected SASL_AUTHENTICATION_FAILED, got %v", err)
		Check(strings.Contains(err.Error(), want), "error %q lacks Kafka's %q", err.Error(), want)
	}
}

func registerSecured() {
	Register("sec_sasl_ssl_scram512", secSubset("scram"))
	Register("sec_sasl_plaintext_plain", secSubset("plain"))
	Register("sec_ssl_mtls", secSubset("mtls"))
	Unsupported("sec_sasl_oauthbearer", "n/a: kafka-go ships no OAUTHBEARER mechanism (sasl/plain and sasl/scram only)")
	Register("sec_scram512_wrong_password", secWrongPassword("scram", ScramRefused))
	Register("sec_plain_wrong_password", secWrongPassword("plain", PlainRefused))
}
