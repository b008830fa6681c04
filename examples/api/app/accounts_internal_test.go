package app

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/repository"
)

// memoryLocking gives repository.Memory the row locks AccountService asks
// for: one mutex held for the whole atomic call stands in for them, so
// reading "for update" is a plain read.
type memoryLocking[T any] struct {
	*repository.Memory[T, string]
}

func (m memoryLocking[T]) FindByIDForUpdate(ctx context.Context, id string) (T, error) {
	return m.FindByID(ctx, id)
}

func (m memoryLocking[T]) LockByIDs(ctx context.Context, ids []string) ([]T, error) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	return m.FindByIDs(ctx, slices.Compact(sorted))
}

// memoryAccounts is an AccountService on repository.Memory and
// idempotency.Memory, writes serialised by one mutex.
func memoryAccounts(t *testing.T) *AccountService {
	t.Helper()
	var mu sync.Mutex
	atomic := func(ctx context.Context, fn func(ctx context.Context) error) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(ctx)
	}
	opts := repository.Options[string]{NewID: newUUID}
	return newAccountService(
		atomic,
		memoryLocking[Account]{repository.NewMemory[Account, string](repository.MemoryOptions[string]{Name: "accounts", Options: opts})},
		repository.NewMemory[Transfer, string](repository.MemoryOptions[string]{Name: "transfers", Options: opts}),
		repository.NewMemory[entry, string](repository.MemoryOptions[string]{Name: "transfer_entries", Options: opts}),
		idempotency.New(idempotency.NewMemory(idempotency.MemoryOptions{}), idempotency.Options{}),
		&LogBus{Logger: slog.New(slog.DiscardHandler)},
	)
}

func TestAccountServiceInMemory(t *testing.T) {
	s := memoryAccounts(t)
	ctx := context.Background()
	ada, bob := Caller{ID: "ada"}, Caller{ID: "bob"}
	admin := Caller{ID: "root", Admin: true}

	_, err := s.Open(ctx, ada.ID, "eur")
	assert.Equal(t, errkind.Validation, errkind.Of(err), "currency must be upper case")
	from, err := s.Open(ctx, ada.ID, "EUR")
	require.NoError(t, err, "open")
	to, err := s.Open(ctx, bob.ID, "EUR")
	require.NoError(t, err, "open")
	usd, err := s.Open(ctx, bob.ID, "USD")
	require.NoError(t, err, "open")
	adaUSD, err := s.Open(ctx, ada.ID, "USD")
	require.NoError(t, err, "open")
	adminEUR, err := s.Open(ctx, admin.ID, "EUR")
	require.NoError(t, err, "open")

	deposits := []struct {
		name   string
		caller Caller
		id     string
		amount int64
		want   errkind.Kind // Unknown: accepted
	}{
		{"owner", ada, from.ID, 100, errkind.Unknown},
		{"admin", admin, from.ID, 50, errkind.Unknown},
		{"someone else", bob, from.ID, 1, errkind.Forbidden},
		{"zero", ada, from.ID, 0, errkind.Validation},
		{"too much", ada, from.ID, MaxDeposit + 1, errkind.Validation},
		{"missing account", ada, "nope", 1, errkind.NotFound},
	}
	for _, tt := range deposits {
		t.Run("deposit/"+tt.name, func(t *testing.T) {
			_, err := s.Deposit(ctx, tt.caller, tt.id, tt.amount)
			if tt.want == errkind.Unknown {
				require.NoError(t, err, "accepted")
				return
			}
			assert.Equal(t, tt.want, errkind.Of(err), "refused: %v", err)
		})
	}

	transfers := []struct {
		name     string
		caller   Caller
		key      string
		in       TransferRequest
		status   int // 201, or the refusal's
		replayed bool
	}{
		{"moves money", ada, "k1", TransferRequest{from.ID, to.ID, 30}, 201, false},
		{"same key replays", ada, "k1", TransferRequest{from.ID, to.ID, 30}, 201, true},
		{"same key, other body", ada, "k1", TransferRequest{from.ID, to.ID, 31}, 409, false},
		{"not the owner", bob, "", TransferRequest{from.ID, to.ID, 1}, 403, false},
		{"currency mismatch, own accounts", ada, "", TransferRequest{from.ID, adaUSD.ID, 1}, 400, false},
		{"currency mismatch, someone else's account: as if absent", ada, "", TransferRequest{from.ID, usd.ID, 1}, 404, false},
		{"currency mismatch, admin may read the target", admin, "", TransferRequest{adminEUR.ID, usd.ID, 1}, 400, false},
		{"insufficient funds", ada, "k2", TransferRequest{from.ID, to.ID, 1000}, 422, false},
		{"refusal replayed", ada, "k2", TransferRequest{from.ID, to.ID, 1000}, 422, true},
		{"no such target", ada, "", TransferRequest{from.ID, "nope", 1}, 404, false},
	}
	for _, tt := range transfers {
		t.Run("transfer/"+tt.name, func(t *testing.T) {
			res, err := s.Transfer(ctx, tt.caller, tt.key, tt.in)
			assert.Equal(t, tt.replayed, res.Replayed, "replayed")
			if tt.status == 201 {
				require.NoError(t, err, "transfer")
				assert.True(t, strings.Contains(string(res.Data), `"amount":30`), "the transfer: %s", res.Data)
				return
			}
			r, ok := errkind.Inspect(err)
			require.True(t, ok, "a reported refusal: %v", err)
			assert.Equal(t, tt.status, r.Status, "status")
		})
	}
	got, err := s.Get(ctx, ada, from.ID)
	require.NoError(t, err, "get")
	assert.Equal(t, int64(120), got.Balance, "150 deposited, 30 moved once")
	got, err = s.Get(ctx, bob, to.ID)
	require.NoError(t, err, "get")
	assert.Equal(t, int64(30), got.Balance, "received once")

	page, _, err := s.TransferPage(ctx, bob, to.ID, 10, "")
	require.NoError(t, err, "transfer page")
	require.Len(t, page, 1, "one transfer into bob's account")
	byOwner, err := s.ByOwners(ctx, []User{{ID: ada.ID}, {ID: bob.ID}})
	require.NoError(t, err, "by owners")
	assert.Len(t, byOwner[bob.ID], 2, "bob's two accounts")
}
