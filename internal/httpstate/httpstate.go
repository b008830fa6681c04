// Package httpstate is the per-request state svckit's HTTP packages share
// through one context value: the request id (envelope, middleware), the
// client address (middleware) and the verified claims (auth), so that a
// middleware that has a value for the request fills in its field instead
// of copying the *http.Request to carry a new context.
//
// The first svckit middleware that has to copy a request anyway (for a
// span, a deadline, or because no state is in place yet) puts a State in
// the new context with Derive. A field is set once: Set* fills the nearest
// State's field when it is still empty and reports false otherwise, and
// the caller then derives a new State for its value, as it would have
// derived a new context. Reads see the nearest State that has the field,
// so a value derived further in shadows the one further out, as nested
// context values do.
//
// A value filled in place is seen by every context that shares the State,
// including the middleware further out once the handler returns: a
// handler that serves several sub-requests under one context and wants
// each to start without the claims of the one before derives a State per
// sub-request (Derive), as it would have derived a context.
//
// A field is published with an atomic flag after it is written, so a
// reader on another goroutine sees either nothing or the whole value, and
// two writers cannot both fill one field.
package httpstate

import (
	"context"
	"net/netip"
	"sync/atomic"
)

// Fields of a State, as bits of its claimed and set flags.
const (
	fieldRequestID uint32 = 1 << iota
	fieldClientIP
	fieldClaims
)

// State is the per-request state. Its zero value is empty.
type State struct {
	parent *State

	// claimed holds the fields a writer took; set those it has written.
	claimed, set atomic.Uint32

	requestID string
	clientIP  netip.Addr
	claims    any
	subject   string
}

type key struct{}

// stateCtx is the context layer Derive adds: one allocation for the layer
// and its State. Deadline, Done, Err and every other value are the
// parent's.
type stateCtx struct {
	context.Context
	st State
}

func (c *stateCtx) Value(k any) any {
	if k == (key{}) {
		return &c.st
	}
	return c.Context.Value(k)
}

// From returns the nearest State in ctx, or nil.
func From(ctx context.Context) *State {
	st, _ := ctx.Value(key{}).(*State)
	return st
}

// Derive returns a context carrying a new, empty State whose reads fall
// back to the State ctx already carries, if any.
func Derive(ctx context.Context) (context.Context, *State) {
	c := &stateCtx{Context: ctx}
	c.st.parent = From(ctx)
	return c, &c.st
}

// Ensure returns ctx and its State when it carries one, else Derive(ctx).
func Ensure(ctx context.Context) (context.Context, *State) {
	if st := From(ctx); st != nil {
		return ctx, st
	}
	return Derive(ctx)
}

// claim reports whether the caller may write field f of s: true once.
func (s *State) claim(f uint32) bool {
	for {
		old := s.claimed.Load()
		if old&f != 0 {
			return false
		}
		if s.claimed.CompareAndSwap(old, old|f) {
			return true
		}
	}
}

// lookup returns the nearest State from s outwards that has field f.
func (s *State) lookup(f uint32) *State {
	for ; s != nil; s = s.parent {
		if s.set.Load()&f != 0 {
			return s
		}
	}
	return nil
}

// HasClaims reports whether s, or a State further out, holds claims (nil
// claims included).
func (s *State) HasClaims() bool { return s.lookup(fieldClaims) != nil }

// SetRequestID sets the request id of s when no id was set on s itself.
func (s *State) SetRequestID(id string) bool {
	if s == nil || !s.claim(fieldRequestID) {
		return false
	}
	s.requestID = id
	s.set.Or(fieldRequestID)
	return true
}

// RequestID returns the nearest request id, or "".
func (s *State) RequestID() string {
	if f := s.lookup(fieldRequestID); f != nil {
		return f.requestID
	}
	return ""
}

// SetClientIP sets the client address of s when none was set on s itself.
func (s *State) SetClientIP(a netip.Addr) bool {
	if s == nil || !s.claim(fieldClientIP) {
		return false
	}
	s.clientIP = a
	s.set.Or(fieldClientIP)
	return true
}

// ClientIP returns the nearest client address, or the zero Addr.
func (s *State) ClientIP() netip.Addr {
	if f := s.lookup(fieldClientIP); f != nil {
		return f.clientIP
	}
	return netip.Addr{}
}

// SetClaims sets the verified claims of s and their subject when none were
// set on s itself. A nil claims value hides the claims further out.
func (s *State) SetClaims(claims any, subject string) bool {
	if s == nil || !s.claim(fieldClaims) {
		return false
	}
	s.claims, s.subject = claims, subject
	s.set.Or(fieldClaims)
	return true
}

// Claims returns the nearest claims and their subject, or nil and "".
func (s *State) Claims() (claims any, subject string) {
	if f := s.lookup(fieldClaims); f != nil {
		return f.claims, f.subject
	}
	return nil, ""
}
