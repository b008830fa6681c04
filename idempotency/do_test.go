package idempotency_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/idempotency"
)

// work counts its runs and answers 201 with the run number, or refuses
// with refuse.
type work struct {
	runs   atomic.Int64
	refuse error
}

func (w *work) fn(ctx context.Context) (idempotency.Outcome, error) {
	n := w.runs.Add(1)
	if w.refuse != nil {
		return idempotency.Refuse(w.refuse)
	}
	return idempotency.JSON(http.StatusCreated, map[string]int64{"run": n})
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	k := idempotency.Key{Scope: "user-1", Value: "key-1"}
	eachStore(t, func(t *testing.T, open newStore) {
		t.Run("first request runs, a retry replays", func(t *testing.T) {
			s, _ := open(t)
			var w work
			first, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.NoError(t, err, "first request")
			assert.False(t, replayed, "the first request is not a replay")
			assert.Equal(t, http.StatusCreated, first.Status, "fn's status")
			assert.JSONEq(t, `{"run":1}`, string(first.Data), "fn's data")

			again, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.NoError(t, err, "retry")
			assert.True(t, replayed, "the retry is a replay")
			sameOutcome(t, first, again, "the retry")
			assert.Equal(t, int64(1), w.runs.Load(), "fn ran once")

			other, replayed, err := idempotency.Do(ctx, s, idempotency.Key{Scope: "user-2", Value: k.Value}, "fp", w.fn)
			require.NoError(t, err, "another scope")
			assert.False(t, replayed, "another scope's key is another key")
			assert.JSONEq(t, `{"run":2}`, string(other.Data), "fn ran for the other scope")
		})

		t.Run("another fingerprint is a conflict", func(t *testing.T) {
			s, _ := open(t)
			var w work
			_, _, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.NoError(t, err, "first request")
			_, replayed, err := idempotency.Do(ctx, s, k, "other", w.fn)
			require.ErrorIs(t, err, idempotency.ErrKeyMismatch, "same key, other request")
			assert.False(t, replayed, "a conflict is not a replay")
			assert.Equal(t, rendered{409, "CONFLICT", "Idempotency-Key reused with a different request"}, render(t, err), "renders 409 CONFLICT")
			assert.Equal(t, int64(1), w.runs.Load(), "fn did not run again")
		})

		t.Run("a refusal is kept and replayed", func(t *testing.T) {
			s, _ := open(t)
			w := work{refuse: errInsufficientFunds}
			o, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.ErrorIs(t, err, errInsufficientFunds, "the first answer is the error fn refused with")
			assert.False(t, replayed, "first request")
			assert.Equal(t, http.StatusUnprocessableEntity, o.Status, "the outcome comes with the error")

			w.refuse = nil // the client tops up: a retry must still be refused
			o, replayed, err = idempotency.Do(ctx, s, k, "fp", w.fn)
			require.Error(t, err, "the refusal is replayed")
			assert.True(t, replayed, "replayed")
			assert.Equal(t, render(t, errInsufficientFunds), render(t, err), "the replay renders as the first answer")
			var d interface{ ErrorDetails() map[string]any }
			require.ErrorAs(t, err, &d, "the replay has details")
			assert.Equal(t, map[string]any{"missing": json.Number("12345678901234567")}, d.ErrorDetails(), "details, numbers exact")
			assert.Equal(t, http.StatusUnprocessableEntity, o.Status, "replayed outcome")
			assert.Equal(t, int64(1), w.runs.Load(), "fn did not run again")
		})

		t.Run("an error is not kept", func(t *testing.T) {
			s, _ := open(t)
			for i, fail := range []error{errBoom, &apiError{status: 503, code: "UNAVAILABLE"}, context.Canceled} {
				_, _, err := idempotency.Do(ctx, s, k, "fp", func(context.Context) (idempotency.Outcome, error) {
					return idempotency.Refuse(fail)
				})
				require.ErrorIs(t, err, fail, "error %d comes back", i)
				_, err = s.Load(ctx, k)
				require.ErrorIs(t, err, idempotency.ErrNotFound, "error %d: the claim rolled back", i)
			}
			var w work
			_, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.NoError(t, err, "the retry after errors")
			assert.False(t, replayed, "runs fn")
		})

		t.Run("a panic is not kept", func(t *testing.T) {
			s, _ := open(t)
			require.PanicsWithValue(t, "boom", func() {
				_, _, _ = idempotency.Do(ctx, s, k, "fp", func(context.Context) (idempotency.Outcome, error) { panic("boom") })
			}, "the panic goes on")
			_, err := s.Load(ctx, k)
			require.ErrorIs(t, err, idempotency.ErrNotFound, "the claim rolled back")
		})

		t.Run("no key", func(t *testing.T) {
			s, _ := open(t)
			var w work
			for i := range 2 {
				o, replayed, err := idempotency.Do(ctx, s, idempotency.Key{Scope: "user-1"}, "fp", w.fn)
				require.NoError(t, err, "request %d", i)
				assert.False(t, replayed, "without a key nothing is replayed")
				assert.Equal(t, http.StatusCreated, o.Status, "request %d", i)
			}
			assert.Equal(t, int64(2), w.runs.Load(), "without a key fn runs every time")
			w.refuse = errInsufficientFunds
			_, _, err := idempotency.Do(ctx, s, idempotency.Key{}, "", w.fn)
			require.ErrorIs(t, err, errInsufficientFunds, "a refusal without a key")
			_, _, err = idempotency.Do(ctx, s, idempotency.Key{}, "", func(context.Context) (idempotency.Outcome, error) {
				return idempotency.Outcome{}, nil
			})
			require.Error(t, err, "an invalid outcome is refused without a key too")
		})

		t.Run("invalid input", func(t *testing.T) {
			s, _ := open(t)
			var w work
			for _, tc := range []struct {
				name string
				key  idempotency.Key
				fp   string
				want error
			}{
				{"key too long", idempotency.Key{Value: strings.Repeat("k", 256)}, "fp", idempotency.ErrInvalidKey},
				{"key with a newline", idempotency.Key{Value: "a\nb"}, "fp", idempotency.ErrInvalidKey},
				{"scope too long", idempotency.Key{Scope: strings.Repeat("s", 256), Value: "k"}, "fp", nil},
				{"fingerprint with NUL", idempotency.Key{Value: "k"}, "a\x00b", nil},
			} {
				_, _, err := idempotency.Do(ctx, s, tc.key, tc.fp, w.fn)
				require.Error(t, err, tc.name)
				if tc.want != nil {
					require.ErrorIs(t, err, tc.want, tc.name)
				}
			}
			assert.Zero(t, w.runs.Load(), "fn never ran on invalid input")
		})

		t.Run("in progress", func(t *testing.T) {
			s, _ := open(t)
			require.NoError(t, s.Claim(ctx, k, "fp"), "a worker claims outside a unit of work")
			var w work
			_, _, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.ErrorIs(t, err, idempotency.ErrInProgress, "the key's request has not finished")
			assert.Equal(t, 409, render(t, err).Status, "renders 409")
			_, _, err = idempotency.Do(ctx, s, k, "other", w.fn)
			require.ErrorIs(t, err, idempotency.ErrKeyMismatch, "a mismatch wins over in progress")
			require.NoError(t, s.Finish(ctx, k, idempotency.Outcome{Status: http.StatusAccepted}), "the worker finishes")
			o, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
			require.NoError(t, err, "after the worker finished")
			assert.True(t, replayed, "replayed")
			assert.Equal(t, http.StatusAccepted, o.Status, "the worker's outcome")
			assert.Zero(t, w.runs.Load(), "fn never ran")
		})

		t.Run("racing requests run fn once", func(t *testing.T) {
			s, _ := open(t)
			const racers = 50
			var w work
			type result struct {
				o        idempotency.Outcome
				replayed bool
				err      error
			}
			results := make([]result, racers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					o, replayed, err := idempotency.Do(ctx, s, k, "fp", w.fn)
					results[i] = result{o, replayed, err}
				})
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int64(1), w.runs.Load(), "fn ran exactly once")
			fresh := 0
			for i, r := range results {
				require.NoError(t, r.err, "racer %d", i)
				assert.JSONEq(t, `{"run":1}`, string(r.o.Data), "racer %d gets the one outcome", i)
				if !r.replayed {
					fresh++
				}
			}
			assert.Equal(t, 1, fresh, "exactly one racer is not a replay")
		})
	})
}

// TestErrorsRenderThroughEnvelope shows the package's client errors and a
// replayed refusal rendered by svckit's envelope, which this package does
// not import.
func TestErrorsRenderThroughEnvelope(t *testing.T) {
	m := idempotency.NewMemory(idempotency.MemoryOptions{})
	ctx := context.Background()
	k := idempotency.Key{Value: "k"}
	_, _, err := idempotency.Do(ctx, m, k, "fp", (&work{refuse: errInsufficientFunds}).fn)
	require.ErrorIs(t, err, errInsufficientFunds, "first answer")
	_, _, replayed := idempotency.Do(ctx, m, k, "fp", (&work{}).fn)

	for _, tc := range []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"mismatch", idempotency.ErrKeyMismatch, 409, `{"code":"CONFLICT","message":"Idempotency-Key reused with a different request"}`},
		{"in progress", idempotency.ErrInProgress, 409, `{"code":"CONFLICT","message":"a request with this Idempotency-Key is still in progress"}`},
		{"invalid key", idempotency.ErrInvalidKey, 400, `{"code":"BAD_REQUEST","message":"Idempotency-Key must be 1 to 255 printable ASCII characters"}`},
		{"replayed refusal", replayed, 422, `{"code":"INSUFFICIENT_FUNDS","message":"insufficient funds","details":{"missing":12345678901234567}}`},
		{"taken is not a client error", idempotency.ErrTaken, 500, `{"code":"INTERNAL_ERROR","message":"internal server error"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/transfers", nil)
			_ = envelope.WriteError(rec, r.WithContext(envelope.WithRequestID(r.Context(), "req-1")), tc.err)
			assert.Equal(t, tc.status, rec.Code, "status")
			var body struct {
				Error json.RawMessage `json:"error"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "envelope body %s", rec.Body)
			if tc.status == 500 {
				var e struct{ Code string }
				require.NoError(t, json.Unmarshal(body.Error, &e), "error object")
				assert.Equal(t, "INTERNAL_ERROR", e.Code, "code")
				return
			}
			assert.JSONEq(t, tc.body, string(body.Error), "error object")
		})
	}
	assert.False(t, errors.Is(replayed, errInsufficientFunds), "a replayed refusal is rebuilt, not the first error")
}
