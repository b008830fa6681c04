package app

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/middleware"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("app: invalid configuration")

// Rate is a number of events allowed per window, written "N/duration" in
// the environment ("10/1m", "600/1m", "5/30s").
type Rate struct {
	Limit  int
	Window time.Duration
}

// String returns the rate in the form ParseRate reads.
func (r Rate) String() string { return strconv.Itoa(r.Limit) + "/" + r.Window.String() }

// ParseRate reads "N/duration": N a positive integer, duration a Go
// duration ("1m", "30s", "1h").
func ParseRate(s string) (Rate, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w: rate %q: want N/duration", ErrConfig, s)
	}
	limit, err := strconv.Atoi(n)
	if err != nil || limit <= 0 {
		return Rate{}, fmt.Errorf("%w: rate %q: N must be a positive integer", ErrConfig, s)
	}
	window, err := time.ParseDuration(d)
	if err != nil || window <= 0 {
		return Rate{}, fmt.Errorf("%w: rate %q: bad duration", ErrConfig, s)
	}
	return Rate{Limit: limit, Window: window}, nil
}

// Config is everything the service reads from its environment. FromEnv
// fills it; tests build it directly. The zero value of every field is
// documented below; New needs at least a database (DatabaseURL or DB).
type Config struct {
	// Addr is the listen address; main uses it, New does not. Default ":8080".
	Addr string
	// Database is where data and refresh tokens live. See ParseDatabaseURL.
	Database Database
	// DB, when not nil, is used instead of opening Database; Database.Dialect
	// must still name its dialect. Close does not close it.
	DB *sql.DB
	// Redis, when not nil, is used instead of dialling RedisURL. Close does
	// not close it.
	Redis redis.UniversalClient
	// RedisURL, when set, moves the cache, the rate limits and the cache
	// invalidation to Redis: "redis://host:port/db" for one server,
	// "redis+cluster://host:port?addr=host:port&addr=host:port" for a
	// Redis Cluster (see NewRedisClient).
	RedisURL string
	// RedisPrefix is put before every Redis key (REDIS_PREFIX; "" means
	// DefaultRedisPrefix). Services sharing a Redis need different ones.
	RedisPrefix string
	// JWTSecret signs the tokens (HS256, at least 32 bytes) unless
	// SigningKey is set. Empty means a random secret, so tokens die with
	// the process.
	JWTSecret []byte
	// SigningKey, when not nil, signs the tokens instead of JWTSecret: an
	// EdDSA, ES256 or RS256 private key, read by FromEnv from
	// JWT_PRIVATE_KEY_FILE or JWT_PRIVATE_KEY. Its public key is served
	// at GET /.well-known/jwks.json, so other services can verify the
	// tokens without a shared secret.
	SigningKey *auth.Key
	// CursorKey signs the cursors of the list routes (HMAC-SHA256, at least
	// 32 bytes): give every instance the same one, or a cursor issued by
	// one instance is refused (400) by the others. Empty means a key
	// derived from JWTSecret, so instances sharing JWT_SECRET share cursors
	// too, and with no JWT secret either, a random key per start.
	CursorKey []byte
	// AdminEmail and AdminPassword, when both set, make sure that user
	// exists with the role "admin" after start. An account that already
	// has the email must have that password: otherwise New returns
	// ErrAdminPassword and changes nothing.
	AdminEmail, AdminPassword string
	// LoginRateLimit limits login attempts per client IP; the login
	// throttle derives its other limits from it (README, "Rate limits").
	// Zero means 10/1m.
	LoginRateLimit Rate
	// APIRateLimit limits requests per authenticated user (else client IP).
	// Zero means 600/1m.
	APIRateLimit Rate
	// IPRateLimit limits /v1 requests per client IP before their bearer
	// token is verified. Zero means 1200/1m.
	IPRateLimit Rate
	// RegisterRateLimit limits registrations per client IP, each of which
	// costs a password hash, on top of IPRateLimit, so that a flood of
	// registrations cannot slow logins. Zero means 10/1m.
	RegisterRateLimit Rate
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	// Empty means X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix
	// CORSOrigins are the origins whose pages may call the API from a
	// browser (CORS_ORIGINS, comma-separated, such as
	// "https://app.example.com"). Empty means no cross-origin access.
	CORSOrigins []string
	// QuietRegister makes POST /v1/auth/register answer 202 {"status":
	// "accepted"} both for a new and for a taken email, so the route does
	// not tell who has an account (REGISTER_QUIET=true). False (the
	// default) answers 201 with the user, and 409 CONFLICT for a taken
	// email: friendlier, and it reveals that the email is registered. A
	// service that turns this on must tell the address's owner by email
	// instead (see the README).
	QuietRegister bool
	// Logger receives the service log. Nil means slog.Default().
	Logger *slog.Logger
	// PasswordCost, when not zero, replaces the password hashing cost
	// (argon2id memory in KiB). Tests lower it; production leaves it zero.
	PasswordCost uint32
	// Pool bounds the database pool and the wait for one of its
	// connections. See Pool for the zero value of each field.
	Pool Pool
	// RequestTimeout is the deadline of every request: past it the
	// request answers 504 TIMEOUT, its statement is cancelled and its
	// transaction rolled back. Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// NATSURL, when set (NATS_URL, "nats://host:4222"), carries the
	// events through NATS JetStream: the relay publishes to it and the
	// consumers read their durable subscriptions. Empty means the
	// consumers of this process receive them (outbox.Local): no service.
	NATSURL string
	// NATSStream is the JetStream stream of the events (NATS_STREAM);
	// empty means DefaultNATSStream. New creates or updates it.
	NATSStream string
	// NATSSubjectPrefix is the subject prefix of the events
	// (NATS_SUBJECT_PREFIX); empty means DefaultNATSSubjectPrefix.
	NATSSubjectPrefix string
	// EventsDegradedAfter is the age of the oldest unpublished event past
	// which /readyz answers "degraded" (EVENTS_DEGRADED_AFTER, a Go
	// duration). Zero or negative means DefaultEventsDegradedAfter.
	EventsDegradedAfter time.Duration
	// HTTP bounds the server's connections and its shutdown (Serve reads
	// it). See HTTP for the zero value of each field.
	HTTP HTTP
}

// Database says which database to open.
type Database struct {
	Driver  string // "sqlite", "pgx" or "mysql"
	Dialect string // "sqlite", "postgres" or "mysql"
	DSN     string // in the driver's own form
	// Memory is true for an in-memory SQLite database, which must be used
	// through a single connection.
	Memory bool
}

// FromEnv reads the configuration with getenv (os.Getenv in main). It
// returns the warnings worth logging (such as a random JWT secret) beside
// the configuration.
func FromEnv(getenv func(string) string) (Config, []string, error) {
	var warnings []string
	cfg := Config{
		Addr:              getenv("ADDR"),
		RedisURL:          getenv("REDIS_URL"),
		RedisPrefix:       getenv("REDIS_PREFIX"),
		AdminEmail:        getenv("ADMIN_EMAIL"),
		AdminPassword:     getenv("ADMIN_PASSWORD"),
		NATSURL:           getenv("NATS_URL"),
		NATSStream:        getenv("NATS_STREAM"),
		NATSSubjectPrefix: getenv("NATS_SUBJECT_PREFIX"),
	}
	if s := getenv("EVENTS_DEGRADED_AFTER"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, nil, fmt.Errorf("%w: EVENTS_DEGRADED_AFTER: want a positive Go duration, got %q", ErrConfig, s)
		}
		cfg.EventsDegradedAfter = d
	}
	if cfg.Addr == "" {
		cfg.Addr = ":8080"
	}
	db, err := ParseDatabaseURL(getenv("DATABASE_URL"))
	if err != nil {
		return Config{}, nil, err
	}
	cfg.Database = db
	key, err := signingKeyFromEnv(getenv)
	if err != nil {
		return Config{}, nil, err
	}
	cfg.SigningKey = key
	if s := getenv("JWT_SECRET"); s != "" {
		if len(s) < 32 {
			return Config{}, nil, fmt.Errorf("%w: JWT_SECRET must be at least 32 bytes", ErrConfig)
		}
		cfg.JWTSecret = []byte(s)
	} else if key == nil {
		warnings = append(warnings, "JWT_SECRET is not set: using a random secret, tokens will not survive a restart")
	} else if getenv("CURSOR_KEY") == "" {
		warnings = append(warnings, "CURSOR_KEY is not set: list cursors are signed with a random key per start")
	}
	if s := getenv("CURSOR_KEY"); s != "" {
		if len(s) < 32 {
			return Config{}, nil, fmt.Errorf("%w: CURSOR_KEY must be at least 32 bytes", ErrConfig)
		}
		cfg.CursorKey = []byte(s)
	}
	if (cfg.AdminEmail == "") != (cfg.AdminPassword == "") {
		warnings = append(warnings, "only one of ADMIN_EMAIL and ADMIN_PASSWORD is set: no admin is created")
	}
	for _, v := range []struct {
		env  string
		into *Rate
		def  string
	}{
		{"LOGIN_RATE_LIMIT", &cfg.LoginRateLimit, "10/1m"},
		{"API_RATE_LIMIT", &cfg.APIRateLimit, "600/1m"},
		{"IP_RATE_LIMIT", &cfg.IPRateLimit, "1200/1m"},
		{"REGISTER_RATE_LIMIT", &cfg.RegisterRateLimit, "10/1m"},
	} {
		s := getenv(v.env)
		if s == "" {
			s = v.def
		}
		r, err := ParseRate(s)
		if err != nil {
			return Config{}, nil, fmt.Errorf("%s: %w", v.env, err)
		}
		*v.into = r
	}
	switch v := getenv("REGISTER_QUIET"); v {
	case "", "false", "0":
	case "true", "1":
		cfg.QuietRegister = true
	default:
		return Config{}, nil, fmt.Errorf("%w: REGISTER_QUIET: want true or false, got %q", ErrConfig, v)
	}
	proxies, err := middleware.ParseTrustedProxies(getenv("TRUSTED_PROXIES"))
	if err != nil {
		return Config{}, nil, fmt.Errorf("%w: TRUSTED_PROXIES: %w", ErrConfig, err)
	}
	cfg.TrustedProxies = proxies
	if cfg.CORSOrigins, err = parseOrigins(getenv("CORS_ORIGINS")); err != nil {
		return Config{}, nil, fmt.Errorf("%w: CORS_ORIGINS: %w", ErrConfig, err)
	}
	if err := readLimits(getenv, &cfg); err != nil {
		return Config{}, nil, err
	}
	return cfg, warnings, nil
}

// signingKeyFromEnv reads the private key of JWT_PRIVATE_KEY_FILE (a file)
// or JWT_PRIVATE_KEY (the key itself): a PKCS #8 PEM block or a JWK, its
// key id JWT_KEY_ID (default: a JWK's own "kid", else "k1"). Neither set
// means nil: HS256 with JWT_SECRET.
func signingKeyFromEnv(getenv func(string) string) (*auth.Key, error) {
	path, text := getenv("JWT_PRIVATE_KEY_FILE"), getenv("JWT_PRIVATE_KEY")
	if path == "" && text == "" {
		return nil, nil
	}
	if path != "" && text != "" {
		return nil, fmt.Errorf("%w: set JWT_PRIVATE_KEY_FILE or JWT_PRIVATE_KEY, not both", ErrConfig)
	}
	data := []byte(text)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: JWT_PRIVATE_KEY_FILE: %w", ErrConfig, err)
		}
		data = b
	}
	kid := getenv("JWT_KEY_ID")
	if kid == "" && !jwkHasKid(data) {
		kid = "k1"
	}
	key, err := auth.ParseKey(kid, data)
	if err != nil {
		return nil, fmt.Errorf("%w: JWT private key: %w", ErrConfig, err)
	}
	if !key.CanSign() {
		return nil, fmt.Errorf("%w: JWT private key: a public key cannot sign", ErrConfig)
	}
	return key, nil
}

// jwkHasKid reports whether data is a JWK (a JSON object) with a "kid"
// member: only then does the key keep its own id when JWT_KEY_ID is unset.
// It only chooses the default; auth.ParseKey reads the key, and refuses a
// JWK whose kid is not the id it is given.
func jwkHasKid(data []byte) bool {
	var jwk struct {
		Kid string `json:"kid"`
	}
	trimmed := bytes.TrimSpace(data)
	return bytes.HasPrefix(trimmed, []byte("{")) && json.Unmarshal(trimmed, &jwk) == nil && jwk.Kid != ""
}

// SQLiteDSN is the DSN the service opens an SQLite file with: WAL journal,
// a busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction
// so that concurrent writers queue instead of failing.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// ParseDatabaseURL reads DATABASE_URL: empty for the SQLite file
// DefaultSQLiteFile, sqlite://PATH (sqlite://:memory: allowed),
// postgres://… or postgresql://… (given to pgx as is), or
// mysql://user:pass@host:port/db?params (turned into a go-sql-driver DSN
// with parseTime on and UTC times).
func ParseDatabaseURL(raw string) (Database, error) {
	switch {
	case raw == "":
		return Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(DefaultSQLiteFile)}, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" {
			return Database{}, fmt.Errorf("%w: DATABASE_URL: sqlite:// needs a path", ErrConfig)
		}
		if path == ":memory:" {
			return Database{Driver: "sqlite", Dialect: "sqlite", DSN: "file::memory:?_pragma=foreign_keys(1)&_txlock=immediate", Memory: true}, nil
		}
		return Database{Driver: "sqlite", Dialect: "sqlite", DSN: SQLiteDSN(path)}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return Database{Driver: "pgx", Dialect: "postgres", DSN: raw}, nil
	case strings.HasPrefix(raw, "mysql://"):
		dsn, err := dialect.MySQLDSN(raw)
		if err != nil {
			return Database{}, fmt.Errorf("%w: DATABASE_URL: %v", ErrConfig, err)
		}
		return Database{Driver: "mysql", Dialect: "mysql", DSN: dsn}, nil
	}
	return Database{}, fmt.Errorf("%w: DATABASE_URL: want sqlite://, postgres:// or mysql://", ErrConfig)
}

// randomSecret returns 32 random bytes for a JWT secret.
func randomSecret() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func (c Config) natsStream() string {
	if c.NATSStream == "" {
		return DefaultNATSStream
	}
	return c.NATSStream
}

func (c Config) natsPrefix() string {
	if c.NATSSubjectPrefix == "" {
		return DefaultNATSSubjectPrefix
	}
	return c.NATSSubjectPrefix
}

func (c Config) eventsDegradedAfter() time.Duration {
	if c.EventsDegradedAfter <= 0 {
		return DefaultEventsDegradedAfter
	}
	return c.EventsDegradedAfter
}

// parseOrigins reads a comma-separated list of origins as a browser writes
// them, scheme://host[:port]: no path, no trailing slash, no wildcard.
func parseOrigins(s string) ([]string, error) {
	var origins []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin such as https://app.example.com", o)
		}
		origins = append(origins, o)
	}
	return origins, nil
}
