// Command huma is the full-stack benchmark's service built with huma v2 on
// net/http's ServeMux (the humago adapter), its validation on: each route
// is a typed operation whose input huma decodes and validates (the path id
// against a pattern and a length) and whose output it serialises. What
// huma leaves to the application is taken from the same libraries as the
// chi stack: otelhttp for the request metrics, chi's request id, client IP
// (ClientIPFromRemoteAddr), access logger and recoverer as net/http middleware around the
// mux, the bearer token checked by a huma middleware with jwtauth (issuer
// and audience checked), httprate for the per-user limit,
// go-redis/cache for cache-aside (its local TinyLFU, or Redis) and sqlx.
// It serves routes (a) and (b).
package main

import (
	"context"
	"database/sql"
	"errors"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/go-chi/jwtauth/v5"
	gocache "github.com/go-redis/cache/v9"
	"github.com/jmoiron/sqlx"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

type service struct {
	db       *sqlx.DB
	cache    *gocache.Cache // nil with -cache none
	ttl      time.Duration
	byID     string
	cacheKey string
	addNote  string
}

// getUserInput is the input of GET /users/{id}: huma validates the id.
type getUserInput struct {
	ID string `path:"id" pattern:"^u[0-9]{4}$" maxLength:"16"`
}

type getUserOutput struct {
	Body bench.User
}

// addNoteInput is route (d)'s input, with the rules of bench.NoteJSON as
// huma's schema tags (every field is required, no other field allowed).
type addNoteInput struct {
	ID   string `path:"id" pattern:"^u[0-9]{4}$" maxLength:"16"`
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

type addNoteOutput struct {
	Body struct {
		ID int64 `json:"id"`
	}
}

type claimsKey struct{}

func main() {
	cfg := bench.ParseFlags()
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

func run(cfg bench.Config) error {
	sqldb, err := cfg.OpenDB()
	if err != nil {
		return err
	}
	db := sqlx.NewDb(sqldb, cfg.Driver)
	defer db.Close()
	s := &service{db: db, ttl: cfg.CacheTTL, cacheKey: cfg.Prefix + "user:",
		byID: "SELECT id, name, email FROM users WHERE id = " + cfg.Placeholder(1), addNote: cfg.InsertNote()}
	switch cfg.Cache {
	case "memory":
		s.cache = gocache.New(&gocache.Options{LocalCache: gocache.NewTinyLFU(10_000, cfg.CacheTTL)})
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis})
		defer rdb.Close()
		s.cache = gocache.New(&gocache.Options{Redis: rdb})
	}
	sink, err := cfg.LogSink()
	if err != nil {
		return err
	}
	defer sink.Close()

	mux := http.NewServeMux()
	config := huma.DefaultConfig("bench", "1.0.0")
	config.OpenAPIPath, config.DocsPath, config.SchemasPath = "", "", "" // no documentation routes
	api := humago.New(mux, config)
	ja := jwtauth.New("HS256", []byte(cfg.Secret), nil,
		jwt.WithIssuer(bench.Issuer), jwt.WithAudience(bench.Issuer), jwt.WithAcceptableSkew(30*time.Second))
	limiter := httprate.NewRateLimiter(bench.HighLimit, time.Second)
	api.UseMiddleware(authenticate(api, ja, limiter))
	huma.Register(api, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/users/{id}",
		Security: []map[string][]string{{"bearer": {bench.Role}}}}, s.getUser)
	huma.Register(api, huma.Operation{OperationID: "add-note", Method: http.MethodPost, Path: "/users/{id}/notes",
		DefaultStatus: http.StatusCreated, Security: []map[string][]string{{"bearer": {bench.Role}}}}, s.addNoteHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`"ok"`))
	})

	h := middleware.RequestID(middleware.ClientIPFromRemoteAddr(middleware.RequestLogger(
		&middleware.DefaultLogFormatter{Logger: log.New(sink, "", log.LstdFlags), NoColor: true})(
		middleware.Recoverer(mux))))
	meters := bench.Meters()
	defer meters.Shutdown(context.Background())
	return cfg.Serve(otelhttp.NewHandler(h, "huma", otelhttp.WithMeterProvider(meters)))
}

// authenticate is the huma middleware of the operations that declare a
// bearer security requirement: it verifies the token (signature, expiry,
// issuer, audience), checks the roles the operation asks for and spends
// from the subject's rate limit.
func authenticate(api huma.API, ja *jwtauth.JWTAuth, limiter *httprate.RateLimiter) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		var roles []string
		for _, req := range ctx.Operation().Security {
			roles = append(roles, req["bearer"]...)
		}
		if len(roles) == 0 {
			next(ctx)
			return
		}
		raw, ok := strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
		if !ok {
			huma.WriteErr(api, ctx, http.StatusUnauthorized, "missing bearer token")
			return
		}
		tok, err := jwtauth.VerifyToken(ja, raw)
		if err != nil {
			huma.WriteErr(api, ctx, http.StatusUnauthorized, "invalid token")
			return
		}
		claimed, _ := tok.Get("roles")
		list, _ := claimed.([]any)
		for _, role := range roles {
			if !slices.Contains(list, any(role)) {
				huma.WriteErr(api, ctx, http.StatusForbidden, "forbidden")
				return
			}
		}
		r, w := humago.Unwrap(ctx)
		if limiter.OnLimit(w, r, tok.Subject()) {
			huma.WriteErr(api, ctx, http.StatusTooManyRequests, "rate limited")
			return
		}
		next(huma.WithValue(ctx, claimsKey{}, tok))
	}
}

func (s *service) getUser(ctx context.Context, in *getUserInput) (*getUserOutput, error) {
	var u bench.User
	var err error
	if s.cache == nil {
		err = s.db.GetContext(ctx, &u, s.byID, in.ID)
	} else {
		err = s.cache.Once(&gocache.Item{Ctx: ctx, Key: s.cacheKey + in.ID, Value: &u, TTL: s.ttl,
			Do: func(it *gocache.Item) (any, error) {
				var v bench.User
				err := s.db.GetContext(it.Context(), &v, s.byID, in.ID)
				return &v, err
			}})
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, huma.Error404NotFound("not found")
	case err != nil:
		return nil, huma.Error500InternalServerError("internal error")
	}
	return &getUserOutput{Body: u}, nil
}

func (s *service) addNoteHandler(ctx context.Context, in *addNoteInput) (*addNoteOutput, error) {
	b := in.Body
	out := &addNoteOutput{}
	err := s.db.QueryRowxContext(ctx, s.addNote, in.ID, b.Title, b.Body, b.Email, b.Link, b.Color, b.Priority, b.Rating,
		strings.Join(b.Tags, ","), b.Due, b.Pinned).Scan(&out.Body.ID)
	if err != nil {
		return nil, huma.Error500InternalServerError("internal error")
	}
	return out, nil
}
