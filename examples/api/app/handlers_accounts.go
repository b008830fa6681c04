package app

import (
	"encoding/json"
	"net/http"

	"github.com/svckit/svckit/envelope"
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

func (a *App) getAccount(r *http.Request) (Account, error) {
	return a.accounts.Get(r.Context(), callerFrom(r.Context()), r.PathValue("id"))
}

func (a *App) deposit(r *http.Request) (Account, error) {
	in, err := envelope.Decode[depositRequest](r)
	if err != nil {
		return Account{}, err
	}
	return a.accounts.Deposit(r.Context(), callerFrom(r.Context()), r.PathValue("id"), in.Amount)
}

func (a *App) listTransfers(r *http.Request) (envelope.Result[[]Transfer], error) {
	q := r.URL.Query()
	limit, err := limitQuery(q)
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	items, next, err := a.accounts.TransferPage(r.Context(), callerFrom(r.Context()), r.PathValue("id"), limit, q.Get("cursor"))
	if err != nil {
		return envelope.Result[[]Transfer]{}, err
	}
	return envelope.CursorPage(items, next), nil
}

// transfer honours Idempotency-Key: a retry with the same key and body gets
// the first answer (marked Idempotent-Replayed: true) and moves no money.
func (a *App) transfer(r *http.Request) (envelope.Result[json.RawMessage], error) {
	var none envelope.Result[json.RawMessage]
	keys := r.Header.Values("Idempotency-Key")
	key := ""
	if len(keys) > 0 {
		key = keys[0]
		if len(keys) > 1 || !validIdempotencyKey(key) {
			return none, envelope.BadRequest("Idempotency-Key must be 1 to 255 printable characters").WithDetail("header", "Idempotency-Key")
		}
	}
	in, err := envelope.Decode[TransferRequest](r)
	if err != nil {
		return none, err
	}
	res, err := a.accounts.Transfer(r.Context(), callerFrom(r.Context()), key, in)
	if err != nil {
		return none, err
	}
	out := envelope.Created(res.Data)
	if res.Replayed {
		out.Header = http.Header{"Idempotent-Replayed": {"true"}}
	}
	return out, nil
}

// validIdempotencyKey reports whether key is 1 to MaxIdempotencyKey
// printable ASCII characters.
func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKey {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}
