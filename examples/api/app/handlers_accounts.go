package app

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
)

// openAccountRequest is the body of POST /v1/accounts.
type openAccountRequest struct {
	Currency string `json:"currency" pattern:"^[A-Z]{3}$" example:"EUR" doc:"ISO 4217 code: three upper-case letters"`
}

// depositRequest is the body of POST /v1/accounts/{id}/deposits.
type depositRequest struct {
	Amount int64 `json:"amount" minimum:"1" maximum:"100000000" doc:"minor units"`
}

// accountID is the input of the routes of one account.
type accountID struct {
	ID string `path:"id" doc:"the account's id, a UUID (anything else is 404)"`
}

func (a *App) openAccount(ctx context.Context, in struct{ Body openAccountRequest }) (envelope.Result[Account], error) {
	acc, err := a.accounts.Open(ctx, callerFrom(ctx).ID, in.Body.Currency)
	if err != nil {
		return envelope.Result[Account]{}, err
	}
	return envelope.Created(acc), nil
}

// listAccounts serves the caller's own accounts in cursor pages (limit,
// cursor), newest first.
func (a *App) listAccounts(ctx context.Context, in cursorQuery) (envelope.Result[[]Account], error) {
	items, next, err := a.accounts.Page(ctx, callerFrom(ctx), in.Limit, in.Cursor)
	if err != nil {
		return envelope.Result[[]Account]{}, err
	}
	return envelope.CursorPage(items, next), nil
}

func (a *App) getAccount(ctx context.Context, in accountID) (Account, error) {
	return a.accounts.Get(ctx, callerFrom(ctx), in.ID)
}

func (a *App) deposit(ctx context.Context, in struct {
	ID   string `path:"id" doc:"the account's id"`
	Body depositRequest
}) (Account, error) {
	return a.accounts.Deposit(ctx, callerFrom(ctx), in.ID, in.Body.Amount)
}

// cursorQuery is the query of a cursor-paged list.
type cursorQuery struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"items on a page"`
	Cursor string `query:"cursor" doc:"the opaque cursor of the next page, from meta.cursor.next"`
}

func (a *App) listTransfers(ctx context.Context, in struct {
	ID string `path:"id" doc:"the account's id"`
	cursorQuery
}) (envelope.Result[[]Transfer], error) {
	items, next, err := a.accounts.TransferPage(ctx, callerFrom(ctx), in.ID, in.Limit, in.Cursor)
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	return envelope.CursorPage(items, next), nil
}

// transferInput is the input of POST /v1/transfers.
type transferInput struct {
	Key  string `header:"Idempotency-Key" minLength:"1" maxLength:"255" pattern:"^[ -~]+$" doc:"makes a retry safe: the same key and body replay the first answer; send it once"`
	Body TransferRequest
}

// transfer honours Idempotency-Key: a retry with the same key and body gets
// the first answer, success or refusal, marked Idempotent-Replayed: true,
// and moves no money.
func (a *App) transfer(ctx context.Context, in transferInput) (envelope.Result[json.RawMessage], error) {
	var none envelope.Result[json.RawMessage]
	if in.Key != "" {
		if err := (idempotency.Key{Value: in.Key}).Validate(); err != nil {
			return none, err
		}
	}
	res, err := a.accounts.Transfer(ctx, callerFrom(ctx), in.Key, in.Body)
	if err != nil {
		if res.Replayed {
			return none, replayedRefusal(err)
		}
		return none, err
	}
	out := envelope.Created(res.Data)
	if res.Replayed {
		out.Header = http.Header{"Idempotent-Replayed": {"true"}}
	}
	return out, nil
}

// replayedRefusal renders a refusal replayed for an Idempotency-Key as it
// was first answered, plus Idempotent-Replayed: true.
func replayedRefusal(err error) error {
	r, _ := errkind.Inspect(err)
	e := envelope.New(r.Status, r.Code, r.Message).Wrap(err)
	e.Details = r.Details
	e.Header = http.Header{"Idempotent-Replayed": {"true"}}
	return e
}
