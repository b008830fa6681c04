package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// outcome is one request's answer as a load driver sees it: any status is
// accepted and recorded (the assertions come after), transport errors too.
type outcome struct {
	Status int // 0 when no answer came (Err says why)
	Code   string
	Header http.Header
	Raw    []byte
	Took   time.Duration
	Err    error
}

// call sends one request and never fails the test: faults make 5xx and
// transport errors expected outcomes to count.
func call(c *http.Client, base, method, path, token string, body any) outcome {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return outcome{Err: err}
		}
		rd = bytes.NewReader(raw)
	}
	rq, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return outcome{Err: err}
	}
	if body != nil {
		rq.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		rq.Header.Set("Authorization", "Bearer "+token)
	}
	began := time.Now()
	res, err := c.Do(rq)
	if err != nil {
		return outcome{Err: err, Took: time.Since(began)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	o := outcome{Status: res.StatusCode, Header: res.Header, Raw: raw, Took: time.Since(began), Err: err}
	var env struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error != nil {
		o.Code = env.Error.Code
	}
	return o
}
