package idempotency_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/internal/testdb"
)

// FuzzKey checks Key.Validate against its definition, and that every key
// it accepts is stored and found again byte for byte, in Memory and in
// SQLite alike.
func FuzzKey(f *testing.F) {
	for _, seed := range [][2]string{
		{"user-1", "8e03978e-40d5-43e8-bc93-6894a57f9324"}, {"", "k"}, {"a", "k "}, {"a ", "K"},
		{"Jörg", "~ !"}, {"\xff", "k"}, {"a\x00", "k"}, {"u", ""}, {"u", "a\tb"}, {"u", "clé"},
		{"u", strings.Repeat("k", 256)}, {strings.Repeat("s", 256), "k"},
	} {
		f.Add(seed[0], seed[1])
	}
	db := testdb.SQLite(f)
	sqlStore := sqlstore.New(db.DB, dialect.SQLite, sqlstore.Options{})
	if err := sqlStore.Migrate(context.Background()); err != nil {
		f.Fatalf("Migrate: %v", err)
	}
	mem := idempotency.NewMemory(idempotency.MemoryOptions{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, scope, value string) {
		k := idempotency.Key{Scope: scope, Value: value}
		err := k.Validate()
		if validValue(value) != !errors.Is(err, idempotency.ErrInvalidKey) {
			t.Fatalf("Validate(%q) = %v, want ErrInvalidKey iff the value is not 1-255 printable ASCII", k, err)
		}
		if validValue(value) && validScope(scope) != (err == nil) {
			t.Fatalf("Validate(%q) = %v for a scope valid=%v", k, err, validScope(scope))
		}
		for name, s := range map[string]idempotency.Store{"memory": mem, "sqlite": sqlStore} {
			claimErr := s.Claim(ctx, k, value)
			if err != nil {
				if claimErr == nil {
					t.Fatalf("%s: Claim(%q) accepted a key Validate refuses", name, k)
				}
				continue
			}
			if claimErr != nil && !errors.Is(claimErr, idempotency.ErrTaken) {
				t.Fatalf("%s: Claim(%q): %v", name, k, claimErr)
			}
			if err := s.Claim(ctx, k, value); !errors.Is(err, idempotency.ErrTaken) {
				t.Fatalf("%s: second Claim(%q) = %v, want ErrTaken", name, k, err)
			}
			r, err := s.Load(ctx, k)
			if err != nil {
				t.Fatalf("%s: Load(%q): %v", name, k, err)
			}
			if r.Fingerprint != value {
				t.Fatalf("%s: Load(%q) fingerprint %q, want the one claimed", name, k, r.Fingerprint)
			}
		}
	})
}

func validValue(v string) bool {
	if v == "" || len(v) > idempotency.MaxKeyLen {
		return false
	}
	for _, c := range []byte(v) {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

func validScope(s string) bool {
	return len(s) <= idempotency.MaxKeyLen && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
