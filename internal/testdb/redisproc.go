package testdb

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisProcess is a redis-server started by one test, on a free loopback
// port, with no persistence. It belongs to that test alone: fault tests may
// stop, continue or kill it by its PID. The process is killed and reaped at
// cleanup.
type RedisProcess struct {
	Addr string // "127.0.0.1:port"
	cmd  *exec.Cmd
}

// PID returns the process id.
func (p *RedisProcess) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGSTOP: the server keeps its connections open and answers
// nothing, like a hung Redis.
func (p *RedisProcess) Stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("testdb: SIGSTOP redis-server pid %d: %v", p.PID(), err)
	}
}

// Continue sends SIGCONT, ending a Stop.
func (p *RedisProcess) Continue(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("testdb: SIGCONT redis-server pid %d: %v", p.PID(), err)
	}
}

// Restart kills the server by its PID (SIGKILL, as a crash would), waits
// for down, and starts a new one on the same port with the same arguments,
// waiting until it answers PING. The data is gone: the server keeps none on
// disk.
func (p *RedisProcess) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	p.kill()
	time.Sleep(down)
	cmd := exec.Command(p.cmd.Path, p.cmd.Args[1:]...)
	cmd.Dir = p.cmd.Dir
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testdb: restart redis-server: %v", err)
	}
	p.cmd = cmd
	if err := waitPing(p.Addr); err != nil {
		t.Fatalf("testdb: restarted redis-server on %s did not answer: %v", p.Addr, err)
	}
}

// waitPing waits up to ten seconds for the Redis at addr to answer PING and
// returns the last error if it never does.
func waitPing(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *RedisProcess) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// serverPath returns redis-server's path, or skips (fails, see Required).
func serverPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server not on PATH: skipping a test that starts its own Redis"
		if Required() {
			t.Fatalf("%s=1 but %s", RequireEnv, msg)
		}
		t.Skip(msg)
	}
	return path
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testdb: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartRedis starts a redis-server of the test's own on a free loopback
// port, waits until it answers PING and returns it. Extra arguments are
// passed to redis-server ("--maxmemory", "1mb", ...).
func StartRedis(t testing.TB, args ...string) *RedisProcess {
	t.Helper()
	return StartRedisAt(t, FreePort(t), args...)
}

// StartRedisAt is StartRedis on a port the test chose, such as one a
// service was told to use before any Redis listened there (FreePort).
func StartRedisAt(t testing.TB, port int, args ...string) *RedisProcess {
	t.Helper()
	path := serverPath(t)
	dir := t.TempDir()
	all := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--logfile", "redis.log"}, args...)
	cmd := exec.Command(path, all...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testdb: start redis-server: %v", err)
	}
	p := &RedisProcess{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(p.kill)
	if err := waitPing(p.Addr); err != nil {
		log, _ := os.ReadFile(dir + "/redis.log")
		t.Fatalf("testdb: redis-server on %s did not answer: %v\n%s", p.Addr, err, log)
	}
	return p
}

// RedisClusterProcess is a Redis Cluster of masters started by one test
// (see StartRedisCluster).
type RedisClusterProcess struct {
	Nodes []*RedisProcess
	// URL is the cluster in go-redis's ParseClusterURL form.
	URL string
}

// Addrs returns the nodes' addresses.
func (c *RedisClusterProcess) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// StartRedisCluster starts n (at least 3) redis-servers of the test's own in
// cluster mode, joins them as masters without replicas (redis-cli --cluster
// create), and waits until every node reports cluster_state:ok. The node
// timeout is one second, so a stopped master marks the cluster down soon.
// Extra arguments are passed to every node ("--cluster-require-full-coverage",
// "no" keeps the other masters serving their slots while one is down).
func StartRedisCluster(t testing.TB, n int, args ...string) *RedisClusterProcess {
	t.Helper()
	if n < 3 {
		t.Fatalf("testdb: a Redis Cluster needs at least 3 masters, not %d", n)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		serverPath(t) // skips or fails with the message
		t.Fatalf("testdb: redis-cli not on PATH: %v", err)
	}
	c := &RedisClusterProcess{}
	for range n {
		c.Nodes = append(c.Nodes, StartRedis(t, append([]string{"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
			"--cluster-port", strconv.Itoa(FreePort(t))}, args...)...))
	}
	addrs := c.Addrs()
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("testdb: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.URL = "redis://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	c.WaitOK(t, 20*time.Second)
	return c
}

// WaitOK waits until every node reports cluster_state:ok and knows every
// other node, or fails the test after timeout.
func (c *RedisClusterProcess) WaitOK(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))
	for {
		ok, last := true, ""
		for _, n := range c.Nodes {
			rc := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := rc.ClusterInfo(ctx).Result()
			cancel()
			rc.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) {
				ok, last = false, fmt.Sprintf("%s: %v %s", n.Addr, err, info)
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: cluster not ok after %v: %s", timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
