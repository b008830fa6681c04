package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/idempotency"
	idemsql "github.com/svckit/svckit/idempotency/sqlstore"
	"github.com/svckit/svckit/repository"
)

// newIdempotencyStore returns where transfers keep the outcome of requests
// made with an Idempotency-Key, per user: svckit's idempotency table
// (idemsql.DefaultTable) on the service's database, created by Migrate.
func newIdempotencyStore(db *sql.DB, d dialect.Dialect) *idemsql.Store {
	return idemsql.New(db, d, idemsql.Options{})
}

// TransferRequest is the body of POST /v1/transfers.
type TransferRequest struct {
	FromAccountID string `json:"fromAccountId"`
	ToAccountID   string `json:"toAccountId"`
	Amount        int64  `json:"amount"`
}

// Validate checks what can be checked without the database.
func (r TransferRequest) Validate() error {
	var v envelope.FieldErrors
	required(&v, "fromAccountId", r.FromAccountID)
	required(&v, "toAccountId", r.ToAccountID)
	if r.FromAccountID != "" && r.FromAccountID == r.ToAccountID {
		v.Add("toAccountId", "must differ from fromAccountId")
	}
	if r.Amount <= 0 {
		v.Add("amount", "must be positive")
	}
	return v.Err()
}

// fingerprint identifies the request for Idempotency-Key checks: the same
// key with another fingerprint is a conflict.
func (r TransferRequest) fingerprint() string {
	return idempotency.Fingerprint(r.FromAccountID, r.ToAccountID, strconv.FormatInt(r.Amount, 10))
}

// TransferResult is the outcome of a transfer: its JSON exactly as first
// answered, so that a retry with the same Idempotency-Key gets the same
// bytes, and whether this call replayed it (also when Transfer returns a
// replayed refusal as its error).
type TransferResult struct {
	Data     json.RawMessage
	Replayed bool
}

// Transfer moves in.Amount from the caller's account to another account of
// the same currency, at most once per idempotency key (key "" means no key).
//
// Both rows are locked in primary key order, so concurrent transfers never
// deadlock on each other, never lose an update and never take a balance
// below zero. With a key, idempotency.Do claims it first in the same
// transaction: a racing retry waits for the first to commit, then replays
// its answer; answers that are the client's fault (403, 404, 422) are
// recorded too, so a retry cannot turn a refusal into a transfer.
func (s *AccountService) Transfer(ctx context.Context, c Caller, key string, in TransferRequest) (TransferResult, error) {
	if err := in.Validate(); err != nil {
		return TransferResult{}, err
	}
	k := idempotency.Key{Scope: c.ID, Value: key}
	out, replayed, err := s.idem.Do(ctx, k, in.fingerprint(), func(ctx context.Context) (idempotency.Outcome, error) {
		t, err := s.move(ctx, c, in)
		if err != nil {
			return idempotency.Refuse(err) // the client's fault is kept; anything else rolls back
		}
		return idempotency.JSON(http.StatusCreated, t)
	})
	if err != nil {
		return TransferResult{Replayed: replayed}, err
	}
	return TransferResult{Data: out.Data, Replayed: replayed}, nil
}

// move does the transfer inside the caller's transaction. Every refusal is
// decided before the first write, and none tells the caller anything about
// a target account it may not read beyond what a successful transfer
// would: such an account in another currency is "account not found".
func (s *AccountService) move(ctx context.Context, c Caller, in TransferRequest) (Transfer, error) {
	var ids []string // an id that cannot be one names no row: not looked up
	for _, id := range []string{in.FromAccountID, in.ToAccountID} {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	locked, err := s.accounts.LockByIDs(ctx, ids)
	if err != nil {
		return Transfer{}, err
	}
	var from, to *Account
	for i := range locked {
		switch locked[i].ID {
		case in.FromAccountID:
			from = &locked[i]
		case in.ToAccountID:
			to = &locked[i]
		}
	}
	switch {
	case from == nil:
		return Transfer{}, accountNotFound(in.FromAccountID)
	case from.OwnerID != c.ID:
		return Transfer{}, ErrForbidden
	case to == nil:
		return Transfer{}, accountNotFound(in.ToAccountID)
	case from.Currency != to.Currency && !c.mayRead(*to):
		// Naming the currency of an account the caller may not read would
		// tell anyone that it exists and what it holds: answer as for an
		// account that does not exist.
		return Transfer{}, accountNotFound(in.ToAccountID)
	case from.Currency != to.Currency:
		return Transfer{}, fieldError("toAccountId", fmt.Sprintf("currency %s differs from the source's %s", to.Currency, from.Currency))
	case from.Balance < in.Amount:
		return Transfer{}, ErrInsufficientFunds
	}
	if _, err := s.accounts.Update(ctx, from.ID, repository.Set{"balance": from.Balance - in.Amount}); err != nil {
		return Transfer{}, err
	}
	if _, err := s.accounts.Update(ctx, to.ID, repository.Set{"balance": to.Balance + in.Amount}); err != nil {
		return Transfer{}, err
	}
	t := Transfer{FromAccountID: from.ID, ToAccountID: to.ID, Amount: in.Amount}
	if err := s.transfers.Create(ctx, &t); err != nil {
		return Transfer{}, err
	}
	for _, e := range []entry{
		{AccountID: from.ID, TransferID: t.ID, Amount: -in.Amount, CreatedAt: t.CreatedAt},
		{AccountID: to.ID, TransferID: t.ID, Amount: in.Amount, CreatedAt: t.CreatedAt},
	} {
		if err := s.entries.Create(ctx, &e); err != nil {
			return Transfer{}, err
		}
	}
	if err := s.events.Emit(ctx, Event{Name: EventTransferCompleted, Key: t.FromAccountID, Payload: map[string]any{
		"transferId": t.ID, "fromAccountId": t.FromAccountID, "toAccountId": t.ToAccountID, "amount": t.Amount,
	}}); err != nil {
		return Transfer{}, err
	}
	return t, nil
}
