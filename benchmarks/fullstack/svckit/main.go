// Command svckit is the full-stack benchmark's service built with svckit,
// its middleware chain the one of examples/api (app/routes.go), in the same
// order: telemetry (a server span and the request-duration histogram, on an
// OpenTelemetry SDK meter provider), request id, security headers, the
// overload limit (with -shed), client IP, access log, recovery, the request
// deadline; then on the API routes a per-IP rate limit, optional auth, a
// per-user rate limit and the body limit; a role check; cache-aside over
// the repository, the envelope, and transactions with row locks for
// transfers, and route (d) as a typed operation (package operation). What it leaves out of the example: the pool gate (the
// overload limit, bounded by the pool, stands in for it with -shed) and
// /metrics.
package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/operation"
	"github.com/svckit/svckit/overload"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

type service struct {
	db       *sql.DB
	users    repository.Repository[bench.User, string]
	accounts *repository.SQL[bench.Account, int64]
	cache    *cache.Aside[string, bench.User] // nil with -cache none
	notes    *repository.SQL[bench.NoteRow, int64]
}

// noteInput is route (d)'s input: the path's user id and the note, with
// the rules of bench.NoteJSON as schema tags, which the operation checks
// before addNote runs.
type noteInput struct {
	ID   string `path:"id" pattern:"^u[0-9]{4}$"`
	Body struct {
		Title    string   `json:"title" minLength:"1" maxLength:"100"`
		Body     string   `json:"body" minLength:"1" maxLength:"2000"`
		Email    string   `json:"email" format:"email"`
		Link     string   `json:"link" format:"uri"`
		Color    string   `json:"color" enum:"red,green,blue"`
		Priority int64    `json:"priority" minimum:"1" maximum:"5"`
		Rating   float64  `json:"rating" minimum:"0" maximum:"10"`
		Tags     []string `json:"tags" maxItems:"5"`
		Due      string   `json:"due" format:"date-time"`
		Pinned   bool     `json:"pinned"`
	}
}

type noteCreated struct {
	ID int64 `json:"id"`
}

func main() {
	cfg := bench.ParseFlags()
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

func run(cfg bench.Config) error {
	db, err := cfg.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	sink, err := cfg.LogSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	h, closeAll, err := newHandler(cfg, db, sink)
	if err != nil {
		return err
	}
	defer closeAll()
	return cfg.Serve(h)
}

// newHandler composes the service over db, writing its access log to sink.
// closeAll releases what it started (the cache, the Redis client).
func newHandler(cfg bench.Config, db *sql.DB, sink io.Writer) (h http.Handler, closeAll func(), err error) {
	var closers []func() error
	closeAll = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	d := dialect.SQLite
	if cfg.Driver == "pgx" {
		d = dialect.Postgres
	}
	s := &service{db: db, users: repository.NewSQL[bench.User, string](db, d, "users", repository.Options[string]{})}
	s.accounts = repository.NewSQL[bench.Account, int64](db, d, "accounts", repository.Options[int64]{})
	s.notes = repository.NewSQL[bench.NoteRow, int64](db, d, "notes", repository.Options[int64]{})

	switch cfg.Cache {
	case "memory":
		store := cache.NewMemory[bench.User](cache.MemoryOptions[bench.User]{})
		closers = append(closers, store.Close)
		s.cache = cache.NewAside[string, bench.User](store, cache.Options[string]{TTL: cfg.CacheTTL, NotFound: []error{repository.ErrNotFound}})
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis})
		closers = append(closers, rdb.Close)
		store := redisstore.New[bench.User](rdb, redisstore.Options{Prefix: cfg.Prefix})
		s.cache = cache.NewAside[string, bench.User](store, cache.Options[string]{TTL: cfg.CacheTTL, NotFound: []error{repository.ErrNotFound}})
	}

	keys, err := auth.NewHS256Key(bench.KeyID, []byte(cfg.Secret))
	if err != nil {
		return nil, nil, err
	}
	keySet, err := auth.NewKeySet(keys)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := auth.NewTokens(auth.Options{
		Issuer: bench.Issuer, Audience: bench.Issuer, Keys: keySet, Algorithms: []string{auth.HS256},
		Store: auth.NewMemory(auth.MemoryOptions{}), Users: auth.UserLookupFunc(noUser),
	})
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewJSONHandler(sink, nil))

	meters := bench.Meters()
	closers = append(closers, func() error { return meters.Shutdown(context.Background()) })
	ipLimit := ratelimit.New(ratelimit.PerSecond(bench.HighLimit), nil)
	userLimit := ratelimit.New(ratelimit.PerSecond(bench.HighLimit), nil)
	// As examples/api builds it: right after the request id, so that a
	// refused request costs no more than the request id and its 503;
	// within the pool, waiting at most half the request deadline.
	shed := func(h http.Handler) http.Handler { return h }
	if cfg.Shed {
		shed = overload.New(overload.Options{Classify: apiOnly, InitialLimit: bench.MaxOpenConns,
			MaxLimit: bench.MaxOpenConns, QueueWait: 5 * time.Second, MeterProvider: meters}).Handler
	}
	api := middleware.Chain(
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: ipLimit, Key: middleware.KeyByIP, Policy: "ip", MeterProvider: meters}),
		auth.OptionalBearer(tokens),
		middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: userLimit, Key: middleware.KeyByUser, Policy: "api", MeterProvider: meters}),
		middleware.MaxBytes(envelope.DefaultMaxBytes),
	)
	user := auth.RequireRole(bench.Role)
	mux := http.NewServeMux()
	mux.Handle("GET /users/{id}", api.Then(user(envelope.Handle(s.getUser))))
	mux.Handle("POST /transfers", api.Then(user(envelope.Handle(s.transfer))))
	doc := operation.New(operation.Options{Title: "bench", Version: "1"})
	addNote := operation.Operation{Method: "POST", Path: "/users/{id}/notes", ID: "addNote", Summary: "Add a note",
		Bearer: true, Roles: []string{bench.Role}, Status: http.StatusCreated}
	mux.Handle(addNote.Pattern(), api.Then(user(operation.Handle(doc, addNote, s.addNote))))
	mux.Handle("GET /healthz", envelope.Handle(func(*http.Request) (string, error) { return "ok", nil }))
	h = middleware.Chain(
		middleware.TelemetryWithOptions(middleware.TelemetryOptions{MeterProvider: meters}),
		middleware.RequestID,
		middleware.SecurityHeaders,
		shed,
		middleware.ClientIP{}.Handler,
		middleware.LoggerWithOptions(middleware.LoggerOptions{Logger: logger}),
		middleware.RecoverWithOptions(middleware.RecoverOptions{Logger: logger}),
		middleware.Timeout(10*time.Second),
	).Then(envelope.Routes(mux))
	return h, closeAll, nil
}

func (s *service) getUser(r *http.Request) (bench.User, error) {
	id := r.PathValue("id")
	if s.cache == nil {
		return s.users.FindByID(r.Context(), id)
	}
	return s.cache.Get(r.Context(), id, func(ctx context.Context) (bench.User, error) {
		return s.users.FindByID(ctx, id)
	})
}

func (s *service) addNote(ctx context.Context, in noteInput) (noteCreated, error) {
	b := in.Body
	row := bench.NoteRow{UserID: in.ID, Title: b.Title, Body: b.Body, Email: b.Email, Link: b.Link, Color: b.Color,
		Priority: b.Priority, Rating: b.Rating, Tags: strings.Join(b.Tags, ","), Due: b.Due, Pinned: b.Pinned}
	if err := s.notes.Create(ctx, &row); err != nil {
		return noteCreated{}, err
	}
	return noteCreated{ID: row.ID}, nil
}

var errSameAccount = envelope.New(http.StatusUnprocessableEntity, "SAME_ACCOUNT", "from and to must differ")

func (s *service) transfer(r *http.Request) (map[string]int64, error) {
	t, err := envelope.Decode[bench.Transfer](r)
	if err != nil {
		return nil, err
	}
	if t.From == t.To {
		return nil, errSameAccount
	}
	var balance int64
	err = txn.Do(r.Context(), s.db, func(ctx context.Context) error {
		locked, err := s.accounts.LockByIDs(ctx, []int64{t.From, t.To})
		if err != nil {
			return err
		}
		if len(locked) != 2 {
			return repository.ErrNotFound
		}
		for _, a := range locked {
			delta := t.Amount
			if a.ID == t.From {
				delta = -t.Amount
				balance = a.Balance - t.Amount
			}
			if _, err := s.accounts.Update(ctx, a.ID, repository.Set{"balance": a.Balance + delta}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]int64{"from": t.From, "balance": balance}, nil
}

// apiOnly classes the requests for the overload limit: the health check
// is never shed, the API by overload.DefaultClass.
func apiOnly(r *http.Request) overload.Class {
	if r.URL.Path == "/healthz" {
		return overload.Critical
	}
	return overload.DefaultClass(r)
}

// noUser is the user lookup of a service that only verifies access tokens:
// it never refreshes one.
func noUser(context.Context, string) (auth.User, error) {
	return auth.User{}, errors.New("no refresh in the benchmark")
}
