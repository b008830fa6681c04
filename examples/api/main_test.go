package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain_servesAndShutsDown builds the real binary, starts it on a
// loopback port with an SQLite file, calls it, then sends SIGTERM: readiness
// must fail at once while requests are still served for DRAIN_DELAY, then the
// process must exit 0.
func TestMain_servesAndShutsDown(t *testing.T) {
	p := startBinary(t, "DRAIN_DELAY=1s", "ADMIN_EMAIL=root@example.com", "ADMIN_PASSWORD=root-password")

	res, err := http.Get(p.base + "/healthz")
	require.NoError(t, err, "GET /healthz")
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "healthz answers 200")
	res, err = http.Post(p.base+"/v1/auth/login", "application/json", strings.NewReader(`{"email":"root@example.com","password":"root-password"}`))
	require.NoError(t, err, "POST login")
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the admin from the environment can log in")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM), "SIGTERM is delivered")
	// While it drains, readiness fails at once and requests are served.
	assert.Eventually(t, p.unready, 500*time.Millisecond, 10*time.Millisecond, "readyz answers 503 at once after SIGTERM")
	res, err = http.Get(p.base + "/healthz")
	require.NoError(t, err, "GET /healthz while draining")
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "requests are served while draining")
	require.NoError(t, p.cmd.Wait(), "the process exits 0 after SIGTERM")
	all := p.logs()
	assert.Contains(t, all, "JWT_SECRET is not set", "a random secret is warned about")
	assert.Contains(t, all, "msg=stopped", "the shutdown completes")
}

// TestMain_secondSignalSkipsTheDrain: with an hour of DRAIN_DELAY, a
// second SIGINT (a second Ctrl-C) ends the drain, and the process stops
// cleanly, exit 0, long before the hour.
func TestMain_secondSignalSkipsTheDrain(t *testing.T) {
	p := startBinary(t, "DRAIN_DELAY=1h")
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt), "the first SIGINT is delivered")
	require.Eventually(t, p.unready, 5*time.Second, 10*time.Millisecond, "the first SIGINT starts the drain")
	require.NoError(t, p.cmd.Process.Signal(os.Interrupt), "the second SIGINT is delivered")
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "the process exits 0")
	case <-time.After(60 * time.Second):
		t.Fatal("the process still drains a minute after the second SIGINT")
	}
	all := p.logs()
	assert.Contains(t, all, "skipping the drain delay", "the second signal is logged")
	assert.Contains(t, all, "drain delay skipped", "Serve skipped the delay")
	assert.Contains(t, all, "msg=stopped", "the shutdown completes")
}

// bin is the example's binary, built once by the first test that runs it
// and removed by TestMain.
var bin struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin.path != "" {
		os.RemoveAll(filepath.Dir(bin.path))
	}
	os.Exit(code)
}

// process is the example's binary, running.
type process struct {
	cmd  *exec.Cmd
	base string        // http://host:port
	logs func() string // its whole log, once it has exited
}

// unready reports whether /readyz answers 503.
func (p *process) unready() bool {
	res, err := http.Get(p.base + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusServiceUnavailable
}

// startBinary starts the binary (built once) on a loopback port with an
// SQLite file and env, waiting until it logs its address.
func startBinary(t *testing.T, env ...string) *process {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin.once.Do(func() {
		dir, err := os.MkdirTemp("", "api-binary-")
		if err != nil {
			bin.out, bin.err = nil, err
			return
		}
		bin.path = filepath.Join(dir, "api")
		bin.out, bin.err = exec.Command("go", "build", "-o", bin.path, ".").CombinedOutput()
	})
	require.NoError(t, bin.err, "go build: %s", bin.out)
	dir := t.TempDir()

	cmd := exec.Command(bin.path)
	cmd.Env = append(append(os.Environ(),
		"ADDR=127.0.0.1:0",
		"DATABASE_URL=sqlite://"+filepath.Join(dir, "api.db"),
		"REDIS_URL=",
		"JWT_SECRET=",
	), env...)
	// An io.Pipe rather than StderrPipe: Wait then waits until every line
	// was copied, so the log read after Wait is complete.
	stderr, logw := io.Pipe()
	cmd.Stderr = logw
	require.NoError(t, cmd.Start(), "the binary starts")
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	addr := make(chan string, 1)
	logs := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			all.WriteString(line + "\n")
			if _, rest, ok := strings.Cut(line, "msg=listening addr="); ok {
				addr <- strings.Fields(rest)[0]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		logs <- all.String()
	}()
	p := &process{cmd: cmd, logs: func() string { logw.Close(); return <-logs }}
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("the binary did not log its address within 60 s")
	}
	return p
}

// TestMain_redisUnreachableAtStart (issue 27, audit item 8): with REDIS_URL
// where no Redis listens, the binary starts degraded instead of exiting,
// serves, and go-redis's own log lines come out through the service's
// logger (its text format), not go-redis's standard logger.
func TestMain_redisUnreachableAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "find a free port")
	free := l.Addr().String()
	l.Close()
	p := startBinary(t, "REDIS_URL=redis://"+free+"/0")

	res, err := http.Get(p.base + "/readyz")
	require.NoError(t, err, "GET /readyz")
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "ready without Redis: %s", raw)
	assert.Contains(t, string(raw), `"status":"degraded"`, "and says it is degraded")
	res, err = http.Post(p.base+"/v1/auth/register", "application/json",
		strings.NewReader(`{"email":"early@example.com","password":"early-password","name":"Early"}`))
	require.NoError(t, err, "POST register")
	res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode, "served from the fallbacks")

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM), "SIGTERM")
	require.NoError(t, p.cmd.Wait(), "the process exits 0")
	all := p.logs()
	assert.Contains(t, all, "starting degraded", "the start without Redis is logged")
	assert.Contains(t, all, `msg="redis client"`, "go-redis's lines go through the service's logger")
	for _, line := range strings.Split(all, "\n") {
		assert.False(t, strings.HasPrefix(line, "redis: "), "no line from go-redis's own logger: %q", line)
	}
}
