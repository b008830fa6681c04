package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/examples/api/app"
)

// errMigrateUsage is returned for arguments the migrate command does not
// take; main prints migrateUsage after it.
var errMigrateUsage = errors.New("usage: api migrate status | up | create [-dir DIR] NAME")

// migrateUsage is the help of the migrate command.
const migrateUsage = `  status       lists every migration, applied or pending, on DATABASE_URL
  up           applies the pending ones (the service also does at start)
  create NAME  writes NNN_NAME.sql for each dialect (postgres, mysql, sqlite)
               under DIR (default: app/migrations from the service's root)
`

// runMigrate is the migrate command: "go run . migrate status" and so on.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errMigrateUsage
	}
	switch args[0] {
	case "status", "up":
		if len(args) > 1 {
			return errMigrateUsage
		}
		return migrateDatabase(ctx, args[0] == "up", getenv, out)
	case "create":
		fs := flag.NewFlagSet("create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		dir := fs.String("dir", "", "the migrations directory")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			return errMigrateUsage
		}
		return createMigration(*dir, fs.Arg(0), out)
	}
	return errMigrateUsage
}

// migrateDatabase prints the status of DATABASE_URL's migrations, after
// applying the pending ones when up is set.
func migrateDatabase(ctx context.Context, up bool, getenv func(string) string, out io.Writer) error {
	cfg, _, err := app.FromEnv(getenv)
	if err != nil {
		return err
	}
	db, err := sql.Open(cfg.Database.Driver, cfg.Database.DSN)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	d, err := dialect.Parse(cfg.Database.Dialect)
	if err != nil {
		return err
	}
	before, err := app.MigrationStatus(ctx, db, d)
	if err != nil {
		return err
	}
	if !up {
		for _, s := range before {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(out, "%-8s %s\n", state, describe(s))
		}
		return nil
	}
	if err := app.Migrate(ctx, db, d); err != nil {
		return err
	}
	after, err := app.MigrationStatus(ctx, db, d)
	if err != nil {
		return err
	}
	was := map[string]bool{}
	for _, s := range before {
		was[s.Version] = s.Applied
	}
	n := 0
	for _, s := range after {
		if s.Applied && !was[s.Version] {
			fmt.Fprintf(out, "applied  %s\n", describe(s))
			n++
		}
	}
	fmt.Fprintf(out, "%d applied, %d in all, on %s\n", n, len(after), d)
	return nil
}

func describe(s app.MigrationState) string {
	if s.File == "" {
		return s.Version + " (a schema of svckit's stores)"
	}
	return s.Version
}

// migrationName is what create accepts as NAME.
var migrationName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,60}$`)

// numbered is a migration file's name: NNN_name.sql.
var numbered = regexp.MustCompile(`^(\d+)_[^/]*\.sql$`)

// createMigration writes the next NNN_name.sql into each dialect's
// directory under dir, each a comment saying what the dialect needs.
func createMigration(dir, name string, out io.Writer) error {
	if !migrationName.MatchString(name) {
		return fmt.Errorf("migration name %q: use lower-case letters, digits and _, starting with a letter", name)
	}
	if dir == "" {
		for _, d := range []string{"app/migrations", "examples/api/app/migrations"} {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				dir = d
				break
			}
		}
		if dir == "" {
			return errors.New("no app/migrations here: run from the service's root, or give -dir")
		}
	}
	next := 1
	for _, d := range dialectDirs {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		if err != nil {
			return fmt.Errorf("%s is not a migrations directory: %w", dir, err)
		}
		for _, e := range entries {
			if m := numbered.FindStringSubmatch(e.Name()); m != nil {
				if n, _ := strconv.Atoi(m[1]); n >= next {
					next = n + 1
				}
			}
		}
	}
	file := fmt.Sprintf("%03d_%s.sql", next, name)
	var paths []string
	for _, d := range dialectDirs {
		p := filepath.Join(dir, d, file)
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists", p)
		}
		paths = append(paths, p)
	}
	for i, d := range dialectDirs {
		if err := os.WriteFile(paths[i], []byte(fmt.Sprintf(migrationHeader[d], file)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "created %s\n", paths[i])
	}
	fmt.Fprintln(out, "write the schema change in each, then: go run . migrate up (or start the service)")
	return nil
}

// dialectDirs are the migrations' directories, one per dialect.
var dialectDirs = []string{"mysql", "postgres", "sqlite"}

// migrationHeader is the start of a new migration file, per dialect.
var migrationHeader = map[string]string{
	"postgres": `-- %s (PostgreSQL). Runs once, in a transaction with its record in
-- svckit_schema_migrations; a failing statement rolls all of it back.
`,
	"mysql": `-- %s (MySQL 8 / MariaDB 10.5+). Runs once. DDL commits by itself here,
-- so a migration that fails half-way stays half-applied: write statements
-- that can run again (CREATE TABLE IF NOT EXISTS ...).
-- End every CREATE TABLE with
--   ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- as 001_init's tables do: a foreign key to one of them (users, accounts)
-- needs the same character set and collation on both columns, and the
-- database's default may differ.
`,
	"sqlite": `-- %s (SQLite). Runs once, with every pending migration, in one
-- transaction that a failure rolls back.
`,
}
