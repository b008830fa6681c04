package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/svckit/svckit/ratelimit"
)

// Limit login attempts per email address, outside any HTTP middleware.
func ExampleLimiter() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	attempts := ratelimit.New(ratelimit.Limit{Rate: 5, Period: 15 * time.Minute, Burst: 3}, store)

	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		res, err := attempts.Allow(ctx, "login:ada@example.com")
		if err != nil {
			panic(err)
		}
		fmt.Printf("attempt %d: allowed=%v remaining=%d retry in %v\n", i, res.Allowed, res.Remaining, res.RetryAfter)
	}
	now = now.Add(3 * time.Minute)
	res, _ := attempts.Allow(ctx, "login:ada@example.com")
	fmt.Println("3 minutes later:", res.Allowed)
	// Output:
	// attempt 1: allowed=true remaining=2 retry in 0s
	// attempt 2: allowed=true remaining=1 retry in 0s
	// attempt 3: allowed=true remaining=0 retry in 0s
	// attempt 4: allowed=false remaining=0 retry in 3m0s
	// 3 minutes later: true
}
