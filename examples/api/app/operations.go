package app

import (
	"github.com/svckit/svckit/errkind"
	"github.com/svckit/svckit/operation"
)

// Version is the version of the example's API in its document
// (info.version): it changes when the contract does.
const Version = "1.1.0"

// newAPI describes the example's API for its OpenAPI document: every
// response carries X-Request-Id, and any request may outlive the service's
// deadline (504).
func newAPI() *operation.API {
	return operation.New(operation.Options{
		Title:   "svckit example API",
		Version: Version,
		Description: "The example service of svckit: users, sessions, accounts and idempotent transfers. " +
			"Every response is the envelope {data, meta} or {error, meta}; a client that prefers " +
			"application/problem+json gets errors as RFC 9457 documents. The contract in prose is API.md.",
		License: &operation.License{Name: "MIT", Identifier: "MIT"},
		Tags: []operation.Tag{
			{Name: "auth", Description: "Registration and sessions: access and refresh tokens"},
			{Name: "users", Description: "Users: yourself, others as far as you may see them, and (admins) all"},
			{Name: "accounts", Description: "Accounts in one currency each, their deposits and transfers"},
			{Name: "transfers", Description: "Moving money between two accounts, idempotently"},
			{Name: "operations", Description: "Health, readiness, metrics and this document"},
		},
		// Relative: the origin that serves this document, wherever it runs.
		Servers: []operation.Server{{URL: "/", Description: "the origin that serves this document"}},
		Headers: []operation.Header{{Name: "X-Request-Id", Description: "the request id, equal to meta.requestId; an inbound one of 1-64 characters of [A-Za-z0-9._-] is kept"}},
		Errors:  []errkind.Kind{errkind.Timeout},
	})
}

// v1 adds to op what every /v1 route may answer because of the middleware
// in front of it (apiChain): 401 for a bad token even on a public route,
// 429 past a rate limit, 503 when the database gate is saturated, 408 for
// a body that did not arrive in time.
func v1(op operation.Operation) operation.Operation {
	op.Errors = append([]errkind.Kind{errkind.Unauthorized, errkind.RateLimited, errkind.Unavailable}, op.Errors...)
	op.Codes = append(op.Codes, errBodyTimeout)
	return op
}

// noStoreHeader is the Cache-Control of the answers that carry tokens.
func noStoreHeader() operation.Header {
	return operation.Header{Name: "Cache-Control", Description: "no-store: the answer carries tokens"}
}

// replayedHeader marks an answer replayed for an Idempotency-Key.
func replayedHeader() operation.Header {
	return operation.Header{Name: "Idempotent-Replayed", Description: "true when the answer is the replay of an earlier request with the same Idempotency-Key", Errors: true}
}

// health is the answer of GET /healthz.
type health struct {
	Status string `json:"status" enum:"ok"`
}

// jwkSet is what GET /.well-known/jwks.json serves (auth.KeySet), for
// the document.
type jwkSet struct {
	Keys []map[string]any `json:"keys" doc:"the public keys, as JWKs (RFC 7517)"`
}
