package envelope

import (
	"net/http"
	"strconv"
	"strings"
	"time"
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

// appendProblem renders an error as an RFC 9457 problem document: type
// about:blank, title the status text, status, detail the client message,
// then the extension members code, details, timestamp and requestId.
func appendProblem(b []byte, status int, e *ErrorBody, m *Meta) ([]byte, error) {
	title := http.StatusText(status)
	if title == "" {
		title = e.Code
	}
	if status == StatusClientClosedRequest {
		title = "Client Closed Request"
	}
	b = append(b, `{"type":"about:blank","title":`...)
	b = appendString(b, title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"detail":`...)
	b = appendString(b, e.Message)
	b = append(b, `,"code":`...)
	b = appendString(b, e.Code)
	b, err := appendDetails(b, e.Details)
	if err != nil {
		return nil, err
	}
	if !m.Timestamp.IsZero() {
		b = append(b, `,"timestamp":"`...)
		b = m.Timestamp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if m.RequestID != "" {
		b = append(b, `,"requestId":`...)
		b = appendString(b, m.RequestID)
	}
	return append(b, '}'), nil
}
