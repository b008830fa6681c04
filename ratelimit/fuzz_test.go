package ratelimit

import (
	"context"
	"testing"
	"time"
)

// FuzzLimiterKeys feeds arbitrary keys, as clients make them up, through a
// Limiter over Memory: each key has a budget of its own, is stored in at most
// MaxKeyLen bytes, and a key and its digest form are the only keys that share
// a budget.
func FuzzLimiterKeys(f *testing.F) {
	f.Add("ip:192.0.2.1", "ip:192.0.2.2")
	f.Add("", "#")
	f.Add(string(make([]byte, MaxKeyLen)), string(make([]byte, MaxKeyLen+1)))
	f.Add("email:ada@example.com|ip:2001:db8::/64", "email:ada@example.com|ip:2001:db8:0:1::/64")
	f.Fuzz(func(t *testing.T, a, b string) {
		clock := newFakeClock()
		s := NewMemory(MemoryOptions{Now: clock.Now})
		l := New(Limit{Rate: 1, Period: time.Hour}, s)
		ctx := context.Background()
		if res, _ := l.Allow(ctx, a); !res.Allowed {
			t.Fatalf("a fresh key %q is refused", a)
		}
		if res, _ := l.Allow(ctx, a); res.Allowed {
			t.Fatalf("key %q is allowed twice at a rate of one an hour", a)
		}
		res, _ := l.Allow(ctx, b)
		if same := BoundKey(a) == BoundKey(b); res.Allowed == same {
			t.Fatalf("keys %q and %q: shared budget %v, want %v", a, b, !res.Allowed, same)
		}
		if d := BoundKey(a); len(d) > MaxKeyLen || BoundKey(d) != d {
			t.Fatalf("bound form %q of %q is not stable", d, a)
		}
		s.forEachKey(func(k string) {
			if len(k) > MaxKeyLen {
				t.Fatalf("a stored key is %d bytes, over MaxKeyLen", len(k))
			}
		})
	})
}

// forEachKey calls f with every key the store holds, for tests.
func (s *Memory) forEachKey(f func(string)) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if t := sh.table.Load(); t != nil {
			for j := range t.slots {
				if sl := &t.slots[j]; sl.tag.Load() > tagDropped {
					f(sl.entry.Load().key)
				}
			}
		}
		sh.mu.Unlock()
	}
}
