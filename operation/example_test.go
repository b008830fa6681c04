package operation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/operation"
)

// fixedClock makes meta.timestamp predictable in the examples.
func fixedClock() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// call sends one request to h and prints the status and body.
func call(h http.Handler, method, target, body string) {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(envelope.WithClock(req.Context(), fixedClock))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())
}

// Account is the data of the deposit operation.
type Account struct {
	ID      string `json:"id"`
	Balance int64  `json:"balance"`
}

// depositInput is the input of the deposit operation: a path parameter
// and a JSON body, each with its rules.
type depositInput struct {
	ID   string `path:"id" minLength:"1"`
	Body struct {
		Amount int64  `json:"amount" minimum:"1" maximum:"100000000"`
		Memo   string `json:"memo,omitempty" maxLength:"20"`
	}
}

// Declare an operation once: the handler reads and checks its input, and
// the same declaration is in the document. A request that breaks the
// schema never reaches the function, and hears of every rule it broke.
func Example() {
	api := operation.New(operation.Options{Title: "Accounts", Version: "1.0.0"})
	deposit := operation.Operation{
		Method: "POST", Path: "/v1/accounts/{id}/deposits", ID: "deposit",
		Summary: "Deposit into an account", Errors: []errkind.Kind{errkind.NotFound},
	}
	mux := http.NewServeMux()
	mux.Handle(deposit.Pattern(), operation.Handle(api, deposit,
		func(ctx context.Context, in depositInput) (Account, error) {
			return Account{ID: in.ID, Balance: in.Body.Amount}, nil
		}))
	mux.Handle("GET /openapi.json", api.Handler())

	call(mux, "POST", "/v1/accounts/a1/deposits", `{"amount":500}`)
	call(mux, "POST", "/v1/accounts/a1/deposits", `{"amount":0,"memo":"a memo far too long to keep"}`)
	call(mux, "POST", "/v1/accounts/a1/deposits", `{"amount":"500"}`)
	// Output:
	// 200 {"data":{"id":"a1","balance":500},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 400 {"error":{"code":"VALIDATION_ERROR","message":"request validation failed","details":{"amount":"must be at least 1","memo":"must be at most 20 characters"},"violations":[{"location":"/body/amount","reason":"minimum","message":"must be at least 1"},{"location":"/body/memo","reason":"maxLength","message":"must be at most 20 characters"}]},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
	// 400 {"error":{"code":"BAD_REQUEST","message":"request body has a value of the wrong type","details":{"expected":"number","field":"amount"},"violations":[{"location":"/body/amount","reason":"type","message":"must be an integer"}]},"meta":{"timestamp":"2026-01-02T03:04:05Z"}}
}

// The document describes each operation as the handler answers: its
// parameters, its body, the envelope around its data and a response for
// each error it may send.
func ExampleAPI_Document() {
	api := operation.New(operation.Options{Title: "Accounts", Version: "1.0.0"})
	deposit := operation.Operation{
		Method: "POST", Path: "/v1/accounts/{id}/deposits", ID: "deposit",
		Bearer: true, Errors: []errkind.Kind{errkind.NotFound},
	}
	operation.Handle(api, deposit, func(ctx context.Context, in depositInput) (Account, error) {
		return Account{}, nil
	})

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Parameters  []map[string]any           `json:"parameters"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.Document(), &doc); err != nil {
		panic(err)
	}
	op := doc.Paths["/v1/accounts/{id}/deposits"]["post"]
	fmt.Println(doc.OpenAPI, op.OperationID, op.Parameters[0]["in"], op.Parameters[0]["name"])
	var statuses []string
	for _, status := range []string{"200", "400", "401", "404", "413", "415", "500"} {
		if _, ok := op.Responses[status]; ok {
			statuses = append(statuses, status)
		}
	}
	fmt.Println(strings.Join(statuses, " "))
	var account bytes.Buffer
	_ = json.Compact(&account, doc.Components.Schemas["Account"])
	fmt.Println(account.String())
	// Output:
	// 3.1.0 deposit path id
	// 200 400 401 404 413 415 500
	// {"type":"object","properties":{"id":{"type":"string"},"balance":{"type":"integer","format":"int64"}},"required":["id","balance"],"additionalProperties":false}
}
