// Command check holds HTTP exchanges to an OpenAPI document with
// libopenapi-validator. CI starts it beside the example's contract tests,
// whose client posts every request it sends and every answer it gets
// (examples/api/app/openapicheck_test.go); a violation fails the test that
// made the exchange.
//
//	check -doc openapi.json -addr 127.0.0.1:0 -addr-file PATH
//
// POST /check takes one exchange as JSON and answers the violations of its
// request and of its response; GET /stats answers how many exchanges were
// checked and skipped. It also validates the document itself at start.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/errors"
)

// exchange is one request and its answer, as the test client saw them.
type exchange struct {
	Method         string      `json:"method"`
	URL            string      `json:"url"`
	RequestHeader  http.Header `json:"requestHeader"`
	RequestBody    []byte      `json:"requestBody"`
	Status         int         `json:"status"`
	ResponseHeader http.Header `json:"responseHeader"`
	ResponseBody   []byte      `json:"responseBody"`
}

// verdict is what POST /check answers.
type verdict struct {
	Skipped  string   `json:"skipped,omitempty"` // why the exchange was not checked
	Request  []string `json:"request,omitempty"`
	Response []string `json:"response,omitempty"`
}

type stats struct {
	mu                  sync.Mutex
	Checked, Skipped    int
	RequestViolations   int
	ResponseViolations  int
	DisagreedOnRequests int // a request the document refuses, answered 2xx
}

func main() {
	docPath := flag.String("doc", "", "the OpenAPI document")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	addrFile := flag.String("addr-file", "", "file to write the address listened on")
	flag.Parse()
	spec, err := os.ReadFile(*docPath)
	if err != nil {
		log.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		log.Fatalf("check: the document does not load: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		log.Fatalf("check: no validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			log.Printf("document: %s: %s", e.Message, e.Reason)
		}
		log.Fatal("check: the document is not a valid OpenAPI document")
	}
	log.Printf("check: %s is a valid OpenAPI document", *docPath)

	var st stats
	var mu sync.Mutex // the validator is shared; one exchange at a time
	mux := http.NewServeMux()
	mux.HandleFunc("POST /check", func(w http.ResponseWriter, r *http.Request) {
		var ex exchange
		if err := json.NewDecoder(r.Body).Decode(&ex); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		out := check(v, &ex)
		mu.Unlock()
		st.mu.Lock()
		if out.Skipped != "" {
			st.Skipped++
		} else {
			st.Checked++
			st.RequestViolations += len(out.Request)
			st.ResponseViolations += len(out.Response)
		}
		st.mu.Unlock()
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		defer st.mu.Unlock()
		fmt.Fprintf(w, "%d exchanges checked, %d skipped (no operation of the document); violations: %d in requests answered 2xx, %d in responses\n",
			st.Checked, st.Skipped, st.RequestViolations, st.ResponseViolations)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Fatal(http.Serve(ln, mux))
}

// check validates one exchange: the response always, the request only when
// the service accepted it (2xx), since a request the service refused may
// break the document on purpose. An exchange outside the document (an
// unknown route, a wrong method, a CORS preflight) is skipped.
func check(v validator.Validator, ex *exchange) verdict {
	if ex.Method == http.MethodOptions {
		return verdict{Skipped: "preflight"}
	}
	req, err := http.NewRequest(ex.Method, ex.URL, bytes.NewReader(ex.RequestBody))
	if err != nil {
		return verdict{Skipped: err.Error()}
	}
	req.Header = ex.RequestHeader.Clone()
	res := &http.Response{
		StatusCode: ex.Status,
		Header:     ex.ResponseHeader.Clone(),
		Body:       io.NopCloser(bytes.NewReader(ex.ResponseBody)),
		Request:    req,
	}
	var out verdict
	ok, reqErrs := v.ValidateHttpRequest(req)
	if !ok && notInDocument(reqErrs) {
		return verdict{Skipped: "no operation " + ex.Method + " " + req.URL.Path}
	}
	if ex.Status >= 200 && ex.Status < 300 {
		out.Request = messages(reqErrs)
	}
	req.Body = io.NopCloser(bytes.NewReader(ex.RequestBody))
	if ok, resErrs := v.ValidateHttpResponse(req, res); !ok {
		out.Response = messages(resErrs)
	}
	return out
}

// notInDocument reports whether the request names no path and method of
// the document.
func notInDocument(errs []*errors.ValidationError) bool {
	for _, e := range errs {
		if e.ValidationType == "path" || strings.Contains(e.Message, "not found") && strings.Contains(strings.ToLower(e.Message), "path") {
			return true
		}
	}
	return false
}

func messages(errs []*errors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		m := e.ValidationType + ": " + e.Message
		if e.Reason != "" {
			m += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			m += "; " + se.FieldPath + ": " + se.Reason
		}
		out = append(out, m)
	}
	return out
}
