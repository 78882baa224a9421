// The sec_* scenarios: the representative subset (metadata, CreateTopics, produce + consume
// back, a group commit and a resume from it) over the secured listeners conformance/run starts
// weir with (WEIR_SEC_* in the environment), with librdkafka's property names, and a wrong
// password refused (librdkafka reports it as a local _AUTHENTICATION error carrying the
// broker's message).
package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	. "weirconf"
)

// secConf: the bootstrap of a secured listener and the librdkafka settings that reach it.
func secConf(kind string, wrongPassword bool) (string, kafka.ConfigMap) {
	bs, dir := SecListener(kind)
	bad := ""
	if wrongPassword {
		bad = "not-"
	}
	switch kind {
	case "scram":
		return bs, kafka.ConfigMap{"security.protocol": "SASL_SSL", "ssl.ca.location": dir + "/ca.pem",
			"sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "bob", "sasl.password": bad + "bob-secret"}
	case "plain":
		return bs, kafka.ConfigMap{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
			"sasl.username": "alice", "sasl.password": bad + "alice-secret"}
	case "oauth":
		// librdkafka's built-in unsecured JWT (what Kafka's unsecured login module sends).
		return bs, kafka.ConfigMap{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER",
			"enable.sasl.oauthbearer.unsecure.jwt": true, "sasl.oauthbearer.config": "principal=carol"}
	case "mtls":
		return bs, kafka.ConfigMap{"security.protocol": "SSL", "ssl.ca.location": dir + "/ca.pem",
			"ssl.certificate.location": dir + "/client.crt", "ssl.key.location": dir + "/client.key"}
	}
	Failf("unknown kind %s", kind)
	return "", nil
}

func pollN(c *kafka.Consumer, n int) []*kafka.Message {
	var msgs []*kafka.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(msgs) < n && time.Now().Before(deadline) {
		switch e := c.Poll(200).(type) {
		case *kafka.Message:
			msgs = append(msgs, e)
		case kafka.Error:
			Failf("consumer error: %v", e)
		}
	}
	Check(len(msgs) == n, "consumed %d of %d", len(msgs), n)
	return msgs
}

func secSubset(kind string) Scenario {
	return func(string) {
		bs, sc := secConf(kind, false)
		t, g := Topic(client, "sec-"+kind), Group(client, "sec-"+kind)
		a, err := kafka.NewAdminClient(conf(bs, sc))
		NoErr(err, "new admin client")
		defer a.Close()
		Step("CreateTopics")
		res, err := a.CreateTopics(ctx(), []kafka.TopicSpecification{{Topic: t, NumPartitions: 1, ReplicationFactor: 1}})
		NoErr(err, "create topics")
		Eq(res[0].Error.Code(), kafka.ErrNoError, "create topic "+t)
		md, err := a.GetMetadata(&t, false, T)
		NoErr(err, "metadata")
		addrs := []string{}
		for _, b := range md.Brokers {
			addrs = append(addrs, fmt.Sprintf("%s:%d", b.Host, b.Port))
		}
		Eq(addrs, []string{bs}, "Metadata's brokers (the listener we came in on)")
		Step("produce")
		p := producer(bs, sc)
		expectDelivered(produce(p, t, Values(10, "sec-"), 0, nil), 0)
		p.Close()
		Step("first group member: consume 5, commit")
		c := consumer(bs, g, sc)
		NoErr(c.Assign([]kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: kafka.OffsetBeginning}}), "assign")
		for i, m := range pollN(c, 5) {
			Eq([]interface{}{int64(m.TopicPartition.Offset), string(m.Value)}, []interface{}{int64(i), fmt.Sprintf("sec-%d", i)}, "record read back")
		}
		_, err = c.CommitOffsets([]kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: 5}})
		NoErr(err, "commit")
		c.Close()
		Step("second group member: resume at the committed offset")
		c2 := consumer(bs, g, sc)
		defer c2.Close()
		com, err := c2.Committed([]kafka.TopicPartition{{Topic: &t, Partition: 0}}, T)
		NoErr(err, "committed")
		Eq(int64(com[0].Offset), int64(5), "committed offset")
		NoErr(c2.Subscribe(t, nil), "subscribe")
		for i, m := range pollN(c2, 5) {
			Eq([]interface{}{int64(m.TopicPartition.Offset), string(m.Value)}, []interface{}{int64(5 + i), fmt.Sprintf("sec-%d", 5+i)}, "record after resuming")
		}
	}
}

func secWrongPassword(kind, want string) Scenario {
	return func(string) {
		bs, sc := secConf(kind, true)
		p, err := kafka.NewProducer(conf(bs, sc))
		NoErr(err, "new producer")
		defer p.Close()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case ev := <-p.Events():
				if e, ok := ev.(kafka.Error); ok {
					Eq(e.Code(), kafka.ErrAuthentication, fmt.Sprintf("error code (message: %s)", e.Error()))
					Check(strings.Contains(e.Error(), want), "error %q lacks Kafka's %q", e.Error(), want)
					return
				}
			case <-deadline:
				Failf("no error event within 15 s with a wrong password")
			}
		}
	}
}

func registerSecured() {
	Register("sec_sasl_ssl_scram512", secSubset("scram"))
	Register("sec_sasl_plaintext_plain", secSubset("plain"))
	Register("sec_ssl_mtls", secSubset("mtls"))
	Register("sec_sasl_oauthbearer", secSubset("oauth"))
	Register("sec_scram512_wrong_password", secWrongPassword("scram", ScramRefused))
	Register("sec_plain_wrong_password", secWrongPassword("plain", PlainRefused))
}
