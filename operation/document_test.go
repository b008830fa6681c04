package operation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svckit/svckit/envelope"
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/operation"
)

type account struct {
	ID      string `json:"id"`
	Balance int64  `json:"balance"`
}

type publicAccount struct {
	ID string `json:"id"`
}

type ack struct {
	Status string `json:"status" enum:"accepted"`
}

// sampleAPI registers operations that use every part of the declaration.
func sampleAPI() *operation.API {
	api := operation.New(operation.Options{
		Title: "Bank", Version: "2.1.0", Description: "Accounts and transfers.",
		Servers: []operation.Server{{URL: "https://api.example.com", Description: "production"}},
		Headers: []operation.Header{{Name: "X-Request-Id", Description: "the request id"}},
		Errors:  []errkind.Kind{errkind.RateLimited},
	})
	operation.Handle(api, operation.Operation{
		Method: "GET", Path: "/accounts/{id}", ID: "getAccount", Summary: "Read an account", Tags: []string{"accounts"},
		Bearer: true, Errors: []errkind.Kind{errkind.NotFound, errkind.Forbidden},
		Responses: []operation.Response{{Status: 200, Data: account{}}, {Status: 200, Data: publicAccount{}}},
	}, func(context.Context, struct {
		ID string `path:"id" doc:"the account's id"`
	}) (any, error) {
		return nil, nil
	})
	operation.HandleResult(api, operation.Operation{
		Method: "GET", Path: "/accounts", ID: "listAccounts", Tags: []string{"accounts"}, Bearer: true, Roles: []string{"admin"},
		Paging: operation.CursorPages,
	}, func(context.Context, struct {
		Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
		Cursor string `query:"cursor"`
	}) (envelope.Result[[]account], error) {
		return envelope.Result[[]account]{}, nil
	})
	operation.HandleResult(api, operation.Operation{
		Method: "POST", Path: "/transfers", ID: "transfer", Tags: []string{"transfers"}, Bearer: true,
		Codes:   []error{envelope.New(422, "INSUFFICIENT_FUNDS", "insufficient funds")},
		Headers: []operation.Header{{Name: "Idempotent-Replayed", Description: "true on a replayed answer", Errors: true}},
		Status:  http.StatusCreated,
	}, func(context.Context, struct {
		Key  string `header:"Idempotency-Key" minLength:"1" maxLength:"255"`
		Body struct {
			Amount int64 `json:"amount" minimum:"1"`
		}
	}) (envelope.Result[account], error) {
		return envelope.Result[account]{}, nil
	})
	operation.Handle(api, operation.Operation{
		Method: "POST", Path: "/register", ID: "register", Deprecated: true,
		Responses: []operation.Response{{Status: 201, Data: account{}}, {Status: 202, Data: ack{}, Description: "quietly accepted"}},
	}, func(context.Context, struct{ Body publicAccount }) (any, error) {
		return nil, nil
	})
	operation.Handle(api, operation.Operation{Method: "DELETE", Path: "/sessions/{id...}", ID: "logout"},
		func(context.Context, struct {
			ID string `path:"id"`
		}) (operation.NoContent, error) {
			return operation.NoContent{}, nil
		})
	return api
}

// doc decodes the document into maps, as a generic consumer reads it.
func doc(t *testing.T, api *operation.API) map[string]any {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal(api.Document(), &d), "the document is JSON")
	return d
}

// at walks a path of keys through the document.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for _, k := range keys {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%v is an object before %q", v, k)
		v, ok = m[k]
		require.True(t, ok, "member %q exists among %v", k, keys)
	}
	return v
}

// errorResponse returns the response of op for status, following a $ref to
// the shared responses of the components.
func errorResponse(t *testing.T, d map[string]any, op any, status string) any {
	t.Helper()
	r := at(t, op, "responses", status)
	if ref, ok := r.(map[string]any)["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/components/responses/")
		require.True(t, found, "a $ref to a shared response: %s", ref)
		return at(t, d, "components", "responses", name)
	}
	return r
}

func keys(v any) []string {
	var out []string
	for k := range v.(map[string]any) {
		out = append(out, k)
	}
	return out
}

func TestDocumentTop(t *testing.T) {
	d := doc(t, sampleAPI())
	assert.Equal(t, "3.1.0", d["openapi"])
	assert.Equal(t, map[string]any{"title": "Bank", "version": "2.1.0", "description": "Accounts and transfers."}, d["info"])
	assert.Equal(t, []any{map[string]any{"url": "https://api.example.com", "description": "production"}}, d["servers"])
	assert.Equal(t, map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, at(t, d, "components", "securitySchemes", "bearerAuth"))
	assert.ElementsMatch(t, []string{"/accounts/{id}", "/accounts", "/transfers", "/register", "/sessions/{id}"}, keys(d["paths"]), "{id...} is written {id}")
	assert.Equal(t, []any{map[string]any{"name": "accounts"}, map[string]any{"name": "transfers"}}, d["tags"])
}

func TestDocumentOperations(t *testing.T) {
	d := doc(t, sampleAPI())
	get := at(t, d, "paths", "/accounts/{id}", "get")
	assert.Equal(t, "getAccount", at(t, get, "operationId"))
	assert.Equal(t, []any{map[string]any{"bearerAuth": []any{}}}, at(t, get, "security"), "Bearer without roles")
	assert.ElementsMatch(t, []string{"200", "400", "401", "403", "404", "429", "500"}, keys(at(t, get, "responses")),
		"success, the input's 400, Bearer's 401, the declared kinds, the API's 429 and 500")
	data := at(t, get, "responses", "200", "content", "application/json", "schema", "properties", "data")
	assert.Len(t, at(t, data, "oneOf"), 2, "two bodies of one status are alternatives")
	assert.Equal(t, true, at(t, errorResponse(t, d, get, "401"), "headers", "WWW-Authenticate", "required"), "401 carries the challenge")
	assert.Contains(t, keys(at(t, errorResponse(t, d, get, "404"), "headers")), "X-Request-Id", "the API's headers are on every response")
	param := at(t, get, "parameters").([]any)[0]
	assert.Equal(t, map[string]any{"name": "id", "in": "path", "required": true, "description": "the account's id", "schema": map[string]any{"type": "string"}}, param)

	list := at(t, d, "paths", "/accounts", "get")
	assert.Equal(t, []any{map[string]any{"bearerAuth": []any{"admin"}}}, at(t, list, "security"), "the roles are the requirement's list")
	assert.Equal(t, "#/components/schemas/CursorMeta", at(t, list, "responses", "200", "content", "application/json", "schema", "properties", "meta", "$ref"))
	assert.Equal(t, map[string]any{"type": "integer", "format": "int64", "minimum": float64(1), "maximum": float64(100), "default": float64(20)},
		at(t, list, "parameters").([]any)[0].(map[string]any)["schema"], "a parameter's rules and default")
	limited := at(t, errorResponse(t, d, list, "429"), "headers")
	assert.Subset(t, keys(limited), []string{"Retry-After", "RateLimit", "RateLimit-Policy"}, "429 says when to retry")
	assert.Equal(t, map[string]any{"type": "integer", "format": "int64"}, at(t, limited, "Retry-After", "schema"))

	transfer := at(t, d, "paths", "/transfers", "post")
	assert.ElementsMatch(t, []string{"201", "400", "401", "413", "415", "422", "429", "500"}, keys(at(t, transfer, "responses")))
	assert.Equal(t, "INSUFFICIENT_FUNDS: insufficient funds", at(t, errorResponse(t, d, transfer, "422"), "description"))
	assert.Contains(t, keys(at(t, errorResponse(t, d, transfer, "422"), "headers")), "Idempotent-Replayed", "an Errors header is on the errors too")
	assert.Contains(t, keys(at(t, transfer, "responses", "201", "headers")), "Idempotent-Replayed")
	assert.Equal(t, true, at(t, transfer, "requestBody", "required"))
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/ErrorResponse"}, at(t, errorResponse(t, d, transfer, "400"), "content", "application/json", "schema"))
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/Problem"}, at(t, errorResponse(t, d, transfer, "400"), "content", "application/problem+json", "schema"))

	register := at(t, d, "paths", "/register", "post")
	assert.Equal(t, true, at(t, register, "deprecated"))
	assert.Equal(t, "quietly accepted", at(t, register, "responses", "202", "description"))
	assert.Equal(t, "#/components/schemas/Account", at(t, register, "responses", "201", "content", "application/json", "schema", "properties", "data", "$ref"))

	logout := at(t, d, "paths", "/sessions/{id}", "delete")
	assert.NotContains(t, at(t, logout, "responses", "204").(map[string]any), "content", "204 has no body")
}

func TestDocumentIsStable(t *testing.T) {
	a, b := sampleAPI().Document(), sampleAPI().Document()
	assert.Equal(t, string(a), string(b), "the same registrations give the same bytes")
	api := sampleAPI()
	first := api.Document()
	assert.Same(t, &first[0], &api.Document()[0], "the document is built once")
}

func TestHandlerServesDocument(t *testing.T) {
	api := sampleAPI()
	h := api.Handler()
	for _, method := range []string{"GET", "HEAD"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/openapi.json", nil))
		assert.Equal(t, 200, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		if method == "GET" {
			assert.Equal(t, string(api.Document()), rec.Body.String(), "GET serves the document")
		} else {
			assert.Empty(t, rec.Body.String(), "HEAD serves no body")
		}
	}
}

func TestDocumentSharesErrorResponses(t *testing.T) {
	d := doc(t, sampleAPI())
	get := at(t, d, "paths", "/accounts/{id}", "get")
	list := at(t, d, "paths", "/accounts", "get")
	transfer := at(t, d, "paths", "/transfers", "post")
	assert.Equal(t, at(t, get, "responses", "500"), at(t, list, "responses", "500"), "one 500 for both")
	assert.Equal(t, map[string]any{"$ref": "#/components/responses/Internal"}, at(t, get, "responses", "500"))
	assert.Equal(t, map[string]any{"$ref": "#/components/responses/InternalWithIdempotentReplayed"}, at(t, transfer, "responses", "500"),
		"an operation with its own error headers has its own responses")
	assert.Equal(t, "#/components/responses/RateLimited", at(t, list, "responses", "429", "$ref"))
}

func TestDocumentLicenseTagsAndUnusedMeta(t *testing.T) {
	api := operation.New(operation.Options{
		License: &operation.License{Name: "MIT", Identifier: "MIT"},
		Tags:    []operation.Tag{{Name: "notes", Description: "Notes of a user"}},
	})
	operation.Handle(api, operation.Operation{Method: "GET", Path: "/x", ID: "x", Tags: []string{"other", "notes"}},
		func(context.Context, struct{}) (string, error) { return "", nil })
	d := doc(t, api)
	assert.Equal(t, map[string]any{"name": "MIT", "identifier": "MIT"}, at(t, d, "info", "license"))
	assert.Equal(t, []any{map[string]any{"name": "notes", "description": "Notes of a user"}, map[string]any{"name": "other"}}, d["tags"],
		"described tags first, in their order, then the others")
	assert.Equal(t, []any{}, at(t, d, "paths", "/x", "get", "security"), "an operation without Bearer says it needs no credentials")
	schemas := keys(at(t, d, "components", "schemas"))
	assert.NotContains(t, schemas, "OffsetMeta", "no page meta when no operation pages")
	assert.NotContains(t, schemas, "CursorMeta")
}
