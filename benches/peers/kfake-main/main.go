// Command kfake-peer runs franz-go's kfake (an in-memory fake Kafka cluster) as one broker
// on 127.0.0.1, for benches/peers/kfake (a weir benchmark and oracle peer).
//
// It prints the broker's bootstrap "127.0.0.1:PORT" on a line of its own once the listener
// is up, then serves until SIGTERM or SIGINT, when it closes the cluster and exits 0.
// kfake keeps everything in memory here (no -data-dir). Topics are auto-created on Metadata
// and Produce, as Kafka's default auto.create.topics.enable=true does.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "loopback port to listen on (0: any free port)")
	partitions := flag.Int("partitions", 1, "partitions of topics created without a count (auto-created or CreateTopics with -1)")
	logLevel := flag.String("log-level", "none", "kfake log level: none, error, warn, info, debug")
	flag.Parse()

	level := kfake.LogLevelNone
	switch *logLevel {
	case "debug":
		level = kfake.LogLevelDebug
	case "info":
		level = kfake.LogLevelInfo
	case "warn":
		level = kfake.LogLevelWarn
	case "error":
		level = kfake.LogLevelError
	}

	// Signals first, so one that arrives during startup is not lost.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)

	c, err := kfake.NewCluster(
		kfake.Ports(*port), // one port: one broker
		kfake.DefaultNumPartitions(*partitions),
		kfake.AllowAutoTopicCreation(), // as Kafka's auto.create.topics.enable=true
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, level)),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		os.Exit(1)
	}
	for _, addr := range c.ListenAddrs() {
		fmt.Println(addr)
	}

	<-sigs
	c.Close()
}
