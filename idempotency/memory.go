package idempotency

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a Store in the process, for tests and prototypes, with SQL's
// behaviour: claims made inside Atomic stay invisible to Load until fn
// returns nil and are undone otherwise, and a Claim of a key another unit
// of work holds waits for that one to end. Its units of work are its own:
// they begin no database transaction, so pair it with work that has no
// database (txn.AfterCommit inside them runs at once).
//
// The zero Memory is empty, uses time.Now and is ready to use, as is
// NewMemory(MemoryOptions{}). A Memory is safe for concurrent use and holds nothing to
// close. It forgets everything when the process ends, and it never shrinks
// unless DeleteBefore runs.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[Key]*memEntry
}

// memEntry is one key. Outcomes are kept encoded, as SQL keeps them, so a
// Load returns a copy that shares nothing with the caller.
type memEntry struct {
	fingerprint string
	status      int
	body        []byte
	createdAt   time.Time
	owner       *memTx // the unit of work whose claim has not ended; nil once committed
}

// memTx is one unit of work: its claims, the undo log of its changes (run
// backwards on rollback), and done, closed when it ends.
type memTx struct {
	claimed []*memEntry
	undo    []func()
	done    chan struct{}
}

// memTxKey is the context key of m's unit of work.
type memTxKey struct{ m *Memory }

// MemoryOptions configure NewMemory. The zero value uses time.Now.
type MemoryOptions struct {
	// Now stamps claims with their creation time, which DeleteBefore
	// compares with. Nil means time.Now.
	Now func() time.Time
}

// NewMemory returns an empty Memory stamping claims with opts.Now.
func NewMemory(opts MemoryOptions) *Memory { return &Memory{now: opts.Now} }

func (m *Memory) clock() time.Time {
	if m.now == nil {
		return time.Now()
	}
	return m.now()
}

// tx returns the unit of work ctx carries for m, or nil.
func (m *Memory) tx(ctx context.Context) *memTx {
	tx, _ := ctx.Value(memTxKey{m}).(*memTx)
	return tx
}

// Atomic runs fn as a unit of work: the Claim and Finish calls made with the
// context fn receives are undone unless fn returns nil (a panic undoes them
// too, and goes on). Inside a unit of work of m it joins it.
func (m *Memory) Atomic(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if m.tx(ctx) != nil {
		return fn(ctx)
	}
	tx := &memTx{done: make(chan struct{})}
	committed := false
	defer func() { m.end(tx, committed) }()
	err = fn(context.WithValue(ctx, memTxKey{m}, tx))
	committed = err == nil
	return err
}

// end commits or rolls back tx and wakes the claims waiting for it.
func (m *Memory) end(tx *memTx, commit bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !commit {
		for _, undo := range slices.Backward(tx.undo) {
			undo()
		}
	}
	for _, e := range tx.claimed {
		e.owner = nil
	}
	close(tx.done)
}

// visible returns k's entry as seen by tx, waiting while another unit of
// work holds it, with m.mu held; nil when k is not stored. On error m.mu is
// not held.
func (m *Memory) visible(ctx context.Context, tx *memTx, k Key) (*memEntry, error) {
	for {
		m.mu.Lock()
		e := m.entries[k]
		if e == nil || e.owner == nil || e.owner == tx {
			return e, nil
		}
		done := e.owner.done
		m.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Claim stores k as pending with fingerprint, or returns ErrTaken when it
// is stored already; see Store. While another unit of work holds k it
// waits for that one to end, or for ctx.
func (m *Memory) Claim(ctx context.Context, k Key, fingerprint string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := checkText("fingerprint", fingerprint); err != nil {
		return err
	}
	tx := m.tx(ctx)
	e, err := m.visible(ctx, tx, k)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if e != nil {
		return ErrTaken
	}
	if m.entries == nil {
		m.entries = map[Key]*memEntry{}
	}
	e = &memEntry{fingerprint: fingerprint, createdAt: m.clock(), owner: tx}
	m.entries[k] = e
	if tx != nil {
		tx.claimed = append(tx.claimed, e)
		tx.undo = append(tx.undo, func() {
			if m.entries[k] == e {
				delete(m.entries, k)
			}
		})
	}
	return nil
}

// Finish records o as the outcome of the pending key k, or returns
// ErrNotPending; see Store.
func (m *Memory) Finish(ctx context.Context, k Key, o Outcome) error {
	if err := o.validate(); err != nil {
		return err
	}
	body, err := o.encode()
	if err != nil {
		return err
	}
	tx := m.tx(ctx)
	e, err := m.visible(ctx, tx, k)
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	if e == nil || e.status != 0 {
		return ErrNotPending
	}
	e.status, e.body = o.Status, body
	if tx != nil {
		tx.claimed = append(tx.claimed, e)
		tx.undo = append(tx.undo, func() { e.status, e.body = 0, nil })
	}
	return nil
}

// Load returns the record of k, or ErrNotFound. A claim another unit of
// work holds is not visible yet: Load does not wait for it.
func (m *Memory) Load(ctx context.Context, k Key) (Record, error) {
	tx := m.tx(ctx)
	m.mu.Lock()
	e := m.entries[k]
	if e == nil || (e.owner != nil && e.owner != tx) {
		m.mu.Unlock()
		return Record{}, ErrNotFound
	}
	r := Record{Fingerprint: e.fingerprint, CreatedAt: e.createdAt}
	status, body := e.status, e.body
	m.mu.Unlock()
	if status != 0 {
		var err error
		if r.Outcome, err = decode(status, body); err != nil {
			return Record{}, err
		}
	}
	return r, nil
}

// DeleteBefore deletes the committed keys claimed before t and returns how
// many went. Unlike Claim and Finish it takes effect at once, inside a unit
// of work too.
func (m *Memory) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, e := range m.entries {
		if e.owner == nil && e.createdAt.Before(t) {
			delete(m.entries, k)
			n++
		}
	}
	return n, nil
}
