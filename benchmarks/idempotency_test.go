package benchmarks

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/txn"
)

// BenchmarkIdempotency measures what an Idempotency-Key costs a request
// whose work is one INSERT in a transaction:
//   - no-key: txn.Do around the work, the baseline;
//   - fresh-key: idempotency.Do with a new key, so claim + work + finish in
//     one transaction;
//   - replay: idempotency.Do with a key already finished, so a failed claim,
//     a rollback and a load (the work does not run).
//
// on SQLite (a file, WAL) and PostgreSQL (when SVCKIT_POSTGRES_URL is set),
// and the same three on idempotency.Memory with no database work.
func BenchmarkIdempotency(b *testing.B) {
	ctx := context.Background()
	engines := []struct {
		name string
		open func(testing.TB) *testdb.DB
	}{{"sqlite", testdb.SQLite}, {"postgres", testdb.Postgres}}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			db := e.open(b)
			d, err := dialect.Parse(db.Dialect)
			if err != nil {
				b.Fatal(err)
			}
			store := sqlstore.New(db.DB, d, sqlstore.Options{})
			if err := store.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			if _, err := db.DB.Exec("CREATE TABLE work (id BIGINT PRIMARY KEY)"); err != nil {
				b.Fatal(err)
			}
			insert := "INSERT INTO work (id) VALUES (" + d.Placeholder(1) + ")"
			var id int64
			work := func(ctx context.Context) error {
				id++
				_, err := txn.From(ctx, db.DB).ExecContext(ctx, insert, id)
				return err
			}
			fn := func(ctx context.Context) (idempotency.Outcome, error) {
				if err := work(ctx); err != nil {
					return idempotency.Outcome{}, err
				}
				return idempotency.Outcome{Status: http.StatusCreated, Data: []byte(`{"id":"t1"}`)}, nil
			}
			b.Run("no-key", func(b *testing.B) {
				for b.Loop() {
					if err := txn.Do(ctx, db.DB, work); err != nil {
						b.Fatal(err)
					}
				}
			})
			runDo(b, store, fn)
		})
	}
	b.Run("memory", func(b *testing.B) {
		fn := func(context.Context) (idempotency.Outcome, error) {
			return idempotency.Outcome{Status: http.StatusCreated, Data: []byte(`{"id":"t1"}`)}, nil
		}
		b.Run("no-key", func(b *testing.B) {
			m := idempotency.NewMemory(idempotency.MemoryOptions{})
			for b.Loop() {
				if _, _, err := idempotency.Do(ctx, m, idempotency.Key{}, "", fn); err != nil {
					b.Fatal(err)
				}
			}
		})
		runDo(b, idempotency.NewMemory(idempotency.MemoryOptions{}), fn)
	})
}

// runDo runs the fresh-key and replay sub-benchmarks on s.
func runDo(b *testing.B, s idempotency.Store, fn func(context.Context) (idempotency.Outcome, error)) {
	ctx := context.Background()
	fp := idempotency.Fingerprint("POST", "/v1/transfers", `{"amount":5}`)
	n := 0 // across the runs of fresh-key: every key is new
	b.Run("fresh-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n++
			k := idempotency.Key{Scope: "user-1", Value: "fresh-" + strconv.Itoa(n)}
			if _, replayed, err := idempotency.Do(ctx, s, k, fp, fn); err != nil || replayed {
				b.Fatalf("fresh key: replayed %v, %v", replayed, err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		k := idempotency.Key{Scope: "user-1", Value: "replay"}
		if _, _, err := idempotency.Do(ctx, s, k, fp, fn); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, replayed, err := idempotency.Do(ctx, s, k, fp, fn); err != nil || !replayed {
				b.Fatalf("replay: replayed %v, %v", replayed, err)
			}
		}
	})
}
