// SPDX-License-Identifier: GPL-2.0

// sarama_e2e: the Go client Sarama (Debian's, Kafka protocol as of 2.2)
// against kbrokerd.  Topic made with ClusterAdmin; an idempotent producer
// with acks=all sends keyed messages in each codec; a consumer group reads
// them all with per-key order, commits, and a second session of the group
// finds nothing left; ListOffsets agrees.  TAP on stdout.
//
//	sarama_e2e BOOTSTRAP
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const (
	topic = "sarama"
	parts = 3
	keys  = 8
	per   = 60 // messages per key and codec
)

var n int
var failed bool

func ok(cond bool, format string, a ...interface{}) {
	n++
	if cond {
		fmt.Printf("ok %d - %s\n", n, fmt.Sprintf(format, a...))
	} else {
		failed = true
		fmt.Printf("not ok %d - %s\n", n, fmt.Sprintf(format, a...))
	}
}

func diag(format string, a ...interface{}) {
	fmt.Printf("# %s\n", fmt.Sprintf(format, a...))
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.MaxVersion
	c.ClientID = "sarama-e2e"
	c.Net.DialTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 10
	return c
}

// group reads until it has want messages or stalls, keeping per-key order.
type group struct {
	mu   sync.Mutex
	seen map[string][]int
	got  int
	want int
	done chan struct{}
	once sync.Once
}

func (g *group) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (g *group) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (g *group) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		g.mu.Lock()
		k := string(m.Key)
		v, _ := strconv.Atoi(strings.TrimPrefix(string(m.Value), k+"-"))
		g.seen[k] = append(g.seen[k], v)
		g.got++
		if g.got >= g.want && g.want > 0 {
			g.once.Do(func() { close(g.done) })
		}
		g.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

// consume runs one group session for at most d; returns what it read.
func consume(addr string, want int, d time.Duration) (*group, error) {
	c := config()
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	cg, err := sarama.NewConsumerGroup([]string{addr}, "sarama-group", c)
	if err != nil {
		return nil, err
	}
	g := &group{seen: map[string][]int{}, want: want, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- cg.Consume(ctx, []string{topic}, g) }()
	select {
	case <-g.done:
	case <-time.After(d):
	}
	cancel()
	err = <-errc
	if cerr := cg.Close(); err == nil {
		err = cerr
	}
	return g, err
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: sarama_e2e BOOTSTRAP")
		os.Exit(2)
	}
	addr := os.Args[1]

	admin, err := sarama.NewClusterAdmin([]string{addr}, config())
	ok(err == nil, "ClusterAdmin connects (%v)", err)
	if err != nil {
		os.Exit(1)
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: parts,
		ReplicationFactor: 1}, false)
	ok(err == nil, "CreateTopics: %s with %d partitions (%v)", topic, parts, err)
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: parts,
		ReplicationFactor: 1}, false)
	ok(err != nil && strings.Contains(err.Error(), "already exists"),
		"creating it again: TOPIC_ALREADY_EXISTS (%v)", err)
	admin.Close()

	pc := config()
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Producer.Idempotent = true
	pc.Net.MaxOpenRequests = 1
	pc.Producer.Return.Successes = true
	pc.Producer.Partitioner = sarama.NewHashPartitioner
	codecs := []sarama.CompressionCodec{sarama.CompressionNone,
		sarama.CompressionGZIP, sarama.CompressionSnappy,
		sarama.CompressionLZ4, sarama.CompressionZSTD}
	total := 0
	for ci, codec := range codecs {
		pc.Producer.Compression = codec
		p, err := sarama.NewSyncProducer([]string{addr}, pc)
		if err != nil {
			ok(false, "idempotent producer, codec %v: %v", codec, err)
			continue
		}
		var msgs []*sarama.ProducerMessage
		for i := 0; i < per; i++ {
			for k := 0; k < keys; k++ {
				key := fmt.Sprintf("k%d", k)
				msgs = append(msgs, &sarama.ProducerMessage{Topic: topic,
					Key:   sarama.StringEncoder(key),
					Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", key, ci*per+i))})
			}
		}
		err = p.SendMessages(msgs)
		ok(err == nil, "%d keyed messages, acks=all, idempotent, codec %v (%v)",
			len(msgs), codec, err)
		if err == nil {
			total += len(msgs)
		}
		p.Close()
	}

	client, err := sarama.NewClient([]string{addr}, config())
	ok(err == nil, "client connects (%v)", err)
	if err == nil {
		sum := int64(0)
		for part := int32(0); part < parts; part++ {
			newest, e1 := client.GetOffset(topic, part, sarama.OffsetNewest)
			oldest, e2 := client.GetOffset(topic, part, sarama.OffsetOldest)
			if e1 == nil && e2 == nil {
				sum += newest - oldest
			}
		}
		ok(sum == int64(total), "ListOffsets: newest-oldest over partitions = %d (%d produced)",
			sum, total)
		client.Close()
	}

	g, err := consume(addr, total, 60*time.Second)
	ok(err == nil, "consumer group session ends cleanly (%v)", err)
	if g != nil {
		ok(g.got == total, "the group read every message (%d of %d)", g.got, total)
		inOrder := len(g.seen) == keys
		for _, vs := range g.seen {
			for i := range vs {
				if vs[i] != i {
					inOrder = false
				}
			}
		}
		ok(inOrder, "each of %d keys in order, no duplicates or gaps", keys)
	}

	// The offsets were committed: a new session has nothing to read.
	g2, err := consume(addr, 0, 8*time.Second)
	ok(err == nil && g2 != nil && g2.got == 0,
		"a second session resumes from the committed offsets (%d re-read, %v)",
		func() int {
			if g2 == nil {
				return -1
			}
			return g2.got
		}(), err)

	fmt.Printf("1..%d\n", n)
	if failed {
		os.Exit(1)
	}
}
