package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
	"github.com/svckit/svckit/repository"
)

// Caller is who makes a request, from the verified token.
type Caller struct {
	ID    string
	Admin bool
}

// callerFrom returns the caller of an authenticated request.
func callerFrom(ctx context.Context) Caller {
	c, _ := auth.ClaimsFrom(ctx)
	if c == nil {
		return Caller{}
	}
	return Caller{ID: c.Subject, Admin: c.HasRole(RoleAdmin)}
}

// mayRead reports whether the caller may read or fund acc.
func (c Caller) mayRead(acc Account) bool { return c.Admin || c.ID == acc.OwnerID }

// entry is one side of a transfer: the account it touched and the signed
// amount. An account's transfers are listed through its entries.
type entry struct {
	ID         string    `db:"id,pk"`
	AccountID  string    `db:"account_id"`
	TransferID string    `db:"transfer_id"`
	Amount     int64     `db:"amount"`
	CreatedAt  time.Time `db:"created_at,created"`
}

// lockingRepository is what AccountService needs of the accounts table:
// the repository contract, LoadMany's loader and row locks, which
// repository.SQL has.
type lockingRepository[T any] interface {
	repository.Repository[T, string]
	repository.Loader[T] // for repository.LoadMany
	// FindByIDForUpdate reads and locks the row until the transaction ends.
	FindByIDForUpdate(ctx context.Context, id string) (T, error)
	// LockByIDs reads and locks rows in primary key order.
	LockByIDs(ctx context.Context, ids []string) ([]T, error)
}

var _ lockingRepository[Account] = (*repository.SQL[Account, string])(nil)

// AccountService opens accounts, takes deposits and moves money. It depends
// on the repository contract (and row locks for the accounts) and on an
// idempotency.Runner over any store, so it runs on SQL in the service and in memory in its
// unit tests. Build it with newAccountService; the zero value is not
// usable. It is safe for concurrent use and holds nothing to close.
type AccountService struct {
	atomic    atomicFunc
	accounts  lockingRepository[Account]
	transfers repository.Repository[Transfer, string]
	entries   repository.Repository[entry, string]
	idem      *idempotency.Runner
	events    EventBus
}

func newAccountService(atomic atomicFunc, accounts lockingRepository[Account], transfers repository.Repository[Transfer, string],
	entries repository.Repository[entry, string], idem *idempotency.Runner, events EventBus) *AccountService {
	return &AccountService{atomic: atomic, accounts: accounts, transfers: transfers, entries: entries, idem: idem, events: events}
}

// Open creates an empty account of currency for owner.
func (s *AccountService) Open(ctx context.Context, owner, currency string) (Account, error) {
	if !validCurrency(currency) {
		return Account{}, fieldError("currency", "must be three upper-case letters (ISO 4217)")
	}
	acc := Account{OwnerID: owner, Currency: currency}
	if err := s.accounts.Create(ctx, &acc); err != nil {
		return Account{}, err
	}
	return acc, nil
}

// Get returns the account with id if the caller owns it or is an admin.
func (s *AccountService) Get(ctx context.Context, c Caller, id string) (Account, error) {
	if !validID(id) {
		return Account{}, accountNotFound(id)
	}
	acc, err := s.accounts.FindByID(ctx, id)
	if errors.Is(err, repository.ErrNotFound) {
		return Account{}, accountNotFound(id)
	}
	if err != nil {
		return Account{}, err
	}
	if !c.mayRead(acc) {
		return Account{}, ErrForbidden
	}
	return acc, nil
}

// Deposit adds amount (1 to MaxDeposit minor units) to the account.
func (s *AccountService) Deposit(ctx context.Context, c Caller, id string, amount int64) (Account, error) {
	if amount <= 0 || amount > MaxDeposit {
		return Account{}, fieldError("amount", fmt.Sprintf("must be 1 to %d", MaxDeposit))
	}
	if !validID(id) {
		return Account{}, accountNotFound(id)
	}
	var out Account
	err := s.atomic(ctx, func(ctx context.Context) error {
		acc, err := s.accounts.FindByIDForUpdate(ctx, id)
		if errors.Is(err, repository.ErrNotFound) {
			return accountNotFound(id)
		}
		if err != nil {
			return err
		}
		if !c.mayRead(acc) {
			return ErrForbidden
		}
		if acc.Balance > math.MaxInt64-amount {
			return errkind.New(errkind.BadRequest, "balance would overflow")
		}
		out, err = s.accounts.Update(ctx, id, repository.Set{"balance": acc.Balance + amount})
		return err
	})
	return out, err
}

// Page returns one cursor page of the caller's own accounts, newest
// first; an admin too sees only their own here.
func (s *AccountService) Page(ctx context.Context, c Caller, limit int, cursor string) ([]Account, string, error) {
	page, err := s.accounts.FindPage(ctx, repository.PageOptions{
		Filter:   repository.Filter{"owner_id": c.ID},
		OrderBy:  "created_at",
		OrderDir: repository.Desc,
		Limit:    limit,
		Cursor:   cursor,
	})
	if err != nil {
		return nil, "", err
	}
	return page.Items, page.NextCursor, nil
}

// ByOwners returns the accounts of the users, grouped by owner id, with one
// query in all.
func (s *AccountService) ByOwners(ctx context.Context, users []User) (map[string][]Account, error) {
	return repository.LoadMany(ctx, s.accounts, "owner_id", users, func(u User) string { return u.ID })
}

// TransferPage returns one cursor page of the transfers into and out of the
// account, newest first.
func (s *AccountService) TransferPage(ctx context.Context, c Caller, id string, limit int, cursor string) ([]Transfer, string, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, "", err
	}
	page, err := s.entries.FindPage(ctx, repository.PageOptions{
		Filter:   repository.Filter{"account_id": id},
		OrderBy:  "created_at",
		OrderDir: repository.Desc,
		Limit:    limit,
		Cursor:   cursor,
	})
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(page.Items))
	for i, e := range page.Items {
		ids[i] = e.TransferID
	}
	items, err := s.transfers.FindByIDs(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	return items, page.NextCursor, nil
}
