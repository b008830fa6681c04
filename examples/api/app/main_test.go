package app_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the app leaves no goroutine behind once every server
// is closed: the in-memory cache's clean-up, Redis clients and database
// pools all end with Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
