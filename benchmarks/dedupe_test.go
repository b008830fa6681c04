package benchmarks

import (
	"context"
	"runtime"
	"testing"

	"golang.org/x/sync/singleflight"

	"github.com/svckit/svckit/dedupe"
)

// BenchmarkDedupe compares dedupe.Group with x/sync's singleflight.Group on
// a function that returns at once:
//   - uncontended: one goroutine, so every call runs the function;
//   - contended-64: 64 goroutines on one key, so calls share executions.
//
// svckit runs with context.Background (the function runs on the caller's
// goroutine, as in singleflight); svckit-cancellable with a context that can
// end, which runs the function on a goroutine of its own so that callers can
// leave early.
func BenchmarkDedupe(b *testing.B) {
	fn := func(context.Context) (int, error) { return 1, nil }
	xfn := func() (any, error) { return 1, nil }
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	impls := []struct {
		name string
		new  func() func() int
	}{
		{"svckit", func() func() int {
			var g dedupe.Group[string, int]
			return func() int { v, _, _ := g.Do(context.Background(), "k", fn); return v }
		}},
		{"svckit-cancellable", func() func() int {
			var g dedupe.Group[string, int]
			return func() int { v, _, _ := g.Do(cancellable, "k", fn); return v }
		}},
		{"x-sync", func() func() int {
			var g singleflight.Group
			return func() int { v, _, _ := g.Do("k", xfn); return v.(int) }
		}},
	}
	b.Run("uncontended", func(b *testing.B) {
		for _, impl := range impls {
			b.Run(impl.name, func(b *testing.B) {
				do := impl.new()
				b.ReportAllocs()
				for b.Loop() {
					if do() != 1 {
						b.Fatal("wrong value")
					}
				}
			})
		}
	})
	b.Run("contended-64", func(b *testing.B) {
		for _, impl := range impls {
			b.Run(impl.name, func(b *testing.B) {
				do := impl.new()
				b.ReportAllocs()
				b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if do() != 1 {
							b.Error("wrong value")
							return
						}
					}
				})
			})
		}
	})
}
