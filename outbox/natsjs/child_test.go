package natsjs_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/internal/testdb"
	"github.com/svckit/svckit/outbox"
	"github.com/svckit/svckit/outbox/natsjs"
)

// The environment of a child process: the test binary run again in one of
// two roles, "relay" (a relay until killed) or "writer" (a relay, and
// transactions each writing a work row and its event, until killed).
const (
	childEnv   = "SVCKIT_NATSJS_CHILD"
	childDB    = "SVCKIT_NATSJS_DB" // driver, a space, the DSN
	childNATS  = "SVCKIT_NATSJS_NATS"
	childPfx   = "SVCKIT_NATSJS_PREFIX"
	childName  = "SVCKIT_NATSJS_NAME"
	childStart = "SVCKIT_NATSJS_START"
)

// child runs a role and returns the exit code; it runs until killed.
func child(role string) int {
	var driver, dsn string
	fmt.Sscan(os.Getenv(childDB), &driver)
	dsn = os.Getenv(childDB)[len(driver)+1:]
	db, err := sql.Open(driver, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := dialect.Parse(driver)
	if driver == "pgx" {
		d, err = dialect.Postgres, nil
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	nc, js := connect(&testing.T{}, os.Getenv(childNATS))
	defer nc.Close()
	box := outbox.New(db, d, outbox.Options{})
	relay := outbox.NewRelay(box, natsjs.NewPublisher(js, natsjs.PublisherOptions{Prefix: os.Getenv(childPfx)}), fast)
	ctx := context.Background()
	if role == "relay" {
		_ = relay.Run(ctx)
		return 0
	}
	go relay.Run(ctx)
	name := os.Getenv(childName)
	i, _ := strconv.Atoi(os.Getenv(childStart))
	for ; ; i++ {
		id := fmt.Sprintf("%s-%06d", name, i)
		// Every seventh transaction rolls back after its event was written.
		err := emit(ctx, db, d, box, id, fmt.Sprint("k", i%5), i%7 == 0)
		if err != nil && err != errRolledBack && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// startChild starts the test binary in role with db and the broker.
func startChild(t *testing.T, role string, db *testdb.DB, b *broker, name string, start int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+role,
		childDB+"="+db.Driver+" "+db.DSN,
		childNATS+"="+b.url,
		childPfx+"="+b.prefix,
		childName+"="+name,
		childStart+"="+strconv.Itoa(start),
	)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { kill(cmd) })
	return cmd
}

// kill SIGKILLs a child by its PID and reaps it.
func kill(cmd *exec.Cmd) {
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}
