package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"

	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/svckit/svckit/internal/telemetry"
)

// Metric names of Tokens and Verifier, on the meter
// "github.com/svckit/svckit/auth".
// Attributes are small enumerations; never a subject, an email or a token.
const (
	// MetricIssued counts token pairs issued, by AttrReason: "login"
	// (Issue) or "refresh" (Refresh).
	MetricIssued = "svckit.auth.tokens.issued"
	// MetricVerifications counts verifications by AttrTokenType ("access",
	// "refresh") and AttrResult: "ok", or the reason of a rejection:
	// "expired", "bad_signature", "invalid", "wrong_type".
	MetricVerifications = "svckit.auth.tokens.verifications"
	// MetricRefreshes counts Refresh calls by AttrResult: "ok", "reused",
	// "revoked", "unknown_user", "rejected" (the token did not verify) or
	// "error" (the store or user lookup failed).
	MetricRefreshes = "svckit.auth.refreshes"
	// MetricReuseDetected counts refresh tokens presented again after
	// use: a stolen token, or a client that lost an answer. Each one is
	// also a Warn record on Options.Logger with the subject and a hash of
	// the family. Alert on it.
	MetricReuseDetected = "svckit.auth.refresh.reuse_detected"

	AttrTokenType = "token_type"
	AttrResult    = "result"
	AttrReason    = "reason"
)

// tokenMetrics are the instruments of one Tokens; its embedded Verifier
// counts the access-token verifications.
type tokenMetrics struct {
	issuedLogin, issuedRefresh telemetry.Add
	verifyRefresh              [verifyResults]telemetry.Add
	refresh                    map[string]telemetry.Add // result
	reuse                      telemetry.Add
	log                        *slog.Logger
}

func newTokenMetrics(mp metric.MeterProvider, log *slog.Logger) *tokenMetrics {
	m := telemetry.Meter(mp, "auth")
	issued := telemetry.Counter(m, MetricIssued, "{pair}", "Token pairs issued by reason.")
	refr := telemetry.Counter(m, MetricRefreshes, "{refresh}", "Refresh calls by result.")
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tm := &tokenMetrics{
		issuedLogin:   telemetry.NewAdd(issued, attribute.String(AttrReason, "login")),
		issuedRefresh: telemetry.NewAdd(issued, attribute.String(AttrReason, "refresh")),
		refresh:       map[string]telemetry.Add{},
		reuse:         telemetry.NewAdd(telemetry.Counter(m, MetricReuseDetected, "{token}", "Used refresh tokens presented again.")),
		verifyRefresh: newVerifyCounts(mp, "refresh"),
		log:           log,
	}
	for _, res := range []string{"ok", "reused", "revoked", "unknown_user", "rejected", "error"} {
		tm.refresh[res] = telemetry.NewAdd(refr, attribute.String(AttrResult, res))
	}
	return tm
}

// newVerifyCounts returns the MetricVerifications counters of one token
// type ("access", "refresh"), one per verifyResult.
func newVerifyCounts(mp metric.MeterProvider, tokenType string) [verifyResults]telemetry.Add {
	c := telemetry.Counter(telemetry.Meter(mp, "auth"), MetricVerifications, "{token}", "Token verifications by type and result.")
	var counts [verifyResults]telemetry.Add
	for res := range verifyResults {
		counts[res] = telemetry.NewAdd(c, attribute.String(AttrTokenType, tokenType), attribute.String(AttrResult, verifyResultName(res)))
	}
	return counts
}

// Outcomes of a verification, as verifyResult returns them; their names
// are the values of AttrResult in MetricVerifications.
const (
	verifyOK = iota
	verifyExpired
	verifyBadSignature
	verifyInvalid
	verifyWrongType
	verifyResults // how many
)

func verifyResultName(i int) string {
	return [verifyResults]string{"ok", "expired", "bad_signature", "invalid", "wrong_type"}[i]
}

// verifyResult returns the index in verifyResults of a verification's
// outcome.
func verifyResult(err error) int {
	if err == nil {
		return verifyOK
	}
	return failedVerifyResult(err)
}

// failedVerifyResult is verifyResult for a non-nil err. It is a function of
// its own because errors.As moves ae to the heap, which would cost every
// successful verification an allocation too.
func failedVerifyResult(err error) int {
	var ae *Error
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return verifyBadSignature
	case errors.As(err, &ae) && ae.kind == ErrExpired.kind:
		return verifyExpired
	case ae != nil && ae.kind == ErrWrongTokenType.kind:
		return verifyWrongType
	}
	return verifyInvalid
}

// refreshed counts the outcome of Refresh. A reuse is also logged at Warn
// with the subject and the first 16 hex digits of the family id's SHA-256,
// which tells families apart in the logs without writing an id a client
// could present.
func (m *tokenMetrics) refreshed(ctx context.Context, rc *RefreshClaims, err error) {
	var ae *Error
	res := "error"
	switch {
	case err == nil:
		res = "ok"
		m.issuedRefresh.Inc(ctx)
	case rc == nil:
		res = "rejected"
	case errors.As(err, &ae) && ae.kind == ErrTokenReused.kind:
		res = "reused"
		m.reuse.Inc(ctx)
		sum := sha256.Sum256([]byte(rc.Family))
		m.log.LogAttrs(ctx, slog.LevelWarn, "auth: refresh token reuse detected",
			slog.String("subject", rc.Subject), slog.String("family", hex.EncodeToString(sum[:8])))
	case ae != nil && ae.kind == ErrRevoked.kind:
		res = "revoked"
	case ae != nil && ae.kind == ErrUnknownUser.kind:
		res = "unknown_user"
	}
	m.refresh[res].Inc(ctx)
}

// MetricPasswordVerifications counts Hasher.Verify calls of a Hasher, on
// the meter "github.com/svckit/svckit/auth", by AttrResult: "match",
// "rehash" (a match whose hash is weaker than the Hasher's parameters, to
// be replaced on this login), "mismatch", "busy" (ErrBusy) or "error".
const MetricPasswordVerifications = "svckit.auth.password.verifications"

// passwordMetrics are a Hasher's counters, made at its first use.
type passwordMetrics struct {
	match, rehash, mismatch, busy, failed telemetry.Add
}

func newPasswordMetrics(mp metric.MeterProvider) *passwordMetrics {
	c := telemetry.Counter(telemetry.Meter(mp, "auth"), MetricPasswordVerifications,
		"{verification}", "Password verifications by result.")
	res := func(v string) telemetry.Add { return telemetry.NewAdd(c, attribute.String(AttrResult, v)) }
	return &passwordMetrics{match: res("match"), rehash: res("rehash"), mismatch: res("mismatch"), busy: res("busy"), failed: res("error")}
}

// verified counts one Verify.
func (m *passwordMetrics) verified(ctx context.Context, rehash bool, err error) {
	switch {
	case m == nil:
	case err == nil && rehash:
		m.rehash.Inc(ctx)
	case err == nil:
		m.match.Inc(ctx)
	case errors.Is(err, ErrPasswordMismatch):
		m.mismatch.Inc(ctx)
	case errors.Is(err, ErrBusy):
		m.busy.Inc(ctx)
	default:
		m.failed.Inc(ctx)
	}
}
