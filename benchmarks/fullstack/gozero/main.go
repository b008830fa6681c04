// Command gozero is the full-stack benchmark's service built with go-zero as
// its documentation builds one: a rest server with its default middleware
// (trace, logx access log with the client address, Prometheus request
// metrics, breaker, shedding, timeout, recovery, max bytes), its JWT route
// option (which checks the signature and expiry but not the issuer or the
// audience, and drops both from the context, so no handler can check
// them without parsing the token again), sqlc's cached connection over Redis for the
// cached read (collection.Cache in memory for the in-memory variant), sqlx
// for the rest. Shedding is on only with -shed (CpuThreshold 900, its
// default); otherwise CpuThreshold is 0, which turns it off. go-zero has
// no in-memory per-user rate limiter and no request-id middleware (its
// trace id stands in), so this stack runs neither: it does less work per
// request than the others.
package main

//lint:file-ignore SA5008 go-zero's json tag options (options=, range=) on noteRequest, read by httpx.Parse

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
	"github.com/zeromicro/go-zero/core/collection"
	"github.com/zeromicro/go-zero/core/conf"
	"github.com/zeromicro/go-zero/core/logx"
	"github.com/zeromicro/go-zero/core/prometheus"
	"github.com/zeromicro/go-zero/core/stores/cache"
	"github.com/zeromicro/go-zero/core/stores/redis"
	"github.com/zeromicro/go-zero/core/stores/sqlc"
	"github.com/zeromicro/go-zero/core/stores/sqlx"
	"github.com/zeromicro/go-zero/rest"
	"github.com/zeromicro/go-zero/rest/httpx"
	"github.com/zeromicro/go-zero/rest/pathvar"
)

type service struct {
	db     sqlx.SqlConn
	cached *sqlc.CachedConn  // with -cache redis
	local  *collection.Cache // with -cache memory
	byID   string
	lock   string
	setBal string
	prefix string
	note   string
}

// noteRequest is route (d)'s input as go-zero declares one: the path's id
// and the body's fields read by httpx.Parse, which requires each field not
// tagged optional and checks its range= and options= rules; the rules its
// tags cannot say are in Validate, which httpx.Parse calls after them.
// Its json tags carry go-zero's own options (options=, range=), which
// encoding/json ignores and staticcheck's tag check does not know: the
// file-ignore below.
type noteRequest struct {
	ID       string   `path:"id"`
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Email    string   `json:"email"`
	Link     string   `json:"link"`
	Color    string   `json:"color,options=red|green|blue"`
	Priority int64    `json:"priority,range=[1:5]"`
	Rating   float64  `json:"rating,range=[0:10]"`
	Tags     []string `json:"tags"`
	Due      string   `json:"due"`
	Pinned   bool     `json:"pinned"`
}

var userID = regexp.MustCompile(`^u[0-9]{4}$`)

// Validate checks what noteRequest's tags cannot.
func (n *noteRequest) Validate() error {
	var bad []string
	if !userID.MatchString(n.ID) {
		bad = append(bad, "id")
	}
	if l := utf8.RuneCountInString(n.Title); l < 1 || l > 100 {
		bad = append(bad, "title")
	}
	if l := utf8.RuneCountInString(n.Body); l < 1 || l > 2000 {
		bad = append(bad, "body")
	}
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		bad = append(bad, "email")
	}
	if u, err := url.Parse(n.Link); err != nil || u.Scheme == "" || u.Host == "" {
		bad = append(bad, "link")
	}
	if len(n.Tags) > 5 {
		bad = append(bad, "tags")
	}
	if _, err := time.Parse(time.RFC3339, n.Due); err != nil {
		bad = append(bad, "due")
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid: %s", strings.Join(bad, ", "))
	}
	return nil
}

func main() {
	cfg := bench.ParseFlags()
	if err := run(cfg); err != nil {
		log.Fatal(err)
	}
}

func run(cfg bench.Config) error {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	threshold := 0
	if cfg.Shed {
		threshold = 900
	}
	var rc rest.RestConf
	if err := conf.LoadFromJsonBytes(fmt.Appendf(nil,
		`{"Name":"bench","Host":%q,"Port":%s,"CpuThreshold":%d,"Log":{"Mode":"console","Encoding":"json"}}`, host, port, threshold), &rc); err != nil {
		return err
	}
	// The request metrics of the Prometheus middleware are recorded only
	// once Prometheus is enabled; the exposition server is not started.
	prometheus.Enable()
	sink, err := cfg.LogSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	server, err := rest.NewServer(rc)
	if err != nil {
		return err
	}
	defer server.Stop()
	logx.SetWriter(logx.NewWriter(sink)) // after the server's set-up, which installs its own

	// The same pool bound as the other stacks: with go-zero's default of
	// 64 beside them, PostgreSQL's 100 connection slots ran out and
	// go-zero's breaker answered most requests with an error.
	db, err := cfg.OpenDB()
	if err != nil {
		return err
	}
	defer db.Close()
	s := &service{
		db:     sqlx.NewSqlConnFromDB(db),
		byID:   "SELECT id, name, email FROM users WHERE id = " + cfg.Placeholder(1),
		lock:   "SELECT id, balance FROM accounts WHERE id IN (" + cfg.Placeholder(1) + ", " + cfg.Placeholder(2) + ") ORDER BY id FOR UPDATE",
		setBal: "UPDATE accounts SET balance = " + cfg.Placeholder(1) + " WHERE id = " + cfg.Placeholder(2),
		prefix: cfg.Prefix + "user:",
		note:   cfg.InsertNote(),
	}
	switch cfg.Cache {
	case "redis":
		cc := sqlc.NewConn(s.db, cache.CacheConf{{RedisConf: redis.RedisConf{Host: cfg.Redis, Type: redis.NodeType}, Weight: 100}},
			cache.WithExpiry(cfg.CacheTTL))
		s.cached = &cc
	case "memory":
		if s.local, err = collection.NewCache(cfg.CacheTTL, collection.WithLimit(10_000)); err != nil {
			return err
		}
	}
	server.AddRoute(rest.Route{Method: http.MethodGet, Path: "/healthz", Handler: func(w http.ResponseWriter, r *http.Request) {
		httpx.OkJsonCtx(r.Context(), w, "ok")
	}})
	server.AddRoutes([]rest.Route{
		{Method: http.MethodGet, Path: "/users/:id", Handler: s.getUser},
		{Method: http.MethodPost, Path: "/transfers", Handler: s.transfer},
		{Method: http.MethodPost, Path: "/users/:id/notes", Handler: s.addNote},
	}, rest.WithJwt(cfg.Secret))
	server.Start()
	return nil
}

// hasRole reports whether the token's "roles" claim, which go-zero's JWT
// handler put in the context, lists role.
func hasRole(ctx context.Context, role string) bool {
	roles, _ := ctx.Value("roles").([]any)
	return slices.Contains(roles, any(role))
}

var errForbidden = errors.New("forbidden")

func (s *service) getUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !hasRole(ctx, bench.Role) {
		httpx.WriteJsonCtx(ctx, w, http.StatusForbidden, map[string]string{"error": errForbidden.Error()})
		return
	}
	id := pathvar.Vars(r)["id"]
	var u bench.User
	var err error
	switch {
	case s.cached != nil:
		err = s.cached.QueryRowCtx(ctx, &u, s.prefix+id, func(ctx context.Context, conn sqlx.SqlConn, v any) error {
			return conn.QueryRowCtx(ctx, v, s.byID, id)
		})
	case s.local != nil:
		var v any
		v, err = s.local.Take(id, func() (any, error) {
			var u bench.User
			err := s.db.QueryRowCtx(ctx, &u, s.byID, id)
			return u, err
		})
		if err == nil {
			u = v.(bench.User)
		}
	default:
		err = s.db.QueryRowCtx(ctx, &u, s.byID, id)
	}
	switch {
	case errors.Is(err, sqlx.ErrNotFound):
		httpx.WriteJsonCtx(ctx, w, http.StatusNotFound, map[string]string{"error": "not found"})
	case err != nil:
		httpx.ErrorCtx(ctx, w, err)
	default:
		httpx.OkJsonCtx(ctx, w, u)
	}
}

func (s *service) transfer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !hasRole(ctx, bench.Role) {
		httpx.WriteJsonCtx(ctx, w, http.StatusForbidden, map[string]string{"error": errForbidden.Error()})
		return
	}
	var t bench.Transfer
	if err := httpx.ParseJsonBody(r, &t); err != nil || t.From == t.To || t.Amount <= 0 {
		httpx.WriteJsonCtx(ctx, w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	var balance int64
	err := s.db.TransactCtx(ctx, func(ctx context.Context, tx sqlx.Session) error {
		var locked []bench.Account
		if err := tx.QueryRowsCtx(ctx, &locked, s.lock, t.From, t.To); err != nil {
			return err
		}
		if len(locked) != 2 {
			return sqlx.ErrNotFound
		}
		for _, a := range locked {
			next := a.Balance + t.Amount
			if a.ID == t.From {
				next = a.Balance - t.Amount
				balance = next
			}
			if _, err := tx.ExecCtx(ctx, s.setBal, next, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		httpx.ErrorCtx(ctx, w, err)
		return
	}
	httpx.OkJsonCtx(ctx, w, map[string]int64{"from": t.From, "balance": balance})
}

func (s *service) addNote(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !hasRole(ctx, bench.Role) {
		httpx.WriteJsonCtx(ctx, w, http.StatusForbidden, map[string]string{"error": errForbidden.Error()})
		return
	}
	var n noteRequest
	if err := httpx.Parse(r, &n); err != nil {
		httpx.WriteJsonCtx(ctx, w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var id int64
	err := s.db.QueryRowCtx(ctx, &id, s.note, n.ID, n.Title, n.Body, n.Email, n.Link, n.Color, n.Priority, n.Rating,
		strings.Join(n.Tags, ","), n.Due, n.Pinned)
	if err != nil {
		httpx.ErrorCtx(ctx, w, err)
		return
	}
	httpx.WriteJsonCtx(ctx, w, http.StatusCreated, map[string]int64{"id": id})
}
