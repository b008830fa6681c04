package benchmarks

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/svckit/svckit/envelope"
)

// envUser is the payload both sides write and read: a struct of a few
// fields, as an API resource would be.
type envUser struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"createdAt"`
}

// envHandEnvelope is the success envelope written by hand with encoding/json.
type envHandEnvelope struct {
	Data envUser     `json:"data"`
	Meta envHandMeta `json:"meta"`
}

type envHandMeta struct {
	Timestamp time.Time `json:"timestamp"`
	RequestID string    `json:"requestId"`
}

// envDiscardWriter is an http.ResponseWriter that keeps headers and drops the
// body, so the benchmark measures encoding and not buffer growth.
type envDiscardWriter struct {
	header http.Header
	status int
}

func (d *envDiscardWriter) Header() http.Header         { return d.header }
func (d *envDiscardWriter) WriteHeader(status int)      { d.status = status }
func (d *envDiscardWriter) Write(b []byte) (int, error) { return len(b), nil }

func (d *envDiscardWriter) reset() {
	clear(d.header)
	d.status = 0
}

func envPayload() envUser {
	return envUser{
		ID:        "01HZX3K9Q7W8E2R5T6Y7U8I9O0",
		Email:     "ada@example.com",
		Name:      "Ada Lovelace",
		Roles:     []string{"user", "admin"},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func BenchmarkEnvelopeWrite(b *testing.B) {
	user := envPayload()
	req := httptest.NewRequest("GET", "/v1/users/1", nil)
	req = req.WithContext(envelope.WithRequestID(req.Context(), "req-0123456789"))

	b.Run("svckit", func(b *testing.B) {
		w := &envDiscardWriter{header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			if err := envelope.Write(w, req, http.StatusOK, user, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		w := &envDiscardWriter{header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			body, err := json.Marshal(envHandEnvelope{
				Data: user,
				Meta: envHandMeta{Timestamp: time.Now().UTC(), RequestID: envelope.RequestID(req.Context())},
			})
			if err != nil {
				b.Fatal(err)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			if _, err := w.Write(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// envSignup is the request body both sides decode.
type envSignup struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

const envSignupBody = `{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada Lovelace"}`

// envHandDecode is what a careful handler does without svckit.
func envHandDecode(w http.ResponseWriter, r *http.Request) (envSignup, error) {
	var v envSignup
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return v, errors.New("unsupported media type")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return v, errors.New("trailing data")
	}
	return v, nil
}

func BenchmarkDecode(b *testing.B) {
	body := strings.NewReader(envSignupBody)
	req := httptest.NewRequest("POST", "/v1/auth/register", nil)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	w := &envDiscardWriter{header: http.Header{}}
	run := func(b *testing.B, decode func(*http.Request) (envSignup, error)) {
		b.ReportAllocs()
		for b.Loop() {
			body.Reset(envSignupBody)
			req.Body = io.NopCloser(body)
			req.ContentLength = int64(len(envSignupBody))
			v, err := decode(req)
			if err != nil || v.Email == "" {
				b.Fatal(err)
			}
		}
	}
	b.Run("svckit", func(b *testing.B) { run(b, envelope.Decode[envSignup]) })
	b.Run("encoding-json", func(b *testing.B) {
		run(b, func(r *http.Request) (envSignup, error) { return envHandDecode(w, r) })
	})
}
