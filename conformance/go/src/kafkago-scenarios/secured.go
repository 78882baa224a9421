// The sec_* scenarios of kafka-go 0.2.1 (Debian): its Dialer speaks TLS (with a client
// certificate) and nothing of SASL, so it runs the subset over the mTLS listener only:
// CreateTopics v0, Metadata lists the secured listener as the leader, 10 records, a group
// member commits 5 and a new member resumes at 5 (0.2.1 has no OffsetFetch API: the resume
// is what shows the commit).
package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	. "weirconf"
)

func secMTLS(string) {
	bs, dir := SecListener("mtls")
	tlsCfg := SecTLS(dir, true)
	// kafka-go 0.2.1 hands its tls.Config to tls.Client as is: the name to verify is the caller's.
	tlsCfg.ServerName, _, _ = net.SplitHostPort(bs)
	d := &kafka.Dialer{Timeout: 10 * time.Second, TLS: tlsCfg}
	t, g := Topic(client, "sec-mtls"), Group(client, "sec-mtls")
	c, err := d.Dial("tcp", bs)
	NoErr(err, "dial the SSL listener")
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	Step("CreateTopics")
	NoErr(c.CreateTopics(kafka.TopicConfig{Topic: t, NumPartitions: 1, ReplicationFactor: 1}), "create topic")
	ps, err := c.ReadPartitions(t)
	NoErr(err, "metadata")
	Eq(len(ps), 1, "partitions")
	Eq(net.JoinHostPort(ps[0].Leader.Host, strconv.Itoa(ps[0].Leader.Port)), bs, "the leader's address (the listener we came in on)")
	Step("produce")
	l, err := d.DialLeader(context.Background(), "tcp", bs, t, 0)
	NoErr(err, "dial leader")
	l.SetDeadline(time.Now().Add(20 * time.Second))
	_, err = l.WriteMessages(values(10, "sec-")...)
	NoErr(err, "write messages")
	l.Close()
	mk := func() *kafka.Reader {
		return kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bs}, GroupID: g, Topic: t, Dialer: d, MinBytes: 1,
			MaxBytes: 10 << 20, MaxWait: 200 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond,
			SessionTimeout: 10 * time.Second})
	}
	cx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	Step("first group member: consume 5, commit")
	r := mk()
	var last kafka.Message
	for i := 0; i < 5; i++ {
		m, err := r.FetchMessage(cx)
		NoErr(err, "fetch message")
		Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record read back")
		last = m
	}
	NoErr(r.CommitMessages(cx, last), "commit")
	NoErr(r.Close(), "close")
	Step("second group member: resume at the committed offset")
	r = mk()
	defer r.Close()
	for i := 5; i < 10; i++ {
		m, err := r.FetchMessage(cx)
		NoErr(err, "fetch message after resuming")
		Eq([]interface{}{m.Offset, string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record after resuming")
	}
}

func registerSecured() {
	Register("sec_ssl_mtls", secMTLS)
	const noSASL = "n/a: kafka-go 0.2.1 has no SASL (its Dialer offers TLS only)"
	for _, s := range []string{"sec_sasl_ssl_scram512", "sec_sasl_plaintext_plain", "sec_sasl_oauthbearer",
		"sec_scram512_wrong_password", "sec_plain_wrong_password"} {
		Unsupported(s, noSASL)
	}
}
