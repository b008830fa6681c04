package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/migrate"
)

// Example applies a directory of versioned scripts; running it again, as
// every instance does at start, applies nothing.
func Example() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one in-memory database

	files := fstest.MapFS{ // usually an embed.FS
		"migrations/001_users.sql":   {Data: []byte("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);")},
		"migrations/002_emails.sql":  {Data: []byte("ALTER TABLE users ADD COLUMN email TEXT;")},
		"migrations/notes/about.txt": {Data: []byte("not a migration")},
	}
	migs, err := migrate.FromFS(files, "migrations")
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		if err := migrate.Run(ctx, db, dialect.SQLite, "schema_migrations", migs); err != nil {
			log.Fatal(err)
		}
	}
	rows, err := db.Query("SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		_ = rows.Scan(&v)
		fmt.Println(v)
	}
	// Output:
	// 001_users
	// 002_emails
}

// ExampleError shows the error of a failing statement.
func ExampleError() {
	ctx := context.Background()
	db, _ := sql.Open("sqlite", "file::memory:")
	defer db.Close()
	db.SetMaxOpenConns(1)
	err := migrate.Run(ctx, db, dialect.SQLite, "schema_migrations", []migrate.Migration{{
		Version: "001_bad", File: "migrations/001_bad.sql",
		Statements: []string{"CREATE TABLE t (id INTEGER)", "CREATE TABLE t (id INTEGER)"},
	}})
	var me *migrate.Error
	if errors.As(err, &me) {
		fmt.Println(me.File, me.Index)
	}
	// Output: migrations/001_bad.sql 2
}

// ExampleApplied reports what a database has recorded, as a status
// command does: nil before any migration, then the versions in order.
func ExampleApplied() {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	before, err := migrate.Applied(ctx, db, dialect.SQLite, "svckit_schema_migrations")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("before:", before == nil)
	migs := []migrate.Migration{{Version: "001_notes", File: "001_notes.sql", Statements: []string{"CREATE TABLE notes (id INTEGER PRIMARY KEY)"}}}
	if err := migrate.Run(ctx, db, dialect.SQLite, "svckit_schema_migrations", migs); err != nil {
		log.Fatal(err)
	}
	after, err := migrate.Applied(ctx, db, dialect.SQLite, "svckit_schema_migrations")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after:", after)
	// Output:
	// before: true
	// after: [001_notes]
}
