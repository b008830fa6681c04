package errkind_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/svckit/svckit/errkind"
)

// NotFoundError is a producer's own error type; it joins the contract by
// reporting its kind.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string                { return "store: no user " + e.ID }
func (e *NotFoundError) ErrorKind() errkind.Kind      { return errkind.NotFound }
func (e *NotFoundError) PublicMessage() string        { return "user not found" }
func (e *NotFoundError) ErrorDetails() map[string]any { return map[string]any{"id": e.ID} }

// The compile-time assertion a producer writes.
var _ errkind.Kinder = (*NotFoundError)(nil)

func Example() {
	err := fmt.Errorf("get user: %w", &NotFoundError{ID: "42"})
	r, _ := errkind.Inspect(err)
	fmt.Println(errkind.Of(err), r.Status, r.Message, r.Details)
	// Output: NOT_FOUND 404 user not found map[id:42]
}

func ExampleNew() {
	err := &errkind.Error{Kind: errkind.Unavailable, Retry: 2 * time.Second, Err: errors.New("dial tcp: connection refused")}
	r, _ := errkind.Inspect(fmt.Errorf("load: %w", err))
	fmt.Println(r.Code, r.Status, r.Message, r.RetryAfter)
	// Output: UNAVAILABLE 503 service unavailable 2s
}

func ExampleOf() {
	fmt.Println(errkind.Of(errors.New("boom")))
	fmt.Println(errkind.Of(errkind.New(errkind.Conflict, "email taken")))
	// Output:
	// INTERNAL_ERROR
	// CONFLICT
}
