// The sec_* scenarios: the representative subset (metadata, CreateTopics, produce + consume
// back, a group commit and a resume from it) over the secured listeners conformance/run starts
// weir with (WEIR_SEC_* in the environment), and a wrong password refused with
// SASL_AUTHENTICATION_FAILED.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	. "weirconf"
)

func unsecuredJws(sub string) string {
	b64 := func(v interface{}) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	now := time.Now().Unix()
	return b64(map[string]string{"alg": "none"}) + "." + b64(map[string]interface{}{"sub": sub, "iat": now, "exp": now + 3600}) + "."
}

// secOpts: the bootstrap of a secured listener and the client options to reach it.
func secOpts(kind string, wrongPassword bool) (string, []kgo.Opt) {
	env := map[string]string{"scram": "WEIR_SEC_SASL_SSL", "mtls": "WEIR_SEC_SSL"}[kind]
	if env == "" {
		env = "WEIR_SEC_SASL_PLAINTEXT"
	}
	dir, bs := os.Getenv("WEIR_SEC_DIR"), os.Getenv(env)
	if dir == "" || bs == "" {
		Failf("%s/WEIR_SEC_DIR not set: the sec_* scenarios need the secured listeners conformance/run starts weir with (not available with --bootstrap)", env)
	}
	bad := ""
	if wrongPassword {
		bad = "not-"
	}
	pem, err := os.ReadFile(dir + "/ca.pem")
	NoErr(err, "read ca.pem")
	pool := x509.NewCertPool()
	Check(pool.AppendCertsFromPEM(pem), "no certificate in ca.pem")
	tlsCfg := &tls.Config{RootCAs: pool}
	var o []kgo.Opt
	switch kind {
	case "scram":
		o = []kgo.Opt{kgo.DialTLSConfig(tlsCfg), kgo.SASL(scram.Auth{User: "bob", Pass: bad + "bob-secret"}.AsSha512Mechanism())}
	case "plain":
		o = []kgo.Opt{kgo.SASL(plain.Auth{User: "alice", Pass: bad + "alice-secret"}.AsMechanism())}
	case "oauth":
		o = []kgo.Opt{kgo.SASL(oauth.Auth{Token: unsecuredJws("carol")}.AsMechanism())}
	case "mtls":
		cert, err := tls.LoadX509KeyPair(dir+"/client.crt", dir+"/client.key")
		NoErr(err, "load the client certificate")
		tlsCfg.Certificates = []tls.Certificate{cert}
		o = []kgo.Opt{kgo.DialTLSConfig(tlsCfg)}
	}
	return bs, o
}

func secSubset(kind string) Scenario {
	return func(string) {
		bs, so := secOpts(kind, false)
		t, g := Topic(client, "sec-"+kind), Group(client, "sec-"+kind)
		c := newClient(bs, so...)
		defer c.Close()
		a := kadm.NewClient(c)
		Step("CreateTopics")
		r, err := a.CreateTopic(ctx(), 1, 1, nil, t)
		NoErr(err, "create topic")
		NoErr(r.Err, "create topic "+t)
		bm, err := a.ListBrokers(ctx())
		NoErr(err, "list brokers")
		addrs := []string{}
		for _, b := range bm {
			addrs = append(addrs, fmt.Sprintf("%s:%d", b.Host, b.Port))
		}
		Eq(addrs, []string{bs}, "Metadata's brokers (the listener we came in on)")
		Step("produce")
		Eq(produce(c, t, 0, Values(10, "sec-")), Seq(0, 10), "delivered offsets")
		Step("first group member: consume 5, commit")
		m := newClient(bs, append(so, kgo.ConsumerGroup(g), kgo.ConsumeTopics(t), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
		got := []*kgo.Record{}
		deadline := time.Now().Add(20 * time.Second)
		for len(got) < 5 && time.Now().Before(deadline) {
			cx, cancel := context.WithTimeout(context.Background(), time.Second)
			got = append(got, m.PollRecords(cx, 5-len(got)).Records()...)
			cancel()
		}
		Check(len(got) == 5, "consumed %d of 5", len(got))
		for i, rec := range got {
			Eq(string(rec.Value), fmt.Sprintf("sec-%d", i), "record read back")
		}
		NoErr(m.CommitRecords(ctx(), got[4]), "commit")
		m.Close()
		os, err := a.FetchOffsets(ctx(), g)
		NoErr(err, "fetch offsets")
		o, ok := os.Lookup(t, 0)
		Check(ok, "no committed offset for %s/0", t)
		Eq(o.At, int64(5), "committed offset")
		Step("second group member: resume at the committed offset")
		m = newClient(bs, append(so, kgo.ConsumerGroup(g), kgo.ConsumeTopics(t), kgo.DisableAutoCommit(),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
		defer m.Close()
		got = got[:0]
		deadline = time.Now().Add(20 * time.Second)
		for len(got) < 5 && time.Now().Before(deadline) {
			cx, cancel := context.WithTimeout(context.Background(), time.Second)
			got = append(got, m.PollRecords(cx, 5-len(got)).Records()...)
			cancel()
		}
		Check(len(got) == 5, "consumed %d of 5 after resuming", len(got))
		for i, rec := range got {
			Eq([]interface{}{rec.Offset, string(rec.Value)}, []interface{}{int64(5 + i), fmt.Sprintf("sec-%d", 5+i)}, "record after resuming")
		}
	}
}

func secWrongPassword(kind, want string) Scenario {
	return func(string) {
		bs, so := secOpts(kind, true)
		c := newClient(bs, so...)
		defer c.Close()
		err := c.Ping(ctx())
		Check(err != nil, "Ping with a wrong password succeeded")
		Check(errors.Is(err, kerr.SaslAuthenticationFailed), "expected SASL_AUTHENTICATION_FAILED, got %v", err)
		Check(strings.Contains(err.Error(), want), "error %q lacks Kafka's %q", err.Error(), want)
	}
}

func registerSecured() {
	Register("sec_sasl_ssl_scram512", secSubset("scram"))
	Register("sec_sasl_plaintext_plain", secSubset("plain"))
	Register("sec_ssl_mtls", secSubset("mtls"))
	Register("sec_sasl_oauthbearer", secSubset("oauth"))
	Register("sec_scram512_wrong_password", secWrongPassword("scram",
		"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"))
	Register("sec_plain_wrong_password", secWrongPassword("plain", "Authentication failed: Invalid username or password"))
}
