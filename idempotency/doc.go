// Package idempotency makes a request safe to retry: the first request with
// a key does the work and its outcome is kept; a retry with the same key gets
// the kept outcome back and does nothing again, also when the retries race.
// It is the store behind an Idempotency-Key header.
//
// A request is named by a Key, the client's key within a scope (usually the
// authenticated user, so that clients cannot reach each other's keys), and
// described by a fingerprint of what it asks (see Fingerprint). The same key
// with another fingerprint is ErrKeyMismatch.
//
// # Exactly once
//
// Do claims the key, runs the work and records its outcome in one
// transaction:
//
//	k := idempotency.Key{Scope: userID, Value: r.Header.Get("Idempotency-Key")}
//	fp := idempotency.Fingerprint(in.From, in.To, strconv.FormatInt(in.Amount, 10))
//	out, replayed, err := idempotency.Do(ctx, store, k, fp,
//		func(ctx context.Context) (idempotency.Outcome, error) {
//			t, err := transfer(ctx, in) // its statements use txn.From(ctx, db)
//			if err != nil {
//				return idempotency.Refuse(err) // a 4xx is kept; anything else rolls back
//			}
//			return idempotency.JSON(http.StatusCreated, t)
//		})
//
// The claim is a row inserted in the caller's transaction, so it commits or
// rolls back with the work. A concurrent request with the same key inserts
// the same primary key: PostgreSQL and MySQL make it wait for the first
// transaction's row lock, SQLite for its single writer. If the first one
// commits, the insert fails with a unique violation, Claim returns ErrTaken,
// Do rolls back and answers with the committed outcome (replayed is true).
// If the first one rolls back, the waiting claim goes through and its work
// runs. Either way the work commits at most once per key.
//
// # Outcomes
//
// An Outcome is what the first request answered: a status and JSON data, or
// a refusal (status, code, message and details) when the request was the
// client's fault, such as insufficient funds: a retry must not turn a
// refusal into a success once the client tops up. Outcome.Err rebuilds the
// refusal as an error.
//
// # Errors and HTTP
//
// This package does not import the HTTP layer. Its errors that a client
// caused (ErrKeyMismatch, ErrInProgress, ErrInvalidKey) and replayed
// refusals report their kind, code and public message through the
// interfaces of package errkind, which svckit's envelope renders. Errors
// of sqlstore's database pass through dialect.Wrap, so a lost
// connection is Unavailable (503), not a 500.
//
// # Stores
//
// Package sqlstore (idempotency/sqlstore) keeps keys in one table on
// PostgreSQL, SQLite or MySQL/MariaDB, on the same *sql.DB as the work
// (its Migrate creates the table). Memory keeps them in the process, with
// the same behaviour, for tests and prototypes. Delete old keys now and
// then with DeleteBefore. A Store of your own keeps outcomes as
// Outcome.Encode gives them and reads them back with DecodeOutcome.
//
// # Telemetry
//
// A Runner, built once with New over a store, runs Do and counts each call
// through OpenTelemetry on Options.MeterProvider (MetricRequests: claimed,
// replayed, mismatch, ...). The function Do counts nothing.
package idempotency
