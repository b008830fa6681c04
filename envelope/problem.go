package envelope

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/svckit/svckit/errkind"
)

// ProblemContentType is the media type of RFC 9457 problem documents.
const ProblemContentType = "application/problem+json"

// wantsProblem reports whether r's Accept header ranks
// application/problem+json at least as high as application/json (including
// the wildcards that match it) and above zero.
func wantsProblem(r *http.Request) bool {
	if r == nil {
		return false
	}
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return false
	}
	problemQ, jsonQ := -1.0, -1.0
	jsonSpecificity := -1
	for _, line := range accept {
		for line != "" {
			var item string
			item, line, _ = strings.Cut(line, ",")
			mt, params, _ := strings.Cut(item, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			q := qValue(params)
			switch mt {
			case ProblemContentType:
				problemQ = max(problemQ, q)
			case ContentType, "application/*", "*/*":
				specificity := strings.Count(mt, "*")
				specificity = 2 - specificity
				if specificity > jsonSpecificity {
					jsonSpecificity, jsonQ = specificity, q
				}
			}
		}
	}
	return problemQ > 0 && problemQ >= jsonQ
}

// qValue returns the q parameter of an Accept item, 1 when absent and 0
// when malformed.
func qValue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(p, "=")
		if strings.TrimSpace(k) != "q" && strings.TrimSpace(k) != "Q" {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// ProblemOptions configure the RFC 9457 problem documents WriteError
// writes for the requests under Problems. The zero value gives type
// "about:blank" and no instance.
type ProblemOptions struct {
	// Types maps an error code (NOT_FOUND, INSUFFICIENT_FUNDS, …) to the URI
	// of its problem type, such as "https://example.com/problems/not-found",
	// which should lead to documentation of the problem. A code not in the
	// map, or a nil map, gives "about:blank".
	Types map[string]string
	// Instance returns the URI of this occurrence of the problem for r,
	// for example "urn:uuid:" + the request id, or r.URL.Path; "" leaves the
	// member out. Nil means no instance member.
	Instance func(r *http.Request) string
}

type problemKey struct{}

// Problems returns a middleware under which the problem documents of
// WriteError (for clients that ask for application/problem+json) take their
// type from opts.Types by error code and their instance from opts.Instance.
// The map is copied; the middleware is safe for concurrent use.
func Problems(opts ProblemOptions) func(http.Handler) http.Handler {
	types := make(map[string]string, len(opts.Types))
	for k, v := range opts.Types {
		types[k] = v
	}
	opts.Types = types
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), problemKey{}, &opts)))
		})
	}
}

// problem is an RFC 9457 problem document: type, title (the status text),
// status, detail (the client message) and instance, then the extension
// members code, details, violations, timestamp and requestId.
type problem struct {
	Type       string              `json:"type"`
	Title      string              `json:"title"`
	Status     int                 `json:"status"`
	Detail     string              `json:"detail"`
	Instance   string              `json:"instance,omitempty"`
	Code       string              `json:"code"`
	Details    map[string]any      `json:"details,omitempty"`
	Violations []errkind.Violation `json:"violations,omitempty"`
	Timestamp  time.Time           `json:"timestamp,omitzero"`
	RequestID  string              `json:"requestId,omitempty"`
}

func newProblem(r *http.Request, status int, e *ErrorBody, m *Meta) problem {
	title := http.StatusText(status)
	if title == "" {
		title = e.Code
	}
	if status == StatusClientClosedRequest {
		title = "Client Closed Request"
	}
	p := problem{
		Type: "about:blank", Title: title, Status: status, Detail: e.Message,
		Code: e.Code, Details: e.Details, Violations: e.Violations, Timestamp: m.Timestamp, RequestID: m.RequestID,
	}
	if r == nil {
		return p
	}
	if opts, ok := r.Context().Value(problemKey{}).(*ProblemOptions); ok {
		if t := opts.Types[e.Code]; t != "" {
			p.Type = t
		}
		if opts.Instance != nil {
			p.Instance = opts.Instance(r)
		}
	}
	return p
}
