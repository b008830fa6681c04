package app

import (
	"context"
	"net/http"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/middleware"
	"github.com/svckit/svckit/ratelimit"
	"github.com/svckit/svckit/ratelimit/redisstore"
)

// limits are the service's rate limits (README, "Rate limits"):
//
//   - ip, per client IP, on every /v1 request before its bearer token is
//     verified, so a flood of made-up tokens pays before it costs anything;
//   - api, per authenticated user (else client IP), after verification;
//   - register, per client IP, on registrations, each of which costs a
//     password hash, so a flood of them cannot slow logins;
//   - login, the login throttle (see loginThrottle).
//
// All budgets live in one store, each under its policy's key prefix: one
// Redis store, so that one breaker notices a Redis outage for all of them
// and a request passing several limits waits for Redis at most once before
// every limit falls back, and one in-memory store, the fallback.
type limits struct {
	ip, api, register *ratelimit.Limiter
	login             loginThrottle
	// memory is the in-memory store, closed by close.
	memory *ratelimit.Memory
}

// orDefault returns r, or def when r is zero.
func orDefault(r, def Rate) Rate {
	if r.Limit == 0 {
		return def
	}
	return r
}

func (a *App) newLimits() *limits {
	l := &limits{memory: ratelimit.NewMemory(ratelimit.MemoryOptions{})}
	var store ratelimit.Store = l.memory
	if a.rdb != nil {
		store = redisstore.New(a.rdb, redisstore.Options{Prefix: a.redisPrefix() + "rl:", Fallback: l.memory, Logger: a.logger, MeterProvider: a.tel.meters})
	}
	limiter := func(r Rate, name string) *ratelimit.Limiter {
		return ratelimit.New(ratelimit.Limit{Rate: r.Limit, Period: r.Window}, prefixed{store, name + ":"})
	}
	l.ip = limiter(orDefault(a.cfg.IPRateLimit, Rate{1200, time.Minute}), "ip")
	l.api = limiter(orDefault(a.cfg.APIRateLimit, Rate{600, time.Minute}), "api")
	l.register = limiter(orDefault(a.cfg.RegisterRateLimit, Rate{10, time.Minute}), "register")
	login := orDefault(a.cfg.LoginRateLimit, Rate{10, time.Minute})
	l.login = loginThrottle{
		ip:    limiter(login, "login-ip"),
		pair:  limiter(Rate{(login.Limit + 1) / 2, login.Window}, "login-pair"),
		email: limiter(Rate{2 * login.Limit, login.Window}, "login-email"),
		slow:  limiter(Rate{1, login.Window}, "login-slow"),
	}
	return l
}

// close stops the in-memory store's clock.
func (l *limits) close() error { return l.memory.Close() }

// prefixed is a Store that puts prefix before every key, so that budgets
// of several policies share one store.
type prefixed struct {
	store  ratelimit.Store
	prefix string
}

func (p prefixed) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error) {
	return p.store.Allow(ctx, p.prefix+key, limit)
}

// loginThrottle slows password guessing without letting anyone lock an
// owner out of their account. With LOGIN_RATE_LIMIT = N per window W:
//
//   - per client IP: N attempts per W, whatever the email, so one address
//     cannot try many accounts ("login" in the RateLimit fields);
//   - per (email, client IP): N/2 (rounded up) per W, so one address cannot
//     focus on one account ("login-pair");
//   - per email, from all addresses: 2N per W. This budget never refuses an
//     attempt on its own, since then anyone could lock the owner out by
//     spending it; once it is spent (the account is under a distributed
//     attack) each (email, client IP) pair gets one attempt per W
//     ("login-slow"). Its remaining count is not sent: it would tell anyone
//     how much others try an account.
//
// So the owner, from an address the attacker does not hold, always has an
// attempt per W, and usually N/2; an attacker with K addresses gets at most
// K attempts per W on one account once it is under attack. Emails are keyed
// in their normalised form (auth.NormalizeEmail); one that does not
// normalise cannot match an account and never reaches the per-email
// limiters: it spends from the client IP's budget only.
type loginThrottle struct {
	ip, pair, email, slow *ratelimit.Limiter
}

// decision is one limiter's result under its policy name, for the fields.
type decision struct {
	policy string
	res    ratelimit.Result
}

// allow takes the decisions for one login attempt by email from r's client
// IP. It returns nil, or for a refused attempt a 429 RATE_LIMITED error
// carrying Retry-After and the RateLimit fields of the policies consulted,
// or the error of a store that failed.
func (t *loginThrottle) allow(ctx context.Context, r *http.Request, email string) error {
	h := http.Header{}
	ip := middleware.KeyByIP(r)
	norm, normErr := auth.NormalizeEmail(email)
	emailKey := "email:" + norm
	pairKey := emailKey + "|" + ip

	var taken []decision
	take := func(l *ratelimit.Limiter, key, policy string, public bool) (ratelimit.Result, error) {
		res, err := l.Allow(ctx, key)
		if err != nil {
			return res, err
		}
		if public {
			middleware.AddRateLimitFields(h, policy, res)
			taken = append(taken, decision{policy, res})
		}
		return res, nil
	}
	steps := []struct {
		limiter *ratelimit.Limiter
		key     string
		policy  string
	}{
		{t.ip, ip, "login"},
		{t.pair, pairKey, "login-pair"},
	}
	if normErr != nil {
		// No account has this email: only the address pays.
		steps = steps[:1]
	}
	for _, s := range steps {
		res, err := take(s.limiter, s.key, s.policy, true)
		if err != nil {
			return err
		}
		if !res.Allowed {
			return refusal(h, res, taken)
		}
	}
	if normErr != nil {
		return nil
	}
	res, err := take(t.email, emailKey, "login-email", false)
	if err != nil || res.Allowed {
		return err
	}
	if res, err = take(t.slow, pairKey, "login-slow", true); err != nil {
		return err
	}
	if !res.Allowed {
		return refusal(h, res, taken)
	}
	return nil
}

// refusal returns the 429 of a refused attempt with the fields in h.
// Retry-After is the refusing limit's wait, or longer when another limit
// this attempt spent has nothing left for longer, so that a retry at
// Retry-After passes every limit and Retry-After never points before the
// effective window (t) of a policy that says r=0.
func refusal(h http.Header, denied ratelimit.Result, taken []decision) error {
	for _, d := range taken {
		if d.res.Allowed && d.res.Remaining == 0 {
			denied.RetryAfter = max(denied.RetryAfter, d.res.Refill())
		}
	}
	e := envelope.RateLimited(denied.RetryAfter)
	for k, v := range h {
		e.Header[k] = v
	}
	return e
}
