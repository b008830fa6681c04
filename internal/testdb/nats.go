package testdb

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// NATSEnv holds the URL of a NATS server with JetStream enabled.
const NATSEnv = "SVCKIT_NATS_URL"

// NATSURL returns SVCKIT_NATS_URL after checking that the server accepts a
// connection, or skips the test (fails it, see Required). Tests create
// streams of their own, uniquely named (Suffix), and delete them.
func NATSURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(NATSEnv)
	if raw == "" {
		missing(t, NATSEnv, "NATS JetStream")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("testdb: %s: %v", NATSEnv, err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("testdb: %s=%s does not answer: %v", NATSEnv, raw, err)
	}
	c.Close()
	return raw
}

// NATSProcess is a nats-server with JetStream started by one test, on a
// free loopback port, storing in a directory of the test's own. Fault
// tests stop and start it by its PID; it is killed and reaped at cleanup.
type NATSProcess struct {
	URL  string // nats://127.0.0.1:port
	path string
	args []string
	cmd  *exec.Cmd
}

// StartNATS starts a nats-server of the test's own with JetStream and
// waits until it accepts connections.
func StartNATS(t testing.TB) *NATSProcess {
	t.Helper()
	path, err := exec.LookPath("nats-server")
	if err != nil {
		msg := "nats-server not on PATH: skipping a test that starts its own NATS"
		if Required() {
			t.Fatalf("%s=1 but %s", RequireEnv, msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	port := FreePort(t)
	p := &NATSProcess{
		URL:  "nats://127.0.0.1:" + strconv.Itoa(port),
		path: path,
		args: []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "js"), "-l", filepath.Join(dir, "nats.log")},
	}
	t.Cleanup(p.kill)
	p.Start(t)
	return p
}

// PID returns the running server's process id.
func (p *NATSProcess) PID() int { return p.cmd.Process.Pid }

// Start starts the server again after Stop, on the same port and store.
func (p *NATSProcess) Start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(p.path, p.args...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testdb: start nats-server: %v", err)
	}
	p.cmd = cmd
	addr := p.URL[len("nats://"):]
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: nats-server on %s did not come up: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server by its PID (SIGKILL, as a crash would) and reaps
// it. What JetStream had synced to its store survives for Start.
func (p *NATSProcess) Stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		t.Fatal("testdb: Stop of a nats-server that is not running")
	}
	p.kill()
}

func (p *NATSProcess) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// String names the server for messages.
func (p *NATSProcess) String() string { return fmt.Sprintf("nats-server %s", p.URL) }
