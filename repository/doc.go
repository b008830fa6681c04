// Package repository gives a generic Repository[T, ID] over database/sql
// (PostgreSQL, SQLite, MySQL/MariaDB) and in memory, with offset and keyset
// pagination and has-many eager loading.
//
// # Mapping
//
// Rows map to struct fields by `db` tags, reflected once when the
// repository is built (NewSQL, NewMemory), and scanned through precomputed
// field indices. Tag options mark the primary key (pk), the times the
// repository maintains (created, updated) and unique columns (unique).
// Times are stored in UTC truncated to microseconds, the precision every
// supported database keeps (MySQL columns must be DATETIME(6) and the DSN
// must set parseTime=true; SQLite columns must be declared DATETIME or
// TIMESTAMP so the driver returns time.Time).
//
// # Create and update inputs
//
// Create takes a *T and fills in what the repository owns: the id, created
// and updated times. It is Go's form of Omit<T, 'id'|'createdAt'|...>: the
// caller leaves those fields zero, and the struct stays the one type the
// service uses everywhere (no parallel "input" type per table to keep in
// sync). Update takes Changes, Go's form of Partial<T>: a Set (column name
// to value, for fields that come from a request) or PatchOf a struct of
// Optional fields (checked by the compiler). Either way only present fields
// change, so "not set" differs from "set to zero", and every key is checked
// against the mapped, writable columns.
//
// # Ids
//
// With Options.NewID nil the database generates ids (serial or
// auto-increment; read back with RETURNING on PostgreSQL and SQLite,
// LastInsertId on MySQL). Options.NewID generates them in the application,
// for example NewUUIDv7.
//
// # Safety
//
// Filter keys and OrderBy must name mapped columns (or their json names);
// anything else is a *FieldError, which matches ErrInvalidField and renders
// as 400. Directions are an enum. Values are always bound as parameters.
// Limit defaults to DefaultLimit and is capped at MaxLimit.
//
// # Errors
//
// ErrNotFound and ErrConflict (a *ConflictError holding the driver error)
// are matched with errors.Is on every dialect. They report their HTTP status,
// code and public message through methods, so an HTTP layer renders them
// without this package importing it.
//
// # Transactions and locks
//
// Every statement runs on txn.From(ctx, db): inside txn.Do the repository
// joins the transaction. FindByIDForUpdate and LockByIDs lock rows with FOR
// UPDATE on PostgreSQL and MySQL; on SQLite, whose write transactions start
// with BEGIN IMMEDIATE, the lock is already held.
//
// # Statements
//
// Statement texts are built once per shape and cached per repository.
// Prepared statements are not used: pgx already caches prepared statements
// per connection, and explicit *sql.Stmt values would have to be re-prepared
// per transaction.
package repository
