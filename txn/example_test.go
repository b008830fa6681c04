package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/txn"
)

// ErrInsufficientFunds is the business error of transferFunds.
var ErrInsufficientFunds = errors.New("insufficient funds")

// transferFunds moves amount (in cents) between two accounts. The IMMEDIATE
// transaction is SQLite's lock; on PostgreSQL or MySQL, lock both rows first
// and in id order, so two transfers never wait on each other:
//
//	SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE
func transferFunds(ctx context.Context, db *sql.DB, from, to, amount int64) error {
	return txn.Do(ctx, db, func(ctx context.Context) error {
		q := txn.From(ctx, db)
		var balance int64
		err := q.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", from).Scan(&balance)
		if err != nil {
			return fmt.Errorf("transfer: source account: %w", err)
		}
		if balance < amount {
			return ErrInsufficientFunds
		}
		for _, s := range []struct {
			query string
			args  []any
		}{
			{"UPDATE accounts SET balance = balance - ? WHERE id = ?", []any{amount, from}},
			{"UPDATE accounts SET balance = balance + ? WHERE id = ?", []any{amount, to}},
			{"INSERT INTO transfers (from_id, to_id, amount) VALUES (?, ?, ?)", []any{from, to, amount}},
		} {
			if _, err := q.ExecContext(ctx, s.query, s.args...); err != nil {
				return fmt.Errorf("transfer: %w", err)
			}
		}
		txn.AfterCommit(ctx, func(context.Context) {
			fmt.Printf("transferred %d from %d to %d\n", amount, from, to)
		})
		return nil
	})
}

// openExample opens a throw-away SQLite database with the settings txn
// expects: BEGIN IMMEDIATE and a busy timeout.
func openExample() (db *sql.DB, cleanup func()) {
	dir, err := os.MkdirTemp("", "txn-example")
	if err != nil {
		log.Fatal(err)
	}
	dsn := "file:" + filepath.Join(dir, "bank.db") +
		"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	db, err = sql.Open("sqlite", dsn)
	if err != nil {
		log.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
		"CREATE TABLE transfers (id INTEGER PRIMARY KEY, from_id INTEGER, to_id INTEGER, amount INTEGER)",
		"CREATE TABLE audit (id INTEGER PRIMARY KEY, message TEXT NOT NULL)",
		"INSERT INTO accounts (id, balance) VALUES (1, 10000), (2, 500)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			log.Fatal(err)
		}
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

func printBalances(db *sql.DB) {
	rows, err := db.Query("SELECT id, balance FROM accounts ORDER BY id")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, balance int64
		if err := rows.Scan(&id, &balance); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("account %d: %d\n", id, balance)
	}
}

func Example_transferFunds() {
	db, cleanup := openExample()
	defer cleanup()
	ctx := context.Background()

	if err := transferFunds(ctx, db, 1, 2, 2500); err != nil {
		log.Fatal(err)
	}
	err := transferFunds(ctx, db, 2, 1, 1_000_000)
	fmt.Println("too much:", errors.Is(err, ErrInsufficientFunds))
	printBalances(db)
	// Output:
	// transferred 2500 from 1 to 2
	// too much: true
	// account 1: 7500
	// account 2: 3000
}

// Services compose: a Do inside a transaction joins it, so the transfer and
// the audit row commit or roll back together.
func ExampleDo() {
	db, cleanup := openExample()
	defer cleanup()
	ctx := context.Background()

	audit := func(ctx context.Context, msg string) error {
		return txn.Do(ctx, db, func(ctx context.Context) error {
			_, err := txn.From(ctx, db).ExecContext(ctx, "INSERT INTO audit (message) VALUES (?)", msg)
			return err
		})
	}
	err := txn.Do(ctx, db, func(ctx context.Context) error {
		if err := transferFunds(ctx, db, 1, 2, 100); err != nil {
			return err
		}
		if err := audit(ctx, "paid 100"); err != nil {
			return err
		}
		return errors.New("changed my mind")
	})
	fmt.Println(err)

	var transfers, audits int
	db.QueryRow("SELECT (SELECT COUNT(*) FROM transfers), (SELECT COUNT(*) FROM audit)").Scan(&transfers, &audits)
	fmt.Println("transfers:", transfers, "audit rows:", audits)
	// Output:
	// changed my mind
	// transfers: 0 audit rows: 0
}

// A savepoint lets the caller recover from a failed step and still commit
// the rest; the failed step's after-commit hook is dropped.
func ExampleDoWith_savepoint() {
	db, cleanup := openExample()
	defer cleanup()
	ctx := context.Background()

	err := txn.Do(ctx, db, func(ctx context.Context) error {
		err := txn.DoWith(ctx, db, txn.Options{Propagation: txn.Savepoint}, func(ctx context.Context) error {
			return transferFunds(ctx, db, 2, 1, 1_000) // joins the savepoint
		})
		fmt.Println("first choice:", err)
		return txn.DoWith(ctx, db, txn.Options{Propagation: txn.Savepoint}, func(ctx context.Context) error {
			return transferFunds(ctx, db, 2, 1, 300)
		})
	})
	fmt.Println("committed:", err == nil)
	printBalances(db)
	// Output:
	// first choice: insufficient funds
	// transferred 300 from 2 to 1
	// committed: true
	// account 1: 10300
	// account 2: 200
}

func ExampleAfterCommit() {
	db, cleanup := openExample()
	defer cleanup()
	ctx := context.Background()

	invalidate := func(ctx context.Context) { fmt.Println("cache: delete account:1") }
	_ = txn.Do(ctx, db, func(ctx context.Context) error {
		if _, err := txn.From(ctx, db).ExecContext(ctx, "UPDATE accounts SET balance = 0 WHERE id = 1"); err != nil {
			return err
		}
		txn.AfterCommit(ctx, invalidate)
		fmt.Println("updated, not committed yet")
		return nil
	})
	_ = txn.Do(ctx, db, func(ctx context.Context) error {
		txn.AfterCommit(ctx, invalidate)
		return errors.New("rolled back: the hook never runs")
	})
	txn.AfterCommit(ctx, func(context.Context) { fmt.Println("outside a transaction: at once") })
	// Output:
	// updated, not committed yet
	// cache: delete account:1
	// outside a transaction: at once
}

func ExampleRetryError() {
	db, cleanup := openExample()
	defer cleanup()

	err := txn.DoWith(context.Background(), db, txn.Options{MaxAttempts: 2, Backoff: func(int) time.Duration { return 0 }},
		func(context.Context) error { return busy{} })
	var re *txn.RetryError
	if errors.As(err, &re) {
		fmt.Println("attempts:", re.Attempts)
	}
	fmt.Println(err)
	// Output:
	// attempts: 2
	// txn: gave up after 2 attempts: database is locked
}

// busy stands for modernc.org/sqlite's SQLITE_BUSY error.
type busy struct{}

func (busy) Error() string { return "database is locked" }
func (busy) Code() int     { return 5 }
