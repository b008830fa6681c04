// Package natsjs carries outbox events over NATS JetStream: Publisher is
// the relay's outbox.Publisher, Subscribe feeds an outbox.Consumer from a
// durable JetStream consumer, DeadLetterTo publishes what a consumer gave
// up on, and CreateStream makes a stream that holds both.
//
//	nc, _ := nats.Connect(url, nats.ReconnectBufSize(-1))
//	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
//	_, _ = natsjs.CreateStream(ctx, js, "EVENTS", natsjs.StreamOptions{})
//	relay := outbox.NewRelay(box, natsjs.NewPublisher(js, natsjs.PublisherOptions{}), outbox.RelayOptions{})
//	feed := outbox.NewConsumer(box, "feed", apply, outbox.ConsumerOptions{
//		DeadLetter: natsjs.DeadLetterTo(js, natsjs.DefaultDeadLetterPrefix+".feed"),
//	})
//	sub, _ := natsjs.Subscribe(ctx, js, feed, natsjs.SubscribeOptions{Stream: "EVENTS"})
//	defer sub.Close()
//
// It is a package of its own so that importing outbox compiles no NATS
// client.
//
// # On the wire
//
// An event of type T goes to the subject Prefix + "." + T with its payload
// as the data, its id as Nats-Msg-Id (JetStream drops a second message
// with the same id within the stream's duplicate window, so a relay's
// republication after a crash is not stored twice), its key in
// HeaderKey, its time in HeaderTime and its own headers (trace context,
// request id) as they are.
//
// # Order
//
// Publisher publishes a batch asynchronously without the client's own
// retries and counts the prefix the server acknowledged, so one
// connection's messages are stored in the order sent. Connect with
// nats.ReconnectBufSize(-1): a message buffered by the client during a
// reconnect could otherwise be stored after one that was lost on the old
// connection. Subscribe applies the events of one key one after the other
// and holds the consumer's lease (outbox.Consumer.Lease), so one process
// at a time takes the consumer's messages and the order of each key holds
// across processes; the others wait as standbys.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/svckit/svckit/internal/opt"
	"github.com/svckit/svckit/outbox"
)

// Subjects and headers.
const (
	// DefaultPrefix is the subject prefix of events: "svckit.events.<type>".
	DefaultPrefix = "svckit.events"
	// DefaultDeadLetterPrefix is the subject prefix of dead letters, which
	// CreateStream also captures: "svckit.dead.<consumer>" by convention.
	DefaultDeadLetterPrefix = "svckit.dead"
	// HeaderKey carries the event's ordering key.
	HeaderKey = "Svckit-Key"
	// HeaderTime carries the time of Emit, RFC 3339 with microseconds.
	HeaderTime = "Svckit-Time"
	// HeaderType carries the event's type on a dead letter, whose subject
	// no longer says it.
	HeaderType = "Svckit-Type"
	// HeaderError carries, on a dead letter, the handler's last error (at
	// most 512 bytes of it).
	HeaderError = "Svckit-Error"
)

// DefaultAckTimeout bounds the wait for a batch's acknowledgements when
// PublisherOptions.AckTimeout is zero.
const DefaultAckTimeout = 5 * time.Second

// ErrAckTimeout is returned by Publish when the server did not acknowledge
// a message in time; the relay publishes it again.
var ErrAckTimeout = errors.New("natsjs: no acknowledgement in time")

// PublisherOptions configure NewPublisher. The zero value publishes to
// DefaultPrefix and waits DefaultAckTimeout for a batch's acknowledgements.
type PublisherOptions struct {
	// Prefix is the subject prefix: an event of type T goes to Prefix + "."
	// + T. Empty means DefaultPrefix.
	Prefix string
	// AckTimeout bounds the wait for the acknowledgements of one batch.
	// Zero or negative means DefaultAckTimeout.
	AckTimeout time.Duration
}

// Publisher publishes outbox messages to JetStream. Build it with
// NewPublisher. It is safe for concurrent use and holds nothing to close
// (the connection is yours).
type Publisher struct {
	js      jetstream.JetStream
	prefix  string
	timeout time.Duration
}

var _ outbox.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher on js. It panics if js is nil.
func NewPublisher(js jetstream.JetStream, opts PublisherOptions) *Publisher {
	if js == nil {
		panic("natsjs: NewPublisher: nil jetstream.JetStream")
	}
	return &Publisher{
		js:      js,
		prefix:  strings.TrimSuffix(cmpOr(opts.Prefix, DefaultPrefix), "."),
		timeout: opt.PositiveOr(opts.AckTimeout, DefaultAckTimeout),
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Subject returns the subject of events of type typ.
func (p *Publisher) Subject(typ string) string { return p.prefix + "." + typ }

// Publish sends msgs without waiting between them, then waits for their
// acknowledgements in order, and returns how many from the first the
// server stored.
func (p *Publisher) Publish(ctx context.Context, msgs []outbox.Message) (int, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	var sendErr error
	for _, m := range msgs {
		f, err := p.js.PublishMsgAsync(toNATS(p.Subject(m.Type), m), jetstream.WithMsgID(m.ID), jetstream.WithRetryAttempts(0))
		if err != nil {
			sendErr = fmt.Errorf("natsjs: publish %s: %w", m.Type, err)
			break
		}
		futures = append(futures, f)
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return i, fmt.Errorf("natsjs: publish %s: %w", msgs[i].Type, err)
		case <-ctx.Done():
			return i, ctx.Err()
		case <-timer.C:
			return i, ErrAckTimeout
		}
	}
	return len(futures), sendErr
}

// toNATS returns m as a NATS message on subject.
func toNATS(subject string, m outbox.Message) *nats.Msg {
	h := make(nats.Header, len(m.Headers)+3)
	for k, v := range m.Headers {
		h[k] = []string{v}
	}
	h[HeaderKey] = []string{m.Key}
	if !m.Time.IsZero() {
		h[HeaderTime] = []string{m.Time.UTC().Format(time.RFC3339Nano)}
	}
	return &nats.Msg{Subject: subject, Data: m.Payload, Header: h}
}

// fromNATS reads an outbox message back; the type is the subject past
// prefix.
func fromNATS(prefix, subject string, h nats.Header, data []byte) outbox.Message {
	m := outbox.Message{
		ID:      h.Get(jetstream.MsgIDHeader),
		Type:    strings.TrimPrefix(subject, prefix+"."),
		Key:     h.Get(HeaderKey),
		Payload: data,
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime)); err == nil {
		m.Time = t
	}
	for k, v := range h {
		switch k {
		case jetstream.MsgIDHeader, HeaderKey, HeaderTime:
			continue
		}
		if len(v) > 0 {
			if m.Headers == nil {
				m.Headers = make(map[string]string, len(h))
			}
			m.Headers[k] = v[0]
		}
	}
	return m
}

// StreamOptions configure CreateStream. The zero value captures
// DefaultPrefix and DefaultDeadLetterPrefix, drops duplicates within two
// minutes and keeps messages for seven days on file storage.
type StreamOptions struct {
	// Prefix and DeadLetterPrefix are the subject prefixes the stream
	// captures (each followed by ".>"). Empty means DefaultPrefix and
	// DefaultDeadLetterPrefix.
	Prefix, DeadLetterPrefix string
	// Duplicates is JetStream's duplicate window: a message whose
	// Nats-Msg-Id the stream stored within it is dropped. Zero or
	// negative means two minutes. Keep it longer than a relay may take to
	// notice its own crash and restart.
	Duplicates time.Duration
	// MaxAge is how long the stream keeps messages. Zero or negative
	// means seven days.
	MaxAge time.Duration
	// Replicas is the stream's replication on a cluster. Zero or negative
	// means 1.
	Replicas int
}

// CreateStream creates the stream name, or updates it to opts.
func CreateStream(ctx context.Context, js jetstream.JetStream, name string, opts StreamOptions) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{cmpOr(opts.Prefix, DefaultPrefix) + ".>", cmpOr(opts.DeadLetterPrefix, DefaultDeadLetterPrefix) + ".>"},
		Duplicates: opt.PositiveOr(opts.Duplicates, 2*time.Minute),
		MaxAge:     opt.PositiveOr(opts.MaxAge, 7*24*time.Hour),
		Replicas:   opt.PositiveOr(opts.Replicas, 1),
		Storage:    jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("natsjs: stream %s: %w", name, err)
	}
	return s, nil
}

// DeadLetterTo returns an outbox.ConsumerOptions.DeadLetter that publishes
// a given-up event to subject (captured by a stream, such as
// DefaultDeadLetterPrefix + "." + the consumer's name) and waits for the
// server to store it: its payload as the data, its headers, HeaderKey,
// HeaderType, HeaderTime and HeaderError with the handler's last error.
func DeadLetterTo(js jetstream.JetStream, subject string) func(context.Context, outbox.Message, error) error {
	if js == nil {
		panic("natsjs: DeadLetterTo: nil jetstream.JetStream")
	}
	return func(ctx context.Context, m outbox.Message, cause error) error {
		nm := toNATS(subject, m)
		nm.Header.Set(HeaderType, m.Type)
		if cause != nil {
			nm.Header.Set(HeaderError, headerText(cause.Error(), 512))
		}
		if _, err := js.PublishMsg(ctx, nm, jetstream.WithMsgID(subject+":"+m.ID)); err != nil {
			return fmt.Errorf("natsjs: dead letter to %s: %w", subject, err)
		}
		return nil
	}
}

// headerText returns s cut to max bytes with CR and LF as spaces.
func headerText(s string, max int) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	if len(s) > max {
		s = s[:max]
	}
	return strings.ToValidUTF8(s, "")
}
