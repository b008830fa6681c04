package dedupe_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/svckit/svckit/dedupe"
)

// ExampleGroup_Do shows concurrent callers of one key sharing one call.
func ExampleGroup_Do() {
	var g dedupe.Group[string, string]
	release := make(chan struct{})
	started := make(chan struct{})
	calls := 0
	fetch := func(ctx context.Context) (string, error) {
		calls++
		close(started)
		<-release
		return "profile of user 1", nil
	}

	var wg sync.WaitGroup
	results := make([]string, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], _, _ = g.Do(context.Background(), "user:1", fetch)
	}()
	<-started
	for i := 1; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Joins the call in flight, or runs again if it has ended.
			results[i], _, _ = g.Do(context.Background(), "user:1", func(context.Context) (string, error) {
				return "profile of user 1", nil
			})
		}()
	}
	close(release)
	wg.Wait()
	fmt.Println(results[0], "|", calls)
	// Output: profile of user 1 | 1
}

// ExampleGroup_DoChan waits for a result or gives up with the context.
func ExampleGroup_DoChan() {
	var g dedupe.Group[int, int]
	ch := g.DoChan(context.Background(), 7, func(ctx context.Context) (int, error) { return 7 * 6, nil })
	r := <-ch
	fmt.Println(r.Val, r.Err, r.Shared)
	// Output: 42 <nil> false
}
