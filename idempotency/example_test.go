package idempotency_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/txn"
)

// Example moves money at most once per Idempotency-Key, on SQLite: the
// claim of the key commits or rolls back with the transfer.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:idempotency-example?mode=memory&cache=shared")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE transfers (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)`); err != nil {
		panic(err)
	}
	store := sqlstore.New(db, dialect.SQLite, sqlstore.Options{})
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}

	transfer := func(key string, amount int64) {
		k := idempotency.Key{Scope: "user-1", Value: key}
		fp := idempotency.Fingerprint("POST /v1/transfers", fmt.Sprint(amount))
		out, replayed, err := idempotency.Do(ctx, store, k, fp, func(ctx context.Context) (idempotency.Outcome, error) {
			res, err := txn.From(ctx, db).ExecContext(ctx, `INSERT INTO transfers (amount) VALUES (?)`, amount)
			if err != nil {
				return idempotency.Outcome{}, err
			}
			id, _ := res.LastInsertId()
			return idempotency.JSON(http.StatusCreated, map[string]int64{"id": id, "amount": amount})
		})
		switch {
		case errors.Is(err, idempotency.ErrKeyMismatch):
			fmt.Println("409:", err)
		case err != nil:
			fmt.Println("error:", err)
		default:
			fmt.Println(out.Status, string(out.Data), "replayed:", replayed)
		}
	}
	transfer("key-1", 500)
	transfer("key-1", 500) // a retry
	transfer("key-1", 700) // the same key for another request
	transfer("key-2", 700)

	var n int
	_ = db.QueryRow(`SELECT COUNT(*) FROM transfers`).Scan(&n)
	fmt.Println("transfers:", n)
	// Output:
	// 201 {"amount":500,"id":1} replayed: false
	// 201 {"amount":500,"id":1} replayed: true
	// 409: idempotency: Idempotency-Key reused with a different request
	// 201 {"amount":700,"id":2} replayed: false
	// transfers: 2
}

// ExampleRefuse keeps a refusal: once refused for insufficient funds, a
// retry is refused the same way, even after the client tops up.
func ExampleRefuse() {
	ctx := context.Background()
	store := idempotency.NewMemory(idempotency.MemoryOptions{})
	balance := int64(10)
	pay := func(amount int64) {
		_, replayed, err := idempotency.Do(ctx, store, idempotency.Key{Scope: "user-1", Value: "order-7"}, "pay 50",
			func(ctx context.Context) (idempotency.Outcome, error) {
				if balance < amount {
					// errInsufficientFunds reports HTTPStatus 422: the
					// client's fault, so the refusal is kept.
					return idempotency.Refuse(errInsufficientFunds)
				}
				balance -= amount
				return idempotency.JSON(http.StatusOK, balance)
			})
		if r, ok := errkind.Inspect(err); ok {
			fmt.Println(r.Status, "replayed:", replayed)
		}
	}
	pay(50)
	balance = 100
	pay(50)
	fmt.Println("balance:", balance)
	// Output:
	// 422 replayed: false
	// 422 replayed: true
	// balance: 100
}
