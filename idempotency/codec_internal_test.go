package idempotency

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestCodec(t *testing.T) {
	for _, o := range []Outcome{
		{Status: 200},
		{Status: 201, Data: json.RawMessage(`{"a":"<&>"}`)},
		{Status: 303, Data: json.RawMessage(` null `)},
		{Status: 404},
		{Status: 422, Code: "X", Message: "m", Details: map[string]any{"n": json.Number("1e400"), "list": []any{"a", json.Number("2")}}},
	} {
		body, err := o.encode()
		if err != nil {
			t.Fatalf("encode %+v: %v", o, err)
		}
		got, err := decode(o.Status, body)
		if err != nil {
			t.Fatalf("decode %+v: %v", o, err)
		}
		if !reflect.DeepEqual(o, got) {
			t.Errorf("round trip of %+v gave %+v", o, got)
		}
	}
}

// FuzzOutcome stores outcomes built from arbitrary input and decodes
// arbitrary stored bodies: decode never panics, and whatever validate
// accepts comes back as it went in.
func FuzzOutcome(f *testing.F) {
	f.Add(201, []byte(`{"id":"t1"}`), "", "", "")
	f.Add(422, []byte(`{"code":"X","message":"m","details":{"n":12345678901234567}}`), "INSUFFICIENT_FUNDS", "insufficient funds", "amount")
	f.Add(409, []byte(`{"details":[1]}`), "", "", "")
	f.Add(200, []byte("\xff"), "", "", "")
	f.Add(0, []byte(nil), "\xff", "", "\x00")
	f.Fuzz(func(t *testing.T, status int, body []byte, code, message, detail string) {
		// Any stored body: decode fails or returns an outcome that
		// encodes and decodes to itself.
		if o, err := decode(status, body); err == nil {
			again, err := o.encode()
			if err != nil {
				t.Fatalf("encode of a decoded outcome: %v", err)
			}
			back, err := decode(status, again)
			if err != nil || !reflect.DeepEqual(o, back) {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", o, back, err)
			}
		}
		// Any outcome: validate refuses it, or it round-trips.
		o := Outcome{Status: status, Data: body, Code: code, Message: message}
		if detail != "" {
			o.Details = map[string]any{"field": detail}
		}
		if o.validate() != nil {
			return
		}
		stored, err := o.encode()
		if err != nil {
			t.Fatalf("encode of a valid outcome %+v: %v", o, err)
		}
		got, err := decode(status, stored)
		if err != nil {
			t.Fatalf("decode of a stored outcome: %v", err)
		}
		if status < 400 {
			if !bytes.Equal(got.Data, o.Data) && len(o.Data)+len(got.Data) > 0 {
				t.Fatalf("data %q came back as %q", o.Data, got.Data)
			}
			return
		}
		if utf8.ValidString(code) && utf8.ValidString(message) && utf8.ValidString(detail) && (got.Code != code || got.Message != message || !reflect.DeepEqual(got.Details, o.Details)) {
			t.Fatalf("refusal %+v came back as %+v", o, got)
		}
	})
}
