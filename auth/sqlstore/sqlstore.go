// Package sqlstore is an auth.RefreshStore on PostgreSQL, SQLite or
// MySQL/MariaDB through database/sql:
//
//	store := sqlstore.New(db, dialect.Postgres)
//	if err := store.Migrate(ctx); err != nil { … } // at every start
//	tokens, err := auth.NewTokens(auth.Options{Store: store, …})
//
// It keeps two tables, created by Migrate from an embedded schema, one file
// for PostgreSQL and SQLite and one for MySQL (Schema returns them, for
// those who run migrations with their own tool): svckit_refresh_families
// (one row per login: subject, absolute expiry, revocation) and
// svckit_refresh_tokens (one row per refresh token: the SHA-256 of its jti,
// never the token, its family, parent and use).
//
// Rotation is one transaction (txn.Do, so it joins a transaction the context
// already carries): a conditional
//
//	UPDATE svckit_refresh_tokens SET used_at = ? WHERE jti_hash = ? AND family_id = ? AND used_at IS NULL
//
// that must affect exactly one row, then an update of the family row that
// must find it unrevoked (it also serialises rotation against revocation),
// then the INSERT of the child. Of many concurrent rotations of one token
// exactly one sees its UPDATE affect a row.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/svckit/svckit/auth"
	"github.com/svckit/svckit/dialect"
	"github.com/svckit/svckit/migrate"
	"github.com/svckit/svckit/txn"
)

//go:embed schema/*.sql
var schemas embed.FS

// Store is an auth.RefreshStore on a SQL database. Build it with New and
// create its tables with Migrate.
//
// A Store is safe for concurrent use. It does not own db: close db yourself.
type Store struct {
	db *sql.DB
	d  dialect.Dialect
	q  queries
}

var _ auth.RefreshStore = (*Store)(nil)

type queries struct {
	insertFamily, insertToken                   string
	useToken, touchFamily, lookup, openChildren string
	revokeFamily, revokeSubject                 string
	deleteTokens, deleteFamilies                string
}

// New returns a Store on db speaking dialect d. It panics if d is not a
// valid dialect.Dialect. It has no options yet, an exception to the
// New(db, d, opts) of CONVENTIONS.md: options will come as a third
// argument.
func New(db *sql.DB, d dialect.Dialect) *Store {
	if db == nil || !d.Valid() {
		panic("sqlstore: New needs a *sql.DB and a valid dialect.Dialect")
	}
	b := d.Rebind
	return &Store{db: db, d: d, q: queries{
		insertFamily: b(`INSERT INTO svckit_refresh_families (family_id, subject, expires_at, rotations, created_at) VALUES (?, ?, ?, 0, ?)`),
		insertToken:  b(`INSERT INTO svckit_refresh_tokens (jti_hash, family_id, parent_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`),
		useToken:     b(`UPDATE svckit_refresh_tokens SET used_at = ? WHERE jti_hash = ? AND family_id = ? AND used_at IS NULL`),
		touchFamily:  b(`UPDATE svckit_refresh_families SET rotations = rotations + 1 WHERE family_id = ? AND revoked_at IS NULL`),
		lookup: b(`SELECT t.family_id, t.used_at, f.revoked_at FROM svckit_refresh_tokens t` +
			` JOIN svckit_refresh_families f ON f.family_id = t.family_id WHERE t.jti_hash = ?`),
		openChildren:   b(`SELECT COUNT(*) FROM svckit_refresh_tokens WHERE parent_hash = ? AND used_at IS NULL`),
		revokeFamily:   b(`UPDATE svckit_refresh_families SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`),
		revokeSubject:  b(`UPDATE svckit_refresh_families SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL`),
		deleteTokens:   b(`DELETE FROM svckit_refresh_tokens WHERE expires_at < ?`),
		deleteFamilies: b(`DELETE FROM svckit_refresh_families WHERE expires_at < ?`),
	}}
}

// Schema returns the store's schema files: standard.sql for PostgreSQL and
// SQLite, which take the same DDL, and mysql.sql for MySQL and MariaDB.
// Migrate runs the one of its dialect; users who keep their migrations in
// a tool of their own give it these instead.
func Schema() fs.FS {
	sub, err := fs.Sub(schemas, "schema")
	if err != nil { // a constant path: a build defect
		panic("sqlstore: " + err.Error())
	}
	return sub
}

// SchemaVersion is the version Migrate records in the
// svckit_schema_migrations table.
const SchemaVersion = "auth_sqlstore_001"

// Migrate creates the store's tables and indexes unless
// svckit_schema_migrations records them. It is safe to run at every start,
// from many instances at once: they take a lock shared by every svckit
// migration (a PostgreSQL advisory lock, MySQL's GET_LOCK, SQLite's write
// lock) and the schema is applied once.
func (s *Store) Migrate(ctx context.Context) error {
	file := "schema/standard.sql"
	if s.d == dialect.MySQL {
		file = "schema/mysql.sql"
	}
	schema, err := schemas.ReadFile(file)
	if err != nil {
		return fmt.Errorf("sqlstore: read schema: %w", err)
	}
	m := migrate.Migration{Version: SchemaVersion, File: "auth/sqlstore/" + file, Statements: migrate.Statements(string(schema))}
	if err := migrate.Run(ctx, s.db, s.d, "svckit_schema_migrations", []migrate.Migration{m}); err != nil {
		return fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// Create stores the first token of a new family.
func (s *Store) Create(ctx context.Context, tok auth.RefreshToken) error {
	now := ms(time.Now())
	err := txn.Do(ctx, s.db, func(ctx context.Context) error {
		q := txn.From(ctx, s.db)
		if _, err := q.ExecContext(ctx, s.q.insertFamily, tok.Family, tok.Subject, ms(tok.FamilyExpiresAt), now); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, s.q.insertToken, tok.Hash.String(), tok.Family, nil, ms(tok.ExpiresAt), now)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create: %w", dialect.Wrap(err))
	}
	return nil
}

// Rotate uses up r.Old and stores r.Child in one transaction; see
// auth.RefreshStore. A reuse outside the grace period revokes the family and
// commits that revocation before returning auth.ErrTokenReused; inside a
// transaction the caller began with txn.Do, it commits or rolls back with
// the caller's. Deadlocks and serialization failures are retried by txn.Do.
func (s *Store) Rotate(ctx context.Context, r auth.Rotation) error {
	var outcome error
	err := txn.Do(ctx, s.db, func(ctx context.Context) error {
		outcome = nil
		q := txn.From(ctx, s.db)
		old := r.Old.String()
		res, err := q.ExecContext(ctx, s.q.useToken, ms(r.Now), old, r.Child.Family)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			outcome, err = s.insertChild(ctx, q, r)
			return err
		}
		outcome, err = s.reuse(ctx, q, r)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: rotate: %w", dialect.Wrap(err))
	}
	return outcome
}

// insertChild runs after the parent was marked used: the family must be
// unrevoked, then the child goes in.
func (s *Store) insertChild(ctx context.Context, q txn.Querier, r auth.Rotation) (error, error) {
	res, err := q.ExecContext(ctx, s.q.touchFamily, r.Child.Family)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n != 1 {
		return auth.ErrRevoked, nil
	}
	_, err = q.ExecContext(ctx, s.q.insertToken, r.Child.Hash.String(), r.Child.Family, r.Old.String(), ms(r.Child.ExpiresAt), ms(r.Now))
	return nil, err
}

// reuse classifies a token the conditional update did not match: unknown,
// in a revoked family, or used (then revoke, unless within grace).
func (s *Store) reuse(ctx context.Context, q txn.Querier, r auth.Rotation) (error, error) {
	var family string
	var used, revoked sql.Null[int64]
	err := q.QueryRowContext(ctx, s.q.lookup, r.Old.String()).Scan(&family, &used, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return auth.ErrInvalidToken, nil
	case err != nil:
		return nil, err
	case family != r.Child.Family || !used.Valid:
		return auth.ErrInvalidToken, nil
	case revoked.Valid:
		return auth.ErrRevoked, nil
	}
	if r.Grace > 0 && ms(r.Now)-used.V <= r.Grace.Milliseconds() {
		var open int
		if err := q.QueryRowContext(ctx, s.q.openChildren, r.Old.String()).Scan(&open); err != nil {
			return nil, err
		}
		if open > 0 {
			return auth.ErrTokenReused, nil
		}
	}
	if _, err := q.ExecContext(ctx, s.q.revokeFamily, ms(r.Now), family); err != nil {
		return nil, err
	}
	return auth.ErrTokenReused, nil
}

// RevokeFamily revokes every token of family.
func (s *Store) RevokeFamily(ctx context.Context, family string, now time.Time) error {
	if _, err := txn.From(ctx, s.db).ExecContext(ctx, s.q.revokeFamily, ms(now), family); err != nil {
		return fmt.Errorf("sqlstore: revoke family: %w", dialect.Wrap(err))
	}
	return nil
}

// RevokeSubject revokes every family of subject.
func (s *Store) RevokeSubject(ctx context.Context, subject string, now time.Time) error {
	if _, err := txn.From(ctx, s.db).ExecContext(ctx, s.q.revokeSubject, ms(now), subject); err != nil {
		return fmt.Errorf("sqlstore: revoke subject: %w", dialect.Wrap(err))
	}
	return nil
}

// DeleteExpired deletes the tokens that expired before now and the families
// past their absolute expiry, and returns how many token rows went. Run it
// now and then (a cron job or a ticker you own).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := txn.Do(ctx, s.db, func(ctx context.Context) error {
		q := txn.From(ctx, s.db)
		res, err := q.ExecContext(ctx, s.q.deleteTokens, ms(now))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, s.q.deleteFamilies, ms(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete expired: %w", dialect.Wrap(err))
	}
	return n, nil
}
