// Package bench holds what the five full-stack services share and what is
// not part of any stack: their command-line configuration, the schema and
// seed data, and the claims of the bearer token the load generator sends.
// Each stack's own code (routing, auth, rate limit, cache, data access,
// logging) lives in its own main package.
package bench

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"
)

// Fixed facts every stack and the runner agree on.
const (
	Issuer   = "bench"   // iss and aud of the bearer token
	KeyID    = "bench"   // kid of the bearer token
	Role     = "user"    // the role GET /users/{id} requires
	Users    = 1000      // rows in users: ids u0000 … u0999
	Accounts = 100       // rows in accounts: ids 0 … 99
	Balance  = 1_000_000 // each account's opening balance, in minor units
	// MaxOpenConns bounds every stack's database pool alike; all five
	// stacks run side by side on route (d) within PostgreSQL's 100
	// connections, with room left for the runner's own.
	MaxOpenConns = 16
	// HighLimit is the rate limit every stack runs with during the
	// benchmark: raised so that no request is refused, not removed.
	HighLimit = 1 << 30
)

// Config is what a stack's process is told on its command line.
type Config struct {
	Addr     string // listen address
	Driver   string // "sqlite" or "pgx"
	DSN      string
	Cache    string // "memory", "redis" or "none" (every read goes to the database)
	Redis    string // Redis address host:port, with Cache "redis"
	Prefix   string // key prefix in Redis, unique per run
	Secret   string // HS256 secret of the bearer token
	LogPath  string // access log file; empty means io.Discard
	CacheTTL time.Duration
	Pprof    string // listen address of net/http/pprof; empty means none
	// Shed turns on the stack's own overload protection: svckit's
	// adaptive limit, go-zero's CPU shedder. Off, go-zero runs with
	// CpuThreshold 0 and svckit without its limit, so that throughput
	// scenarios measure serving, not shedding.
	Shed bool
}

// ParseFlags reads Config from the command line.
func ParseFlags() Config {
	var c Config
	flag.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&c.Driver, "driver", "sqlite", "database driver: sqlite or pgx")
	flag.StringVar(&c.DSN, "dsn", "", "database DSN")
	flag.StringVar(&c.Cache, "cache", "memory", "cache for GET /users/{id}: memory, redis or none")
	flag.StringVar(&c.Redis, "redis", "127.0.0.1:6379", "Redis address")
	flag.StringVar(&c.Prefix, "prefix", "bench:", "Redis key prefix")
	flag.StringVar(&c.Secret, "secret", "", "HS256 secret")
	flag.StringVar(&c.LogPath, "log", "", "access log file (empty: discard)")
	flag.DurationVar(&c.CacheTTL, "cache-ttl", time.Hour, "cache entry TTL")
	flag.StringVar(&c.Pprof, "pprof", "", "serve net/http/pprof on this address (empty: none)")
	flag.BoolVar(&c.Shed, "shed", false, "turn on the stack's own overload protection")
	flag.Parse()
	if c.DSN == "" || len(c.Secret) < 32 {
		fmt.Fprintln(os.Stderr, "-dsn and a -secret of at least 32 bytes are required")
		os.Exit(2)
	}
	return c
}

// LogSink opens the access log: the file at c.LogPath, appended to, or
// io.Discard.
func (c Config) LogSink() (io.WriteCloser, error) {
	if c.LogPath == "" {
		return nopCloser{io.Discard}, nil
	}
	return os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Placeholder returns the n-th (1-based) bind parameter of the driver.
func (c Config) Placeholder(n int) string {
	if c.Driver == "pgx" {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// User is the row GET /users/{id} returns.
type User struct {
	ID    string `db:"id,pk" json:"id"`
	Name  string `db:"name" json:"name"`
	Email string `db:"email" json:"email"`
}

// Account is a row of accounts.
type Account struct {
	ID      int64 `db:"id,pk" json:"id"`
	Balance int64 `db:"balance" json:"balance"`
}

// Transfer is the body of POST /transfers.
type Transfer struct {
	From   int64 `json:"from"`
	To     int64 `json:"to"`
	Amount int64 `json:"amount"`
}

// Route (d), POST /users/{id}/notes, takes a note of ten fields and writes
// it as a row of notes. Every stack checks the same rules by its own means
// (svckit's typed operations, huma's schema validation, go-zero's
// httpx.Parse with its tags and a Validate method, go-playground/validator
// for chi, code by hand for bare net/http), and answers 400 or 422 with
// the violations, or 201 with the new row's id:
//
//   - title: text of 1 to 100 characters; body: text of 1 to 2000
//   - email: an email address; link: an absolute URI (a scheme and a host)
//   - color: one of red, green, blue
//   - priority: an integer from 1 to 5; rating: a number from 0 to 10
//   - tags: a list of at most 5 texts
//   - due: an RFC 3339 date-time; pinned: a boolean
//   - every field present, no other field; the path's id: a user id
//     (u followed by four digits)
//
// NoteJSON is the body the load generators send, valid by every rule.
const NoteJSON = `{"title":"Groceries","body":"Milk, eggs and bread for the week, and coffee.","email":"user1@example.com",` +
	`"link":"https://example.com/lists/1","color":"green","priority":3,"rating":7.5,"tags":["home","food"],` +
	`"due":"2026-12-31T18:00:00Z","pinned":true}`

// NoteRow is a row of notes as the stacks that map rows write it: tags
// joined by commas, due as sent.
type NoteRow struct {
	ID       int64   `db:"id,pk" json:"id"`
	UserID   string  `db:"user_id" json:"userId"`
	Title    string  `db:"title" json:"title"`
	Body     string  `db:"body" json:"body"`
	Email    string  `db:"email" json:"email"`
	Link     string  `db:"link" json:"link"`
	Color    string  `db:"color" json:"color"`
	Priority int64   `db:"priority" json:"priority"`
	Rating   float64 `db:"rating" json:"rating"`
	Tags     string  `db:"tags" json:"tags"`
	Due      string  `db:"due" json:"due"`
	Pinned   bool    `db:"pinned" json:"pinned"`
}

// InsertNote is the statement that writes a note, its bind parameters in
// NoteRow's order from UserID on, returning the new id.
func (c Config) InsertNote() string {
	ph := make([]string, 11)
	for i := range ph {
		ph[i] = c.Placeholder(i + 1)
	}
	return "INSERT INTO notes (user_id, title, body, email, link, color, priority, rating, tags, due, pinned) VALUES (" +
		strings.Join(ph, ", ") + ") RETURNING id"
}

// UserID returns the id of the i-th seeded user.
func UserID(i int) string { return fmt.Sprintf("u%04d", i) }

// Seed creates the tables in db, which must be empty, and fills them.
func Seed(ctx context.Context, db *sql.DB, driver string) error {
	serial := "INTEGER PRIMARY KEY" // SQLite's rowid
	if driver == "pgx" {
		serial = "BIGSERIAL PRIMARY KEY"
	}
	ddl := []string{
		`CREATE TABLE users (id VARCHAR(16) PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) NOT NULL)`,
		`CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)`,
		`CREATE TABLE notes (id ` + serial + `, user_id VARCHAR(16) NOT NULL, title VARCHAR(100) NOT NULL,
			body VARCHAR(2000) NOT NULL, email VARCHAR(200) NOT NULL, link VARCHAR(2000) NOT NULL, color VARCHAR(8) NOT NULL,
			priority BIGINT NOT NULL, rating DOUBLE PRECISION NOT NULL, tags VARCHAR(200) NOT NULL, due VARCHAR(40) NOT NULL,
			pinned BOOLEAN NOT NULL)`,
	}
	for _, q := range ddl {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	ph := func(n int) string {
		if driver == "pgx" {
			return fmt.Sprintf("$%d", n)
		}
		return "?"
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := "INSERT INTO users (id, name, email) VALUES (" + strings.Join([]string{ph(1), ph(2), ph(3)}, ", ") + ")"
	for i := range Users {
		if _, err := tx.ExecContext(ctx, ins, UserID(i), fmt.Sprintf("User %d", i), fmt.Sprintf("user%d@example.com", i)); err != nil {
			return err
		}
	}
	ins = "INSERT INTO accounts (id, balance) VALUES (" + ph(1) + ", " + ph(2) + ")"
	for i := range Accounts {
		if _, err := tx.ExecContext(ctx, ins, int64(i), int64(Balance)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// TotalBalance returns the sum of every account's balance; transfers
// conserve it.
func TotalBalance(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(balance), 0) FROM accounts").Scan(&n)
	return n, err
}

// Token signs the bearer token every stack accepts: HS256, kid, iss and aud
// Issuer, subject the first user, the role Role, issued at now and valid for
// a day.
func Token(secret string, now time.Time) (string, error) {
	return TokenFor(secret, UserID(1), now)
}

// TokenFor is Token for the subject sub.
func TokenFor(secret, sub string, now time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iss": Issuer, "aud": []string{Issuer},
		"iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(), "roles": []string{Role},
	})
	t.Header["kid"] = KeyID
	t.Header["typ"] = "at+jwt"
	return t.SignedString([]byte(secret))
}
