package ratelimit

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the stores leave no goroutine behind: a store's clock
// goroutine ends with Close, and by itself once decisions stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
