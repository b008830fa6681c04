// Package app is the example service wired together: configuration,
// storage, services and HTTP handlers. main only reads the environment,
// calls New and serves Handler; tests start the same wiring with httptest.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	_ "github.com/go-sql-driver/mysql" // registers "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/sqlstore"
	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/idempotency"
	idemsql "github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/operation"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/overload"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

// App is the running service: its database pool, Redis client, services and
// HTTP handler. Build it with New (the zero value is not usable) and Close
// it when the server has stopped. It is safe for concurrent use.
type App struct {
	cfg      Config
	logger   *slog.Logger
	db       *sql.DB
	tx       *txn.Runner // every transaction of the services, reported once made
	ownDB    bool
	rdb      redis.UniversalClient
	ownRedis bool
	dialect  dialect.Dialect

	events       *LogBus // the consumer "log" hands it every committed event
	box          *outbox.Outbox
	relay        *outbox.Relay
	consumers    []*outbox.Consumer
	feed         *activityFeed
	nc           *nats.Conn          // nil without NATS_URL
	js           jetstream.JetStream // nil without NATS_URL
	users        *UserService
	auth         *AuthService
	accounts     *AccountService
	tokens       *auth.Tokens
	refreshStore *sqlstore.Store
	idem         *idemsql.Store      // transfers' Idempotency-Key outcomes
	memory       *cache.Memory[User] // nil with Redis
	// userInv carries the user cache's invalidations through the outbox,
	// with Redis (nil without): see UserService.invalidate.
	userInv *outbox.Invalidator[string]

	limits *limits

	cursorKey []byte
	shed      *overload.Limiter // adaptive concurrency limit of the /v1 routes (routes.go)
	gate      *poolGate
	draining  atomic.Bool   // set by Serve once its context is done
	skipDrain chan struct{} // closed by SkipDrain
	skipOnce  sync.Once

	handler http.Handler
	doc     *operation.API // the typed operations and their document (routes.go)
	tel     *telemetry     // metrics and traces (telemetry.go)
}

// New opens the database (and Redis, when configured), applies the
// migrations, makes sure the admin exists and builds the handler. On error
// it releases what it opened.
func New(ctx context.Context, cfg Config) (*App, error) {
	a := &App{cfg: cfg, logger: cfg.Logger, db: cfg.DB, rdb: cfg.Redis, skipDrain: make(chan struct{})}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	if err := a.init(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) init(ctx context.Context) error {
	cfg := a.cfg
	var err error
	if err := a.initTelemetry(ctx); err != nil {
		return err
	}
	if a.dialect, err = dialect.Parse(cfg.Database.Dialect); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if a.db == nil {
		if err := a.openDB(ctx); err != nil {
			return err
		}
	}
	if err := Migrate(ctx, a.db, a.dialect); err != nil {
		return err
	}
	a.tx = txn.New(a.db, txn.Options{MeterProvider: a.tel.meters, TracerProvider: a.tel.tracers})
	a.refreshStore = sqlstore.New(a.db, a.dialect) // migrated by Migrate
	if a.rdb == nil && cfg.RedisURL != "" {
		if err := a.openRedis(ctx); err != nil {
			return err
		}
	}
	secret := cfg.JWTSecret
	if len(secret) == 0 {
		secret = randomSecret()
	}
	// Cursors are signed with CURSOR_KEY or, without one, a key derived
	// from the JWT secret, so every instance sharing either accepts the
	// others' cursors.
	a.cursorKey = cfg.CursorKey
	if len(a.cursorKey) == 0 {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(cursorKeyLabel))
		a.cursorKey = mac.Sum(nil)
	}
	a.events = &LogBus{Logger: a.logger}
	if err := a.newEvents(ctx); err != nil {
		return err
	}
	a.users = a.newUsers()
	a.accounts = a.newAccounts()
	a.limits = a.newLimits()
	if err := a.newTokens(secret, a.refreshStore); err != nil {
		return err
	}
	if cfg.AdminEmail != "" && cfg.AdminPassword != "" {
		if err := a.ensureAdmin(ctx); err != nil {
			return err
		}
	}
	p := cfg.Pool.withDefaults(cfg.Database)
	if a.gate, err = newPoolGate(p.MaxOpen, p.Wait, a.tel.meters); err != nil {
		return err
	}
	a.shed = newShedder(p.MaxOpen, a.cfg.requestTimeout()/2, a.tel.meters)
	a.handler = a.routes()
	return nil
}

// ensureAdmin makes sure the ADMIN_EMAIL user exists as an admin with
// ADMIN_PASSWORD (see UserService.EnsureAdmin), and logs a creation or a
// promotion: either gives someone every right, so each leaves a trace.
func (a *App) ensureAdmin(ctx context.Context) error {
	u, change, err := a.users.EnsureAdmin(ctx, a.cfg.AdminEmail, a.cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("app: ensure admin %s: %w", a.cfg.AdminEmail, err)
	}
	switch change {
	case adminCreated:
		a.logger.Info("admin user created", "userId", u.ID, "email", u.Email)
	case adminPromoted:
		a.logger.Warn("admin role granted to an existing account", "userId", u.ID, "email", u.Email)
	}
	return nil
}

func (a *App) openDB(ctx context.Context) error {
	d := a.cfg.Database
	dsn := d.DSN
	if d.Driver == "pgx" {
		dsn = withApplicationName(dsn, ApplicationName)
	}
	db, err := sql.Open(d.Driver, dsn)
	if err != nil {
		return fmt.Errorf("app: open database: %w", err)
	}
	a.db, a.ownDB = db, true
	p := a.cfg.Pool.withDefaults(d)
	db.SetMaxOpenConns(p.MaxOpen)
	db.SetMaxIdleConns(p.MaxIdle)
	db.SetConnMaxLifetime(p.MaxLifetime)
	db.SetConnMaxIdleTime(p.MaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("app: reach database: %w", err)
	}
	return nil
}

func (a *App) openRedis(ctx context.Context) error {
	// Every Redis use has a fallback, so a slow Redis must fail fast: the
	// client honours each call's context deadline, and its own timeouts
	// (unless REDIS_URL sets them) are a backstop for calls without one.
	rdb, err := NewRedisClient(a.cfg.RedisURL)
	if err != nil {
		return err
	}
	a.rdb, a.ownRedis = rdb, true
	// Redis is optional (every use has a fallback), at start too: the
	// client dials again on each use, so the service starts degraded and
	// uses Redis as soon as it answers (readiness says which).
	ctx, cancel := context.WithTimeout(ctx, readyRedisTimeout)
	defer cancel()
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		a.logger.Warn("redis does not answer: starting degraded, with the fallbacks, until it does", "err", err)
	}
	return nil
}

// redisPrefix is the prefix of every Redis key of the service.
func (a *App) redisPrefix() string {
	if a.cfg.RedisPrefix != "" {
		return a.cfg.RedisPrefix
	}
	return DefaultRedisPrefix
}

func (a *App) newUsers() *UserService {
	var store cache.Store[User]
	if a.rdb != nil {
		store = redisstore.New[User](a.rdb, redisstore.Options{Prefix: a.redisPrefix() + "cache:"})
	} else {
		a.memory = cache.NewMemory[User](cache.MemoryOptions[User]{})
		store = a.memory
	}
	hasher := &auth.Hasher{MeterProvider: a.tel.meters}
	if a.cfg.PasswordCost != 0 {
		hasher.Params = auth.Argon2Params{Memory: a.cfg.PasswordCost, Time: 1}
	}
	users := cache.NewAside[string, User](store, cache.Options[string]{Prefix: "user:", NotFound: []error{repository.ErrNotFound}, Logger: a.logger,
		Name: "users", MeterProvider: a.tel.meters, TracerProvider: a.tel.tracers})
	s := newUserService(
		repository.NewSQL[userRecord, string](a.db, a.dialect, "users", repository.Options[string]{NewID: newUUID, CursorKey: a.cursorKey, TracerProvider: a.tel.tracers}),
		inTx(a.tx),
		users,
		outboxBus{a.box},
		hasher,
	)
	if a.rdb != nil {
		// The instances share the entries in Redis: an update's
		// invalidation also rides the outbox, so that another instance
		// deletes what this one cannot reach (RunEvents runs it).
		a.userInv = outbox.NewInvalidator(a.box, "users", users.Delete, outbox.InvalidatorOptions{})
		s.outboxInv = a.userInv
	}
	return s
}

func (a *App) newAccounts() *AccountService {
	opts := repository.Options[string]{NewID: newUUID, CursorKey: a.cursorKey, TracerProvider: a.tel.tracers}
	a.idem = newIdempotencyStore(a.db, a.dialect)
	s := newAccountService(
		inTx(a.tx),
		repository.NewSQL[Account, string](a.db, a.dialect, "accounts", opts),
		repository.NewSQL[Transfer, string](a.db, a.dialect, "transfers", opts),
		repository.NewSQL[entry, string](a.db, a.dialect, "transfer_entries", opts),
		idempotency.New(a.idem, idempotency.Options{MeterProvider: a.tel.meters}),
		outboxBus{a.box},
	)
	return s
}

// newTokens signs with the configured private key, else HS256 with the
// secret.
func (a *App) newTokens(secret []byte, store auth.RefreshStore) error {
	key := a.cfg.SigningKey
	if key == nil {
		var err error
		if key, err = auth.NewHS256Key("k1", secret); err != nil {
			return fmt.Errorf("%w: JWT_SECRET: %w", ErrConfig, err)
		}
	}
	keys, err := auth.NewKeySet(key)
	if err != nil {
		return err
	}
	a.tokens, err = auth.NewTokens(auth.Options{
		Issuer: Issuer,
		Keys:   keys,
		Store:  store,
		Users:  auth.UserLookupFunc(a.users.authUser),
		// Metrics, and a Warn line per refresh-token reuse.
		MeterProvider: a.tel.meters,
		Logger:        a.logger,
	})
	if err != nil {
		return err
	}
	a.auth = newAuthService(a.users, a.tokens)
	return nil
}

// Events returns the bus every event reaches once its transaction
// committed and the relay delivered it (the consumer "log"), so that side
// effects (and tests) can subscribe.
func (a *App) Events() *LogBus { return a.events }

// Handler returns the service's HTTP handler.
func (a *App) Handler() http.Handler { return a.handler }

// OpenAPI returns the OpenAPI 3.1.0 document of the service's API, as
// GET /openapi.json serves it.
func (a *App) OpenAPI() []byte { return a.doc.Document() }

// Close releases what New opened: the user cache, the rate limit stores,
// the NATS connection, and the database pool and Redis client New dialled
// itself (not those given in Config). New starts no goroutine of its own; Run's end when it
// returns.
func (a *App) Close() error {
	var errs []error
	if a.users != nil {
		errs = append(errs, a.users.cache.Close())
	}
	if a.memory != nil {
		errs = append(errs, a.memory.Close())
	}
	if a.limits != nil {
		errs = append(errs, a.limits.close())
	}
	if a.nc != nil {
		a.nc.Close()
	}
	if a.ownRedis && a.rdb != nil {
		errs = append(errs, a.rdb.Close())
	}
	if a.ownDB && a.db != nil {
		errs = append(errs, a.db.Close())
	}
	errs = append(errs, a.tel.shutdown(context.Background()))
	return errors.Join(errs...)
}

// newUUID returns a UUIDv7 in text form: ids sort by creation time.
func newUUID() string { return repository.NewUUIDv7().String() }
