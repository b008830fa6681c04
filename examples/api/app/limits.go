package app

import (
	"fmt"
	"strconv"
	"time"
)

// Defaults of the limits below, used when the environment leaves them unset.
const (
	// DefaultMaxOpenConns bounds a PostgreSQL or MySQL pool: a few
	// instances fit in the servers' default 100 and 151 connections.
	DefaultMaxOpenConns = 20
	// DefaultSQLiteMaxOpenConns bounds an SQLite file's pool (one writer
	// at a time anyway; readers share the WAL).
	DefaultSQLiteMaxOpenConns = 8
	// DefaultConnMaxLifetime retires a connection after this long, so that
	// a fail-over or a server-side setting reaches every connection.
	DefaultConnMaxLifetime = 30 * time.Minute
	// DefaultConnMaxIdleTime closes a connection idle for this long.
	DefaultConnMaxIdleTime = 5 * time.Minute
	// DefaultPoolWait is how long a request waits for a database slot
	// before it answers 503 UNAVAILABLE, well inside DefaultRequestTimeout.
	DefaultPoolWait = 5 * time.Second
	// DefaultRequestTimeout is the deadline of every request.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultShutdownTimeout bounds the wait for requests in flight once
	// the listener is closed.
	DefaultShutdownTimeout = 20 * time.Second
	// DefaultMaxConns caps the open client connections of the listener.
	DefaultMaxConns = 1000
	// DefaultMaxHeaderBytes bounds a request's header section: room for a
	// bearer token of a few kilobytes and the usual headers, where
	// net/http's own default, 1 MiB, lets each request in flight hold
	// megabytes.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultIdleTimeout closes a keep-alive connection idle this long.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConnAge closes a keep-alive connection this old when it
	// next goes idle, however often it is used.
	DefaultMaxConnAge = 10 * time.Minute
	// DefaultDrainDelay is FromEnv's DRAIN_DELAY: how long the server
	// keeps serving after SIGTERM with /readyz answering 503.
	DefaultDrainDelay = 5 * time.Second
)

// Pool bounds the database pool. New applies it to the pool it opens
// itself (not to Config.DB, which the caller configures) and admits at most
// MaxOpen requests at a time to the routes that use the database.
type Pool struct {
	// MaxOpen is the most connections open at once, and the most /v1
	// requests served at once. Zero means DefaultMaxOpenConns, or
	// DefaultSQLiteMaxOpenConns for an SQLite file, or 1 for :memory:.
	MaxOpen int
	// MaxIdle is the most idle connections kept. Zero means MaxOpen.
	MaxIdle int
	// MaxLifetime retires a connection after this long. Zero means
	// DefaultConnMaxLifetime.
	MaxLifetime time.Duration
	// MaxIdleTime closes a connection idle for this long. Zero means
	// DefaultConnMaxIdleTime.
	MaxIdleTime time.Duration
	// Wait is how long a request waits for a slot once MaxOpen requests
	// are in; past it the request answers 503 UNAVAILABLE with
	// Retry-After. Zero means DefaultPoolWait.
	Wait time.Duration
}

// HTTP bounds the server's connections and its shutdown; Serve reads it.
type HTTP struct {
	// MaxConns caps the open client connections. When every slot is
	// taken, the connection idle longest is closed to admit a new one.
	// Zero means DefaultMaxConns.
	MaxConns int
	// MaxConnsPerIP caps the open connections of one client address (an
	// IPv6 /64, the peer of the TCP connection): past it, a new
	// connection replaces that address's longest idle one, or is closed at
	// once. Connections from Config.TrustedProxies are not capped. Zero
	// means a tenth of MaxConns, at least 1; above MaxConns means MaxConns.
	MaxConnsPerIP int
	// MaxHeaderBytes bounds the request line and headers of a request;
	// past it net/http answers 431 Request Header Fields Too Large (plain
	// text: no handler runs). net/http allows 4 KiB beyond it. Zero means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// IdleTimeout closes a keep-alive connection idle this long. Zero
	// means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConnAge closes a connection this old when it next goes idle, so
	// that cheap requests cannot keep one open forever. Zero means
	// DefaultMaxConnAge.
	MaxConnAge time.Duration
	// DrainDelay is how long Serve keeps serving once its context is done,
	// with /readyz answering 503, before it stops accepting. Zero means no
	// delay (FromEnv's default is DefaultDrainDelay).
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for requests in flight after the
	// drain delay. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// withDefaults returns p with its zero fields replaced by the defaults for
// the database d.
func (p Pool) withDefaults(d Database) Pool {
	if p.MaxOpen <= 0 {
		switch {
		case d.Memory:
			p.MaxOpen = 1
		case d.Driver == "sqlite":
			p.MaxOpen = DefaultSQLiteMaxOpenConns
		default:
			p.MaxOpen = DefaultMaxOpenConns
		}
	}
	if d.Memory {
		// Every connection to :memory: is a database of its own.
		p.MaxOpen = 1
	}
	if p.MaxIdle <= 0 || p.MaxIdle > p.MaxOpen {
		p.MaxIdle = p.MaxOpen
	}
	p.MaxLifetime = positiveOr(p.MaxLifetime, DefaultConnMaxLifetime)
	p.MaxIdleTime = positiveOr(p.MaxIdleTime, DefaultConnMaxIdleTime)
	p.Wait = positiveOr(p.Wait, DefaultPoolWait)
	return p
}

// withDefaults returns h with its zero fields replaced by the defaults.
func (h HTTP) withDefaults() HTTP {
	h.MaxConns = positiveOr(h.MaxConns, DefaultMaxConns)
	h.MaxConnsPerIP = min(positiveOr(h.MaxConnsPerIP, max(1, h.MaxConns/10)), h.MaxConns)
	h.MaxHeaderBytes = positiveOr(h.MaxHeaderBytes, DefaultMaxHeaderBytes)
	h.IdleTimeout = positiveOr(h.IdleTimeout, DefaultIdleTimeout)
	h.MaxConnAge = positiveOr(h.MaxConnAge, DefaultMaxConnAge)
	h.DrainDelay = max(h.DrainDelay, 0)
	h.ShutdownTimeout = positiveOr(h.ShutdownTimeout, DefaultShutdownTimeout)
	return h
}

// positiveOr returns v, or def when v is zero or negative: a limit left
// unset (or set to nonsense) takes its default.
func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// readLimits reads the pool, deadline and connection limits from the
// environment into cfg. Unset variables keep the zero value (the default),
// except DRAIN_DELAY, which defaults to DefaultDrainDelay.
func readLimits(getenv func(string) string, cfg *Config) error {
	ints := []struct {
		env  string
		into *int
	}{
		{"DB_MAX_OPEN_CONNS", &cfg.Pool.MaxOpen},
		{"DB_MAX_IDLE_CONNS", &cfg.Pool.MaxIdle},
		{"MAX_CONNS", &cfg.HTTP.MaxConns},
		{"MAX_CONNS_PER_IP", &cfg.HTTP.MaxConnsPerIP},
		{"MAX_HEADER_BYTES", &cfg.HTTP.MaxHeaderBytes},
	}
	for _, v := range ints {
		s := getenv(v.env)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: %s=%q: want a positive integer", ErrConfig, v.env, s)
		}
		*v.into = n
	}
	cfg.HTTP.DrainDelay = DefaultDrainDelay
	durations := []struct {
		env    string
		into   *time.Duration
		zeroOK bool // "0s" is allowed and means none
	}{
		{"DB_CONN_MAX_LIFETIME", &cfg.Pool.MaxLifetime, false},
		{"DB_CONN_MAX_IDLE_TIME", &cfg.Pool.MaxIdleTime, false},
		{"DB_POOL_WAIT", &cfg.Pool.Wait, false},
		{"REQUEST_TIMEOUT", &cfg.RequestTimeout, false},
		{"IDLE_TIMEOUT", &cfg.HTTP.IdleTimeout, false},
		{"MAX_CONN_AGE", &cfg.HTTP.MaxConnAge, false},
		{"DRAIN_DELAY", &cfg.HTTP.DrainDelay, true},
		{"SHUTDOWN_TIMEOUT", &cfg.HTTP.ShutdownTimeout, false},
	}
	for _, v := range durations {
		s := getenv(v.env)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || (d == 0 && !v.zeroOK) {
			return fmt.Errorf("%w: %s=%q: want a positive duration such as 5s", ErrConfig, v.env, s)
		}
		*v.into = d
	}
	return nil
}

// requestTimeout returns the configured request deadline or its default.
func (c Config) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return DefaultRequestTimeout
}
