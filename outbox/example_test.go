package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// An event is emitted in the transaction of the change it reports; the
// relay publishes what committed, here to a consumer in the same process,
// which applies each event once.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	defer db.Close()
	ctx := context.Background()

	o := outbox.New(db, dialect.SQLite, outbox.Options{})
	if err := o.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = db.Exec(`CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)`)
	_, _ = db.Exec(`CREATE TABLE feed (line TEXT)`)

	createUser := func(id, name string, fail bool) error {
		return txn.Do(ctx, db, func(ctx context.Context) error {
			if _, err := txn.From(ctx, db).ExecContext(ctx, `INSERT INTO users (id, name) VALUES (?, ?)`, id, name); err != nil {
				return err
			}
			if err := o.Emit(ctx, outbox.Event{Type: "user.created", Key: id, Payload: map[string]string{"name": name}}); err != nil {
				return err
			}
			if fail {
				return errors.New("rolled back")
			}
			return nil
		})
	}
	_ = createUser("u1", "Ada", false)
	_ = createUser("u2", "Bob", true) // rolled back: no user, no event
	_ = createUser("u3", "Cy", false)

	feed := outbox.NewConsumer(o, "feed", func(ctx context.Context, m outbox.Message) error {
		var p struct{ Name string }
		if err := m.Decode(&p); err != nil {
			return err
		}
		_, err := txn.From(ctx, db).ExecContext(ctx, `INSERT INTO feed (line) VALUES (?)`, m.Type+" "+p.Name)
		return err
	}, outbox.ConsumerOptions{})
	var local outbox.Local
	local.Subscribe(feed, "user.*")

	relay := outbox.NewRelay(o, &local, outbox.RelayOptions{})
	n, err := relay.Round(ctx) // Run does this in a loop until its context ends
	fmt.Println("published:", n, err)

	rows, _ := db.Query(`SELECT line FROM feed ORDER BY rowid`)
	defer rows.Close()
	for rows.Next() {
		var line string
		_ = rows.Scan(&line)
		fmt.Println(line)
	}
	// Output:
	// published: 2 <nil>
	// user.created Ada
	// user.created Cy
}

// Emit refuses what cannot be published, before the commit.
func ExampleOutbox_Emit_errors() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_txlock=immediate")
	defer db.Close()
	ctx := context.Background()
	o := outbox.New(db, dialect.SQLite, outbox.Options{MaxPayload: 16})
	_ = o.Migrate(ctx)

	err := o.Emit(ctx, outbox.Event{Type: "user.created", Payload: 1})
	fmt.Println(errors.Is(err, outbox.ErrNoTransaction), err)

	err = txn.Do(ctx, db, func(ctx context.Context) error {
		return o.Emit(ctx, outbox.Event{Type: "user.created", Payload: func() {}})
	})
	fmt.Println(errors.Is(err, outbox.ErrPayload), err)

	err = txn.Do(ctx, db, func(ctx context.Context) error {
		return o.Emit(ctx, outbox.Event{Type: "user.created", Payload: "a string of 30 characters long"})
	})
	fmt.Println(errors.Is(err, outbox.ErrTooLarge), err)
	// Output:
	// true outbox: emit outside a transaction on the outbox's database
	// true outbox: payload does not encode as JSON: user.created event: json: unsupported type: func()
	// true outbox: payload too large: user.created event: 32 bytes, the limit is 16
}

// A cache invalidation rides the outbox: it commits with the update, and
// an Invalidator (here in the same process; in production every instance
// runs one) deletes the keys once committed, whichever process can.
func ExampleInvalidator() {
	dir, _ := os.MkdirTemp("", "outbox-invalidator")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db")+"?_txlock=immediate&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	defer db.Close()
	ctx := context.Background()

	o := outbox.New(db, dialect.SQLite, outbox.Options{})
	if err := o.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = db.Exec(`CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT)`)
	_, _ = db.Exec(`INSERT INTO users VALUES ('u1', 'Ada')`)

	cached := map[string]string{"u1": "Ada"} // stands for a cache.Aside
	inv := outbox.NewInvalidator(o, "users", func(_ context.Context, keys ...string) error {
		for _, k := range keys {
			delete(cached, k)
		}
		return nil
	}, outbox.InvalidatorOptions{})

	_ = txn.Do(ctx, db, func(ctx context.Context) error {
		if _, err := txn.From(ctx, db).ExecContext(ctx, `UPDATE users SET name = 'Ada L.' WHERE id = 'u1'`); err != nil {
			return err
		}
		return inv.Emit(ctx, "u1")
	})
	n, err := inv.Round(ctx) // what Run does whenever it is woken or polls
	fmt.Println(n, err, len(cached))
	// Output: 1 <nil> 0
}
