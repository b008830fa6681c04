package overload

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is a Limiter with a fixed limit on a clock the test moves, whose
// queue wait is an hour of real time, so that only the test's clock and
// releases decide who is admitted or refused.
type fixture struct {
	l      *Limiter
	now    time.Time
	joined chan struct{}
}

func newFixture(t *testing.T, limit int, opts Options) *fixture {
	t.Helper()
	f := &fixture{now: time.Unix(1_700_000_000, 0), joined: make(chan struct{}, 64)}
	opts.Now = func() time.Time { return f.now }
	opts.MinLimit, opts.MaxLimit, opts.InitialLimit = limit, limit, limit
	opts.WriteShare, opts.ReadShare, opts.AdminShare = 1, 1, 1
	if opts.QueueWait == 0 {
		opts.QueueWait = time.Hour
	}
	f.l = New(opts)
	f.l.queuedHook = func() { f.joined <- struct{}{} }
	return f
}

type outcome struct {
	id     int
	permit Permit
	err    error
}

// wait starts a request of class c that has to queue; it returns once the
// request is in the queue. Its outcome arrives on out.
func (f *fixture) wait(t *testing.T, ctx context.Context, id int, c Class, out chan<- outcome) {
	t.Helper()
	go func() {
		p, err := f.l.Acquire(ctx, c)
		out <- outcome{id, p, err}
	}()
	<-f.joined
}

func (f *fixture) acquire(t *testing.T, c Class) Permit {
	t.Helper()
	p, err := f.l.Acquire(context.Background(), c)
	require.NoError(t, err, "a free slot is taken at once")
	return p
}

// TestQueue_order: the queue is first in, first out within a class; a freed
// slot goes to the highest class waiting; when the queue is full a
// newcomer takes the place of the oldest waiter of its class or a lower
// one, which is refused, and is refused itself when only higher classes
// wait.
func TestQueue_order(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		classes []Class // the waiters, in the order they join
		refused []int   // waiters refused as the others join, by index
		want    []int   // waiters admitted by successive releases, by index
	}{
		{"first in, first out", 8, []Class{Read, Read, Read}, nil, []int{0, 1, 2}},
		{"writes before reads before admin", 8, []Class{Admin, Read, Write}, nil, []int{2, 1, 0}},
		{"full: the oldest makes room", 2, []Class{Read, Read, Read}, []int{0}, []int{1, 2}},
		{"full: the lowest class makes room", 2, []Class{Write, Admin, Read}, []int{1}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 1, Options{QueueSize: tt.size})
			held := f.acquire(t, Write)
			out := make(chan outcome, len(tt.classes))
			for i, c := range tt.classes {
				f.wait(t, context.Background(), i, c, out)
			}
			for _, want := range tt.refused {
				got := <-out
				assert.Equal(t, want, got.id, "the refused waiter")
				assert.ErrorIs(t, got.err, ErrShed)
			}
			for _, want := range tt.want {
				held.Release()
				got := <-out
				require.NoError(t, got.err, "waiter %d is admitted", got.id)
				assert.Equal(t, want, got.id, "the next admitted waiter")
				held = got.permit
			}
			held.Release()
			assert.Equal(t, 0, f.l.queued, "the queue is empty")
		})
	}
}

// TestQueue_fullOfHigherClasses: a newcomer that finds the queue full of
// higher classes is refused at once.
func TestQueue_fullOfHigherClasses(t *testing.T) {
	f := newFixture(t, 1, Options{QueueSize: 1})
	held := f.acquire(t, Write)
	out := make(chan outcome, 1)
	f.wait(t, context.Background(), 0, Write, out)
	_, err := f.l.Acquire(context.Background(), Read)
	assert.ErrorIs(t, err, ErrShed, "a read does not push out a waiting write")
	held.Release()
	got := <-out
	require.NoError(t, got.err, "the write is admitted")
	got.permit.Release()
}

// TestQueue_deadlines: a waiter whose deadline has passed is refused when a
// slot frees and the next one is admitted.
func TestQueue_deadlines(t *testing.T) {
	f := newFixture(t, 1, Options{QueueWait: time.Hour})
	held := f.acquire(t, Read)
	out := make(chan outcome, 3)
	f.wait(t, context.Background(), 0, Read, out)
	f.now = f.now.Add(30 * time.Minute)
	f.wait(t, context.Background(), 1, Read, out)
	f.wait(t, context.Background(), 2, Read, out)
	f.now = f.now.Add(45 * time.Minute) // waiter 0 past its hour, 1 and 2 not
	held.Release()
	got := map[int]outcome{}
	for range 2 {
		o := <-out
		got[o.id] = o
	}
	assert.ErrorIs(t, got[0].err, ErrShed, "waiter 0 is past its hour: refused")
	require.NoError(t, got[1].err, "waiter 1 is admitted")
	got[1].permit.Release()
	o := <-out
	require.NoError(t, o.err, "waiter 2 is admitted")
	o.permit.Release()
	assert.Equal(t, 0, f.l.queued, "the queue is empty")
	assert.Equal(t, 0, f.l.inflight, "every slot returned")
}

// TestQueue_leave: a waiter whose context ends leaves the queue with the
// context's error and is not counted as shed; one whose real timer fires
// is refused with ErrShed.
func TestQueue_leave(t *testing.T) {
	f := newFixture(t, 1, Options{})
	held := f.acquire(t, Read)
	out := make(chan outcome, 2)
	ctx, cancel := context.WithCancel(context.Background())
	f.wait(t, ctx, 0, Read, out)
	cancel()
	got := <-out
	assert.ErrorIs(t, got.err, context.Canceled, "the context's error")
	assert.False(t, errors.Is(got.err, ErrShed), "a client that left is not shed")

	short := newFixture(t, 1, Options{QueueWait: time.Millisecond})
	held2 := short.acquire(t, Read)
	short.wait(t, context.Background(), 1, Read, out)
	got = <-out // the real timer of a millisecond ends the wait
	assert.ErrorIs(t, got.err, ErrShed, "a wait that times out is refused")
	assert.Equal(t, 0, short.l.queued)
	held.Release()
	held2.Release()
	assert.Equal(t, 0, f.l.inflight, "every slot returned")
}

// TestQueue_noQueue: with a negative QueueSize a request that finds the
// limit full is refused at once.
func TestQueue_noQueue(t *testing.T) {
	f := newFixture(t, 2, Options{QueueSize: -1})
	a, b := f.acquire(t, Read), f.acquire(t, Write)
	_, err := f.l.Acquire(context.Background(), Write)
	assert.ErrorIs(t, err, ErrShed)
	p, err := f.l.Acquire(context.Background(), Critical)
	assert.NoError(t, err, "critical requests pass a full limit")
	p.Release()
	a.Release()
	b.Release()
	assert.Equal(t, 0, f.l.inflight)
}

// TestProbe: every ProbeInterval one window runs at limit ÷ Tolerance and
// sets the baseline from the requests admitted in it alone.
func TestProbe(t *testing.T) {
	f := newFixture(t, 20, Options{QueueSize: -1, ProbeInterval: time.Second})
	f.l.minLimit = 1
	run := func(n int, d time.Duration) {
		ps := make([]Permit, n)
		for i := range ps {
			ps[i] = f.acquire(t, Read)
		}
		f.now = f.now.Add(d)
		for _, p := range ps {
			p.Release()
		}
	}
	for i := 0; !f.l.probing; i++ { // windows of 20 requests taking 50 ms: baseline 50 ms
		require.Less(t, i, 20, "a probe is due after a second")
		run(20, 50*time.Millisecond)
		f.now = f.now.Add(50 * time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, f.l.baseline, "the baseline before the probe")
	assert.Equal(t, 10, f.l.classLimit(Read), "the probe window admits limit ÷ tolerance")
	run(10, 80*time.Millisecond) // the dependency got slower
	f.now = f.now.Add(20 * time.Millisecond)
	run(10, 80*time.Millisecond)
	assert.False(t, f.l.probing, "the probe ends with its window")
	assert.Equal(t, 80*time.Millisecond, f.l.baseline, "the baseline is the probe's average")
}
