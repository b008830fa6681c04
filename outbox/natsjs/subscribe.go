package natsjs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/internal/pause"
	"github.com/svckit/svckit/outbox"
)

// Defaults of SubscribeOptions.
const (
	DefaultAckWait       = 30 * time.Second
	DefaultMaxAckPending = 1000
)

// SubscribeOptions configure Subscribe. Stream is required; the zero value
// of every other field is documented on it.
type SubscribeOptions struct {
	// Stream is the stream the events are in.
	Stream string
	// Prefix is the subject prefix the events were published with. Empty
	// means DefaultPrefix.
	Prefix string
	// Types, when not empty, limits the subscription to these event types
	// (each may end in ".>" or ".*", a NATS wildcard); it must be one type
	// on a NATS server older than 2.10. Empty means every type.
	Types []string
	// AckWait is how long the server waits for an acknowledgement before it
	// delivers a message again; the subscription tells it a message is in
	// progress while a failed one waits for its retry. Zero or negative
	// means DefaultAckWait.
	AckWait time.Duration
	// MaxAckPending bounds the messages delivered and not yet acknowledged,
	// and so the keys applied at once. Zero or negative means
	// DefaultMaxAckPending.
	MaxAckPending int
	// LeaseTTL is how long the subscription's hold on the consumer lasts
	// without renewal (it renews every third of it). Zero, negative or
	// less than AckWait + 1s means AckWait + 5s, so that what a dead
	// holder had in hand is redelivered before its successor fetches.
	LeaseTTL time.Duration
	// Owner names this subscription in the lease. Empty means a random
	// name.
	Owner string
}

// Subscription feeds an outbox.Consumer from a durable JetStream consumer
// of the same name. Build it with Subscribe and Close it when done.
//
// It applies the events of one key one after the other, in the stream's
// order, and those of different keys side by side; it acknowledges a
// message only after the consumer's transaction committed (or the event
// was dead-lettered), with a double acknowledgement that the server
// confirms. It fetches only while it holds the consumer's lease.
type Subscription struct {
	js     jetstream.JetStream
	c      *outbox.Consumer
	prefix string
	ttl    time.Duration
	owner  string
	cons   jetstream.Consumer
	pull   int

	cancel context.CancelFunc
	done   chan struct{}
}

// Subscribe creates or updates the durable consumer c.Name() on
// opts.Stream and starts feeding c from it until Close or ctx's end.
func Subscribe(ctx context.Context, js jetstream.JetStream, c *outbox.Consumer, opts SubscribeOptions) (*Subscription, error) {
	if js == nil || c == nil {
		panic("natsjs: Subscribe: nil jetstream.JetStream or consumer")
	}
	if opts.Stream == "" {
		return nil, errors.New("natsjs: Subscribe: SubscribeOptions.Stream is empty")
	}
	prefix := strings.TrimSuffix(cmpOr(opts.Prefix, DefaultPrefix), ".")
	ackWait := opt.PositiveOr(opts.AckWait, DefaultAckWait)
	pending := opt.PositiveOr(opts.MaxAckPending, DefaultMaxAckPending)
	cfg := jetstream.ConsumerConfig{
		Durable:       c.Name(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1, // the consumer counts deliveries and dead-letters
		MaxAckPending: pending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	switch len(opts.Types) {
	case 0:
		cfg.FilterSubject = prefix + ".>"
	case 1:
		cfg.FilterSubject = prefix + "." + opts.Types[0]
	default:
		for _, t := range opts.Types {
			cfg.FilterSubjects = append(cfg.FilterSubjects, prefix+"."+t)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, opts.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("natsjs: consumer %s on %s: %w", c.Name(), opts.Stream, err)
	}
	ttl := opts.LeaseTTL
	if ttl < ackWait+time.Second {
		ttl = ackWait + 5*time.Second
	}
	s := &Subscription{
		js: js, c: c, prefix: prefix, ttl: ttl, owner: opts.Owner, cons: cons, pull: min(pending, 500),
		done: make(chan struct{}),
	}
	if s.owner == "" {
		s.owner = fmt.Sprintf("sub-%016x", rand.Uint64())
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.run(ctx)
	return s, nil
}

// Close stops fetching, waits for the events being applied, and gives up
// the lease so that a standby takes over at once. Messages fetched and not
// applied are delivered again by the server after AckWait.
func (s *Subscription) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// run holds the lease and fetches while it holds it, until ctx ends.
func (s *Subscription) run(ctx context.Context) {
	defer close(s.done)
	defer func() { _ = s.c.Release(context.WithoutCancel(ctx), s.owner) }()
	for ctx.Err() == nil {
		held, err := s.c.Lease(ctx, s.owner, s.ttl)
		if err != nil || !held {
			_ = pause.For(ctx, s.ttl/3)
			continue
		}
		s.fetch(ctx)
	}
}

// fetch takes messages and applies them in lanes per key, renewing the
// lease every ttl/3, until ctx ends or the lease is lost.
func (s *Subscription) fetch(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	iter, err := s.cons.Messages(jetstream.PullMaxMessages(s.pull))
	if err != nil {
		_ = pause.For(ctx, time.Second)
		return
	}
	l := &lanes{m: map[string]*lane{}, apply: s.apply}
	renewed := make(chan struct{})
	go func() { // the lease's keeper: it stops the fetch when the lease goes
		defer close(renewed)
		defer iter.Stop()
		for {
			if pause.For(ctx, s.ttl/3) != nil {
				return
			}
			if held, err := s.c.Lease(ctx, s.owner, s.ttl); err != nil || !held {
				cancel()
				return
			}
		}
	}()
	for {
		msg, err := iter.Next()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				continue // a heartbeat or a transient error: the iterator goes on
			}
			break
		}
		l.add(ctx, msg)
	}
	cancel()
	<-renewed
	l.wait()
}

// apply delivers one message to the consumer and acknowledges it when the
// consumer is done with it.
func (s *Subscription) apply(ctx context.Context, msg jetstream.Msg) {
	m := fromNATS(s.prefix, msg.Subject(), msg.Headers(), msg.Data())
	if m.ID == "" {
		_ = msg.Term() // not an outbox event: nothing can apply it
		return
	}
	prior := 0
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		prior = int(md.NumDelivered - 1)
	}
	beat := func() { _ = msg.InProgress() }
	for {
		err := s.c.Deliver(ctx, m, prior, beat)
		if err == nil {
			_ = msg.DoubleAck(ctx)
			return
		}
		if ctx.Err() != nil {
			return // not acknowledged: delivered again after AckWait
		}
		// The dead letter could not be published: keep the key's order and
		// try again.
		beat()
		prior = s.c.MaxDeliveries()
		if pause.For(ctx, time.Second) != nil {
			return
		}
	}
}

// lanes applies the messages of each key in order, keys side by side.
type lanes struct {
	mu    sync.Mutex
	m     map[string]*lane
	wg    sync.WaitGroup
	apply func(context.Context, jetstream.Msg)
}

type lane struct{ q []jetstream.Msg }

func (l *lanes) add(ctx context.Context, msg jetstream.Msg) {
	key := msg.Headers().Get(HeaderKey)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln, ok := l.m[key]; ok {
		ln.q = append(ln.q, msg)
		return
	}
	ln := &lane{q: []jetstream.Msg{msg}}
	l.m[key] = ln
	l.wg.Add(1)
	go l.run(ctx, key, ln)
}

func (l *lanes) run(ctx context.Context, key string, ln *lane) {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		if len(ln.q) == 0 || ctx.Err() != nil {
			delete(l.m, key)
			l.mu.Unlock()
			return
		}
		msg := ln.q[0]
		ln.q = ln.q[1:]
		l.mu.Unlock()
		l.apply(ctx, msg)
	}
}

func (l *lanes) wait() { l.wg.Wait() }
