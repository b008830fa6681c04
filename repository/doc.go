// Package repository gives a generic Repository[T, ID] over database/sql
// (PostgreSQL, SQLite, MySQL/MariaDB) and in memory, with offset and keyset
// pagination and has-many eager loading.
//
// Tag a struct, build its repository once per table at start-up with
// NewSQL (or NewMemory in tests), and call its methods:
//
//	type Customer struct {
//		ID    int64  `db:"id,pk"`
//		Email string `db:"email,unique"`
//		Name  string `db:"name"`
//	}
//	customers := repository.NewSQL[Customer, int64](db, dialect.Postgres, "customers", repository.Options[int64]{})
//
//	err := customers.Create(ctx, &c)                            // sets c.ID
//	c, err = customers.FindByID(ctx, id)                         // ErrNotFound
//	c, err = customers.Update(ctx, id, repository.Set{"name": n}) // only the keys given
//	page, err := customers.FindPage(ctx, repository.PageOptions{OrderBy: "name", Limit: 20})
//
// Statements run in the transaction ctx carries (package txn). NewSQL
// takes the table as a fourth argument, an exception to the New(db, d,
// opts) of CONVENTIONS.md: a repository is not a backend of a Store but the
// mapping of one table. The sections below give the mapping and query
// rules.
//
// # Mapping
//
// Rows map to struct fields by `db` tags, reflected once when the
// repository is built (NewSQL, NewMemory), and scanned through precomputed
// field indices. Tag options mark the primary key (pk, natural when the
// caller chooses it), the times the repository maintains (created,
// updated), unique columns (unique) and columns no client may query
// (private, public).
// Times are stored in UTC truncated to microseconds, the precision every
// supported database keeps (MySQL columns must be DATETIME(6) and the DSN
// must set parseTime=true; SQLite columns must be declared DATETIME or
// TIMESTAMP so the driver returns time.Time).
//
// # Create and update inputs
//
// Create takes a *T and fills in what the repository owns: the id, created
// and updated times. It is Go's form of Omit<T, 'id'|'createdAt'|...>: the
// caller leaves those fields zero (whatever it puts there is overwritten,
// so a struct decoded from a request cannot set them), and the struct
// stays the one type the service uses everywhere (no parallel "input" type
// per table to keep in sync). Update takes Changes, Go's form of
// Partial<T>: a Set (column name to value, for fields that come from a
// request) or a struct of Optional fields through its Patch (field names
// and types checked by the compiler, the struct's shape by NewPatch when
// the program starts, never at a request). Either way only present fields
// change, so "not set" differs from "set to zero", and every key is checked
// against the mapped, writable columns. A JSON null (in a Set, or decoded
// into an Optional) means NULL: accepted for pointer columns, and a
// *FieldError naming the field ("null not allowed") for any other column,
// never a silent "" or 0 written to it.
//
// # Ids
//
// The repository owns generated ids, so a *T decoded from a request body
// cannot choose its primary key: Create overwrites whatever id the caller
// set. With Options.NewID nil the database generates ids (serial or
// auto-increment; read back with RETURNING on PostgreSQL and SQLite,
// LastInsertId on MySQL). Options.NewID generates them in the application,
// for example NewUUIDv7. A key that belongs to the caller (a country code,
// an imported id) is tagged natural, `db:"code,pk,natural"`: Create inserts
// it as given and refuses a zero one.
//
// # Private columns
//
// Filter keys and OrderBy (and so cursors) often come from a query string,
// so naming a secret there would make it an ordering or matching oracle. A
// column tagged private, `db:"password_hash,private"`, cannot be named in
// them: it answers exactly as a column that does not exist (the same
// *FieldError), so the answer does not even confirm the column exists.
// A field tagged `json:"-"` is private by default, since that is how a
// struct already says "never show this to a client"; tag it public,
// `db:"tenant_id,public"`, to allow filters on it. Private columns are
// still read by every Find and written by Create and Update (writing is no
// oracle); an application that must look rows up by a secret (a token
// hash) leaves that column public and keeps the filter out of client
// reach.
//
// # Cursors
//
// Keyset cursors are always signed with HMAC-SHA256 and checked before
// anything in them is used; there is no unsigned mode. Options.CursorKey
// sets the key; without one, NewSQL and NewMemory generate a random key for
// that repository. Of the two safe defaults, refusing cursors without a key
// and a random key per process, this package takes the second: refusing
// pushes every application to invent a key before its first page, and the
// key invented in a hurry is a constant in the source, shared by every
// deployment and readable by anyone who reads the code, which makes cursors
// forgeable again. A random key cannot leak that way, and its failure mode
// is safe: instances that do not share a key reject each other's cursors
// with ErrInvalidCursor (400), and cursors do not survive a restart, so a
// client starts again from the first page; nothing forged is ever
// accepted. Services running more than one instance set the same
// CursorKey (at least MinCursorKeyLen random bytes) on every instance.
//
// A shorter CursorKey panics in NewSQL and NewMemory, an exception to the
// rule that option values never do (CONVENTIONS.md): a key is checked once
// at start-up and a weak one must not run, yet the constructors return no
// error because everything else they check (the row type, the table name,
// the dialect) is code, whose faults are panics.
//
// # Safety
//
// Filter keys and OrderBy must name mapped, non-private columns (or their
// json names); anything else is a *FieldError, which matches
// ErrInvalidField and renders as 400. Directions are an enum. Values are always bound as parameters.
// Limit defaults to DefaultLimit and is capped at MaxLimit.
//
// # Errors
//
// ErrNotFound and ErrConflict (a *ConflictError holding the driver error)
// are matched with errors.Is on every dialect (unique violations are
// recognised by dialect.Classify). They report their errkind kind and
// public message through methods, so an HTTP layer renders them without
// this package speaking HTTP. Other database errors are classified by
// dialect.Wrap: a lost connection or a full server reports Unavailable
// (503 with Retry-After), a statement past its deadline Timeout (504);
// the driver's text stays in the chain for logs only. A conflict shows
// clients only a generic message: the table, column and constraint stay in
// the *ConflictError for the application's logs, or for an error of its own
// that names the field when it decides the client may know.
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
//
// # Telemetry
//
// Each SQL statement is an OpenTelemetry client span ("SELECT users") with
// db.system.name, db.operation.name and db.collection.name, never a
// parameter value, on Options.TracerProvider (the global one when nil),
// started only under a caller's recording span (such as an HTTP request's
// server span), so an untraced FindByID allocates nothing more.
package repository
