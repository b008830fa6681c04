package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
)

// ExampleStore_DeleteBefore forgets keys after the retention promised to
// clients; a janitor runs it now and then.
func ExampleStore_DeleteBefore() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:idempotency-delete?mode=memory&cache=shared")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	store := sqlstore.New(db, dialect.SQLite, sqlstore.Options{
		Table: "idempotency_keys",
		Now:   func() time.Time { return now },
	})
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	_ = store.Claim(ctx, idempotency.Key{Value: "yesterday"}, "fp")
	now = now.Add(25 * time.Hour)
	_ = store.Claim(ctx, idempotency.Key{Value: "today"}, "fp")

	n, err := store.DeleteBefore(ctx, now.Add(-24*time.Hour))
	fmt.Println("deleted:", n, err)
	// Output:
	// deleted: 1 <nil>
}
