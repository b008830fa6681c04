package ratelimit

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the stores start no goroutine.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
