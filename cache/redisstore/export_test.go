package redisstore

// OnInvalidation makes t call fn after applying each message it receives, so
// tests wait for an invalidation instead of sleeping.
func OnInvalidation[V any](t *TwoLevel[V], fn func()) { t.onMsg.Store(&fn) }

// Degraded reports whether t bypasses its local copies.
func Degraded[V any](t *TwoLevel[V]) bool { return t.degraded.Load() }
