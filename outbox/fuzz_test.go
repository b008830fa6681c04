package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// FuzzEmit gives Emit events from outside (a type, a key, a header and a
// raw payload) and checks that it either stores exactly what it was given
// or refuses with one of its errors, and that the relay reads back what
// was stored.
func FuzzEmit(f *testing.F) {
	f.Add("user.created", "k1", "Tenant", "t1", []byte(`{"a":1}`))
	f.Add("a..b", "", "a:b", "x", []byte(`{`))
	f.Add("a.>", "\x00", "", "\n", []byte(`null`))
	f.Add(strings.Repeat("a", 129), strings.Repeat("k", 256), "h", strings.Repeat("v", 1025), []byte(`"x"`))
	db := testdb.SQLite(f)
	box := outbox.New(db.DB, dialect.SQLite, outbox.Options{MaxPayload: 4096})
	if err := box.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	var pub recorder
	r := outbox.NewRelay(box, &pub, outbox.RelayOptions{})
	f.Fuzz(func(t *testing.T, typ, key, hname, hvalue string, payload []byte) {
		if _, err := db.DB.Exec(`DELETE FROM svckit_outbox`); err != nil {
			t.Fatal(err)
		}
		e := outbox.Event{Type: typ, Key: key, Payload: json.RawMessage(payload), Headers: map[string]string{hname: hvalue}}
		err := txn.Do(context.Background(), db.DB, func(ctx context.Context) error { return box.Emit(ctx, e) })
		if err != nil {
			if !errors.Is(err, outbox.ErrInvalid) && !errors.Is(err, outbox.ErrPayload) && !errors.Is(err, outbox.ErrTooLarge) {
				t.Fatalf("Emit: an error of no documented kind: %v", err)
			}
			return
		}
		if !json.Valid(payload) || len(payload) > 4096 || !utf8.ValidString(key) || len(key) > outbox.MaxKeyLen {
			t.Fatalf("Emit accepted type %q key %q payload %q", typ, key, payload)
		}
		pub.mu.Lock()
		pub.msgs = nil
		pub.mu.Unlock()
		if _, err := r.Round(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := pub.got()
		if len(got) != 1 {
			t.Fatalf("published %d events, want 1", len(got))
		}
		m := got[0]
		if m.Type != typ || m.Key != key || string(m.Payload) != string(payload) || m.Headers[hname] != hvalue {
			t.Fatalf("published %+v, emitted %+v", m, e)
		}
	})
}
