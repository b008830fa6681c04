package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// The coarse clock lets a decision read the time with one memory load.
//
// Reading the system clock costs little by itself, but on amd64 it executes
// an ordering instruction that waits for every earlier memory access, so a
// decision that reads it cannot overlap its cache misses with the previous
// one; measured on the benchmarks' 10 000 keys, it is half of a decision's
// time. Instead, while a Memory store is deciding, a goroutine the store
// owns stores the time every coarseResolution, and decisions read that. The
// goroutine stops itself once no decision has read the clock for
// coarseIdleTicks ticks, and the next decision starts it again; Close stops
// it for good and waits for it.
const (
	coarseResolution = time.Millisecond
	coarseIdleTicks  = 3
)

// coarseClock is one store's clock: nanoseconds since epoch on the monotonic
// clock, read exactly or from the value its goroutine keeps. The zero value
// is ready once epoch is set.
type coarseClock struct {
	// The fields every decision reads sit on a cache line of their own.
	_ [64]byte
	// now is the time the goroutine last stored; it never decreases.
	now atomic.Int64
	// running is true while the goroutine runs.
	running atomic.Bool
	// used is set by readers and cleared by the goroutine at each tick.
	// Readers write it only when it is clear, so besides the goroutine's
	// writes once a tick the cache line stays shared between cores.
	used atomic.Bool
	// closed is set by close; the goroutine is never started again.
	closed atomic.Bool
	_      [64]byte

	// epoch is the origin of the clock, set before the first reading.
	epoch time.Time

	// mu orders starting the goroutine with stopping it.
	mu sync.Mutex
	// stop is closed to stop the running goroutine. Guarded by mu.
	stop chan struct{}
	// wg counts the running goroutine, for close to wait on.
	wg sync.WaitGroup
}

// exact returns the system's monotonic time since epoch.
func (c *coarseClock) exact() int64 { return int64(time.Since(c.epoch)) }

// coarse returns the time since epoch, at most about one resolution old
// while the goroutine runs, and exact when it is not running; it starts the
// goroutine unless the clock is closed. It reports whether the time is
// exact.
func (c *coarseClock) coarse() (int64, bool) {
	if c.running.Load() {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return c.now.Load(), false
	}
	now := c.exact()
	if c.closed.Load() {
		return now, true
	}
	c.advance(now)
	c.start()
	return now, true
}

// advance stores now unless a later time is already stored.
func (c *coarseClock) advance(now int64) {
	for {
		old := c.now.Load()
		if old >= now || c.now.CompareAndSwap(old, now) {
			return
		}
	}
}

// start runs the goroutine unless it runs already or the clock is closed.
func (c *coarseClock) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running.Load() || c.closed.Load() {
		return
	}
	c.used.Store(true)
	c.stop = make(chan struct{})
	c.running.Store(true)
	c.wg.Add(1)
	go c.run(c.stop)
}

// run is the clock's goroutine. It ends when stop is closed or when nobody
// has read the clock for coarseIdleTicks ticks.
func (c *coarseClock) run(stop <-chan struct{}) {
	defer c.wg.Done()
	t := time.NewTicker(coarseResolution)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-stop:
			c.running.Store(false)
			return
		case <-t.C:
		}
		c.advance(c.exact())
		if c.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle == coarseIdleTicks {
			c.mu.Lock()
			c.running.Store(false)
			c.mu.Unlock()
			return
		}
	}
}

// close stops the goroutine for good and waits until it has returned.
// Later readings are exact. It is safe to call more than once.
func (c *coarseClock) close() {
	c.mu.Lock()
	c.closed.Store(true)
	if c.running.Load() {
		close(c.stop)
	}
	c.mu.Unlock()
	c.wg.Wait()
}
