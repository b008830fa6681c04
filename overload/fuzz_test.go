package overload_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/svckit/svckit/overload"
)

// FuzzLimiter runs arbitrary sequences of acquires, releases and clock
// moves (no queue, so no goroutine): a refusal is always ErrShed, the limit
// stays within its bounds, and once everything is released a Write request
// is admitted.
func FuzzLimiter(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 200, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		now := time.Unix(1_700_000_000, 0)
		lim := overload.New(overload.Options{InitialLimit: 4, MinLimit: 2, MaxLimit: 16, QueueSize: -1,
			Window: 10 * time.Millisecond, ProbeInterval: 50 * time.Millisecond, Now: func() time.Time { return now }})
		var held []overload.Permit
		for i := 0; i+1 < len(ops); i += 2 {
			switch arg := ops[i+1]; ops[i] % 3 {
			case 0:
				p, err := lim.Acquire(context.Background(), overload.Class(arg%5))
				if err != nil && !errors.Is(err, overload.ErrShed) {
					t.Fatalf("acquire: %v, want nil or ErrShed", err)
				}
				if err == nil {
					held = append(held, p)
				}
			case 1:
				if len(held) > 0 {
					k := int(arg) % len(held)
					held[k].Release()
					held = append(held[:k], held[k+1:]...)
				}
			case 2:
				now = now.Add(time.Duration(arg) * time.Millisecond)
			}
			if l := lim.Limit(); l < 2 || l > 16 {
				t.Fatalf("limit %d outside [2, 16]", l)
			}
		}
		for _, p := range held {
			p.Release()
		}
		p, err := lim.Acquire(context.Background(), overload.Write)
		if err != nil {
			t.Fatalf("an empty limiter refused a write: %v", err)
		}
		p.Release()
	})
}
