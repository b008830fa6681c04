package conventions_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/auth/jwks"
	authredis "github.com/svckit/svckit/auth/redisstore"
	"github.com/svckit/svckit/cache"
	cacheredis "github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/dedupe"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/idempotency"
	idemsql "github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/operation"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
	"github.com/svckit/svckit/overload"
	"github.com/svckit/svckit/ratelimit"
	rlredis "github.com/svckit/svckit/ratelimit/redisstore"
	"github.com/svckit/svckit/repository"
	"github.com/svckit/svckit/txn"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// go-redis's pool and the SQL pools of testdb close after the
		// tests' cleanups, which goleak cannot wait for.
		goleak.IgnoreTopFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"),
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

// mixed is how many random mixes of option values each constructor gets
// besides the uniform variants.
const mixed = 12

// driven lists, as "package.Func", the exported functions taking an
// options struct (or a Limit) that the tests below drive.
// TestEveryConstructorIsDriven fails when one is missing.
var driven = map[string]bool{
	"cache.NewMemory": true, "cache.NewAside": true,
	"redisstore.NewTwoLevel": true,
	"ratelimit.New":          true, "ratelimit.NewMemory": true,
	"redisstore.New": true, // cache/redisstore, ratelimit/redisstore and auth/redisstore
	"auth.NewTokens": true, "auth.NewVerifier": true, "auth.NewMemory": true,
	"jwks.New":             true,
	"repository.NewMemory": true, "repository.NewSQL": true,
	"idempotency.NewMemory": true, "sqlstore.New": true, "idempotency.New": true, // sqlstore: idempotency/sqlstore
	"txn.DoWith": true, "txn.New": true, "overload.New": true, "dedupe.New": true,
	"envelope.DecodeWithOptions": true, "envelope.DecodeValue": true, "envelope.Problems": true,
	"auth.BearerWithOptions": true, "middleware.LoggerWithOptions": true,
	"middleware.RecoverWithOptions": true, "middleware.TelemetryWithOptions": true,
	"middleware.RateLimitWithOptions": true, "middleware.CORS": true,
	"natsjs.CreateStream": true, "natsjs.NewPublisher": true, "natsjs.Subscribe": true,
	"operation.New": true,
	"outbox.New":    true, "outbox.NewConsumer": true, "outbox.NewRelay": true,
	"outbox.NewInvalidator": true,
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// failingStore is a cache.Store whose deletes fail, so that an Aside
// retries them and then fences the keys on its background goroutine.
type failingStore struct{ *cache.Memory[string] }

func (failingStore) Delete(context.Context, ...string) error { return errors.New("store down") }

func TestCacheOptions(t *testing.T) {
	t.Run("NewMemory", func(t *testing.T) {
		base := cache.MemoryOptions[string]{Weigher: func(k, v string) uint32 { return uint32(len(k) + len(v)) }}
		driveEach(t, base, mixed, func(t *testing.T, opts cache.MemoryOptions[string]) {
			ctx := ctxFor(t)
			m := cache.NewMemory(opts)
			defer m.Close()
			require.NoError(t, m.Set(ctx, "k", cache.Entry[string]{Value: "v"}, time.Minute), "Set")
			_, _, err := m.Get(ctx, "k")
			require.NoError(t, err, "Get")
			require.NoError(t, m.Delete(ctx, "k"), "Delete")
		})
	})
	t.Run("NewAside", func(t *testing.T) {
		driveEach(t, cache.Options[string]{}, mixed, func(t *testing.T, opts cache.Options[string]) {
			ctx := ctxFor(t)
			store := cache.NewMemory(cache.MemoryOptions[string]{})
			defer store.Close()
			a := cache.NewAside(failingStore{store}, opts)
			for range 2 {
				_, err := a.Get(ctx, "k", func(context.Context) (string, error) { return "v", nil })
				require.NoError(t, err, "Get")
			}
			_, err := a.Get(ctx, "gone", func(context.Context) (string, error) { return "", cache.ErrNotFound })
			require.ErrorIs(t, err, cache.ErrNotFound, "Get of a missing value")
			dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_ = a.Delete(dctx, "k") // fails, and fences the key
			cancel()
			_ = a.Stats()
			require.NoError(t, a.Close(), "Close")
		})
	})
}

func TestRedisCacheOptions(t *testing.T) {
	client, prefix := testdb.Redis(t)
	t.Run("New", func(t *testing.T) {
		driveEach(t, cacheredis.Options{Prefix: prefix}, mixed, func(t *testing.T, opts cacheredis.Options) {
			ctx := ctxFor(t)
			s := cacheredis.New[string](client, opts)
			_ = s.Set(ctx, "k", cache.Entry[string]{Value: "v"}, time.Minute)
			_, _, _ = s.Get(ctx, "k")
			_ = s.Delete(ctx, "k")
		})
	})
	t.Run("NewTwoLevel", func(t *testing.T) {
		driveEach(t, cacheredis.TwoLevelOptions[string]{Options: cacheredis.Options{Prefix: prefix}}, mixed,
			func(t *testing.T, opts cacheredis.TwoLevelOptions[string]) {
				ctx := ctxFor(t)
				opts.Local.Weigher = func(k, v string) uint32 { return uint32(len(k) + len(v)) }
				s, err := cacheredis.NewTwoLevel[string](ctx, client, opts)
				if err != nil {
					return // refused at construction, which the rule allows for a client that cannot subscribe
				}
				defer s.Close()
				_ = s.Set(ctx, "k", cache.Entry[string]{Value: "v"}, time.Minute)
				_, _, _ = s.Get(ctx, "k")
				_ = s.Delete(ctx, "k")
			})
	})
}

func TestRateLimitOptions(t *testing.T) {
	t.Run("NewMemory", func(t *testing.T) {
		driveEach(t, ratelimit.MemoryOptions{}, mixed, func(t *testing.T, opts ratelimit.MemoryOptions) {
			m := ratelimit.NewMemory(opts)
			defer m.Close()
			_, err := m.Allow(ctxFor(t), "k", ratelimit.PerSecond(10))
			require.NoError(t, err, "Allow")
		})
	})
	t.Run("New", func(t *testing.T) {
		driveEach(t, ratelimit.Limit{}, mixed, func(t *testing.T, limit ratelimit.Limit) {
			l := ratelimit.New(limit, nil)
			defer l.Close()
			for range 3 {
				_, err := l.Allow(ctxFor(t), "k")
				require.NoError(t, err, "Allow")
			}
		})
	})
	t.Run("redisstore.New", func(t *testing.T) {
		client, prefix := testdb.Redis(t)
		driveEach(t, rlredis.Options{Prefix: prefix}, mixed, func(t *testing.T, opts rlredis.Options) {
			s := rlredis.New(client, opts)
			_, _ = s.Allow(ctxFor(t), "k", ratelimit.PerSecond(10))
		})
	})
	t.Run("middleware.RateLimitWithOptions", func(t *testing.T) {
		driveEach(t, ratelimit.Limit{}, mixed, func(t *testing.T, limit ratelimit.Limit) {
			l := ratelimit.New(limit, nil)
			defer l.Close()
			for range 2 {
				serve(t, middleware.RateLimitWithOptions(middleware.RateLimitOptions{Limiter: l}))
			}
		})
	})
}

// serve sends one request through mw to a handler that answers 204.
func serve(t *testing.T, mw func(http.Handler) http.Handler) {
	t.Helper()
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	r := httptest.NewRequest("GET", "/v1/things", nil)
	r.RemoteAddr = "192.0.2.1:1234"
	h.ServeHTTP(httptest.NewRecorder(), r)
}

// authFixture is a key set, a user lookup and a refresh store.
type authFixture struct {
	keys  *auth.KeySet
	users auth.UserLookup
}

func newAuthFixture(t *testing.T) authFixture {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err, "key")
	k, err := auth.NewEdDSAKey("k1", priv)
	require.NoError(t, err, "NewEdDSAKey")
	keys, err := auth.NewKeySet(k)
	require.NoError(t, err, "NewKeySet")
	users := auth.UserLookupFunc(func(_ context.Context, id string) (auth.User, error) { return auth.User{ID: id}, nil })
	return authFixture{keys: keys, users: users}
}

func TestAuthOptions(t *testing.T) {
	f := newAuthFixture(t)
	t.Run("NewTokens", func(t *testing.T) {
		base := auth.Options{Issuer: "https://issuer.example", Keys: f.keys, Users: f.users}
		driveEach(t, base, mixed, func(t *testing.T, opts auth.Options) {
			ctx := ctxFor(t)
			opts.Store = auth.NewMemory(auth.MemoryOptions{})
			tokens, err := auth.NewTokens(opts)
			require.NoError(t, err, "NewTokens: option values are never an error")
			p, err := tokens.Issue(ctx, auth.User{ID: "u1"})
			require.NoError(t, err, "Issue")
			_, _ = tokens.VerifyAccess(ctx, p.AccessToken)
			_, _ = tokens.Refresh(ctx, p.RefreshToken)
			_, _ = tokens.Refresh(ctx, p.RefreshToken)
			_ = tokens.LogoutAll(ctx, "u1")
		})
	})
	t.Run("NewMemory", func(t *testing.T) {
		driveEach(t, auth.MemoryOptions{}, 2, func(t *testing.T, opts auth.MemoryOptions) {
			ctx := ctxFor(t)
			tokens, err := auth.NewTokens(auth.Options{Issuer: "https://issuer.example", Keys: f.keys, Users: f.users, Store: auth.NewMemory(opts)})
			require.NoError(t, err, "NewTokens")
			p, err := tokens.Issue(ctx, auth.User{ID: "u1"})
			require.NoError(t, err, "Issue")
			_, err = tokens.Refresh(ctx, p.RefreshToken)
			require.NoError(t, err, "Refresh on the Memory store")
		})
	})
	t.Run("NewVerifier", func(t *testing.T) {
		tokens, err := auth.NewTokens(auth.Options{Issuer: "https://issuer.example", Keys: f.keys, Users: f.users, Store: auth.NewMemory(auth.MemoryOptions{})})
		require.NoError(t, err, "NewTokens")
		p, err := tokens.Issue(context.Background(), auth.User{ID: "u1"})
		require.NoError(t, err, "Issue")
		base := auth.VerifierOptions{Issuer: "https://issuer.example", Audience: "https://issuer.example"}
		driveEach(t, base, mixed, func(t *testing.T, opts auth.VerifierOptions) {
			v, err := auth.NewVerifier(f.keys, opts)
			require.NoError(t, err, "NewVerifier: option values are never an error")
			for range 2 {
				_, _ = v.VerifyAccess(ctxFor(t), p.AccessToken)
			}
		})
	})
	t.Run("Hasher", func(t *testing.T) {
		// The zero value is the constructor; its fields are its options.
		type hasherOptions struct {
			Params        auth.Argon2Params
			MaxConcurrent int
			MaxWait       time.Duration
		}
		driveEach(t, hasherOptions{}, 2, func(t *testing.T, o hasherOptions) {
			ctx := ctxFor(t)
			h := &auth.Hasher{Params: o.Params, MaxConcurrent: o.MaxConcurrent, MaxWait: o.MaxWait}
			_ = h.NeedsRehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
			if raceEnabled && (o.Params.Memory > 64<<10 || o.Params.Time > 4) {
				return // NeedsRehash read the clamped parameters; a 256 MiB hash under -race takes half a minute
			}
			hash, err := h.Hash(ctx, "correct horse")
			require.NoError(t, err, "Hash: option values are never an error")
			_, err = h.Verify(ctx, "correct horse", hash)
			require.NoError(t, err, "Verify")
		})
	})
	t.Run("jwks.New", func(t *testing.T) {
		srv := httptest.NewServer(f.keys.JWKSHandler(nil))
		defer srv.Close()
		driveEach(t, jwks.Options{}, mixed, func(t *testing.T, opts jwks.Options) {
			s, err := jwks.New(srv.URL, opts)
			require.NoError(t, err, "jwks.New: option values are never an error")
			for range 2 {
				_, _ = s.VerificationKey(ctxFor(t), "k1")
			}
			_ = s.Refresh(ctxFor(t))
		})
	})
	t.Run("redisstore.New", func(t *testing.T) {
		client, prefix := testdb.Redis(t)
		driveEach(t, authredis.Options{Prefix: prefix}, mixed, func(t *testing.T, opts authredis.Options) {
			ctx := ctxFor(t)
			tokens, err := auth.NewTokens(auth.Options{Issuer: "https://issuer.example", Keys: f.keys, Users: f.users,
				Store: authredis.New(client, opts)})
			require.NoError(t, err, "NewTokens")
			if p, err := tokens.Issue(ctx, auth.User{ID: "u1"}); err == nil {
				_, _ = tokens.Refresh(ctx, p.RefreshToken)
			}
		})
	})
	t.Run("auth.BearerWithOptions", func(t *testing.T) {
		tokens, err := auth.NewTokens(auth.Options{Issuer: "https://issuer.example", Keys: f.keys, Users: f.users, Store: auth.NewMemory(auth.MemoryOptions{})})
		require.NoError(t, err, "NewTokens")
		driveEach(t, auth.BearerOptions{Verifier: tokens}, 2, func(t *testing.T, opts auth.BearerOptions) {
			serve(t, auth.BearerWithOptions(opts))
		})
	})
}

type row struct {
	ID   int64  `db:"id,pk"`
	Name string `db:"name"`
}

func TestRepositoryOptions(t *testing.T) {
	t.Run("NewMemory", func(t *testing.T) {
		driveEach(t, repository.Options[int64]{}, 2, func(t *testing.T, opts repository.Options[int64]) {
			ctx := ctxFor(t)
			r := repository.NewMemory[row](repository.MemoryOptions[int64]{Name: "rows", Options: opts})
			require.NoError(t, r.Create(ctx, &row{Name: "a"}), "Create")
			driveEach(t, repository.FindOptions{}, mixed, func(t *testing.T, o repository.FindOptions) {
				_, _ = r.FindMany(ctx, o)
			})
			driveEach(t, repository.PageOptions{}, mixed, func(t *testing.T, o repository.PageOptions) {
				_, _ = r.FindPage(ctx, o)
			})
		})
	})
	t.Run("NewSQL", func(t *testing.T) {
		db := testdb.SQLite(t)
		_, err := db.DB.Exec(`CREATE TABLE rows (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
		require.NoError(t, err, "create table")
		driveEach(t, repository.Options[int64]{}, 2, func(t *testing.T, opts repository.Options[int64]) {
			ctx := ctxFor(t)
			r := repository.NewSQL[row](db.DB, dialect.SQLite, "rows", opts)
			require.NoError(t, r.Create(ctx, &row{Name: "a"}), "Create")
			driveEach(t, repository.FindOptions{}, mixed, func(t *testing.T, o repository.FindOptions) {
				_, _ = r.FindMany(ctx, o)
			})
			driveEach(t, repository.PageOptions{}, mixed, func(t *testing.T, o repository.PageOptions) {
				_, _ = r.FindPage(ctx, o)
			})
		})
	})
}

// serializationFailure is the error PostgreSQL reports for a transaction
// to run again (SQLSTATE 40001), as dialect.Classify reads it.
type serializationFailure struct{}

func (serializationFailure) Error() string    { return "serialization failure" }
func (serializationFailure) SQLState() string { return "40001" }

func TestTxnOptions(t *testing.T) {
	db := testdb.SQLite(t)
	retried := func() func(ctx context.Context) error {
		attempts := 0
		return func(ctx context.Context) error {
			attempts++
			if attempts < 3 {
				return serializationFailure{}
			}
			_, err := txn.From(ctx, db.DB).ExecContext(ctx, `SELECT 1`)
			return err
		}
	}
	t.Run("DoWith", func(t *testing.T) {
		driveEach(t, txn.Options{}, mixed, func(t *testing.T, opts txn.Options) {
			_ = txn.DoWith(ctxFor(t), db.DB, opts, retried())
		})
	})
	t.Run("New", func(t *testing.T) {
		driveEach(t, txn.Options{}, mixed, func(t *testing.T, opts txn.Options) {
			r := txn.New(db.DB, opts)
			_ = r.Do(ctxFor(t), retried())
			_ = r.DoWith(ctxFor(t), opts, retried())
		})
	})
}

func TestDedupeOptions(t *testing.T) {
	driveEach(t, dedupe.Options{}, 2, func(t *testing.T, opts dedupe.Options) {
		g := dedupe.New[string, int](opts)
		v, _, err := g.Do(ctxFor(t), "k", func(context.Context) (int, error) { return 1, nil })
		require.NoError(t, err, "Do")
		require.Equal(t, 1, v, "the function's value")
	})
}

func TestIdempotencyOptions(t *testing.T) {
	run := func(t *testing.T, s idempotency.Store, opts idempotency.Options) {
		ctx := ctxFor(t)
		r := idempotency.New(s, opts)
		k := idempotency.Key{Scope: "u1", Value: "key-1"}
		for range 2 {
			_, _, err := r.Do(ctx, k, "fp", func(context.Context) (idempotency.Outcome, error) {
				return idempotency.JSON(201, map[string]string{"id": "1"})
			})
			require.NoError(t, err, "Do")
		}
	}
	t.Run("NewMemory", func(t *testing.T) {
		driveEach(t, idempotency.MemoryOptions{}, 2, func(t *testing.T, opts idempotency.MemoryOptions) {
			run(t, idempotency.NewMemory(opts), idempotency.Options{})
		})
	})
	t.Run("sqlstore.New", func(t *testing.T) {
		db := testdb.SQLite(t)
		driveEach(t, idemsql.Options{}, 2, func(t *testing.T, opts idemsql.Options) {
			s := idemsql.New(db.DB, dialect.SQLite, opts)
			require.NoError(t, s.Migrate(ctxFor(t)), "Migrate")
			run(t, s, idempotency.Options{})
		})
	})
	t.Run("New", func(t *testing.T) {
		driveEach(t, idempotency.Options{}, 2, func(t *testing.T, opts idempotency.Options) {
			run(t, idempotency.NewMemory(idempotency.MemoryOptions{}), opts)
		})
	})
}

func TestEnvelopeOptions(t *testing.T) {
	t.Run("DecodeWithOptions", func(t *testing.T) {
		driveEach(t, envelope.DecodeOptions{}, mixed, func(t *testing.T, opts envelope.DecodeOptions) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"a"}`))
			r.Header.Set("Content-Type", "application/json")
			_, _ = envelope.DecodeWithOptions[struct{ Name string }](r, opts)
		})
	})
	t.Run("DecodeValue", func(t *testing.T) {
		driveEach(t, envelope.DecodeOptions{}, mixed, func(t *testing.T, opts envelope.DecodeOptions) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"a"}`))
			r.Header.Set("Content-Type", "application/json")
			var v struct{ Name string }
			_ = envelope.DecodeValue(r, &v, opts)
		})
	})
	t.Run("Problems", func(t *testing.T) {
		driveEach(t, envelope.ProblemOptions{}, 2, func(t *testing.T, opts envelope.ProblemOptions) {
			serve(t, envelope.Problems(opts))
		})
	})
}

func TestMiddlewareOptions(t *testing.T) {
	driveEach(t, middleware.LoggerOptions{}, 2, func(t *testing.T, opts middleware.LoggerOptions) {
		serve(t, middleware.LoggerWithOptions(opts))
	})
	driveEach(t, middleware.RecoverOptions{}, 2, func(t *testing.T, opts middleware.RecoverOptions) {
		serve(t, middleware.RecoverWithOptions(opts))
	})
	driveEach(t, middleware.TelemetryOptions{}, 2, func(t *testing.T, opts middleware.TelemetryOptions) {
		serve(t, middleware.TelemetryWithOptions(opts))
	})
	driveEach(t, middleware.CORSOptions{Origins: []string{"https://app.example.com"}}, mixed, func(t *testing.T, opts middleware.CORSOptions) {
		h := middleware.CORS(opts)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		r := httptest.NewRequest("OPTIONS", "/v1/things", nil)
		r.Header.Set("Origin", "https://app.example.com")
		r.Header.Set("Access-Control-Request-Method", "POST")
		h.ServeHTTP(httptest.NewRecorder(), r)
	})
	type limits struct {
		Timeout  time.Duration
		MaxBytes int64
	}
	driveEach(t, limits{}, mixed, func(t *testing.T, l limits) {
		serve(t, middleware.Timeout(l.Timeout))
		serve(t, middleware.MaxBytes(l.MaxBytes))
	})
}

func TestOutboxOptions(t *testing.T) {
	db := testdb.SQLite(t)
	base := outbox.New(db.DB, dialect.SQLite, outbox.Options{})
	require.NoError(t, base.Migrate(ctxFor(t)), "Migrate")
	t.Run("New", func(t *testing.T) {
		driveEach(t, outbox.Options{}, mixed, func(t *testing.T, opts outbox.Options) {
			o := outbox.New(db.DB, dialect.SQLite, opts)
			_ = txn.Do(ctxFor(t), db.DB, func(ctx context.Context) error {
				return o.Emit(ctx, outbox.Event{Type: "thing.done", Key: "k", Payload: map[string]int{"n": 1}})
			})
		})
	})
	t.Run("NewRelay", func(t *testing.T) {
		driveEach(t, outbox.RelayOptions{}, mixed, func(t *testing.T, opts outbox.RelayOptions) {
			local := &outbox.Local{}
			r := outbox.NewRelay(base, local, opts)
			_, _ = r.Round(ctxFor(t))
			_, _ = r.Clean(ctxFor(t))
			ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
			defer cancel()
			_ = r.Run(ctx)
			_ = r.Stats()
		})
	})
	t.Run("NewConsumer", func(t *testing.T) {
		driveEach(t, outbox.ConsumerOptions{}, mixed, func(t *testing.T, opts outbox.ConsumerOptions) {
			c := outbox.NewConsumer(base, "c1", func(context.Context, outbox.Message) error { return errors.New("not yet") }, opts)
			_ = c.MaxDeliveries()
			ctx, cancel := context.WithTimeout(ctxFor(t), 200*time.Millisecond) // a failing handler is retried until then
			defer cancel()
			_ = c.Deliver(ctx, outbox.Message{ID: "e1", Type: "thing.done", Payload: []byte(`{}`)}, 0, func() {})
		})
	})
	t.Run("NewInvalidator", func(t *testing.T) {
		driveEach(t, outbox.InvalidatorOptions{}, mixed, func(t *testing.T, opts outbox.InvalidatorOptions) {
			inv := outbox.NewInvalidator(base, "c1", func(context.Context, ...string) error { return errors.New("not yet") }, opts)
			_ = txn.Do(ctxFor(t), db.DB, func(ctx context.Context) error { return inv.Emit(ctx, "k") })
			_, _ = inv.Round(ctxFor(t))
			ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
			defer cancel()
			_ = inv.Run(ctx)
			_ = inv.Stats()
		})
	})
}

func TestOperationOptions(t *testing.T) {
	driveEach(t, operation.Options{}, 2, func(t *testing.T, opts operation.Options) {
		api := operation.New(opts)
		op := operation.Operation{Method: "GET", Path: "/v1/things/{id}", ID: "getThing"}
		h := operation.Handle(api, op, func(_ context.Context, in struct {
			ID string `path:"id"`
		}) (struct{ ID string }, error) {
			return struct{ ID string }{in.ID}, nil
		})
		_ = h
		require.NotEmpty(t, api.Document(), "the document")
	})
}

func TestNATSOptions(t *testing.T) {
	url := testdb.NATSURL(t)
	nc, err := nats.Connect(url)
	require.NoError(t, err, "connect")
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err, "jetstream")
	db := testdb.SQLite(t)
	o := outbox.New(db.DB, dialect.SQLite, outbox.Options{})
	require.NoError(t, o.Migrate(ctxFor(t)), "Migrate")

	stream := func(t *testing.T, opts natsjs.StreamOptions) (string, natsjs.StreamOptions) {
		sfx := testdb.Suffix()
		name := "SVCKIT_CONV_" + sfx
		opts.Prefix, opts.DeadLetterPrefix = "c"+sfx+".events", "c"+sfx+".dead"
		t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
		_, _ = natsjs.CreateStream(ctxFor(t), js, name, opts)
		return name, opts
	}
	t.Run("CreateStream", func(t *testing.T) {
		driveEach(t, natsjs.StreamOptions{}, 4, func(t *testing.T, opts natsjs.StreamOptions) {
			stream(t, opts) // a replica count the server cannot give is its error, not a panic
		})
	})
	name, sopts := stream(t, natsjs.StreamOptions{})
	t.Run("NewPublisher", func(t *testing.T) {
		driveEach(t, natsjs.PublisherOptions{}, 4, func(t *testing.T, opts natsjs.PublisherOptions) {
			opts.Prefix = sopts.Prefix
			p := natsjs.NewPublisher(js, opts)
			ctx, cancel := context.WithTimeout(ctxFor(t), time.Second)
			defer cancel()
			_, _ = p.Publish(ctx, []outbox.Message{{ID: testdb.Suffix(), Type: "thing.done", Payload: []byte(`{}`)}})
		})
	})
	t.Run("Subscribe", func(t *testing.T) {
		driveEach(t, natsjs.SubscribeOptions{}, 4, func(t *testing.T, opts natsjs.SubscribeOptions) {
			opts.Stream, opts.Prefix = name, sopts.Prefix
			c := outbox.NewConsumer(o, "c"+testdb.Suffix(), func(context.Context, outbox.Message) error { return nil }, outbox.ConsumerOptions{})
			sub, err := natsjs.Subscribe(ctxFor(t), js, c, opts)
			if err != nil {
				t.Logf("refused: %v", err)
				return // refused by the server (a pending bound it does not take), not a panic
			}
			require.NoError(t, sub.Close(), "Close")
		})
	})
}

func TestOverloadOptions(t *testing.T) {
	driveEach(t, overload.Options{}, mixed, func(t *testing.T, opts overload.Options) {
		l := overload.New(opts)
		for range 3 {
			serve(t, l.Handler)
		}
		ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
		defer cancel()
		var held []overload.Permit
		for range 5 {
			p, err := l.Acquire(ctx, overload.Write)
			if err != nil {
				break // refused or timed out, as the options say
			}
			held = append(held, p)
		}
		for _, p := range held {
			p.Release()
		}
		_ = l.Limit()
	})
}
