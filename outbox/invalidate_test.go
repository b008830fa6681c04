package outbox_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// deletes records the keys an Invalidator deleted, failing while down is
// set: it stands for a cache's Delete (the real Redis is in
// cache/redisstore's and the example's tests).
type deletes struct {
	mu   sync.Mutex
	keys []string
	down error
	done chan struct{} // receives a value per successful call, when not nil
}

func (d *deletes) delete(_ context.Context, keys ...string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down != nil {
		return d.down
	}
	d.keys = append(d.keys, keys...)
	if d.done != nil {
		d.done <- struct{}{}
	}
	return nil
}

func (d *deletes) got() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.keys)
	slices.Sort(out)
	return out
}

func TestInvalidator(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		f := newFixture(t, db, outbox.Options{})
		var del deletes
		inv := outbox.NewInvalidator(f.box, "users", del.delete, outbox.InvalidatorOptions{})
		assert.Equal(t, "svckit.invalidate.users", inv.Type())
		write := func(id string, fail error, keys ...string) error {
			return f.tx.Do(ctx, func(ctx context.Context) error {
				if _, err := txn.From(ctx, f.db.DB).ExecContext(ctx, f.d.Rebind(`INSERT INTO work (id) VALUES (?)`), id); err != nil {
					return err
				}
				if err := inv.Emit(ctx, keys...); err != nil {
					return err
				}
				return fail
			})
		}
		require.NoError(t, write("w1", nil, "u1", "u2"))
		require.NoError(t, write("w2", nil, "u3"))
		require.NoError(t, write("w3", nil)) // no keys: nothing written
		require.Error(t, write("w4", errors.New("rolled back"), "gone"))
		require.ErrorIs(t, inv.Emit(ctx, "outside"), outbox.ErrNoTransaction, "an invalidation commits with its update or not at all")
		assert.Equal(t, 2, f.pending(t), "one event per Emit with keys, none rolled back")

		t.Run("a relay leaves them to the invalidator", func(t *testing.T) {
			pub := &recorder{}
			n, err := outbox.NewRelay(f.box, pub, outbox.RelayOptions{}).Round(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "the relay publishes no invalidation")
			assert.Empty(t, pub.got())
			assert.Equal(t, 2, f.pending(t))
		})
		t.Run("a failed delete leaves them pending", func(t *testing.T) {
			down := errors.New("redis unreachable")
			del.mu.Lock()
			del.down = down
			del.mu.Unlock()
			n, err := inv.Round(ctx)
			require.ErrorIs(t, err, down)
			assert.Zero(t, n)
			assert.Equal(t, 2, f.pending(t), "nothing is marked done before a delete succeeded")
		})
		t.Run("another process carries them out", func(t *testing.T) {
			var other deletes
			// Another process: its own pool, Outbox and Invalidator.
			box := outbox.New(open(t, db), f.d, outbox.Options{})
			n, err := outbox.NewInvalidator(box, "users", other.delete, outbox.InvalidatorOptions{}).Round(ctx)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			assert.Equal(t, []string{"u1", "u2", "u3"}, other.got(), "the committed keys, once each")
			assert.Zero(t, f.pending(t))
		})
		t.Run("Emit refuses the reserved prefix", func(t *testing.T) {
			err := f.write(ctx, "w5", outbox.Event{Type: inv.Type(), Payload: []string{"u1"}}, nil)
			require.ErrorIs(t, err, outbox.ErrInvalid)
		})
	})
}

// TestInvalidator_wokenWithTheRelay: one commit wakes every relay running
// on the outbox in this process, the Invalidator's too. Both poll once an
// hour, so only the wake-up can bring the events.
func TestInvalidator_wokenWithTheRelay(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *testdb.DB) {
		f := newFixture(t, db, outbox.Options{})
		del := deletes{done: make(chan struct{}, 10)}
		inv := outbox.NewInvalidator(f.box, "users", del.delete, outbox.InvalidatorOptions{PollInterval: time.Hour})
		delivered := make(chan outbox.Message, 10)
		var local outbox.Local
		local.Subscribe(outbox.NewConsumer(f.box, "probe", func(_ context.Context, m outbox.Message) error {
			delivered <- m
			return nil
		}, outbox.ConsumerOptions{}))
		r := outbox.NewRelay(f.box, &local, outbox.RelayOptions{PollInterval: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 2)
		go func() { done <- r.Run(ctx) }()
		go func() { done <- inv.Run(ctx) }()
		require.NoError(t, f.tx.Do(context.Background(), func(ctx context.Context) error {
			if err := f.box.Emit(ctx, outbox.Event{ID: "upd", Type: "user.renamed", Key: "u1", Payload: 1}); err != nil {
				return err
			}
			return inv.Emit(ctx, "u1")
		}))
		for _, c := range []struct {
			what string
			ch   <-chan struct{}
		}{{"the relay", received(delivered)}, {"the invalidator", del.done}} {
			select {
			case <-c.ch:
			case <-time.After(30 * time.Second):
				t.Fatalf("the commit did not wake %s", c.what)
			}
		}
		assert.Equal(t, []string{"u1"}, del.got())
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, <-done)
	})
}

// received turns a message channel into a signal of its first message.
func received(ch <-chan outbox.Message) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		<-ch
		out <- struct{}{}
	}()
	return out
}
