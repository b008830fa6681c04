package outbox_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsCompileNoBrokerClient pins what importing outbox compiles: no
// NATS client and no database driver (those are natsjs's and the
// application's).
func TestImportsCompileNoBrokerClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/svckit/svckit/outbox").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		assert.False(t, strings.HasPrefix(dep, "github.com/nats-io/"), "outbox compiles %s", dep)
		assert.False(t, strings.HasPrefix(dep, "github.com/jackc/") || strings.HasPrefix(dep, "modernc.org/") || strings.HasPrefix(dep, "github.com/go-sql-driver/"),
			"outbox compiles the driver %s", dep)
	}
}
