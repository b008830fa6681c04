package app

import (
	"encoding/json"
	"net/http"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/idempotency"
)

// openAccountRequest is the body of POST /v1/accounts.
type openAccountRequest struct {
	Currency string `json:"currency"`
}

// depositRequest is the body of POST /v1/accounts/{id}/deposits.
type depositRequest struct {
	Amount int64 `json:"amount"`
}

func (a *App) openAccount(r *http.Request) (envelope.Result[Account], error) {
	in, err := envelope.Decode[openAccountRequest](r)
	if err != nil {
		return envelope.Result[Account]{}, err
	}
	acc, err := a.accounts.Open(r.Context(), callerFrom(r.Context()).ID, in.Currency)
	if err != nil {
		return envelope.Result[Account]{}, err
	}
	return envelope.Created(acc), nil
}

// listAccounts serves the caller's own accounts in cursor pages (limit,
// cursor), newest first.
func (a *App) listAccounts(r *http.Request) (envelope.Result[[]Account], error) {
	q, err := envelope.Query(r)
	if err != nil {
		return envelope.Result[[]Account]{}, err
	}
	limit, err := limitQuery(q)
	if err != nil {
		return envelope.Result[[]Account]{}, err
	}
	items, next, err := a.accounts.Page(r.Context(), callerFrom(r.Context()), limit, q.Get("cursor"))
	if err != nil {
		return envelope.Result[[]Account]{}, err
	}
	return envelope.CursorPage(items, next), nil
}

func (a *App) getAccount(r *http.Request) (Account, error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return Account{}, err
	}
	return a.accounts.Get(r.Context(), callerFrom(r.Context()), id)
}

func (a *App) deposit(r *http.Request) (Account, error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return Account{}, err
	}
	in, err := envelope.Decode[depositRequest](r)
	if err != nil {
		return Account{}, err
	}
	return a.accounts.Deposit(r.Context(), callerFrom(r.Context()), id, in.Amount)
}

func (a *App) listTransfers(r *http.Request) (envelope.Result[[]Transfer], error) {
	id, err := envelope.PathValue(r, "id")
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	q, err := envelope.Query(r)
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	limit, err := limitQuery(q)
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	items, next, err := a.accounts.TransferPage(r.Context(), callerFrom(r.Context()), id, limit, q.Get("cursor"))
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	return envelope.CursorPage(items, next), nil
}

// transfer honours Idempotency-Key: a retry with the same key and body gets
// the first answer, success or refusal, marked Idempotent-Replayed: true,
// and moves no money.
func (a *App) transfer(r *http.Request) (envelope.Result[json.RawMessage], error) {
	var none envelope.Result[json.RawMessage]
	keys := r.Header.Values("Idempotency-Key")
	key := ""
	if len(keys) > 1 {
		return none, envelope.BadRequest("send one Idempotency-Key").WithDetail("header", "Idempotency-Key")
	}
	if len(keys) == 1 {
		key = keys[0]
		if err := (idempotency.Key{Value: key}).Validate(); err != nil {
			return none, err
		}
	}
	in, err := envelope.Decode[TransferRequest](r)
	if err != nil {
		return none, err
	}
	res, err := a.accounts.Transfer(r.Context(), callerFrom(r.Context()), key, in)
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
