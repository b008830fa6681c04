package cache

// WaitRefreshes waits for the background refreshes running now.
func (a *Aside[K, V]) WaitRefreshes() { a.bg.wg.Wait() }
