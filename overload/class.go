package overload

import (
	"net/http"

	"github.com/svckit/svckit/envelope"
)

// Class is a request's priority under overload. Critical requests are
// never refused; the others may fill their share of the limit (Options),
// and a freed slot goes to the waiting request of the highest class:
// Write, then Read, then Admin.
type Class uint8

// The classes, highest priority first.
const (
	Critical Class = iota // never shed: health and readiness probes, CORS preflights
	Write                 // requests that change state (DefaultClass: POST, PUT, PATCH, DELETE)
	Read                  // requests that only read (DefaultClass: GET, HEAD, OPTIONS but preflights)
	Admin                 // back-office and batch work, shed first
	numClasses
)

// String returns the class's name, as in the metrics' AttrClass.
func (c Class) String() string {
	switch c {
	case Critical:
		return "critical"
	case Write:
		return "write"
	case Read:
		return "read"
	case Admin:
		return "admin"
	}
	return "admin" // Acquire treats unknown classes as Admin
}

// DefaultClass is the classifier of Options.Classify's zero value:
// the health and readiness probes GET /healthz, /readyz and /livez and
// CORS preflights (IsPreflight) are Critical, other GET, HEAD and OPTIONS
// requests are Read, and every other method is Write.
func DefaultClass(r *http.Request) Class {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch r.URL.Path {
		case "/healthz", "/readyz", "/livez":
			return Critical
		}
		return Read
	case http.MethodOptions:
		if IsPreflight(r) {
			return Critical
		}
		return Read
	}
	return Write
}

// IsPreflight reports whether r is a CORS preflight: OPTIONS with an
// Origin and an Access-Control-Request-Method. DefaultClass makes it
// Critical, neither queued nor shed, for two reasons. A preflight is
// answered by the CORS middleware from its configuration, with no
// authentication, database or pool slot, so admitting it costs what
// refusing it would. And a browser sends the request it asked about only
// if the preflight succeeds: refusing or queueing the preflight of a write
// would refuse or delay that write on behalf of a cheaper request, below
// the reads the limit admits. The request that follows is classed on its
// own. A service whose OPTIONS handlers do real work classes them itself.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// writeError answers a request Acquire did not admit.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	_ = envelope.WriteError(w, r, err)
}
