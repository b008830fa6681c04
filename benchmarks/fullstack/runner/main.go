// Command runner measures the full-stack benchmark: it builds the five
// services (svckit, go-zero, a chi stack, huma, bare net/http), seeds
// SQLite and PostgreSQL, and drives each service in its own process with
// wrk, the stacks interleaved round by round (A B C D E A B C D E …) so
// that noise on the machine hits all of them alike. wrk sends 10 000
// distinct valid tokens in turn (and one token, in a scenario labelled so)
// and counts every response's status: a throughput scenario in which any
// stack answered anything but 2xx fails the run. With -overload it then
// runs the overload scenario: vegeta in open loop at 1×, 2× and 4× each
// stack's measured capacity. It prints one table per scenario:
// median requests per second, p50 and p99 latency, errors, and the ratios
// of svckit to each peer. Throughput counts 2xx responses: a stack that
// sheds load answers errors fast, and those are not served requests.
//
// Run it from the benchmarks module:
//
//	go run ./fullstack/runner -duration 10s -rounds 5
//
// PostgreSQL and Redis come from SVCKIT_POSTGRES_URL and SVCKIT_REDIS_URL;
// the scenarios that need one that is unset are skipped with a message.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

// stacks in the order each round runs them.
var stacks = []string{"svckit", "gozero", "chistack", "huma", "bare"}

// scenario is one route under one configuration.
type scenario struct {
	name   string   // e.g. "a/memory"
	what   string   // one line for the table's heading
	driver string   // "sqlite" or "pgx"
	cache  string   // "memory", "redis" or "none"
	script string   // wrk Lua script: the request function (see luaScript)
	tokens int      // distinct bearer tokens sent in turn
	stacks []string // which stacks serve it
}

// Tokens is how many distinct valid tokens the load generators send in
// turn, one user each (subjects repeat every bench.Users tokens).
const Tokens = 10_000

// luaScript returns the wrk script of a scenario: the bearer tokens from
// the file tokens (one a line), sent in turn from a random start, the
// request function req (which calls bearer() for the header), and the
// status of every response counted per thread and printed by done() as
// "status CODE COUNT" lines.
func luaScript(tokens, req string) string {
	return fmt.Sprintf(`
local tokens = {}
for line in io.lines(%q) do tokens[#tokens + 1] = line end
local n = #tokens
local next_token = 1
statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%%x+)"), 16) %% 100000)
  next_token = math.random(n)
end

function bearer()
  next_token = next_token %% n + 1
  return "Bearer " .. tokens[next_token]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  for code, count in pairs(total) do
    io.write(string.format("status %%d %%d\n", code, count))
  end
end
%s`, tokens, req)
}

const usersScript = `
request = function()
  return wrk.format("GET", string.format("/users/u%04d", math.random(0, 999)), {["Authorization"] = bearer()})
end
`

const transfersScript = `
request = function()
  local from = math.random(0, 99)
  local to = math.random(0, 98)
  if to >= from then to = to + 1 end
  return wrk.format("POST", "/transfers", {["Authorization"] = bearer(), ["Content-Type"] = "application/json"},
    string.format('{"from":%d,"to":%d,"amount":1}', from, to))
end
`

// notesScript is route (d)'s request: bench.NoteJSON for a random user.
var notesScript = `
local note = [[` + bench.NoteJSON + `]]
request = function()
  return wrk.format("POST", string.format("/users/u%04d/notes", math.random(0, 999)),
    {["Authorization"] = bearer(), ["Content-Type"] = "application/json"}, note)
end
`

type options struct {
	duration, warmup time.Duration
	rounds, conns    int
	threads          int
	only             string
	logDir           string
	profileDir       string
	overload         bool
	overloadOnly     bool
	overloadDuration time.Duration
	multiples        []float64
	overloadStacks   []string // the stacks of the overload scenario
	// require2xx names the stacks whose non-2xx answers fail a throughput
	// scenario; nil means every stack.
	require2xx []string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of one wrk run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk run per stack before the measured rounds (0: none)")
	flag.IntVar(&o.rounds, "rounds", 5, "measured rounds per scenario")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.StringVar(&o.only, "only", "", "comma-separated scenario names to run (default: all)")
	flag.StringVar(&o.logDir, "logs", "", "directory for the access logs (default: a temporary one, removed)")
	flag.StringVar(&o.profileDir, "profile", "", "directory for CPU and allocation profiles of the stacks that serve pprof (default: none)")
	flag.BoolVar(&o.overload, "overload", false, "also run the overload scenario (vegeta, open loop) on b/postgres and d/postgres (-only selects among them too)")
	flag.BoolVar(&o.overloadOnly, "overload-only", false, "run only the overload scenario")
	flag.DurationVar(&o.overloadDuration, "overload-duration", 10*time.Second, "length of one open-loop run")
	multiples := flag.String("multiples", "1,2,4", "open-loop rates, as multiples of each stack's capacity")
	ovStacks := flag.String("overload-stacks", strings.Join(overloadStacks, ","), "comma-separated stacks of the overload scenario")
	require2xx := flag.String("require-2xx", "all", "stacks whose non-2xx answers fail a throughput scenario: all, or a comma-separated list such as svckit (the others' are printed in the table and as a warning)")
	flag.Parse()
	if *require2xx != "all" {
		o.require2xx = strings.Split(*require2xx, ",")
	}
	for _, m := range strings.Split(*multiples, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(m), 64)
		if err != nil || v <= 0 {
			log.Fatalf("-multiples: %q is not a positive number", m)
		}
		o.multiples = append(o.multiples, v)
	}
	o.overload = o.overload || o.overloadOnly
	o.overloadStacks = strings.Split(*ovStacks, ",")
	for _, s := range o.overloadStacks {
		if !slices.Contains(overloadStacks, s) {
			log.Fatalf("-overload-stacks: %q is not one of %s", s, strings.Join(overloadStacks, ", "))
		}
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("runner: wrk is not installed (Debian: apt-get install wrk)")
	}
	tmp, err := os.MkdirTemp("", "svckit-fullstack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.logDir == "" {
		o.logDir = tmp
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	bins := map[string]string{}
	for _, s := range stacks {
		bins[s] = filepath.Join(tmp, s)
		cmd := exec.Command("go", "build", "-o", bins[s], "./fullstack/"+s)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", s, err)
		}
	}

	ctx := context.Background()
	dsn := map[string]string{"sqlite": "file:" + filepath.Join(tmp, "bench.db") + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"}
	if err := seed(ctx, "sqlite", dsn["sqlite"]); err != nil {
		return err
	}
	if pg := os.Getenv("SVCKIT_POSTGRES_URL"); pg != "" {
		pgDSN, drop, err := pgSchema(ctx, pg)
		if err != nil {
			return err
		}
		defer drop()
		dsn["pgx"] = pgDSN
		if err := seed(ctx, "pgx", pgDSN); err != nil {
			return err
		}
	} else {
		fmt.Println("SVCKIT_POSTGRES_URL is unset: skipping the PostgreSQL scenarios")
	}
	redisAddr := ""
	if u := os.Getenv("SVCKIT_REDIS_URL"); u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("SVCKIT_REDIS_URL: %w", err)
		}
		redisAddr = pu.Host
	} else {
		fmt.Println("SVCKIT_REDIS_URL is unset: skipping the Redis scenarios")
	}

	secret := randomHex(32)
	tokenFiles := map[int]string{}
	for _, n := range []int{1, Tokens} {
		tokenFiles[n] = filepath.Join(tmp, fmt.Sprintf("tokens-%d.txt", n))
		if err := writeTokens(tokenFiles[n], secret, n); err != nil {
			return err
		}
	}
	peers := stacks[:len(stacks)-1] // all but bare
	all := []scenario{
		{"a/memory", "(a) GET /users/{id}, cached in memory, SQLite behind, 10 000 users' tokens", "sqlite", "memory", usersScript, Tokens, stacks},
		{"a/memory-1token", "(a) GET /users/{id}, cached in memory, SQLite behind, one token for every request", "sqlite", "memory", usersScript, 1, stacks},
		{"a/redis", "(a) GET /users/{id}, cached in Redis, SQLite behind, 10 000 users' tokens", "sqlite", "redis", usersScript, Tokens, peers},
		{"b/sqlite", "(b) GET /users/{id}, no cache: every read from SQLite", "sqlite", "none", usersScript, Tokens, peers},
		{"b/postgres", "(b) GET /users/{id}, no cache: every read from PostgreSQL", "pgx", "none", usersScript, Tokens, peers},
		{"c/postgres", "(c) POST /transfers, two row locks in a transaction, PostgreSQL", "pgx", "none", transfersScript, Tokens, withoutHuma(peers)},
		{"d/postgres", "(d) POST /users/{id}/notes, ten fields validated, one row inserted, PostgreSQL", "pgx", "none", notesScript, Tokens, stacks},
	}
	var total0 int64
	if dsn["pgx"] != "" {
		if total0, err = totalBalance(ctx, dsn["pgx"]); err != nil {
			return err
		}
	}
	prefix := "svckit-fullstack:" + randomHex(4) + ":"
	for _, sc := range all {
		if o.overloadOnly {
			break
		}
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		if dsn[sc.driver] == "" || (sc.cache == "redis" && redisAddr == "") {
			continue
		}
		cfg := serviceConfig{driver: sc.driver, dsn: dsn[sc.driver], cache: sc.cache, redis: redisAddr, prefix: prefix, secret: secret}
		sc.script = luaScript(tokenFiles[sc.tokens], sc.script)
		res, err := measure(o, sc, bins, cfg, filepath.Join(tmp, strings.ReplaceAll(sc.name, "/", "-")+".lua"))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		printTable(os.Stdout, sc, res)
		if err := allOK(res, o.require2xx); err != nil {
			return fmt.Errorf("%s: %w: a throughput scenario counts only runs where every response is 2xx", sc.name, err)
		}
		if err := allOK(res, nil); err != nil {
			log.Printf("%s: warning, not counted as a failure (-require-2xx %s): %v", sc.name, strings.Join(o.require2xx, ","), err)
		}
	}
	if o.overload && dsn["pgx"] != "" {
		raw, err := os.ReadFile(tokenFiles[Tokens])
		if err != nil {
			return err
		}
		tokens := strings.Fields(string(raw))
		for _, sc := range []scenario{
			{"b/postgres", "(b) GET /users/{id}, no cache: every read from PostgreSQL", "pgx", "none", usersScript, Tokens, o.overloadStacks},
			{"d/postgres", "(d) POST /users/{id}/notes, ten fields validated, one row inserted, PostgreSQL", "pgx", "none", notesScript, Tokens, o.overloadStacks},
		} {
			if o.only != "" && !slices.Contains(strings.Split(o.only, ","), sc.name) {
				continue
			}
			sc.script = luaScript(tokenFiles[Tokens], sc.script)
			cfg := serviceConfig{driver: sc.driver, dsn: dsn[sc.driver], cache: sc.cache, redis: redisAddr, prefix: prefix, secret: secret}
			lua := filepath.Join(tmp, "overload-"+strings.ReplaceAll(sc.name, "/", "-")+".lua")
			if err := measureOverload(o, sc, bins, cfg, lua, tokens); err != nil {
				return fmt.Errorf("overload %s: %w", sc.name, err)
			}
		}
	} else if o.overload {
		fmt.Println("SVCKIT_POSTGRES_URL is unset: skipping the overload scenario")
	}
	if dsn["pgx"] != "" {
		total, err := totalBalance(ctx, dsn["pgx"])
		if err != nil {
			return err
		}
		if total != total0 {
			return fmt.Errorf("transfers did not conserve the balance total: %d before, %d after", total0, total)
		}
		fmt.Printf("balance total conserved: %d\n", total)
	}
	return nil
}

// serviceConfig is what every stack of a scenario is started with.
type serviceConfig struct {
	driver, dsn, cache, redis, prefix, secret string
	shed                                      bool // the stack's own overload protection on
}

// result is one wrk run.
type result struct {
	rps            float64 // every response
	okRPS          float64 // 2xx responses only
	p50, p99       time.Duration
	errors, non2xx int
	statuses       map[int]int // responses by status, from the script's response()
	// CPU time a 2xx response cost the stack's process and PostgreSQL's
	// processes during the run (zero where /proc is not readable).
	svcCPU, pgCPU time.Duration
}

// withoutHuma returns ss without "huma", which serves routes (a) and (b)
// only.
func withoutHuma(ss []string) []string {
	return slices.DeleteFunc(slices.Clone(ss), func(s string) bool { return s == "huma" })
}

// writeTokens writes n distinct valid bearer tokens, one a line, to path.
func writeTokens(path, secret string, n int) error {
	var b strings.Builder
	now := time.Now()
	for i := range n {
		t, err := bench.TokenFor(secret, bench.UserID(i%bench.Users), now.Add(-time.Duration(i)*time.Second))
		if err != nil {
			return err
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// allOK returns an error naming every stack of only (every stack when only
// is nil) that answered anything but 2xx in res. Socket errors (wrk's
// timeouts) are reported in the table, not counted here.
func allOK(res map[string][]result, only []string) error {
	var bad []string
	for _, s := range slices.Sorted(maps.Keys(res)) {
		if only != nil && !slices.Contains(only, s) {
			continue
		}
		for i, r := range res[s] {
			if r.non2xx > 0 {
				bad = append(bad, fmt.Sprintf("%s run %d: statuses %v, %d non-2xx, %d socket errors", s, i, r.statuses, r.non2xx, r.errors))
			}
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func measure(o options, sc scenario, bins map[string]string, cfg serviceConfig, script string) (map[string][]result, error) {
	if err := os.WriteFile(script, []byte(sc.script), 0o600); err != nil {
		return nil, err
	}
	addrs, pprofAddrs, pids := map[string]string{}, map[string]string{}, map[string]int{}
	base := strings.ReplaceAll(sc.name, "/", "-")
	for _, s := range sc.stacks {
		if o.profileDir != "" && s != "gozero" { // go-zero runs its own server, without -pprof
			a, err := freeAddr()
			if err != nil {
				return nil, err
			}
			pprofAddrs[s] = a
		}
		addr, pid, stop, err := start(bins[s], cfg, filepath.Join(o.logDir, s+"-"+base+".log"), pprofAddrs[s])
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", s, err)
		}
		defer stop()
		addrs[s], pids[s] = addr, pid
	}
	if strings.HasSuffix(sc.script, notesScript) { // route (d)
		for _, s := range sc.stacks {
			if err := refusesBadNote("http://"+addrs[s], tokenOf(cfg.secret)); err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
		}
	}
	res := map[string][]result{}
	wrk := func(s string, d time.Duration) (result, error) {
		svc0, pg0 := procCPU(pids[s]), postgresCPU()
		r, err := runWrk(o, d, "http://"+addrs[s], script)
		if ok := float64(r.okRPS) * d.Seconds(); err == nil && ok > 0 {
			r.svcCPU = time.Duration(float64(procCPU(pids[s])-svc0) / ok)
			if cfg.driver == "pgx" {
				r.pgCPU = time.Duration(float64(postgresCPU()-pg0) / ok)
			}
		}
		return r, err
	}
	if o.warmup > 0 {
		for _, s := range sc.stacks {
			if _, err := wrk(s, o.warmup); err != nil {
				return nil, err
			}
		}
	}
	for round := range o.rounds {
		for _, s := range sc.stacks {
			var profiled chan error
			if a := pprofAddrs[s]; a != "" && round == 0 {
				// The CPU profile covers the first measured run but its
				// last second, so that it ends before wrk does.
				secs := max(1, int(o.duration.Seconds())-1)
				profiled = fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", a, secs), filepath.Join(o.profileDir, s+"-"+base+".cpu.pprof"))
			}
			r, err := wrk(s, o.duration)
			if profiled != nil {
				if perr := <-profiled; err == nil {
					err = perr
				}
			}
			if err != nil {
				return nil, err
			}
			res[s] = append(res[s], r)
		}
	}
	for _, s := range sc.stacks {
		if a := pprofAddrs[s]; a != "" {
			if err := <-fetchProfile("http://"+a+"/debug/pprof/allocs", filepath.Join(o.profileDir, s+"-"+base+".allocs.pprof")); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// fetchProfile GETs a pprof profile from url into the file path, in the
// background; the channel yields the outcome.
func fetchProfile(url, path string) chan error {
	done := make(chan error, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			done <- fmt.Errorf("profile %s: %w", url, err)
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			done <- fmt.Errorf("profile %s: %s", url, res.Status)
			return
		}
		f, err := os.Create(path)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, res.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return done
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs one service on a free loopback port and waits until its
// /healthz answers; with pprofAddr set, the service serves net/http/pprof
// there. stop ends the process by its own PID.
func start(bin string, cfg serviceConfig, logPath, pprofAddr string) (addr string, pid int, stop func(), err error) {
	if addr, err = freeAddr(); err != nil {
		return "", 0, nil, err
	}
	args := []string{"-addr", addr, "-driver", cfg.driver, "-dsn", cfg.dsn, "-cache", cfg.cache,
		"-redis", cfg.redis, "-prefix", cfg.prefix + filepath.Base(bin) + ":", "-secret", cfg.secret, "-log", logPath}
	if pprofAddr != "" {
		args = append(args, "-pprof", pprofAddr)
	}
	if cfg.shed {
		args = append(args, "-shed")
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return "", 0, nil, fmt.Errorf("exited: %s", stderr.String())
		default:
		}
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return addr, cmd.Process.Pid, stop, nil
			}
		}
	}
	stop()
	return "", 0, nil, fmt.Errorf("not healthy after 30 s: %s", stderr.String())
}

func seed(ctx context.Context, driver, dsn string) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return bench.Seed(ctx, db, driver)
}

func totalBalance(ctx context.Context, dsn string) (int64, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return bench.TotalBalance(ctx, db)
}

// pgSchema creates a uniquely named schema and returns a DSN whose
// search_path is it, and a function that drops it.
func pgSchema(ctx context.Context, base string) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := "svckit_fullstack_" + randomHex(6)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, err
	}
	drop := func() {
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tokenOf signs one valid bearer token with secret.
func tokenOf(secret string) string {
	t, err := bench.Token(secret, time.Now())
	if err != nil {
		panic(err)
	}
	return t
}

// refusesBadNote checks that the stack at base checks route (d)'s rules:
// a valid note is created (201), and each of a few notes breaking one rule
// is refused with a 4xx.
func refusesBadNote(base, token string) error {
	post := func(path, body string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	if code, err := post("/users/u0001/notes", bench.NoteJSON); err != nil || code != http.StatusCreated {
		return fmt.Errorf("a valid note: status %d, %v", code, err)
	}
	for _, bad := range []struct{ path, from, to string }{
		{"/users/x1/notes", "", ""},
		{"", `"priority":3`, `"priority":9`},
		{"", `"color":"green"`, `"color":"pink"`},
		{"", `"email":"user1@example.com"`, `"email":"not-an-address"`},
		{"", `"due":"2026-12-31T18:00:00Z"`, `"due":"tomorrow"`},
		{"", `"title":"Groceries"`, `"title":""`},
		{"", `,"pinned":true`, ``},
	} {
		path := cmp.Or(bad.path, "/users/u0001/notes")
		body := strings.Replace(bench.NoteJSON, bad.from, bad.to, 1)
		code, err := post(path, body)
		if err != nil {
			return err
		}
		if code < 400 || code > 499 {
			return fmt.Errorf("a note breaking a rule (%s %s) was answered %d, not 4xx", path, cmp.Or(bad.to, "without "+bad.from), code)
		}
	}
	return nil
}
