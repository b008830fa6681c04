package operation

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzCheckBody runs arbitrary bodies through the plan of checkAll, a
// schema of every kind the checker knows. The checker never panics; it
// calls text malformed exactly when encoding/json does; and a body it
// passes decodes into the type without a type error or an unknown member,
// so what the document accepts, the decoder accepts.
func FuzzCheckBody(f *testing.F) {
	for _, seed := range []string{
		validAll, `{}`, `[]`, `null`, `1`, `"x"`, `{"email":1}`,
		`{"email":"a@b.co","name":"Ada","age":1,"patch":"ok","tree":{"value":1,"children":[null,{"value":2,"children":[]}]}}`,
		`{"email":"a@b.co","name":"Ada","age":-0,"count":-0,"patch":"ok","when":"\u0032026-01-02T03:04:05Z"}`,
		`{"email":"a@b.co","name":"Ada","age":1,"patch":"ok","scores":{"a":1e2,"b":-1},"tags":["a","\u0062"]}`,
		`{"email":"a@b.co","name":"Ada","age":1,"patch":"ok","blob":"aGk=","raw":[{"x":[1,2,{"y":null}]}]}`,
		`{"age":1.0}`, `{"age":1e400}`, `{"ratio":1e-400}`, `{"name":"\ud800"}`, `{"name":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(seed))
	}
	n := compileForFuzz(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := checker{data: data, root: "/body"}
		c.value(n)
		c.ws()
		malformed := c.bad || c.i != len(data)
		vs := checkBody(n, data)
		if malformed && vs != nil {
			t.Fatalf("violations reported for malformed text %q", data)
		}
		if json.Valid(data) == malformed && bytes.Count(data, []byte("[")) < maxDepth/2 && bytes.Count(data, []byte("{")) < maxDepth/2 {
			t.Fatalf("checker says malformed=%v, encoding/json says valid=%v, for %q", malformed, json.Valid(data), data)
		}
		if malformed || len(vs) > 0 {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var v checkAll
		err := dec.Decode(&v)
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) || err != nil && strings.Contains(err.Error(), "unknown field") {
			t.Fatalf("the checker passed %q, which encoding/json refuses: %v", data, err)
		}
	})
}

func compileForFuzz(f *testing.F) *node {
	g := newRegistry()
	s, err := g.schemaOf(reflect.TypeFor[checkAll](), "T")
	if err != nil {
		f.Fatal(err)
	}
	n, err := newCompiler(g.schemas).compile(s)
	if err != nil {
		f.Fatal(err)
	}
	return n
}
