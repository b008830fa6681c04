package dedupe

// Waiters reports how many callers wait for the call in flight for key, so
// tests can release work only once every caller has joined.
func Waiters[K comparable, V any](g *Group[K, V], key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.m[key]; ok {
		return c.waiters
	}
	return 0
}
