package app

import (
	"net/http"
	"net/url"
	"time"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
)

// ApplicationName is the application_name the service's PostgreSQL
// connections report (pg_stat_activity), unless DATABASE_URL sets one.
const ApplicationName = "svckit-example"

// withApplicationName adds application_name=name to a postgres:// URL that
// has none. Anything that does not parse as a URL is returned as is.
func withApplicationName(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	q := u.Query()
	if q.Has("application_name") {
		return dsn
	}
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// poolGate admits at most cap(slots) requests at a time to the routes that
// use the database, one per connection of the pool. database/sql has no
// bound on the wait for a connection (a request would wait in the pool
// until its deadline), so the wait is bounded here instead: a request that
// finds every slot taken waits at most wait, then answers 503 UNAVAILABLE
// with Retry-After. Requests that are admitted find a connection at once,
// and the database never sees more than the pool's connections.
type poolGate struct {
	slots chan struct{}
	wait  time.Duration
	busy  *errkind.Error // the answer past wait; never modified
}

func newPoolGate(n int, wait time.Duration) *poolGate {
	busy := envelope.Unavailable("the service is busy, retry shortly")
	busy.Header = http.Header{"Retry-After": {"1"}}
	return &poolGate{slots: make(chan struct{}, n), wait: wait, busy: busy}
}

// Handler returns next behind the gate.
func (g *poolGate) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case g.slots <- struct{}{}:
		default:
			t := time.NewTimer(g.wait)
			select {
			case g.slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				_ = envelope.WriteError(w, r, g.busy)
				return
			case <-r.Context().Done():
				t.Stop()
				_ = envelope.WriteError(w, r, r.Context().Err())
				return
			}
		}
		defer func() { <-g.slots }()
		next.ServeHTTP(w, r)
	})
}
