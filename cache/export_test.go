package cache

import "hash/maphash"

// WaitRefreshes waits for the background refreshes running now.
func (a *Aside[K, V]) WaitRefreshes() { a.bg.wg.Wait() }

// ReadWaiters returns how many callers wait for the next shared store read
// of the store key k.
func (a *Aside[K, V]) ReadWaiters(k string) int {
	s := &a.reads[maphash.String(a.seed, k)%stripes]
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.keys[k]; r != nil {
		return r.waiting
	}
	return 0
}
