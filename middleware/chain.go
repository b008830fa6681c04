package middleware

import "net/http"

// Middlewares is a list of middleware applied in reading order: the first
// one sees the request first and the response last. The zero value is an
// empty list.
type Middlewares []func(http.Handler) http.Handler

// Chain returns mw as Middlewares, in the order given:
//
//	Chain(RequestID, Recover, Logger).Then(mux)
//
// is RequestID(Recover(Logger(mux))).
func Chain(mw ...func(http.Handler) http.Handler) Middlewares {
	return Middlewares(mw)
}

// Append returns a new list with mw after the middleware of m; m is not
// modified, so a base chain can be extended per route.
func (m Middlewares) Append(mw ...func(http.Handler) http.Handler) Middlewares {
	out := make(Middlewares, 0, len(m)+len(mw))
	return append(append(out, m...), mw...)
}

// Then returns h wrapped by every middleware of m, the first one outermost.
// It panics when h is nil.
func (m Middlewares) Then(h http.Handler) http.Handler {
	if h == nil {
		panic("middleware: Then with a nil handler")
	}
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return h
}

// ThenFunc is Then for a handler function.
func (m Middlewares) ThenFunc(fn http.HandlerFunc) http.Handler {
	if fn == nil {
		panic("middleware: ThenFunc with a nil function")
	}
	return m.Then(fn)
}

// Handler lets a whole list be used where one middleware is expected, for
// example in chi's Use or in another Chain.
func (m Middlewares) Handler(next http.Handler) http.Handler {
	return m.Then(next)
}
