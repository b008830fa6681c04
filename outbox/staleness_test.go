package outbox_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/cache"
	"github.com/svckit/svckit/cache/redisstore"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/faultproxy"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/txn"
)

// The environment of a cache instance: the test binary run again as a
// process with a cache-aside of the table kv on Redis, an Invalidator on
// PostgreSQL, and an HTTP server: GET /get?k= reads through the cache,
// /update?k=&v= updates the row and invalidates it both ways (the delete
// after the commit and the outbox), answering the commit's time.
const (
	cacheChildEnv = "SVCKIT_OUTBOX_CACHE_CHILD" // "1" in a child
	cacheDSNEnv   = "SVCKIT_OUTBOX_CACHE_DSN"
	cacheRedisEnv = "SVCKIT_OUTBOX_CACHE_REDIS"
	cachePfxEnv   = "SVCKIT_OUTBOX_CACHE_PREFIX"
)

// cacheChild runs a cache instance until killed and returns the exit code.
func cacheChild() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, err); return 2 }
	db, err := sql.Open("pgx", os.Getenv(cacheDSNEnv))
	if err != nil {
		return fail(err)
	}
	opts, err := redis.ParseURL(os.Getenv(cacheRedisEnv))
	if err != nil {
		return fail(err)
	}
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	users := cache.NewAside[string, string](redisstore.New[string](rdb, redisstore.Options{Prefix: os.Getenv(cachePfxEnv)}), cache.Options[string]{})
	box := outbox.New(db, dialect.Postgres, outbox.Options{})
	inv := outbox.NewInvalidator(box, "kv", users.Delete, outbox.InvalidatorOptions{})
	go func() { _ = inv.Run(context.Background()) }()

	load := func(k string) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			var v string
			err := db.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, k).Scan(&v)
			return v, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		k := r.URL.Query().Get("k")
		v, err := users.Get(r.Context(), k, load(k))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("/update", func(w http.ResponseWriter, r *http.Request) {
		k, v := r.URL.Query().Get("k"), r.URL.Query().Get("v")
		var committed time.Time
		err := txn.Do(r.Context(), db, func(ctx context.Context) error {
			if _, err := txn.From(ctx, db).ExecContext(ctx, `UPDATE kv SET v = $1 WHERE k = $2`, v, k); err != nil {
				return err
			}
			txn.AfterCommit(ctx, func(context.Context) { committed = time.Now() }) // first of the hooks
			txn.DeleteAfterCommit(ctx, users, k)
			return inv.Emit(ctx, k)
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, strconv.FormatInt(committed.UnixNano(), 10))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	fmt.Println("addr", ln.Addr().String())
	return fail(http.Serve(ln, mux))
}

// cacheInstance is a running cache child, ended by its PID.
type cacheInstance struct {
	addr   string
	cmd    *exec.Cmd
	client *http.Client
}

func startCacheInstance(t *testing.T, dsn, redisURL, prefix string) *cacheInstance {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cacheChildEnv+"=1", cacheDSNEnv+"="+dsn, cacheRedisEnv+"="+redisURL, cachePfxEnv+"="+prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start(), "start a cache instance")
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // this child, by its PID
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "the instance tells its address")
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	require.True(t, ok, "the instance's first line: %q", line)
	c := &cacheInstance{addr: addr, cmd: cmd, client: &http.Client{Transport: &http.Transport{}}}
	t.Cleanup(c.client.CloseIdleConnections)
	return c
}

func (c *cacheInstance) call(path string, q url.Values) (string, error) {
	res, err := c.client.Get("http://" + c.addr + path + "?" + q.Encode())
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %d %s", path, res.StatusCode, b)
	}
	return string(b), nil
}

// TestInvalidatorStalenessBound measures what an Invalidator bounds: four
// processes share a cache-aside on Redis and an outbox on PostgreSQL; the
// writer reaches Redis through a fault proxy, which swallows its traffic
// (a black hole) just before it commits an update. Its own delete after
// the commit cannot land, so it fences the key for itself; the three
// others keep serving the old entry from Redis until some process deletes
// it. The bound is the time from the commit until all three return the
// new value, while the writer is still cut off: the other processes'
// Invalidators carry the invalidation out. Without them the old entry
// would be served until the writer reached Redis again.
// SVCKIT_INVALIDATION_ROUNDS sets the rounds (default 20). The figures
// are logged; the test fails only if a reader never sees the update while
// the writer is cut off.
func TestInvalidatorStalenessBound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes")
	}
	rounds := 20
	if n, err := strconv.Atoi(os.Getenv("SVCKIT_INVALIDATION_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	db := testdb.Postgres(t)
	redisURL := testdb.RedisURL(t)
	_, prefix := testdb.Redis(t)
	require.NoError(t, outbox.New(db.DB, dialect.Postgres, outbox.Options{}).Migrate(context.Background()))
	_, err := db.DB.Exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)`)
	require.NoError(t, err)

	u, err := url.Parse(redisURL)
	require.NoError(t, err)
	proxy, err := faultproxy.New(u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })
	viaProxy := *u
	viaProxy.Host = proxy.Addr()

	writer := startCacheInstance(t, db.DSN, viaProxy.String(), prefix)
	readers := make([]*cacheInstance, 3)
	for i := range readers {
		readers[i] = startCacheInstance(t, db.DSN, redisURL, prefix)
	}

	bounds := make([]time.Duration, 0, rounds)
	for r := range rounds {
		key := "k" + strconv.Itoa(r)
		_, err := db.DB.Exec(`INSERT INTO kv (k, v) VALUES ($1, 'old')`, key)
		require.NoError(t, err)
		for i, rd := range readers {
			v, err := rd.call("/get", url.Values{"k": {key}})
			require.NoError(t, err, "reader %d", i)
			require.Equal(t, "old", v, "reader %d caches the old row", i)
		}

		proxy.BlackHole()
		type answer struct {
			body string
			err  error
		}
		update := make(chan answer, 1)
		go func() {
			b, err := writer.call("/update", url.Values{"k": {key}, "v": {"new"}})
			update <- answer{b, err}
		}()
		seen := make([]time.Time, len(readers))
		var wg sync.WaitGroup
		for i, rd := range readers {
			wg.Go(func() {
				deadline := time.Now().Add(30 * time.Second)
				for time.Now().Before(deadline) {
					v, err := rd.call("/get", url.Values{"k": {key}})
					if err == nil && v == "new" {
						seen[i] = time.Now()
						return
					}
					time.Sleep(time.Millisecond) // the measurement's resolution
				}
			})
		}
		wg.Wait()
		a := <-update // the writer answers once its own delete gave up
		require.NoError(t, proxy.Clear(), "the writer reaches Redis again")
		require.NoError(t, a.err, "the update commits with its writer cut off from Redis")
		ns, err := strconv.ParseInt(a.body, 10, 64)
		require.NoError(t, err)
		committed := time.Unix(0, ns)
		var worst time.Duration
		for i, s := range seen {
			require.False(t, s.IsZero(), "round %d: reader %d never saw the update while the writer was cut off", r, i)
			worst = max(worst, s.Sub(committed))
		}
		bounds = append(bounds, worst)
	}
	slices.Sort(bounds)
	t.Logf("staleness after a commit whose writer is cut off from Redis, %d rounds, 3 readers: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		len(bounds), ms(bounds[len(bounds)/2]), ms(bounds[len(bounds)*99/100]), ms(bounds[len(bounds)-1]))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
