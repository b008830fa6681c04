package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
)

// Defaults of the events' configuration.
const (
	// DefaultNATSStream is the JetStream stream of the service's events
	// when NATS_STREAM is unset.
	DefaultNATSStream = "SVCKIT_EXAMPLE"
	// DefaultNATSSubjectPrefix is the subject prefix of the service's
	// events when NATS_SUBJECT_PREFIX is unset: user.created goes to
	// "svckit.example.user.created", dead letters to
	// "svckit.example_dead.<consumer>".
	DefaultNATSSubjectPrefix = "svckit.example"
	// DefaultEventsDegradedAfter is the age of the oldest unpublished
	// event past which /readyz reports "degraded".
	DefaultEventsDegradedAfter = 30 * time.Second
)

// The consumers of the service's events.
const (
	consumerActivity = "activity" // the activity feed
	consumerLog      = "log"      // the LogBus (Events)
)

// newEvents builds the outbox, its relay and the consumers: to JetStream
// when NATS_URL is set, else to this process's consumers (outbox.Local),
// so the embedded default needs no service.
func (a *App) newEvents(ctx context.Context) error {
	cfg := a.cfg
	a.box = outbox.New(a.db, a.dialect, outbox.Options{
		RequestID:      envelope.RequestID,
		Propagator:     a.tel.propagator,
		MeterProvider:  a.tel.meters,
		TracerProvider: a.tel.tracers,
	})
	a.feed = newActivityFeed(a.db, a.dialect)
	handlers := []struct {
		name string
		h    outbox.Handler
	}{{consumerActivity, a.feed.apply}, {consumerLog, logHandler(a.events)}}
	copts := outbox.ConsumerOptions{} // their transactions report to the outbox's providers
	var pub outbox.Publisher
	if cfg.NATSURL == "" {
		local := &outbox.Local{}
		for _, h := range handlers {
			c := outbox.NewConsumer(a.box, h.name, h.h, copts)
			a.consumers = append(a.consumers, c)
			local.Subscribe(c)
		}
		pub = local
	} else {
		nc, err := nats.Connect(cfg.NATSURL, nats.Name(ApplicationName),
			// Nothing buffered across a reconnect: the relay republishes
			// what was not acknowledged, in order (see outbox/natsjs).
			nats.ReconnectBufSize(-1), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("app: reach NATS: %w", err)
		}
		a.nc = nc
		if a.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second)); err != nil {
			return fmt.Errorf("app: JetStream: %w", err)
		}
		prefix, dead := cfg.natsPrefix(), cfg.natsPrefix()+"_dead"
		if _, err := natsjs.CreateStream(ctx, a.js, cfg.natsStream(), natsjs.StreamOptions{Prefix: prefix, DeadLetterPrefix: dead}); err != nil {
			return fmt.Errorf("app: %w", err)
		}
		for _, h := range handlers {
			o := copts
			o.DeadLetter = natsjs.DeadLetterTo(a.js, dead+"."+h.name)
			a.consumers = append(a.consumers, outbox.NewConsumer(a.box, h.name, h.h, o))
		}
		pub = natsjs.NewPublisher(a.js, natsjs.PublisherOptions{Prefix: prefix})
	}
	a.relay = outbox.NewRelay(a.box, pub, outbox.RelayOptions{})
	return nil
}

// RunEvents publishes the committed events and, with NATS, feeds the
// consumers from their durable subscriptions, until ctx ends. Run runs it
// beside the server; a test that serves the Handler without Run runs it
// itself.
func (a *App) RunEvents(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if a.userInv != nil {
		wg.Go(func() { _ = a.userInv.Run(ctx) })
	}
	if a.js != nil {
		for _, c := range a.consumers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.subscribe(ctx, c)
			}()
		}
	}
	return a.relay.Run(ctx)
}

// subscribe keeps c's durable subscription until ctx ends, subscribing
// again every second while NATS refuses.
func (a *App) subscribe(ctx context.Context, c *outbox.Consumer) {
	for {
		sub, err := natsjs.Subscribe(ctx, a.js, c, natsjs.SubscribeOptions{Stream: a.cfg.natsStream(), Prefix: a.cfg.natsPrefix()})
		if err == nil {
			<-ctx.Done()
			_ = sub.Close()
			return
		}
		a.logger.WarnContext(ctx, "events: subscribe", "consumer", c.Name(), "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// eventsReadiness reports the outbox: "ok", or "delayed" while its oldest
// unpublished event is older than the threshold (the broker is down or
// slow: events wait, nothing is lost). With NATS it also reports the
// connection.
func (a *App) eventsReadiness(checks map[string]string) (degraded bool) {
	checks["events"] = "ok"
	if a.relay.Stats().OldestAge > a.cfg.eventsDegradedAfter() {
		checks["events"], degraded = "delayed", true
	}
	if a.nc != nil {
		checks["nats"] = "ok"
		if !a.nc.IsConnected() {
			checks["nats"], degraded = "down", true
		}
	}
	return degraded
}
