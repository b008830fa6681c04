package ratelimit

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Dropping entries: a full shard evicts to make room for a new key, and
// decisions sweep idle entries out of one shard at a time.

// evict makes room in a full shard, a batch at a time so the cost spreads
// over many inserts: among a sample of the shard it drops every expired key
// and, when that frees less than a batch, the sampled keys closest to expiry.
// Keys far from expiry, those that are being limited, go last, so flooding the
// store with new keys cannot cheaply reset a limited client. The sample starts
// at a random slot, so it moves across the shard.
//
// An entry is dropped by swapping its arrival time for dead, so a concurrent
// lock-free decision either lands before the drop or sees dead and decides
// again under the lock, on a fresh entry; none lands on a dropped entry. An
// expired entry is dropped only if no decision has moved its time since it
// was sampled; otherwise it joins the candidates.
func (sh *shard) evict(now int64, capacity int) {
	t := sh.table.Load()
	batch := max(1, capacity/16)
	sample := 2*batch + evictSample
	cand := sh.scratch[:0]
	dropped, seen := 0, 0
	start := rand.Uint64()
	for i := range uint64(len(t.slots)) {
		sl := &t.slots[(start+i)&t.mask]
		if sl.tag.Load() <= tagDropped {
			continue
		}
		e := sl.entry.Load()
		tat := e.tat.Load()
		if tat <= now && e.tat.CompareAndSwap(tat, dead) {
			sh.drop(sl)
			dropped++
		} else {
			// Live, or a decision has just moved it.
			cand = append(cand, candidate{slot: sl, entry: e, tat: e.tat.Load()})
		}
		if seen++; seen == sample {
			break
		}
	}
	if dropped < batch {
		slices.SortFunc(cand, func(a, b candidate) int { return cmp.Compare(a.tat, b.tat) })
		for _, c := range cand {
			if dropped == batch {
				break
			}
			// An unconditional swap: a decision that moved the time
			// since the sample is dropped with the key, as if eviction
			// had come a moment later, and the shard always makes room.
			c.entry.tat.Swap(dead)
			sh.drop(c.slot)
			dropped++
		}
	}
	clear(cand)
	sh.scratch = cand[:0]
}

// candidate is an entry considered for eviction, with the arrival time it
// had when sampled.
type candidate struct {
	slot  *slot
	entry *entry
	tat   int64
}

// drop empties the slot of an entry marked dead, and lets go of the entry so
// that its key can be collected. A reader that found the entry before sees it
// dead; one that found the tag but not yet the entry sees nil.
func (sh *shard) drop(sl *slot) {
	sl.tag.Store(tagDropped)
	sl.entry.Store(nil)
	sh.live--
}

// sweep drops the idle entries of the next shard due, when this decision is
// the one that claims it. A store that has not decided for a while catches
// up one shard per decision, up to one whole round.
func (s *Memory) sweep(now int64) {
	next := s.nextSweep.Load()
	if now < next || !s.nextSweep.CompareAndSwap(next, max(next, now-int64(SweepPeriod))+sweepStep) {
		return
	}
	sh := &s.shards[s.sweepShard.Add(1)%numShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.sweep(now)
}

// sweep drops every idle entry of the shard, whose time is not after now,
// and moves the rest to a smaller table when the table is mostly empty.
// Like evict, it drops an entry only if no decision has moved its time since
// it was read.
func (sh *shard) sweep(now int64) {
	t := sh.table.Load()
	if t == nil {
		return
	}
	for i := range t.slots {
		sl := &t.slots[i]
		if sl.tag.Load() <= tagDropped {
			continue
		}
		e := sl.entry.Load()
		if tat := e.tat.Load(); tat <= now && e.tat.CompareAndSwap(tat, dead) {
			sh.drop(sl)
		}
	}
	if len(t.slots) > minTableSize && 8*sh.live < len(t.slots) {
		size := minTableSize
		for 2*sh.live > size {
			size *= 2
		}
		sh.rebuild(size)
	}
}
