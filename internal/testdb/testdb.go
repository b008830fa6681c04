// Package testdb gives tests a fresh, isolated database: an SQLite file always,
// and a PostgreSQL schema, a MySQL/MariaDB database or a Redis key prefix (on
// a standalone Redis or a Redis Cluster) when the matching SVCKIT_*_URL
// variable is set. Everything it creates is dropped when the test ends. It
// also starts private redis-server processes for fault tests (see
// StartRedis and StartRedisCluster).
//
// Without a URL the test is skipped with a message that says how to run it;
// with SVCKIT_REQUIRE_SERVICES=1 (set by .ci/run) a missing URL or an
// unreachable server fails the test instead.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"

	"github.com/svckit/svckit/dialect"
)

// Environment variables read by this package.
const (
	PostgresEnv = "SVCKIT_POSTGRES_URL"
	MySQLEnv    = "SVCKIT_MYSQL_URL"
	RedisEnv    = "SVCKIT_REDIS_URL"
	// RedisClusterEnv holds a Redis Cluster URL in go-redis's
	// ParseClusterURL form: redis://host:port?addr=host:port&addr=host:port
	// (any one node is enough; the client discovers the others).
	RedisClusterEnv = "SVCKIT_REDIS_CLUSTER_URL"
	RequireEnv      = "SVCKIT_REQUIRE_SERVICES"
)

// Dialect names returned in DB.Dialect.
const (
	SQLiteDialect   = "sqlite"
	PostgresDialect = "postgres"
	MySQLDialect    = "mysql"
)

// DB is a fresh database opened for one test.
type DB struct {
	Name    string  // subtest name: "sqlite", "postgres" or "mysql"
	Dialect string  // one of the *Dialect constants
	DB      *sql.DB // closed and dropped at cleanup
	// DSN opens another pool on the same isolated database (for example a
	// second "instance" in a test). It is already in the driver's form.
	DSN    string
	Driver string // "sqlite", "pgx" or "mysql"
}

// Required reports whether a missing service must fail the test.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

func missing(t testing.TB, env, what string) {
	t.Helper()
	msg := fmt.Sprintf("%s not set: skipping the %s test (run with %s=... to include it, see README)", env, what, env)
	if Required() {
		t.Fatalf("%s=1 but %s", RequireEnv, msg)
	}
	t.Skip(msg)
}

// Suffix returns a random lower-case name fragment unique to one test.
func Suffix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// SQLiteDSN is the DSN this package opens SQLite files with: WAL journal, a
// 5 s busy timeout, foreign keys on and BEGIN IMMEDIATE for every transaction,
// so concurrent writers wait instead of failing with SQLITE_BUSY.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// SQLite opens a fresh SQLite database in a file under t.TempDir.
func SQLite(t testing.TB) *DB {
	t.Helper()
	dsn := SQLiteDSN(filepath.Join(t.TempDir(), "test.db"))
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatalf("testdb: open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("testdb: ping sqlite: %v", err)
	}
	return &DB{Name: SQLiteDialect, Dialect: SQLiteDialect, DB: db, DSN: dsn, Driver: "sqlite"}
}

// Postgres creates a schema with a unique name on SVCKIT_POSTGRES_URL and
// returns a pool whose search_path is that schema. The schema is dropped at
// cleanup.
func Postgres(t testing.TB) *DB {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		missing(t, PostgresEnv, "PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("testdb: open postgres: %v", err)
	}
	defer admin.Close()
	schema := "svckit_test_" + Suffix()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("testdb: create schema on %s: %v", PostgresEnv, err)
	}
	dsn, err := withQuery(base, "search_path", schema)
	if err != nil {
		t.Fatalf("testdb: %s: %v", PostgresEnv, err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("testdb: open postgres: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		drop, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("testdb: reopen postgres: %v", err)
			return
		}
		defer drop.Close()
		if _, err := drop.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("testdb: drop schema %s: %v", schema, err)
		}
	})
	return &DB{Name: PostgresDialect, Dialect: PostgresDialect, DB: db, DSN: dsn, Driver: "pgx"}
}

// MySQLDSN turns a mysql://user:pass@host:port/db?params URL into the
// go-sql-driver form (parseTime on) with dialect.MySQLDSN. A string that is
// already a driver DSN is returned with parseTime added.
func MySQLDSN(raw string) (string, error) {
	if strings.HasPrefix(raw, "mysql://") {
		return dialect.MySQLDSN(raw)
	}
	cfg, err := mysql.ParseDSN(raw)
	if err != nil {
		return "", err
	}
	cfg.ParseTime = true
	return cfg.FormatDSN(), nil
}

// MySQL creates a database with a unique name on SVCKIT_MYSQL_URL (a
// mysql:// URL or a go-sql-driver DSN) and returns a pool on it. The database
// is dropped at cleanup.
func MySQL(t testing.TB) *DB {
	t.Helper()
	raw := os.Getenv(MySQLEnv)
	if raw == "" {
		missing(t, MySQLEnv, "MySQL/MariaDB")
	}
	baseDSN, err := MySQLDSN(raw)
	if err != nil {
		t.Fatalf("testdb: %s: %v", MySQLEnv, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("mysql", baseDSN)
	if err != nil {
		t.Fatalf("testdb: open mysql: %v", err)
	}
	defer admin.Close()
	name := "svckit_test_" + Suffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("testdb: create database on %s: %v", MySQLEnv, err)
	}
	cfg, _ := mysql.ParseDSN(baseDSN)
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("testdb: open mysql: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		drop, err := sql.Open("mysql", baseDSN)
		if err != nil {
			t.Errorf("testdb: reopen mysql: %v", err)
			return
		}
		defer drop.Close()
		if _, err := drop.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	return &DB{Name: MySQLDialect, Dialect: MySQLDialect, DB: db, DSN: dsn, Driver: "mysql"}
}

// Each runs fn as a subtest against a fresh SQLite database and, when their
// URLs are set, a fresh PostgreSQL schema and MySQL database. Subtests for
// services that are not configured skip (or fail, see Required).
func Each(t *testing.T, fn func(t *testing.T, db *DB)) {
	t.Helper()
	for _, open := range []struct {
		name string
		open func(testing.TB) *DB
	}{{SQLiteDialect, SQLite}, {PostgresDialect, Postgres}, {MySQLDialect, MySQL}} {
		t.Run(open.name, func(t *testing.T) { fn(t, open.open(t)) })
	}
}

func withQuery(raw, key, value string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
