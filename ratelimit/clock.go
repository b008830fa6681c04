package ratelimit

import (
	"sync/atomic"
	"time"
)

// The coarse clock lets a decision read the time with one memory load.
//
// Reading the system clock costs little by itself, but on amd64 it executes
// an ordering instruction that waits for every earlier memory access, so a
// decision that reads it cannot overlap its cache misses with the previous
// one; measured on the benchmarks' 10 000 keys, it is half of a decision's
// time. Instead, while any Memory is deciding, one goroutine for the
// whole package stores the time every coarseResolution, and decisions read
// that. The goroutine stops itself once no decision has read the clock for
// coarseIdleTicks ticks, and the next decision starts it again.
const (
	coarseResolution = time.Millisecond
	coarseIdleTicks  = 3
)

// epoch is the origin of every clock of the package: times are nanoseconds
// since it, on the monotonic clock.
var epoch = time.Now()

// coarse is the state of the package's clock goroutine, padded away from
// other variables because every decision reads it.
var coarse struct {
	_ [64]byte
	// now is the time the goroutine last stored; it never decreases.
	now atomic.Int64
	// running is true while the goroutine runs.
	running atomic.Bool
	// used is set by readers and cleared by the goroutine at each tick.
	// Readers write it only when it is clear, so besides the goroutine's
	// writes once a tick the cache line stays shared between cores.
	used atomic.Bool
	_    [64]byte
}

// exactNow returns the system's monotonic time since epoch.
func exactNow() int64 { return int64(time.Since(epoch)) }

// coarseNow returns the time since epoch, at most about one resolution old
// while the clock goroutine runs, and exact when it has to start it.
func coarseNow() int64 {
	if coarse.running.Load() {
		if !coarse.used.Load() {
			coarse.used.Store(true)
		}
		return coarse.now.Load()
	}
	now := exactNow()
	advanceCoarse(now)
	if coarse.running.CompareAndSwap(false, true) {
		coarse.used.Store(true)
		go runCoarse()
	}
	return now
}

// advanceCoarse stores now unless a later time is already stored.
func advanceCoarse(now int64) {
	for {
		old := coarse.now.Load()
		if old >= now || coarse.now.CompareAndSwap(old, now) {
			return
		}
	}
}

// runCoarse is the clock goroutine.
func runCoarse() {
	t := time.NewTicker(coarseResolution)
	defer t.Stop()
	idle := 0
	for range t.C {
		advanceCoarse(exactNow())
		if coarse.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle == coarseIdleTicks {
			coarse.running.Store(false)
			return
		}
	}
}
