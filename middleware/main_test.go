package middleware_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: none of the
// middleware starts one (Timeout runs the handler on the request goroutine).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
