// Command chistack is the full-stack benchmark's service built the way a
// team assembles one by hand around chi: otelhttp for the request metrics
// (on an OpenTelemetry SDK meter provider, as svckit's), chi's router and
// middleware (request id, client IP from the peer address (ClientIPFromRemoteAddr, as svckit trusts no proxy by default), logger, recoverer),
// jwtauth for the bearer token (issuer and audience checked), httprate for
// a per-user limit, go-redis/cache for cache-aside (its local TinyLFU, or
// Redis) and sqlx for data access.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/go-chi/jwtauth/v5"
	"github.com/go-playground/validator/v10"
	gocache "github.com/go-redis/cache/v9"
	"github.com/jmoiron/sqlx"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/redis/go-redis/v9"
	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

type service struct {
	db       *sqlx.DB
	cache    *gocache.Cache // nil with -cache none
	ttl      time.Duration
	byID     string
	lock     string
	setBal   string
	cacheKey string
	addNote  string
	validate *validator.Validate
}

// note is route (d)'s input, with the rules of bench.NoteJSON as
// go-playground/validator tags: pointers where a zero value is valid, so
// that "required" means present.
type note struct {
	UserID   string   `json:"-" validate:"userid"`
	Title    string   `json:"title" validate:"required,max=100"`
	Body     string   `json:"body" validate:"required,max=2000"`
	Email    string   `json:"email" validate:"required,email"`
	Link     string   `json:"link" validate:"required,url"`
	Color    string   `json:"color" validate:"required,oneof=red green blue"`
	Priority *int64   `json:"priority" validate:"required,gte=1,lte=5"`
	Rating   *float64 `json:"rating" validate:"required,gte=0,lte=10"`
	Tags     []string `json:"tags" validate:"required,max=5"`
	Due      string   `json:"due" validate:"required,datetime=2006-01-02T15:04:05Z07:00"`
	Pinned   *bool    `json:"pinned" validate:"required"`
}

var userID = regexp.MustCompile(`^u[0-9]{4}$`)

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
	s := &service{
		db:       db,
		ttl:      cfg.CacheTTL,
		byID:     "SELECT id, name, email FROM users WHERE id = " + cfg.Placeholder(1),
		lock:     "SELECT id, balance FROM accounts WHERE id IN (" + cfg.Placeholder(1) + ", " + cfg.Placeholder(2) + ") ORDER BY id FOR UPDATE",
		setBal:   "UPDATE accounts SET balance = " + cfg.Placeholder(1) + " WHERE id = " + cfg.Placeholder(2),
		cacheKey: cfg.Prefix + "user:",
		addNote:  cfg.InsertNote(),
		validate: validator.New(validator.WithRequiredStructEnabled()),
	}
	if err := s.validate.RegisterValidation("userid", func(fl validator.FieldLevel) bool {
		return userID.MatchString(fl.Field().String())
	}); err != nil {
		return err
	}
	if cfg.Driver == "sqlite" {
		s.lock = "SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id"
	}
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
	ja := jwtauth.New("HS256", []byte(cfg.Secret), nil,
		jwt.WithIssuer(bench.Issuer), jwt.WithAudience(bench.Issuer), jwt.WithAcceptableSkew(30*time.Second))

	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.ClientIPFromRemoteAddr,
		middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(sink, "", log.LstdFlags), NoColor: true}),
		middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, "ok") })
	r.Group(func(r chi.Router) {
		r.Use(jwtauth.Verifier(ja), jwtauth.Authenticator(ja), requireRole(bench.Role),
			httprate.LimitBy(bench.HighLimit, time.Second, bySubject),
			middleware.RequestSize(1<<20))
		r.Get("/users/{id}", s.getUser)
		r.Post("/transfers", s.transfer)
		r.Post("/users/{id}/notes", s.addNoteHandler)
	})
	meters := bench.Meters()
	defer meters.Shutdown(context.Background())
	return cfg.Serve(otelhttp.NewHandler(r, "chistack", otelhttp.WithMeterProvider(meters)))
}

// requireRole answers 403 unless the token's "roles" claim lists role.
func requireRole(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, claims, _ := jwtauth.FromContext(r.Context())
			roles, _ := claims["roles"].([]any)
			if !slices.Contains(roles, any(role)) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden"})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func bySubject(r *http.Request) (string, error) {
	tok, _, err := jwtauth.FromContext(r.Context())
	if err != nil {
		return "", err
	}
	return tok.Subject(), nil
}

func (s *service) getUser(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	var u bench.User
	load := func(ctx context.Context) error { return s.db.GetContext(ctx, &u, s.byID, id) }
	var err error
	if s.cache == nil {
		err = load(r.Context())
	} else {
		err = s.cache.Once(&gocache.Item{Ctx: r.Context(), Key: s.cacheKey + id, Value: &u, TTL: s.ttl,
			Do: func(it *gocache.Item) (any, error) {
				var v bench.User
				err := s.db.GetContext(it.Context(), &v, s.byID, id)
				return &v, err
			}})
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
	default:
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *service) transfer(w http.ResponseWriter, r *http.Request) {
	var t bench.Transfer
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || t.From == t.To || t.Amount <= 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	balance, err := s.move(r.Context(), t)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"from": t.From, "balance": balance})
}

func (s *service) move(ctx context.Context, t bench.Transfer) (int64, error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var locked []bench.Account
	if err := tx.SelectContext(ctx, &locked, s.lock, t.From, t.To); err != nil {
		return 0, err
	}
	if len(locked) != 2 {
		return 0, sql.ErrNoRows
	}
	var balance int64
	for _, a := range locked {
		next := a.Balance + t.Amount
		if a.ID == t.From {
			next = a.Balance - t.Amount
			balance = next
		}
		if _, err := tx.ExecContext(ctx, s.setBal, next, a.ID); err != nil {
			return 0, err
		}
	}
	return balance, tx.Commit()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *service) addNoteHandler(w http.ResponseWriter, r *http.Request) {
	n := note{UserID: chi.URLParam(r, "id")}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	if err := s.validate.Struct(&n); err != nil {
		var fields validator.ValidationErrors
		errors.As(err, &fields)
		list := make([]string, len(fields))
		for i, f := range fields {
			list[i] = f.Field() + ": " + f.Tag()
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "invalid", "fields": list})
		return
	}
	var id int64
	err := s.db.QueryRowxContext(r.Context(), s.addNote, n.UserID, n.Title, n.Body, n.Email, n.Link, n.Color, *n.Priority,
		*n.Rating, strings.Join(n.Tags, ","), n.Due, *n.Pinned).Scan(&id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}
