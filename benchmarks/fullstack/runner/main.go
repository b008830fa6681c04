// Command runner measures the full-stack benchmark: it builds the four
// services (svckit, go-zero, a chi stack, bare net/http), seeds SQLite and
// PostgreSQL, and drives each service in its own process with wrk, the
// stacks interleaved round by round (A B C D A B C D …) so that noise on
// the machine hits all of them alike. It prints one table per scenario:
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
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/svckit/svckit/benchmarks/fullstack/internal/bench"
)

// stacks in the order each round runs them.
var stacks = []string{"svckit", "gozero", "chistack", "bare"}

// scenario is one route under one configuration.
type scenario struct {
	name   string   // e.g. "a/memory"
	what   string   // one line for the table's heading
	driver string   // "sqlite" or "pgx"
	cache  string   // "memory", "redis" or "none"
	script string   // wrk Lua script
	stacks []string // which stacks serve it
}

const usersScript = `
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/users/u%04d", math.random(0, 999)))
end
`

const transfersScript = `
math.randomseed(os.time())
wrk.headers["Content-Type"] = "application/json"
request = function()
  local from = math.random(0, 99)
  local to = math.random(0, 98)
  if to >= from then to = to + 1 end
  return wrk.format("POST", "/transfers", nil, string.format('{"from":%d,"to":%d,"amount":1}', from, to))
end
`

type options struct {
	duration, warmup time.Duration
	rounds, conns    int
	threads          int
	only             string
	logDir           string
	profileDir       string
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
	flag.Parse()
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
	token, err := bench.Token(secret, time.Now())
	if err != nil {
		return err
	}
	all := []scenario{
		{"a/memory", "(a) GET /users/{id}, cached in memory, SQLite behind", "sqlite", "memory", usersScript, stacks},
		{"a/redis", "(a) GET /users/{id}, cached in Redis, SQLite behind", "sqlite", "redis", usersScript, stacks[:3]},
		{"b/sqlite", "(b) GET /users/{id}, no cache: every read from SQLite", "sqlite", "none", usersScript, stacks[:3]},
		{"b/postgres", "(b) GET /users/{id}, no cache: every read from PostgreSQL", "pgx", "none", usersScript, stacks[:3]},
		{"c/postgres", "(c) POST /transfers, two row locks in a transaction, PostgreSQL", "pgx", "none", transfersScript, stacks[:3]},
	}
	var total0 int64
	if dsn["pgx"] != "" {
		if total0, err = totalBalance(ctx, dsn["pgx"]); err != nil {
			return err
		}
	}
	prefix := "svckit-fullstack:" + randomHex(4) + ":"
	for _, sc := range all {
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), sc.name) {
			continue
		}
		if dsn[sc.driver] == "" || (sc.cache == "redis" && redisAddr == "") {
			continue
		}
		cfg := serviceConfig{driver: sc.driver, dsn: dsn[sc.driver], cache: sc.cache, redis: redisAddr, prefix: prefix, secret: secret}
		res, err := measure(o, sc, bins, cfg, token, filepath.Join(tmp, strings.ReplaceAll(sc.name, "/", "-")+".lua"))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		printTable(os.Stdout, sc, res)
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
}

// result is one wrk run.
type result struct {
	rps            float64 // every response
	okRPS          float64 // 2xx and 3xx responses only
	p50, p99       time.Duration
	errors, non2xx int
}

func measure(o options, sc scenario, bins map[string]string, cfg serviceConfig, token, script string) (map[string][]result, error) {
	if err := os.WriteFile(script, []byte(sc.script), 0o600); err != nil {
		return nil, err
	}
	addrs, pprofAddrs := map[string]string{}, map[string]string{}
	base := strings.ReplaceAll(sc.name, "/", "-")
	for _, s := range sc.stacks {
		if o.profileDir != "" && s != "gozero" { // go-zero runs its own server, without -pprof
			a, err := freeAddr()
			if err != nil {
				return nil, err
			}
			pprofAddrs[s] = a
		}
		addr, stop, err := start(bins[s], cfg, filepath.Join(o.logDir, s+"-"+base+".log"), pprofAddrs[s])
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", s, err)
		}
		defer stop()
		addrs[s] = addr
	}
	res := map[string][]result{}
	wrk := func(s string, d time.Duration) (result, error) {
		return runWrk(o, d, "http://"+addrs[s], token, script)
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
func start(bin string, cfg serviceConfig, logPath, pprofAddr string) (addr string, stop func(), err error) {
	if addr, err = freeAddr(); err != nil {
		return "", nil, err
	}
	args := []string{"-addr", addr, "-driver", cfg.driver, "-dsn", cfg.dsn, "-cache", cfg.cache,
		"-redis", cfg.redis, "-prefix", cfg.prefix + filepath.Base(bin) + ":", "-secret", cfg.secret, "-log", logPath}
	if pprofAddr != "" {
		args = append(args, "-pprof", pprofAddr)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
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
			return "", nil, fmt.Errorf("exited: %s", stderr.String())
		default:
		}
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return addr, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("not healthy after 30 s: %s", stderr.String())
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
